/**
 * Flood-proof auditing of repeated refusals. A source that keeps being refused for the same
 * reason (over its rate limit, locked out, oversized requests; the policy chain decides which
 * refusals qualify, see lib/policy/chain.ts) gets:
 *
 *  - its first refusal as a record of its own, durable before the refusal is answered, exactly
 *    as every other decision: a crash can never lose the fact that a source was refused;
 *  - every further refusal with the same (gate, reason, status, source) in the same window only
 *    counted in memory and answered at once (no write, no fdatasync); at the end of the window
 *    one aggregate record carries the count and the times of the first and last of them.
 *
 * A source still being refused when a window ends stays known into the next one, so a flood that
 * lasts costs one record when it starts and one per window while it goes on, whatever its rate. A
 * window with no further refusal from a known source writes nothing for it, and it is forgotten.
 *
 * Memory is bounded by `maxOpen` known keys. Past the cap a refusal from a source not yet known
 * is merged, without a record of its own, into one 'other-sources' aggregate per (gate, reason,
 * status), which has no source field, and counted in gw_audit_aggregate_overflow_total; so a
 * window writes at most 2 x maxOpen records plus one per refusal kind, however many sources.
 *
 * Windows end on a timer (unref'ed) and at close(), which the gateway's shutdown awaits before it
 * closes the log: what was counted is written into the chain before the process exits. A crash
 * (SIGKILL, power loss) loses at most the counts of the current window, never a first refusal.
 * After close() every refusal is written on its own again.
 *
 * Source addresses and identities are held raw in memory only; records hash them like every other
 * record (AuditLog/IdHasher); logs and metrics carry counts and reasons, never a source.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditInput, AuditRecord, AggregateKind } from './record.js';
import type { AuditSink } from './sink.js';
import type { Clock } from '../state/types.js';
import { systemClock } from '../state/types.js';
import { componentLogger, type Logger } from '../log/logger.js';

export interface AuditAggregatorOptions {
  /** Where records go (the AuditLog). */
  sink: AuditSink;
  /** Window length in seconds, > 0 (audit.aggregateWindowS). */
  windowS: number;
  /** Most source aggregates known at once (audit.aggregateMaxOpen), >= 1. */
  maxOpen: number;
  clock?: Clock;
  /** Registers gw_audit_aggregated_total, gw_audit_aggregate_overflow_total, gw_audit_aggregates_open. */
  metrics?: Registry;
  log?: Logger;
  /** false: no timer, windows end only at flush() (tests drive the windows). Default true. */
  timer?: boolean;
}

export interface SubmitOptions {
  /** Keep the identity in the key and the aggregate (an authenticated identity's own rate limit). */
  byIdentity?: boolean;
}

/** What a window wrote. */
export interface FlushResult {
  /** Aggregate records appended. */
  records: number;
  /** Refusals those records stand for. */
  refusals: number;
  /** Aggregate records the log refused (it failed closed); their counts are lost and logged. */
  failed: number;
}

/** Fields every refusal under one key shares, as the aggregate record states them. */
interface Template {
  gate: string;
  decision: AuditInput['decision'];
  status: number;
  reason: string;
  source?: string;
  identity?: string;
  passed?: string[];
}

interface Tally {
  template: Template;
  count: number;
  firstMs: number;
  lastMs: number;
  /** The method of every counted refusal, until two differ (then the record has none). */
  method: string | undefined;
  mixedMethods: boolean;
}

interface AggregateMetrics {
  aggregated: Counter<'reason'>;
  overflow: Counter<'reason'>;
  open: Gauge;
}

const NOTHING: Promise<undefined> = Promise.resolve(undefined);

function metricsOn(reg: Registry): AggregateMetrics {
  return {
    aggregated:
      (reg.getSingleMetric('gw_audit_aggregated_total') as Counter<'reason'> | undefined) ??
      new Counter({ name: 'gw_audit_aggregated_total', help: 'Refusals counted into a per-source aggregate audit record instead of a record of their own', labelNames: ['reason'], registers: [reg] }),
    overflow:
      (reg.getSingleMetric('gw_audit_aggregate_overflow_total') as Counter<'reason'> | undefined) ??
      new Counter({ name: 'gw_audit_aggregate_overflow_total', help: 'Refusals merged into the other-sources aggregate because audit.aggregateMaxOpen sources were already known', labelNames: ['reason'], registers: [reg] }),
    open:
      (reg.getSingleMetric('gw_audit_aggregates_open') as Gauge | undefined) ??
      new Gauge({ name: 'gw_audit_aggregates_open', help: 'Sources with an open refusal aggregate in the current audit window', registers: [reg] }),
  };
}

export class AuditAggregator {
  private known = new Map<string, Tally>();
  private overflow = new Map<string, Tally>();
  private closed = false;
  private overflowLogged = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: AggregateMetrics | undefined;

  constructor(private readonly opts: AuditAggregatorOptions) {
    if (!(opts.windowS > 0)) throw new RangeError('windowS must be > 0');
    if (!(opts.maxOpen >= 1)) throw new RangeError('maxOpen must be >= 1');
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? componentLogger('audit');
    this.metrics = opts.metrics ? metricsOn(opts.metrics) : undefined;
    if (opts.timer !== false) {
      this.timer = setInterval(() => void this.flush(), opts.windowS * 1000);
      // Housekeeping: it must never keep the process alive on its own.
      this.timer.unref();
    }
  }

  /** Sources known in the current window (bounded by maxOpen). */
  get openCount(): number {
    return this.known.size;
  }

  /**
   * Audits one refusal. Resolves with its record when it got one of its own (the first of its
   * key in a window, or any after close()), or with undefined at once when it was counted into
   * an aggregate. Rejects only when the log refuses a record of its own (the chain then fails
   * closed as for any audit failure).
   */
  submit(input: AuditInput, opts: SubmitOptions = {}): Promise<AuditRecord | undefined> {
    if (this.closed) return this.opts.sink.append(input);
    const now = this.clock.now();
    const key = `${input.gate}\u0000${input.reason}\u0000${input.status}\u0000${input.source ?? ''}${opts.byIdentity ? `\u0000${input.identity ?? ''}` : ''}`;
    const seen = this.known.get(key);
    if (seen) {
      tally(seen, input, now);
      this.metrics?.aggregated.inc({ reason: input.reason });
      return NOTHING;
    }
    if (this.known.size >= this.opts.maxOpen) {
      const okey = `${input.gate}\u0000${input.reason}\u0000${input.status}`;
      let o = this.overflow.get(okey);
      if (!o) {
        o = newTally({ gate: input.gate, decision: input.decision, status: input.status, reason: input.reason, ...(input.passed ? { passed: input.passed } : {}) });
        this.overflow.set(okey, o);
      }
      tally(o, input, now);
      this.metrics?.aggregated.inc({ reason: input.reason });
      this.metrics?.overflow.inc({ reason: input.reason });
      if (!this.overflowLogged) {
        this.overflowLogged = true;
        this.log.warn('audit aggregate cap reached: further sources are merged into one other-sources record per reason this window', { maxOpen: this.opts.maxOpen });
      }
      return NOTHING;
    }
    const template: Template = {
      gate: input.gate,
      decision: input.decision,
      status: input.status,
      reason: input.reason,
      ...(input.source !== undefined ? { source: input.source } : {}),
      ...(opts.byIdentity && input.identity !== undefined ? { identity: input.identity } : {}),
      ...(input.passed ? { passed: input.passed } : {}),
    };
    const entry = newTally(template);
    this.known.set(key, entry);
    this.metrics?.open.set(this.known.size);
    return this.opts.sink.append(input).catch((err: unknown) => {
      // Not written, so not known: the next refusal tries a record of its own again.
      if (this.known.get(key) === entry && entry.count === 0) this.known.delete(key);
      throw err;
    });
  }

  /**
   * Ends the window: one record per key with counted refusals, all appended together (one
   * group commit), then resolves. Keys with counts stay known into the next window; the rest
   * are forgotten. Never rejects.
   */
  async flush(): Promise<FlushResult> {
    const known = this.known;
    const overflow = this.overflow;
    this.known = new Map();
    this.overflow = new Map();
    this.overflowLogged = false;
    const writes: Array<Promise<AuditRecord>> = [];
    let refusals = 0;
    for (const [key, t] of known) {
      if (t.count === 0) continue;
      writes.push(this.opts.sink.append(aggregateInput(t, 'source')));
      refusals += t.count;
      if (!this.closed) this.known.set(key, newTally(t.template));
    }
    for (const t of overflow.values()) {
      writes.push(this.opts.sink.append(aggregateInput(t, 'other-sources')));
      refusals += t.count;
    }
    this.metrics?.open.set(this.known.size);
    if (writes.length === 0) return { records: 0, refusals: 0, failed: 0 };
    const settled = await Promise.allSettled(writes);
    const failed = settled.filter((s) => s.status === 'rejected').length;
    if (failed > 0) {
      const why = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')!.reason;
      this.log.error('audit aggregate records not written', { records: failed, of: writes.length, error: why instanceof Error ? why.message : String(why) });
    } else {
      this.log.debug('audit aggregates written', { records: writes.length, refusals });
    }
    return { records: writes.length, refusals, failed };
  }

  /** Stops the timer and writes what is counted; later refusals get records of their own. */
  async close(): Promise<FlushResult> {
    if (this.timer) clearInterval(this.timer);
    this.closed = true;
    return this.flush();
  }
}

function newTally(template: Template): Tally {
  return { template, count: 0, firstMs: 0, lastMs: 0, method: undefined, mixedMethods: false };
}

function tally(t: Tally, input: AuditInput, now: number): void {
  if (t.count === 0) {
    t.firstMs = now;
    t.method = input.method;
  } else if (!t.mixedMethods && t.method !== input.method) {
    t.mixedMethods = true;
    t.method = undefined;
  }
  t.count++;
  t.lastMs = now;
}

function aggregateInput(t: Tally, kind: AggregateKind): AuditInput {
  const x = t.template;
  return {
    gate: x.gate,
    decision: x.decision,
    status: x.status,
    reason: x.reason,
    ...(t.method !== undefined ? { method: t.method } : {}),
    ...(kind === 'source' && x.source !== undefined ? { source: x.source } : {}),
    ...(x.identity !== undefined ? { identity: x.identity } : {}),
    ...(x.passed ? { passed: x.passed } : {}),
    aggregate: { kind, count: t.count, firstMs: t.firstMs, lastMs: t.lastMs },
  };
}
