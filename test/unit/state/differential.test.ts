/**
 * Differential test: random sequences of operations (fast-check) run step by step on the
 * in-memory stores and on the Redis stores under one ManualClock; every result must be equal.
 * This is what makes the Redis stores drop-in replacements beyond the hand-written table.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryCallLedger, MemoryCounterStore, MemoryTokenBuckets, MemoryTtlSet } from '../../../lib/state/memory.js';
import { redisClientOptions, redisStores } from '../../../lib/state/redis.js';
import { ManualClock } from '../../../lib/state/types.js';
import type { SharedStores } from '../../../lib/state/factory.js';
import { dropKeys, testRedis, type RedisServer } from '../../lab/redis-server.js';

type Op =
  | { t: 'take'; key: string; cost: number; cap: number; refill: number }
  | { t: 'incr'; key: string; ttl: number; by: number }
  | { t: 'get'; key: string }
  | { t: 'delete'; key: string }
  | { t: 'raiseTo'; key: string; value: number; ttl: number }
  | { t: 'addIfAbsent'; key: string; ttl: number }
  | { t: 'add'; key: string; ttl: number }
  | { t: 'ttl'; key: string }
  | { t: 'tryAdd'; owner: string; call: string; max: number }
  | { t: 'bw'; owner: string; call: string; bps: number; max: number }
  | { t: 'usage'; owner: string; except?: string }
  | { t: 'release'; call: string }
  | { t: 'advance'; ms: number };

const key = fc.constantFrom('a', 'b');
const owner = fc.constantFrom('o1', 'o2');
const call = fc.constantFrom('c1', 'c2', 'c3', 'c4');
const ttl = fc.constantFrom(500, 1000, 2500);

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('take' as const), key, cost: fc.integer({ min: 1, max: 3 }), cap: fc.constantFrom(3, 5), refill: fc.constantFrom(0, 0.5, 1, 2.5, 3) }),
  fc.record({ t: fc.constant('incr' as const), key, ttl, by: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ t: fc.constant('get' as const), key }),
  fc.record({ t: fc.constant('delete' as const), key }),
  fc.record({ t: fc.constant('raiseTo' as const), key, value: fc.integer({ min: 0, max: 5 }), ttl }),
  fc.record({ t: fc.constant('addIfAbsent' as const), key, ttl }),
  fc.record({ t: fc.constant('add' as const), key, ttl }),
  fc.record({ t: fc.constant('ttl' as const), key }),
  fc.record({ t: fc.constant('tryAdd' as const), owner, call, max: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ t: fc.constant('bw' as const), owner, call, bps: fc.constantFrom(0, 1000, 32_000, 64_000), max: fc.constantFrom(64_000, 100_000) }),
  fc.record({ t: fc.constant('usage' as const), owner, except: fc.option(call, { nil: undefined }) }),
  fc.record({ t: fc.constant('release' as const), call }),
  fc.record({ t: fc.constant('advance' as const), ms: fc.constantFrom(0, 1, 100, 333, 500, 1000, 2500, 3000) }),
);

async function apply(s: SharedStores, clock: ManualClock, o: Op): Promise<unknown> {
  switch (o.t) {
    case 'take':
      return s.buckets.take(o.key, o.cost, o.cap, o.refill);
    case 'incr':
      return s.counters.incr(o.key, o.ttl, o.by);
    case 'get':
      return s.counters.get(o.key);
    case 'delete':
      return s.counters.delete(o.key);
    case 'raiseTo':
      return s.counters.raiseTo(o.key, o.value, o.ttl);
    case 'addIfAbsent':
      return s.ttl.addIfAbsent(o.key, o.ttl);
    case 'add':
      return s.ttl.add(o.key, o.ttl);
    case 'ttl':
      return s.ttl.ttl(o.key);
    case 'tryAdd':
      return s.ledger.tryAdd(o.owner, o.call, o.max);
    case 'bw':
      return s.ledger.trySetBandwidth(o.owner, o.call, o.bps, o.max);
    case 'usage':
      return s.ledger.usage(o.owner, o.except);
    case 'release':
      return s.ledger.release(o.call);
    case 'advance':
      clock.advance(o.ms);
      return undefined;
  }
}

describe('state: memory and Redis agree on random operation sequences', function () {
  let server: RedisServer | undefined;
  let client: Redis;

  before(async () => {
    const r = await testRedis();
    server = r.server;
    client = new Redis(r.url, redisClientOptions());
    await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
  });

  after(async () => {
    await dropKeys(client, 'diff:*');
    client.disconnect();
    await server?.stop();
  });

  it('same result at every step (300 sequences of up to 40 operations)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
        const memory: SharedStores = {
          counters: new MemoryCounterStore(clock),
          buckets: new MemoryTokenBuckets(clock),
          ttl: new MemoryTtlSet(clock),
          ledger: new MemoryCallLedger(),
        };
        const redis = redisStores(client, `diff:${randomUUID()}:`, clock);
        for (const [i, o] of ops.entries()) {
          // Memory first, then Redis: each step sees the same clock and the same history.
          const m = await apply(memory, clock, o.t === 'advance' ? { t: 'advance', ms: 0 } : o);
          const r = await apply(redis, clock, o);
          expect(r, `step ${i} ${JSON.stringify(o)}`).to.deep.equal(m);
        }
      }),
      { numRuns: 300 },
    );
  });
});
