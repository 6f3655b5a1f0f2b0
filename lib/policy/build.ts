/**
 * Assembles the standard chain from configuration and state stores:
 * size -> rate-source (+lockout) -> digest -> identity -> anti-sybil -> rate-identity -> pii ->
 * codec -> fairness. Each gate limits itself to the methods it concerns, so the same chain
 * serves INVITE (all gates), REGISTER (size, rates, digest) and MESSAGE (size, rates, digest, pii).
 */
import type { RegistryReader } from '../registry/types.js';
import type { AuditSink } from '../audit/sink.js';
import type { DecisionMetrics } from '../audit/metrics.js';
import type { CallLedger, Clock, CounterStore, TokenBucketStore, TtlSet } from '../state/types.js';
import { MemoryCallLedger, MemoryCounterStore, MemoryTokenBuckets, MemoryTtlSet } from '../state/memory.js';
import { systemClock } from '../state/types.js';
import { AuthFailureTracker, DEFAULT_LOCKOUT, type LockoutConfig } from './auth-failures.js';
import { PolicyChain, type RefusalAggregator } from './chain.js';
import { CodecGate, type CodecGateConfig } from './codec-gate.js';
import { DigestGate, type DigestConfig } from './digest.js';
import { FairnessGate, type FairnessConfig } from './fairness.js';
import { DEFAULT_IDENTITY_ROLES, IdentityGate, type IdentityConfig } from './identity.js';
import { DEFAULT_PII, PiiGate, type PiiConfig } from './pii-gate.js';
import { DEFAULT_IDENTITY_RATES, DEFAULT_SOURCE_RATES, IdentityRateGate, SourceRateGate, type RateConfig } from './rate-limit.js';
import { DEFAULT_SIZE_LIMITS, SizeGate, type SizeLimits } from './size-limits.js';
import { SybilGate } from './sybil.js';

export interface PolicyConfig {
  digest: DigestConfig;
  identity?: Partial<IdentityConfig>;
  pii?: Partial<PiiConfig>;
  codecs?: CodecGateConfig;
  fairness?: FairnessConfig;
  sourceRates?: RateConfig;
  identityRates?: RateConfig;
  lockout?: Partial<LockoutConfig>;
  size?: Partial<SizeLimits>;
}

export interface PolicyStores {
  counters: CounterStore;
  buckets: TokenBucketStore;
  ttl: TtlSet;
  ledger: CallLedger;
}

export interface PolicyDeps {
  registry: RegistryReader;
  audit: AuditSink;
  metrics?: DecisionMetrics;
  /** Per-source aggregation of repeated refusals (AuditAggregator over the same audit); absent = a record per decision. */
  aggregator?: RefusalAggregator;
  stores?: PolicyStores;
  clock?: Clock;
}

export function memoryStores(clock: Clock = systemClock): PolicyStores {
  return {
    counters: new MemoryCounterStore(clock),
    buckets: new MemoryTokenBuckets(clock),
    ttl: new MemoryTtlSet(clock),
    ledger: new MemoryCallLedger(),
  };
}

export function buildPolicyChain(cfg: PolicyConfig, deps: PolicyDeps): { chain: PolicyChain; stores: PolicyStores; failures: AuthFailureTracker } {
  const clock = deps.clock ?? systemClock;
  const stores = deps.stores ?? memoryStores(clock);
  const failures = new AuthFailureTracker(stores.counters, stores.ttl, { ...DEFAULT_LOCKOUT, ...cfg.lockout });
  const gates = [
    new SizeGate({ ...DEFAULT_SIZE_LIMITS, ...cfg.size }),
    new SourceRateGate(stores.buckets, failures, cfg.sourceRates ?? DEFAULT_SOURCE_RATES),
    new DigestGate(cfg.digest, deps.registry, stores.counters, failures, clock),
    new IdentityGate({ requiredFor: DEFAULT_IDENTITY_ROLES, ...cfg.identity }, deps.registry, stores.ttl, failures, clock),
    new SybilGate(stores.ledger),
    new IdentityRateGate(stores.buckets, cfg.identityRates ?? DEFAULT_IDENTITY_RATES),
    new PiiGate({ ...DEFAULT_PII, ...cfg.pii }),
    new CodecGate(cfg.codecs),
    new FairnessGate(stores.ledger, cfg.fairness),
  ];
  const chain = new PolicyChain(gates, { audit: deps.audit, ledger: stores.ledger, metrics: deps.metrics, ...(deps.aggregator ? { aggregator: deps.aggregator } : {}) });
  return { chain, stores, failures };
}
