/**
 * Builds the state stores the gateway runs on: in-memory (one instance, the default) or Redis
 * shared by several instances, guarded by the configured Redis-loss policy (lib/state/guarded.ts).
 * The returned `stores` object fits PolicyStores (lib/policy/build.ts) and `bindings` fits the
 * registrar's BindingStore.
 */
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { MemoryBindingStore, type BindingStore } from '../registrar/bindings.js';
import { RedisBindingStore } from '../registrar/redis-bindings.js';
import {
  GuardedBindingStore,
  GuardedCallLedger,
  GuardedCounterStore,
  GuardedTokenBuckets,
  GuardedTtlSet,
  StateGuard,
  stateMetrics,
  type UnavailablePolicy,
} from './guarded.js';
import { MemoryCallLedger, MemoryCounterStore, MemoryTokenBuckets, MemoryTtlSet } from './memory.js';
import { GuardedMembershipStore, MemoryMembershipStore, RedisMembershipStore } from './membership.js';
import { redisClientOptions, redisStores } from './redis.js';
import type { CallLedger, Clock, CounterStore, MembershipStore, TokenBucketStore, TtlSet } from './types.js';
import { systemClock } from './types.js';

export type StateConfig =
  | { backend: 'memory' }
  | {
      backend: 'redis';
      /** redis://[:password@]host:port[/db] or rediss:// for TLS. */
      url: string;
      /** Per-deployment key prefix, e.g. "gw:prod:"; instances sharing state use the same one. */
      keyPrefix: string;
      onUnavailable: UnavailablePolicy;
      /** Longest a state operation may wait for Redis (default 1000 ms). */
      commandTimeoutMs?: number;
      /** Cap of the reconnect backoff (default 2000 ms). */
      maxReconnectDelayMs?: number;
    };

/** Same shape as PolicyStores in lib/policy/build.ts. */
export interface SharedStores {
  counters: CounterStore;
  buckets: TokenBucketStore;
  ttl: TtlSet;
  ledger: CallLedger;
}

export interface StateStores {
  stores: SharedStores;
  bindings: BindingStore;
  /** Council seats (lib/council): shared so a room's cap holds across instances. */
  membership: MembershipStore;
  backend: 'memory' | 'redis';
  /** Whether the shared backend is reachable now (memory: always true). */
  up(): boolean;
  /**
   * Resolves when the backend is reachable; rejects after timeoutMs. Call at start-up to refuse
   * to start without Redis, or skip it to start and answer 503 until Redis is there.
   */
  ready(timeoutMs?: number): Promise<void>;
  /** Present for the redis backend: health events ('up', 'down') and the policy in force. */
  guard?: StateGuard;
  close(): Promise<void>;
}

/**
 * `clock`: memory backend defaults to the system clock; the redis backend, when no clock is given,
 * uses Redis server time inside its scripts (one clock for all instances). The local fail-open
 * fallback uses `clock` or the system clock.
 */
export function createStateStores(cfg: StateConfig, registry: Registry, clock?: Clock): StateStores {
  const localClock = clock ?? systemClock;
  const memory = (): SharedStores & { bindings: BindingStore } => ({
    counters: new MemoryCounterStore(localClock),
    buckets: new MemoryTokenBuckets(localClock),
    ttl: new MemoryTtlSet(localClock),
    ledger: new MemoryCallLedger(),
    bindings: new MemoryBindingStore(() => localClock.now()),
  });

  if (cfg.backend === 'memory') {
    stateMetrics(registry).up.set(1);
    const { bindings, ...stores } = memory();
    return {
      stores,
      bindings,
      membership: new MemoryMembershipStore(),
      backend: 'memory',
      up: () => true,
      ready: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }

  if (!/^rediss?:\/\//.test(cfg.url)) throw new Error(`state.url must be redis:// or rediss://, got ${cfg.url}`);
  if (!cfg.keyPrefix) throw new Error('state.keyPrefix is required with the redis backend (e.g. "gw:prod:")');
  if (cfg.onUnavailable !== 'fail-closed' && cfg.onUnavailable !== 'fail-open') throw new Error(`state.onUnavailable must be fail-closed or fail-open`);
  const redis = new Redis(cfg.url, redisClientOptions(cfg.commandTimeoutMs ?? 1000, cfg.maxReconnectDelayMs ?? 2000));
  const guard = new StateGuard(redis, { policy: cfg.onUnavailable, registry });
  const remote = redisStores(redis, cfg.keyPrefix, clock);
  const local = memory();
  const stores: SharedStores = {
    counters: new GuardedCounterStore(guard, remote.counters, local.counters),
    buckets: new GuardedTokenBuckets(guard, remote.buckets, local.buckets),
    ttl: new GuardedTtlSet(guard, remote.ttl, local.ttl),
    ledger: new GuardedCallLedger(guard, remote.ledger, local.ledger),
  };
  const bindings = new GuardedBindingStore(guard, new RedisBindingStore(redis, cfg.keyPrefix, () => localClock.now()), local.bindings);

  const membership = new GuardedMembershipStore(guard, new RedisMembershipStore(redis, cfg.keyPrefix), new MemoryMembershipStore());

  return {
    stores,
    bindings,
    membership,
    backend: 'redis',
    guard,
    up: () => guard.up,
    ready: (timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        if (guard.up) return resolve();
        const onUp = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          guard.off('up', onUp);
          reject(new Error(`redis not reachable within ${timeoutMs} ms`));
        }, timeoutMs);
        guard.once('up', onUp);
      }),
    close: async () => {
      guard.stop();
      guard.removeAllListeners();
      if (redis.status === 'end') return;
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
