/**
 * Redis loss behaviour. Every store operation goes through a StateGuard:
 *  - Redis connected: the operation runs on Redis; an error or timeout counts as unavailable.
 *  - Redis unavailable, policy 'fail-closed' (default): the operation throws StateUnavailableError
 *    at once (no queueing, no waiting for a reconnect); the policy chain turns a throwing gate
 *    into 503 with Retry-After.
 *  - Redis unavailable, policy 'fail-open': the operation runs on a local in-memory store, so
 *    limits hold per instance only until Redis returns; logged and counted.
 * Releases of call-ledger slots never throw: one that cannot reach Redis is remembered (bounded)
 * and replayed when Redis returns, so an outage does not leak concurrent-call slots.
 * Recovery is automatic: ioredis reconnects with capped backoff and the guard switches back on
 * 'ready' (after replaying pending releases).
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { componentLogger } from '../log/logger.js';
import type { Binding, BindingStore } from '../registrar/bindings.js';
import type { CallLedger, CounterStore, ReserveResult, TakeResult, TokenBucketStore, TtlSet } from './types.js';

export type UnavailablePolicy = 'fail-closed' | 'fail-open';

/** Thrown by guarded stores in fail-closed mode while the shared state backend is unreachable. */
export class StateUnavailableError extends Error {
  readonly code = 'STATE_UNAVAILABLE';
  constructor(
    readonly op: string,
    override readonly cause?: unknown,
  ) {
    super(`shared state unavailable (${op})${cause instanceof Error ? `: ${cause.message}` : ''}`);
    this.name = 'StateUnavailableError';
  }
}

export function isStateUnavailable(err: unknown): err is StateUnavailableError {
  return err instanceof StateUnavailableError;
}

export interface StateMetrics {
  up: Gauge;
  errors: Counter<'op'>;
  fallback: Counter<'op'>;
  pendingReleases: Gauge;
}

/** Registers (or reuses, when already on the registry) the gw_state_* metrics. */
export function stateMetrics(registry: Registry): StateMetrics {
  // Declared literally (not through a name parameter) so docs/metrics.md can be generated from the code.
  const reuse = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    up: reuse('gw_state_backend_up', () => new Gauge({ name: 'gw_state_backend_up', help: 'Shared state backend (Redis) reachable: 1 up, 0 down (memory backend: always 1)', registers: [registry] })),
    errors: reuse('gw_state_errors_total', () => new Counter({ name: 'gw_state_errors_total', help: 'State operations that found the shared backend unavailable (error, timeout or disconnected), by operation', labelNames: ['op'] as const, registers: [registry] })),
    fallback: reuse('gw_state_fallback_total', () => new Counter({ name: 'gw_state_fallback_total', help: 'State operations served by the local in-memory fallback (fail-open) while the shared backend was down', labelNames: ['op'] as const, registers: [registry] })),
    pendingReleases: reuse('gw_state_pending_releases', () => new Gauge({ name: 'gw_state_pending_releases', help: 'Call-ledger releases waiting for the shared backend to return', registers: [registry] })),
  };
}

export interface StateGuardOptions {
  policy: UnavailablePolicy;
  registry: Registry;
}

/** Tracks backend health from ioredis events and routes operations (see file comment). */
export class StateGuard extends EventEmitter {
  private isUp: boolean;
  readonly policy: UnavailablePolicy;
  readonly metrics: StateMetrics;
  private readonly log = componentLogger('state');
  private readonly recoverHooks: Array<() => Promise<void>> = [];
  private lastErrorLog = 0;
  private recovering = false;
  private readyAgain = false;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    opts: StateGuardOptions,
  ) {
    super();
    this.policy = opts.policy;
    this.metrics = stateMetrics(opts.registry);
    this.isUp = redis.status === 'ready';
    this.metrics.up.set(this.isUp ? 1 : 0);
    redis.on('ready', () => void this.onReady());
    redis.on('close', () => this.setDown('connection closed'));
    redis.on('end', () => this.setDown('connection ended'));
    redis.on('error', (err: Error) => {
      if (!this.stopped) this.logError('redis error', err);
    });
  }

  get up(): boolean {
    return this.isUp;
  }

  /** Resolves once the backend is up (immediately when it is). */
  whenUp(): Promise<void> {
    if (this.isUp) return Promise.resolve();
    return new Promise((resolve) => this.once('up', () => resolve()));
  }

  /** Resolves once the backend is down (immediately when it is). */
  whenDown(): Promise<void> {
    if (!this.isUp) return Promise.resolve();
    return new Promise((resolve) => this.once('down', () => resolve()));
  }

  /** Work to do on reconnection before traffic returns to Redis (e.g. replay releases). */
  onRecover(hook: () => Promise<void>): void {
    this.recoverHooks.push(hook);
  }

  async exec<T>(op: string, remote: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    if (!this.isUp) return this.unavailable(op, local, new Error('backend not connected'));
    try {
      return await remote();
    } catch (err) {
      return this.unavailable(op, local, err);
    }
  }

  private unavailable<T>(op: string, local: () => Promise<T>, cause: unknown): Promise<T> {
    this.metrics.errors.inc({ op });
    if (this.isUp) this.logError(`state operation failed (${op})`, cause);
    if (this.policy === 'fail-open') {
      this.metrics.fallback.inc({ op });
      return local();
    }
    return Promise.reject(new StateUnavailableError(op, cause));
  }

  private async onReady(): Promise<void> {
    if (this.recovering) {
      this.readyAgain = true;
      return;
    }
    this.recovering = true;
    try {
      do {
        this.readyAgain = false;
        for (const hook of this.recoverHooks) {
          try {
            await hook();
          } catch (err) {
            this.logError('state recovery hook failed', err);
          }
        }
      } while (this.readyAgain);
    } finally {
      this.recovering = false;
    }
    if (this.redis.status !== 'ready' || this.isUp) return;
    this.isUp = true;
    this.metrics.up.set(1);
    this.log.info('shared state backend up', { policy: this.policy });
    this.emit('up');
  }

  /** Shutting down: the coming disconnect is not an outage (no warning). */
  stop(): void {
    this.stopped = true;
  }

  private setDown(why: string): void {
    if (!this.isUp) return;
    if (this.stopped) {
      this.isUp = false;
      this.metrics.up.set(0);
      return;
    }
    this.isUp = false;
    this.metrics.up.set(0);
    this.log.warn('shared state backend down', {
      why,
      policy: this.policy,
      effect: this.policy === 'fail-open' ? 'local in-memory fallback' : 'requests refused with 503',
    });
    this.emit('down');
  }

  /** At most one line per second: an outage must not flood the log (the metrics count every error). */
  private logError(msg: string, err: unknown): void {
    const t = Date.now();
    if (t - this.lastErrorLog < 1000) return;
    this.lastErrorLog = t;
    this.log.warn(msg, { error: err instanceof Error ? err.message : String(err) });
  }
}

export class GuardedCounterStore implements CounterStore {
  constructor(
    private readonly g: StateGuard,
    private readonly remote: CounterStore,
    private readonly local: CounterStore,
  ) {}
  incr(key: string, ttlMs: number, by?: number): Promise<number> {
    return this.g.exec('counter.incr', () => this.remote.incr(key, ttlMs, by), () => this.local.incr(key, ttlMs, by));
  }
  get(key: string): Promise<number> {
    return this.g.exec('counter.get', () => this.remote.get(key), () => this.local.get(key));
  }
  delete(key: string): Promise<void> {
    return this.g.exec('counter.delete', () => this.remote.delete(key), () => this.local.delete(key));
  }
  raiseTo(key: string, value: number, ttlMs: number): Promise<boolean> {
    return this.g.exec('counter.raiseTo', () => this.remote.raiseTo(key, value, ttlMs), () => this.local.raiseTo(key, value, ttlMs));
  }
}

export class GuardedTokenBuckets implements TokenBucketStore {
  constructor(
    private readonly g: StateGuard,
    private readonly remote: TokenBucketStore,
    private readonly local: TokenBucketStore,
  ) {}
  take(key: string, cost: number, capacity: number, refillPerSec: number): Promise<TakeResult> {
    return this.g.exec(
      'bucket.take',
      () => this.remote.take(key, cost, capacity, refillPerSec),
      () => this.local.take(key, cost, capacity, refillPerSec),
    );
  }
}

export class GuardedTtlSet implements TtlSet {
  constructor(
    private readonly g: StateGuard,
    private readonly remote: TtlSet,
    private readonly local: TtlSet,
  ) {}
  addIfAbsent(key: string, ttlMs: number): Promise<boolean> {
    return this.g.exec('ttl.addIfAbsent', () => this.remote.addIfAbsent(key, ttlMs), () => this.local.addIfAbsent(key, ttlMs));
  }
  ttl(key: string): Promise<number> {
    return this.g.exec('ttl.ttl', () => this.remote.ttl(key), () => this.local.ttl(key));
  }
  add(key: string, ttlMs: number): Promise<void> {
    return this.g.exec('ttl.add', () => this.remote.add(key, ttlMs), () => this.local.add(key, ttlMs));
  }
}

export class GuardedCallLedger implements CallLedger {
  private readonly pending = new Set<string>();

  constructor(
    private readonly g: StateGuard,
    private readonly remote: CallLedger,
    private readonly local: CallLedger,
    private readonly maxPending = 100_000,
  ) {
    g.onRecover(() => this.replayReleases());
  }

  tryAdd(owner: string, callId: string, maxCalls: number): Promise<ReserveResult> {
    return this.g.exec(
      'ledger.tryAdd',
      async () => {
        // Releases that failed while the connection stayed up (timeouts) go first, so a freed
        // slot is free before the next reservation counts it.
        if (this.pending.size) await this.replayReleases().catch(() => undefined);
        return this.remote.tryAdd(owner, callId, maxCalls);
      },
      () => this.local.tryAdd(owner, callId, maxCalls),
    );
  }
  trySetBandwidth(owner: string, callId: string, bps: number, maxBps: number): Promise<ReserveResult> {
    return this.g.exec(
      'ledger.trySetBandwidth',
      () => this.remote.trySetBandwidth(owner, callId, bps, maxBps),
      () => this.local.trySetBandwidth(owner, callId, bps, maxBps),
    );
  }
  usage(owner: string, exceptCallId?: string): Promise<{ calls: number; bps: number }> {
    return this.g.exec('ledger.usage', () => this.remote.usage(owner, exceptCallId), () => this.local.usage(owner, exceptCallId));
  }

  /**
   * Frees the call everywhere it may be held (a call reserved on the local fallback during an
   * outage lives there). Never throws: a release Redis cannot take now is replayed on recovery.
   */
  async release(callId: string): Promise<void> {
    await this.local.release(callId);
    if (this.g.up) {
      try {
        await this.remote.release(callId);
        return;
      } catch {
        this.g.metrics.errors.inc({ op: 'ledger.release' });
      }
    }
    if (this.pending.size < this.maxPending) this.pending.add(callId);
    this.g.metrics.pendingReleases.set(this.pending.size);
  }

  /** Number of releases waiting for Redis. */
  get pendingReleases(): number {
    return this.pending.size;
  }

  private async replayReleases(): Promise<void> {
    try {
      for (const id of [...this.pending]) {
        await this.remote.release(id);
        this.pending.delete(id);
      }
    } finally {
      this.g.metrics.pendingReleases.set(this.pending.size);
    }
  }
}

export class GuardedBindingStore implements BindingStore {
  constructor(
    private readonly g: StateGuard,
    private readonly remote: BindingStore,
    private readonly local: BindingStore,
  ) {}
  get(aor: string): Promise<Binding[]> {
    return this.g.exec('bindings.get', () => this.remote.get(aor), () => this.local.get(aor));
  }
  put(aor: string, bindings: Binding[]): Promise<void> {
    return this.g.exec('bindings.put', () => this.remote.put(aor, bindings), () => this.local.put(aor, bindings));
  }
}
