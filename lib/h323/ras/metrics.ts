/**
 * RAS metrics (prom-client). Created against a caller-supplied registry so tests use isolated
 * registries; several components sharing one registry share the same metric objects.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { metricsRegistry } from '../../metrics/registry.js';

export interface RasMetrics {
  /** RAS messages by direction (in/out) and message type. */
  readonly messages: Counter<'direction' | 'type'>;
  /** Time from LRQ received to LCF/LRJ sent. */
  readonly lrqAnswerSeconds: Histogram<'result'>;
  /** Rejects we sent (LRJ/ARJ-style reasons) and rejects we received, by message and reason. */
  readonly rejects: Counter<'direction' | 'type' | 'reason'>;
  /** Undecodable RAS datagrams, dropped. */
  readonly malformed: Counter<'component'>;
  /** Datagrams refused before lookup: unknown source, wrong gatekeeper id, rate limit. */
  readonly refused: Counter<'cause'>;
  /** Client requests that got no answer after all retries. */
  readonly timeouts: Counter<'type'>;
}

const cache = new WeakMap<Registry, RasMetrics>();

/** A counter child for a per-datagram path. */
export interface CountingChild {
  inc(): void;
}

interface Tally {
  readonly labels: Record<string, string>;
  n: number;
}

/** Tallies of the counters made here, by counter and label set (see countingChild). */
const tallies = new WeakMap<object, Map<string, Tally>>();

/** Hands the tallied increments to prom-client; runs whenever the registry reads the counter. */
function flushTallies(counter: Counter<string>): void {
  const byLabels = tallies.get(counter);
  if (!byLabels) return;
  for (const t of byLabels.values()) {
    if (t.n === 0) continue;
    const n = t.n;
    t.n = 0;
    counter.inc(t.labels, n);
  }
}

/** collect hook of the counters below (prom-client calls it with the metric as `this`). */
function flushTallied(this: Counter<string>): void {
  flushTallies(this);
}

/** Marks a counter declared with flushTallied as one whose children may tally (countingChild). */
function tallied<L extends string>(c: Counter<L>): Counter<L> {
  tallies.set(c, new Map());
  return c;
}

/**
 * A child of `counter` whose increments are added up in a plain number and handed to prom-client
 * when the registry reads the counter (its collect hook), so every read still sees every
 * increment. prom-client's own children hash their label set and check it on every inc, which at
 * thousands of LRQs a second was a tenth of what the responder allocated. A counter registered
 * by something else (no hook of ours) gets prom-client's child.
 */
export function countingChild<L extends string>(c: Counter<L>, labels: Record<L, string>): CountingChild {
  const byLabels = tallies.get(c);
  if (!byLabels) return c.labels(labels);
  const key = JSON.stringify(Object.entries(labels).sort());
  let t = byLabels.get(key);
  if (!t) {
    t = { labels: { ...labels }, n: 0 };
    byLabels.set(key, t);
  }
  const tally = t;
  return {
    inc: () => {
      tally.n++;
    },
  };
}

/** Reuses a metric already on the registry (e.g. registered by another copy of this module). */
function reuse<T>(registry: Registry, name: string, create: () => T): T {
  const existing = registry.getSingleMetric(name);
  return existing ? (existing as unknown as T) : create();
}

export function rasMetrics(registry: Registry = metricsRegistry()): RasMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: RasMetrics = {
    messages: reuse(registry, 'gw_ras_messages_total', () => tallied(new Counter({ name: 'gw_ras_messages_total', help: 'H.225 RAS messages by direction and type', labelNames: ['direction', 'type'], registers, collect: flushTallied }))),
    lrqAnswerSeconds: reuse(registry, 'gw_ras_lrq_answer_seconds', () => new Histogram({
      name: 'gw_ras_lrq_answer_seconds',
      help: 'Time from an LRQ arriving to our LCF/LRJ leaving',
      labelNames: ['result'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    })),
    rejects: reuse(registry, 'gw_ras_rejects_total', () => tallied(new Counter({ name: 'gw_ras_rejects_total', help: 'RAS rejects sent or received, by message type and reason', labelNames: ['direction', 'type', 'reason'], registers, collect: flushTallied }))),
    malformed: reuse(registry, 'gw_ras_malformed_total', () => tallied(new Counter({ name: 'gw_ras_malformed_total', help: 'Undecodable RAS datagrams (dropped)', labelNames: ['component'], registers, collect: flushTallied }))),
    refused: reuse(registry, 'gw_ras_refused_total', () => tallied(new Counter({ name: 'gw_ras_refused_total', help: 'RAS datagrams refused before lookup', labelNames: ['cause'], registers, collect: flushTallied }))),
    timeouts: reuse(registry, 'gw_ras_timeouts_total', () => new Counter({ name: 'gw_ras_timeouts_total', help: 'RAS requests unanswered after all retries', labelNames: ['type'], registers })),
  };
  cache.set(registry, m);
  return m;
}
