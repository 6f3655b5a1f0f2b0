/**
 * One behavioural table run against every implementation of the state interfaces: in-memory,
 * raw Redis (lib/state/redis.ts + lib/registrar/redis-bindings.ts) and the guarded Redis stores
 * the factory builds. Same inputs, same clock (ManualClock, never a sleep), same expected
 * outputs: the Redis stores are drop-in replacements for the memory ones.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { MemoryBindingStore, type BindingStore } from '../../../lib/registrar/bindings.js';
import { RedisBindingStore } from '../../../lib/registrar/redis-bindings.js';
import { createStateStores, type SharedStores } from '../../../lib/state/factory.js';
import { MemoryCallLedger, MemoryCounterStore, MemoryTokenBuckets, MemoryTtlSet } from '../../../lib/state/memory.js';
import { redisClientOptions, redisStores } from '../../../lib/state/redis.js';
import { ManualClock } from '../../../lib/state/types.js';
import { dropKeys, testRedis, type RedisServer } from '../../lab/redis-server.js';

interface Impl {
  stores: SharedStores;
  bindings: BindingStore;
  close(): Promise<void>;
}

type Factory = (clock: ManualClock) => Promise<Impl>;

let server: RedisServer | undefined;
let url = '';
let client: Redis | undefined;

const prefix = (): string => `test:${randomUUID()}:`;

const impls: Array<[string, Factory]> = [
  [
    'memory',
    async (clock) => ({
      stores: {
        counters: new MemoryCounterStore(clock),
        buckets: new MemoryTokenBuckets(clock),
        ttl: new MemoryTtlSet(clock),
        ledger: new MemoryCallLedger(),
      },
      bindings: new MemoryBindingStore(() => clock.now()),
      close: async () => undefined,
    }),
  ],
  [
    'memory via factory',
    async (clock) => {
      const s = createStateStores({ backend: 'memory' }, isolatedRegistry(), clock);
      await s.ready();
      return { stores: s.stores, bindings: s.bindings, close: () => s.close() };
    },
  ],
  [
    'redis',
    async (clock) => {
      const p = prefix();
      return { stores: redisStores(client!, p, clock), bindings: new RedisBindingStore(client!, p, () => clock.now()), close: async () => undefined };
    },
  ],
  [
    'redis via factory (guarded, fail-closed)',
    async (clock) => {
      const s = createStateStores({ backend: 'redis', url, keyPrefix: prefix(), onUnavailable: 'fail-closed' }, isolatedRegistry(), clock);
      await s.ready();
      return { stores: s.stores, bindings: s.bindings, close: () => s.close() };
    },
  ],
];

describe('state: shared behaviour table (memory, memory via factory, redis, guarded redis)', function () {
  before(async () => {
    const r = await testRedis();
    server = r.server;
    url = r.url;
    client = new Redis(url, redisClientOptions());
    await new Promise<void>((resolve) => (client!.status === 'ready' ? resolve() : client!.once('ready', () => resolve())));
  });

  after(async () => {
    if (client) await dropKeys(client, 'test:*');
    client?.disconnect();
    await server?.stop();
  });

  for (const [name, make] of impls) {
    describe(name, () => {
      let clock: ManualClock;
      let impl: Impl;
      beforeEach(async () => {
        clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
        impl = await make(clock);
      });
      afterEach(async () => impl.close());

      it('token bucket: capacity, refill by the clock, retry-after', async () => {
        const b = impl.stores.buckets;
        for (let i = 0; i < 3; i++) expect((await b.take('k', 1, 3, 1)).allowed).to.equal(true);
        expect(await b.take('k', 1, 3, 1)).to.deep.equal({ allowed: false, remaining: 0, retryAfterMs: 1000 });
        clock.advance(500);
        expect(await b.take('k', 1, 3, 1)).to.deep.equal({ allowed: false, remaining: 0, retryAfterMs: 500 });
        clock.advance(500);
        expect(await b.take('k', 1, 3, 1)).to.deep.equal({ allowed: true, remaining: 0, retryAfterMs: 0 });
        expect(await b.take('other', 1, 3, 1)).to.deep.equal({ allowed: true, remaining: 2, retryAfterMs: 0 });
      });

      it('token bucket: cost > 1, fractional refill, never above capacity, no refill', async () => {
        const b = impl.stores.buckets;
        expect(await b.take('k', 4, 10, 2.5)).to.deep.equal({ allowed: true, remaining: 6, retryAfterMs: 0 });
        expect(await b.take('k', 4, 10, 2.5)).to.deep.equal({ allowed: true, remaining: 2, retryAfterMs: 0 });
        expect(await b.take('k', 4, 10, 2.5)).to.deep.equal({ allowed: false, remaining: 2, retryAfterMs: 800 });
        clock.advance(400);
        expect(await b.take('k', 4, 10, 2.5)).to.deep.equal({ allowed: false, remaining: 3, retryAfterMs: 400 });
        clock.advance(3_600_000);
        expect(await b.take('k', 1, 10, 2.5)).to.deep.equal({ allowed: true, remaining: 9, retryAfterMs: 0 });
        expect(await b.take('z', 2, 2, 0)).to.deep.equal({ allowed: true, remaining: 0, retryAfterMs: 0 });
        expect(await b.take('z', 1, 2, 0)).to.deep.equal({ allowed: false, remaining: 0, retryAfterMs: 3_600_000 });
        expect(await b.take('huge', 5, 3, 1)).to.deep.equal({ allowed: false, remaining: 3, retryAfterMs: 2000 });
      });

      it('ttl set: add-if-absent until expiry, ttl, add refreshes', async () => {
        const s = impl.stores.ttl;
        expect(await s.addIfAbsent('sig', 1000)).to.equal(true);
        expect(await s.addIfAbsent('sig', 1000)).to.equal(false);
        expect(await s.ttl('sig')).to.equal(1000);
        clock.advance(400);
        expect(await s.ttl('sig')).to.equal(600);
        clock.advance(600);
        expect(await s.ttl('sig')).to.equal(0);
        expect(await s.addIfAbsent('sig', 1000)).to.equal(true);
        await s.add('lock', 5000);
        clock.advance(4000);
        await s.add('lock', 5000);
        expect(await s.ttl('lock')).to.equal(5000);
        expect(await s.ttl('never')).to.equal(0);
      });

      it('counters: windowed incr with by, get, delete, raiseTo high-water mark', async () => {
        const c = impl.stores.counters;
        expect(await c.incr('a', 1000)).to.equal(1);
        expect(await c.incr('a', 1000)).to.equal(2);
        expect(await c.incr('a', 1000, 5)).to.equal(7);
        expect(await c.get('a')).to.equal(7);
        clock.advance(999);
        expect(await c.incr('a', 1000)).to.equal(8);
        clock.advance(1);
        expect(await c.get('a')).to.equal(0);
        expect(await c.incr('a', 1000)).to.equal(1);
        await c.delete('a');
        expect(await c.get('a')).to.equal(0);
        expect(await c.get('missing')).to.equal(0);
        expect(await c.raiseTo('nc', 1, 1000)).to.equal(true);
        expect(await c.raiseTo('nc', 1, 1000)).to.equal(false);
        expect(await c.raiseTo('nc', 3, 1000)).to.equal(true);
        expect(await c.raiseTo('nc', 2, 1000)).to.equal(false);
        expect(await c.get('nc')).to.equal(3);
        clock.advance(1000);
        expect(await c.raiseTo('nc', 1, 1000)).to.equal(true);
      });

      it('call ledger: cap, duplicate call id, bandwidth sum, usage, idempotent release', async () => {
        const l = impl.stores.ledger;
        expect(await l.tryAdd('a', 'c1', 2)).to.deep.equal({ ok: true, calls: 1, otherBps: 0 });
        expect(await l.tryAdd('a', 'c2', 2)).to.deep.equal({ ok: true, calls: 2, otherBps: 0 });
        expect(await l.tryAdd('a', 'c3', 2)).to.deep.equal({ ok: false, calls: 2, otherBps: 0 });
        expect(await l.tryAdd('b', 'c1', 2)).to.deep.equal({ ok: false, duplicate: true, calls: 0, otherBps: 0 });
        expect(await l.trySetBandwidth('a', 'c1', 64_000, 100_000)).to.deep.equal({ ok: true, calls: 2, otherBps: 0 });
        expect(await l.trySetBandwidth('a', 'c2', 64_000, 100_000)).to.deep.equal({ ok: false, calls: 2, otherBps: 64_000 });
        expect(await l.trySetBandwidth('a', 'c2', 36_000, 100_000)).to.deep.equal({ ok: true, calls: 2, otherBps: 64_000 });
        expect(await l.trySetBandwidth('b', 'c2', 1, 100_000)).to.deep.equal({ ok: false, duplicate: true, calls: 0, otherBps: 0 });
        expect(await l.usage('a')).to.deep.equal({ calls: 2, bps: 100_000 });
        expect(await l.usage('a', 'c1')).to.deep.equal({ calls: 1, bps: 36_000 });
        expect(await l.usage('nobody')).to.deep.equal({ calls: 0, bps: 0 });
        await l.release('c1');
        await l.release('c1');
        await l.release('unknown');
        expect(await l.usage('a')).to.deep.equal({ calls: 1, bps: 36_000 });
        expect(await l.tryAdd('a', 'c3', 2)).to.deep.equal({ ok: true, calls: 2, otherBps: 36_000 });
        // trySetBandwidth on a call not yet added adds it (no call cap there, as in memory).
        expect(await l.trySetBandwidth('b', 'c9', 12_500.5, 20_000)).to.deep.equal({ ok: true, calls: 1, otherBps: 0 });
        expect(await l.usage('b')).to.deep.equal({ calls: 1, bps: 12_500.5 });
        await l.release('c2');
        await l.release('c3');
        await l.release('c9');
        expect(await l.usage('a')).to.deep.equal({ calls: 0, bps: 0 });
        expect(await l.tryAdd('b', 'c1', 1)).to.deep.equal({ ok: true, calls: 1, otherBps: 0 });
      });

      it('keys with separators, spaces and non-ASCII stay distinct', async () => {
        const s = impl.stores.ttl;
        expect(await s.addIfAbsent('src:198.51.100.7:5060', 1000)).to.equal(true);
        expect(await s.addIfAbsent('src:198.51.100.7', 1000)).to.equal(true);
        expect(await s.addIfAbsent('ïd with space', 1000)).to.equal(true);
        expect(await s.addIfAbsent('ïd with space', 1000)).to.equal(false);
      });

      it('bindings: put replaces, get drops expired, empty put deletes, copies returned', async () => {
        const now = clock.now();
        const b = (contact: string, inSec: number, cseq = 1) => ({ contact, expiresAt: now + inSec * 1000, callId: 'reg-1', cseq, updatedAt: now });
        expect(await impl.bindings.get('T-01')).to.deep.equal([]);
        await impl.bindings.put('T-01', [b('sip:a@198.51.100.7', 60), b('sip:b@198.51.100.8', 3600, 2)]);
        expect(await impl.bindings.get('T-01')).to.deep.equal([b('sip:a@198.51.100.7', 60), b('sip:b@198.51.100.8', 3600, 2)]);
        const got = await impl.bindings.get('T-01');
        got[0]!.contact = 'mutated';
        expect((await impl.bindings.get('T-01'))[0]!.contact).to.equal('sip:a@198.51.100.7');
        clock.advance(60_000);
        expect(await impl.bindings.get('T-01')).to.deep.equal([b('sip:b@198.51.100.8', 3600, 2)]);
        expect(await impl.bindings.get('C-01')).to.deep.equal([]);
        await impl.bindings.put('T-01', []);
        expect(await impl.bindings.get('T-01')).to.deep.equal([]);
      });
    });
  }
});
