/**
 * MembershipStore: memory, Redis (real redis-server) and guarded Redis behave the same; two
 * instances on one Redis share a room's seats and its cap; parallel joins from both never exceed
 * the cap; a leave made while Redis is gone is replayed when it returns.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { createStateStores, type StateStores } from '../../../lib/state/factory.js';
import { MemoryMembershipStore, RedisMembershipStore } from '../../../lib/state/membership.js';
import type { MembershipStore, SeatInfo } from '../../../lib/state/types.js';
import { testRedis, type RedisServer } from '../../lab/redis-server.js';

const seat = (role = 'guardian', instance = 'gw-a'): SeatInfo => ({ role, leg: 'sip', instance, joinedAt: 1_700_000_000_000 });

describe('state/membership', function () {
  this.timeout(20_000);
  let redis: { url: string; server?: RedisServer };
  const clients: Redis[] = [];
  const stores: StateStores[] = [];
  const prefix = `gw:test:m:${process.pid}:${Date.now()}:`;

  before(async () => {
    redis = await testRedis();
  });
  after(async () => {
    for (const s of stores) await s.close();
    for (const c of clients) {
      const keys = await c.keys(`${prefix}*`);
      if (keys.length) await c.del(...keys);
      c.disconnect();
    }
    await redis?.server?.stop();
  });

  function client(): Redis {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    // the outage test kills the server under this client too
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  }

  const impls: Array<[string, () => Promise<MembershipStore>]> = [
    ['memory', async () => new MemoryMembershipStore()],
    ['redis', async () => new RedisMembershipStore(client(), `${prefix}r${Math.random()}`)],
    ['guarded redis (factory)', async () => {
      const s = createStateStores({ backend: 'redis', url: redis.url, keyPrefix: `${prefix}g${Math.random()}`, onUnavailable: 'fail-closed' }, isolatedRegistry());
      stores.push(s);
      await s.ready(5000);
      return s.membership;
    }],
  ];

  for (const [name, make] of impls) {
    it(`${name}: cap, duplicates, idempotent leave, listing`, async () => {
      const m = await make();
      expect(await m.tryJoin('room', 's1', seat('moderator'), 2)).to.deep.equal({ ok: true, size: 1 });
      expect(await m.tryJoin('room', 's1', seat(), 2)).to.deep.equal({ ok: false, duplicate: true, size: 1 });
      expect(await m.tryJoin('room', 's2', seat('expert'), 2)).to.deep.equal({ ok: true, size: 2 });
      expect(await m.tryJoin('room', 's3', seat(), 2)).to.deep.equal({ ok: false, size: 2 });
      expect(await m.tryJoin('other', 's3', seat(), 2)).to.deep.equal({ ok: true, size: 1 });
      expect(await m.size('room')).to.equal(2);
      const list = (await m.members('room')).sort((a, b) => a.seatId.localeCompare(b.seatId));
      expect(list).to.deep.equal([{ seatId: 's1', ...seat('moderator') }, { seatId: 's2', ...seat('expert') }]);
      expect(await m.leave('room', 's1')).to.equal(true);
      expect(await m.leave('room', 's1')).to.equal(false);
      expect(await m.leave('nowhere', 'x')).to.equal(false);
      expect(await m.tryJoin('room', 's3', seat(), 2)).to.deep.equal({ ok: true, size: 2 });
      expect(await m.size('empty')).to.equal(0);
      expect(await m.members('empty')).to.deep.equal([]);
    });
  }

  it('two instances on one Redis share the seats: 40 parallel joins from both fill exactly the cap of 12', async () => {
    const p = `${prefix}shared:`;
    const a = createStateStores({ backend: 'redis', url: redis.url, keyPrefix: p, onUnavailable: 'fail-closed' }, isolatedRegistry());
    const b = createStateStores({ backend: 'redis', url: redis.url, keyPrefix: p, onUnavailable: 'fail-closed' }, isolatedRegistry());
    stores.push(a, b);
    await Promise.all([a.ready(5000), b.ready(5000)]);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      (i % 2 ? a : b).membership.tryJoin('council', `seat-${i}`, seat('guardian', i % 2 ? 'gw-a' : 'gw-b'), 12)));
    expect(results.filter((r) => r.ok)).to.have.length(12);
    expect(await a.membership.size('council')).to.equal(12);
    const seen = await b.membership.members('council');
    expect(new Set(seen.map((s) => s.instance))).to.have.length.greaterThan(0);
    // a seat freed on one instance is free for the other
    const leaver = seen[0]!.seatId;
    expect(await b.membership.leave('council', leaver)).to.equal(true);
    expect((await a.membership.tryJoin('council', 'late', seat(), 12)).ok).to.equal(true);
    expect((await b.membership.tryJoin('council', 'later', seat(), 12)).ok).to.equal(false);
    // the layout: one hash per room under the prefix, no identities in it
    const raw = await client().hgetall(`${p}m:council`);
    expect(Object.keys(raw)).to.have.length(12);
    for (const v of Object.values(raw)) expect(Object.keys(JSON.parse(v) as object).sort()).to.deep.equal(['instance', 'joinedAt', 'leg', 'role']);
  });

  it('Redis killed: fail-closed join throws, the leave is kept and replayed after the restart', async function () {
    if (!redis.server) this.skip();
    const s = createStateStores({ backend: 'redis', url: redis.url, keyPrefix: `${prefix}outage:`, onUnavailable: 'fail-closed', maxReconnectDelayMs: 100 }, isolatedRegistry());
    stores.push(s);
    await s.ready(5000);
    expect((await s.membership.tryJoin('council', 'x', seat(), 1)).ok).to.equal(true);
    // persist the seat across the restart, as a Redis with persistence would
    await client().save();
    const down = s.guard!.whenDown();
    await redis.server!.kill();
    await down;
    let err: unknown;
    try {
      await s.membership.tryJoin('council', 'y', seat(), 1);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).to.equal('STATE_UNAVAILABLE');
    expect(await s.membership.leave('council', 'x')).to.equal(false); // not held locally; kept for Redis
    const up = s.guard!.whenUp();
    await redis.server!.start();
    await up;
    expect(await s.membership.size('council')).to.equal(0);
    expect((await s.membership.tryJoin('council', 'y', seat(), 1)).ok).to.equal(true);
  });
});
