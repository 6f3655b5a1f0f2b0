/**
 * Builds the running policy from the gateway configuration: registry file, audit log (with its
 * HMAC id key), and the gate chain. Kept apart from the app wiring so the CLI (`doctor`) and
 * tests can assemble the same thing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/gateway-config.js';
import { ConfigError } from '../config/errors.js';
import { FileRegistry } from '../registry/store.js';
import { AuditLog } from '../audit/log.js';
import { AuditChainMonitor } from '../audit/monitor.js';
import { DecisionMetrics } from '../audit/metrics.js';
import { AuditAggregator } from '../audit/aggregate.js';
import { buildPolicyChain, type PolicyConfig, type PolicyStores } from './build.js';
import type { PolicyChain } from './chain.js';
import type { Logger } from '../log/logger.js';

export interface RunningPolicy {
  /** The chain in force; replaced (not mutated) by reconfigure(), so a decision in flight finishes on the chain it started on. */
  readonly chain: PolicyChain;
  registry: FileRegistry;
  audit: AuditLog;
  /** Re-verifies the audit directory every audit.verifyIntervalS (gw_audit_chain_ok). */
  auditMonitor: AuditChainMonitor;
  /** Per-source aggregation of repeated refusals (audit.aggregateWindowS); undefined when 0 (off). */
  aggregator: AuditAggregator | undefined;
  stores: PolicyStores;
  /**
   * Puts the limits of `next` in force (rates, lockout, identity window, quota, codecs, PII
   * markers, digest realm/algorithms/nonce lifetime) on a new chain over the SAME stores: token
   * buckets, lockouts, replay caches, nonce counts and active-call reservations carry over.
   * Returns the changed fields that only a restart applies (the running values stay).
   */
  reconfigure(next: GatewayConfig): string[];
  /** Writes pending refusal aggregates into the chain, then stops the monitor and closes the log. */
  close(): Promise<void>;
}

/** What buildPolicyChain takes, from the gateway config. */
export function policyConfig(cfg: GatewayConfig, nonceSecret: string): PolicyConfig {
  const p = cfg.policy;
  return {
    digest: { realm: p.realm, nonceSecrets: [nonceSecret], algorithms: p.digestAlgorithms, nonceTtlSec: p.nonceTtlSec },
    identity: { requiredFor: p.identityRequiredFor, windowSec: p.identityWindowSec },
    pii: { markerHeader: p.escalation.header, markerValues: p.escalation.values, priorityValues: p.escalation.priority },
    codecs: { allow: p.codecs, warnAgent: cfg.sip.userAgent },
    fairness: { defaultLimitBps: p.perCallerBps, warnAgent: cfg.sip.userAgent },
    sourceRates: {
      INVITE: { capacity: p.rates.invitePerSourceBurst, refillPerSec: p.rates.invitePerSourcePerSec },
      REGISTER: { capacity: p.rates.registerPerSourceBurst, refillPerSec: p.rates.registerPerSourcePerSec },
      MESSAGE: { capacity: 30, refillPerSec: 5 },
    },
    identityRates: {
      INVITE: { capacity: p.rates.invitePerIdentityBurst, refillPerSec: p.rates.invitePerIdentityPerSec },
      REGISTER: { capacity: 10, refillPerSec: 0.5 },
      MESSAGE: { capacity: 30, refillPerSec: 5 },
    },
    lockout: p.lockout,
  };
}

/** Fields reconfigure() cannot change in a running process, with how to read each. */
const RESTART_ONLY: ReadonlyArray<[string, (c: GatewayConfig) => unknown]> = [
  ['policy.enabled', (c) => c.policy.enabled],
  ['policy.nonceSecretFile', (c) => c.policy.nonceSecret],
  ['registry.file', (c) => c.registry.file],
  ['audit.dir', (c) => c.audit.dir],
  ['audit.idKeyFile', (c) => c.audit.idKey],
  ['audit.fsync', (c) => c.audit.fsync],
  ['audit.verifyIntervalS', (c) => c.audit.verifyIntervalS],
  ['audit.aggregateWindowS', (c) => c.audit.aggregateWindowS],
  ['audit.aggregateMaxOpen', (c) => c.audit.aggregateMaxOpen],
];

/**
 * The audit id key hashes call ids and identities; it must survive restarts or records of one
 * caller stop linking up. Without AUDIT_ID_KEY / audit.idKeyFile a key is created once, 0600,
 * beside the log.
 */
function auditIdKey(cfg: GatewayConfig, log: Logger): string {
  if (cfg.audit.idKey) return cfg.audit.idKey;
  const file = join(cfg.audit.dir, '.id-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(cfg.audit.dir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  log.warn('created a new audit id key beside the audit log; set AUDIT_ID_KEY to manage it yourself', { file });
  return key;
}

export async function startPolicy(cfg: GatewayConfig, registry: Registry, log: Logger, sharedStores?: PolicyStores): Promise<RunningPolicy> {
  const loaded = await FileRegistry.load(cfg.registry.file);
  if (!loaded.ok) throw new ConfigError(loaded.errors.map((e) => ({ field: `registry.file (${cfg.registry.file})`, problem: e })));
  const audit = await AuditLog.open({ dir: cfg.audit.dir, idKey: auditIdKey(cfg, log), fsync: cfg.audit.fsync, metrics: registry });
  const auditMonitor = new AuditChainMonitor({ dir: cfg.audit.dir, writtenHead: () => audit.durableHead(), intervalS: cfg.audit.verifyIntervalS, registry });
  auditMonitor.start();
  let nonceSecret = cfg.policy.nonceSecret;
  if (!nonceSecret) {
    nonceSecret = randomBytes(32).toString('base64url');
    log.warn('no POLICY_NONCE_SECRET: digest nonces are valid on this instance only');
  }
  // One metrics object for the process: prom-client refuses a second registration of a name.
  const metrics = new DecisionMetrics(registry);
  // One aggregator for the process: every chain a reload builds counts into the same windows.
  const aggregator =
    cfg.audit.aggregateWindowS > 0
      ? new AuditAggregator({ sink: audit, windowS: cfg.audit.aggregateWindowS, maxOpen: cfg.audit.aggregateMaxOpen, metrics: registry })
      : undefined;
  const agg = aggregator ? { aggregator } : {};
  const first = buildPolicyChain(policyConfig(cfg, nonceSecret), { registry: loaded.registry, audit, metrics, ...agg, ...(sharedStores ? { stores: sharedStores } : {}) });
  const stores = first.stores;
  let chain = first.chain;
  return {
    get chain() {
      return chain;
    },
    registry: loaded.registry,
    audit,
    auditMonitor,
    aggregator,
    stores,
    reconfigure(next: GatewayConfig): string[] {
      // Compared with what the process started on: those values are the ones still running.
      const restart = RESTART_ONLY.filter(([, get]) => JSON.stringify(get(next)) !== JSON.stringify(get(cfg))).map(([f]) => f);
      chain = buildPolicyChain(policyConfig(next, nonceSecret), { registry: loaded.registry, audit, metrics, ...agg, stores }).chain;
      return restart;
    },
    close: async () => {
      // Counted refusals go into the chain before the log closes (SIGTERM drain ends here).
      if (aggregator) {
        const w = await aggregator.close();
        if (w.records > 0) log.info('audit aggregates written at shutdown', { records: w.records, refusals: w.refusals, failed: w.failed });
      }
      // Stopped first so no run outlives the log and reads a directory its owner may remove next.
      await auditMonitor.stop();
      await audit.close();
    },
  };
}
