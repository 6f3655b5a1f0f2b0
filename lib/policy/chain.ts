/**
 * Chain runner: runs the gates that apply to the method, in order, stops at the first refusal or
 * challenge, writes exactly one audit record for the request and only then returns the decision
 * (so nothing is answered or forwarded without its record on disk). Resources a gate reserved
 * (call slot, bandwidth) are released when a later gate refuses. A gate that throws (e.g. a
 * state store down) yields 503, never 500; an audit write that fails yields 503 too: the gateway
 * fails closed rather than admit without a witness.
 *
 * Under a flood (with an aggregator, audit.aggregateWindowS > 0) the refusals in
 * AGGREGATED_REFUSALS - those that only say "this source is over a limit" - are audited per
 * source and window instead (lib/audit/aggregate.ts): the first one of a source is written and
 * durable before it is answered, like any decision; repeats are counted and answered at once.
 * Admissions, challenges and every other refusal (wrong password, identity, anti-Sybil, SDP,
 * quota) keep a record each.
 */
import type { AuditInput, AuditRecord } from '../audit/record.js';
import type { AuditSink } from '../audit/sink.js';
import type { SubmitOptions } from '../audit/aggregate.js';
import type { DecisionMetrics } from '../audit/metrics.js';
import type { CallLedger } from '../state/types.js';
import { componentLogger } from '../log/logger.js';
import { isThenable, reject, type ChainState, type Decision, type Gate, type Mutations, type PolicyRequest } from './types.js';

export interface ChainResult {
  decision: Decision;
  /** Name of the gate that decided ('chain' when every gate admitted). */
  gate: string;
  /** Changes to apply before forwarding (only meaningful when admitted). */
  mutations: Mutations;
  state: ChainState;
  /** The decision's own record; absent when it was counted into an aggregate (or the audit failed). */
  record?: AuditRecord;
  /** True when the refusal was counted into a per-source aggregate record (see AGGREGATED_REFUSALS). */
  aggregated: boolean;
  latencyUs: number;
}

/**
 * Refusals that repeat without saying anything new: the source is over its rate limit (or the
 * identity over its own), is locked out after failing authentication (the failures that caused
 * the lock are recorded one by one), sends oversized requests, or a state store is down. Under a
 * flood these are aggregated per source (docs/security.md, "Floods").
 */
export const AGGREGATED_REFUSALS: ReadonlySet<string> = new Set([
  'rate-limit-source',
  'rate-limit-identity',
  'auth-lockout',
  'too-many-headers',
  'header-too-large',
  'headers-too-large',
  'body-too-large',
  'gate-error',
]);

/** Where the chain sends the refusals it aggregates (AuditAggregator). */
export interface RefusalAggregator {
  submit(input: AuditInput, opts?: SubmitOptions): Promise<AuditRecord | undefined>;
}

export interface ChainDeps {
  audit: AuditSink;
  ledger: CallLedger;
  metrics?: DecisionMetrics;
  /** Aggregates the refusals in AGGREGATED_REFUSALS; without it every decision has its own record. */
  aggregator?: RefusalAggregator;
  /** Monotonic time source in microseconds; injectable for tests. */
  nowUs?: () => number;
}

// performance.now() (monotonic, sub-microsecond) avoids two BigInt allocations per reading.
const hrUs = (): number => Math.floor(performance.now() * 1000);

export class PolicyChain {
  private readonly log = componentLogger('policy');
  private readonly nowUs: () => number;
  constructor(
    readonly gates: readonly Gate[],
    private readonly deps: ChainDeps,
  ) {
    this.nowUs = deps.nowUs ?? hrUs;
  }

  async decide(req: PolicyRequest): Promise<ChainResult> {
    const t0 = this.nowUs();
    const state: ChainState = { mutations: { headers: {} }, notes: [] };
    const passed: string[] = [];
    let decision: Decision | undefined;
    let gate = 'chain';
    for (const g of this.gates) {
      if (!g.methods.includes(req.method)) continue;
      let d: Decision;
      try {
        const r = g.decide(req, state);
        d = isThenable(r) ? await r : r;
      } catch (err) {
        this.log.error('gate failed', { gate: g.name, error: (err as Error).message });
        d = reject(503, 'Service Unavailable', 'gate-error', { 'Retry-After': '5' });
      }
      if (d.outcome !== 'admit') {
        decision = d;
        gate = g.name;
        break;
      }
      passed.push(g.name);
      if (d.reason !== 'ok') state.notes.push(d.reason);
    }
    if (decision && state.reserved) await this.deps.ledger.release(req.callId).catch(() => undefined);
    const final: Decision = decision ?? {
      outcome: 'admit',
      status: 0,
      reasonPhrase: '',
      reason: ['admitted', ...state.notes].join(';'),
      headers: {},
    };
    let record: AuditRecord | undefined;
    let result = final;
    let aggregated = false;
    try {
      const input: AuditInput = {
        gate,
        decision: final.outcome,
        status: final.status,
        reason: final.reason,
        method: req.method,
        callId: req.callId,
        identity: state.entry?.id ?? state.claimedUser,
        source: req.source.address,
        pii: state.pii,
        passed,
        latencyUs: this.nowUs() - t0,
      };
      const agg = this.deps.aggregator;
      if (agg && final.outcome === 'reject' && AGGREGATED_REFUSALS.has(final.reason)) {
        // The identity is part of the key only when authenticated (its own rate limit).
        record = await agg.submit(input, { byIdentity: final.reason === 'rate-limit-identity' && state.entry !== undefined });
        aggregated = record === undefined;
      } else {
        record = await this.deps.audit.append(input);
      }
    } catch (err) {
      this.log.error('audit append failed; refusing', { error: (err as Error).message });
      if (final.outcome === 'admit') await this.deps.ledger.release(req.callId).catch(() => undefined);
      result = reject(503, 'Service Unavailable', 'audit-unavailable', { 'Retry-After': '30' });
      gate = 'audit';
    }
    const latencyUs = this.nowUs() - t0;
    this.deps.metrics?.observe(gate, result.outcome, latencyUs / 1e6);
    return { decision: result, gate, mutations: state.mutations, state, record, aggregated, latencyUs };
  }

  /** The call ended (BYE, CANCEL, failure): free its call slot and bandwidth. */
  async release(callId: string): Promise<void> {
    await this.deps.ledger.release(callId);
  }
}
