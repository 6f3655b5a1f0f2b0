/**
 * Two gateway instances (two factories, two Redis connections) on one real redis-server: limits
 * are shared, atomic under parallel load, isolated by key prefix, and the keys are the ones
 * docs/state.md lists.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { PolicyStores } from '../../../lib/policy/build.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { createStateStores, type StateStores } from '../../../lib/state/factory.js';
import { redisClientOptions } from '../../../lib/state/redis.js';
import { MemoryAuditSink } from '../../../lib/audit/sink.js';
import { buildPolicyChain } from '../../../lib/policy/build.js';
import { DocumentRegistry } from '../../../lib/registry/store.js';
import { ManualClock } from '../../../lib/state/types.js';
import { makeIdentity, REALM } from '../policy/fixtures.js';
import { request } from '../policy/harness.js';
import { dropKeys, testRedis, type RedisServer } from '../../lab/redis-server.js';

describe('state/redis: two instances share one Redis', function () {
  let server: RedisServer | undefined;
  let url = '';
  let raw: Redis;
  const open: StateStores[] = [];

  /** One "gateway instance": its own connection, same prefix as its peer. */
  async function instance(keyPrefix: string): Promise<StateStores> {
    const s = createStateStores({ backend: 'redis', url, keyPrefix, onUnavailable: 'fail-closed' }, isolatedRegistry());
    open.push(s);
    await s.ready();
    return s;
  }

  async function pair(): Promise<[StateStores, StateStores, string]> {
    const p = `gw:test-${randomUUID()}:`;
    return [await instance(p), await instance(p), p];
  }

  before(async () => {
    const r = await testRedis();
    server = r.server;
    url = r.url;
    raw = new Redis(url, redisClientOptions());
    await new Promise<void>((resolve) => (raw.status === 'ready' ? resolve() : raw.once('ready', () => resolve())));
  });

  after(async () => {
    for (const s of open) await s.close();
    await dropKeys(raw, 'gw:test-*');
    await dropKeys(raw, 'gw:chains-*');
    raw.disconnect();
    await server?.stop();
  });

  it('the factory result fits PolicyStores (compile-time) and reports the backend', async () => {
    const [a] = await pair();
    const stores: PolicyStores = a.stores;
    expect(stores).to.have.keys(['counters', 'buckets', 'ttl', 'ledger']);
    expect(a.backend).to.equal('redis');
    expect(a.up()).to.equal(true);
  });

  it('rate bucket, replay cache, nonce counter, ledger and bindings are shared', async () => {
    const [a, b] = await pair();
    expect((await a.stores.buckets.take('src:198.51.100.7', 1, 2, 0)).allowed).to.equal(true);
    expect((await b.stores.buckets.take('src:198.51.100.7', 1, 2, 0)).allowed).to.equal(true);
    expect((await a.stores.buckets.take('src:198.51.100.7', 1, 2, 0)).allowed).to.equal(false);
    expect(await a.stores.ttl.addIfAbsent('passport:sig1', 60_000)).to.equal(true);
    expect(await b.stores.ttl.addIfAbsent('passport:sig1', 60_000)).to.equal(false);
    expect(await a.stores.counters.raiseTo('nc:n1', 5, 60_000)).to.equal(true);
    expect(await b.stores.counters.raiseTo('nc:n1', 5, 60_000)).to.equal(false);
    expect(await b.stores.counters.incr('fail:T-01', 60_000)).to.equal(1);
    expect(await a.stores.counters.incr('fail:T-01', 60_000)).to.equal(2);
    expect((await a.stores.ledger.tryAdd('T-01', 'call-1', 1)).ok).to.equal(true);
    expect(await b.stores.ledger.tryAdd('T-01', 'call-2', 1)).to.deep.equal({ ok: false, calls: 1, otherBps: 0 });
    // The survivor can release a call the other instance reserved (HA teardown).
    await b.stores.ledger.release('call-1');
    expect((await a.stores.ledger.usage('T-01')).calls).to.equal(0);
    const exp = Date.now() + 60_000;
    await a.bindings.put('T-01', [{ contact: 'sip:t01@198.51.100.7', expiresAt: exp, callId: 'r', cseq: 1, updatedAt: 1 }]);
    expect((await b.bindings.get('T-01')).map((x) => x.contact)).to.deep.equal(['sip:t01@198.51.100.7']);
  });

  it('different key prefixes (deployments) do not share anything', async () => {
    const [a] = await pair();
    const [other] = await pair();
    expect(await a.stores.ttl.addIfAbsent('k', 60_000)).to.equal(true);
    expect(await other.stores.ttl.addIfAbsent('k', 60_000)).to.equal(true);
    expect((await a.stores.ledger.tryAdd('o', 'c', 1)).ok).to.equal(true);
    expect((await other.stores.ledger.tryAdd('o', 'c', 1)).ok).to.equal(true);
  });

  it('500 parallel takes from two instances never exceed the bucket', async () => {
    const [a, b] = await pair();
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => (i % 2 ? a : b).stores.buckets.take('burst', 1, 37, 0)),
    );
    expect(results.filter((r) => r.allowed)).to.have.length(37);
    expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs > 0)).to.equal(true);
  });

  it('parallel addIfAbsent of one replay key admits exactly one', async () => {
    const [a, b] = await pair();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).stores.ttl.addIfAbsent('sig', 60_000)));
    expect(results.filter(Boolean)).to.have.length(1);
  });

  it('parallel raiseTo with the same nonce count succeeds once (replay)', async () => {
    const [a, b] = await pair();
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).stores.counters.raiseTo('nc', 7, 60_000)));
    expect(results.filter(Boolean)).to.have.length(1);
  });

  it('ledger never exceeds the call cap or the bandwidth cap under parallel reserves', async () => {
    const [a, b] = await pair();
    const adds = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).stores.ledger.tryAdd('T-01', `c${i}`, 7)));
    expect(adds.filter((r) => r.ok)).to.have.length(7);
    expect(adds.every((r) => r.calls <= 7)).to.equal(true);
    expect((await a.stores.ledger.usage('T-01')).calls).to.equal(7);

    const bws = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).stores.ledger.trySetBandwidth('C-01', `bw${i}`, 64_000, 640_000)),
    );
    expect(bws.filter((r) => r.ok)).to.have.length(10);
    expect(await b.stores.ledger.usage('C-01')).to.deep.equal({ calls: 10, bps: 640_000 });

    // Parallel release + reserve churn: the cap holds and nothing leaks.
    const okIds = adds.map((r, i) => (r.ok ? `c${i}` : '')).filter(Boolean);
    const churn = await Promise.all([
      ...okIds.map((id, i) => (i % 2 ? a : b).stores.ledger.release(id)),
      ...okIds.map((id) => a.stores.ledger.release(id)),
      ...Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).stores.ledger.tryAdd('T-01', `n${i}`, 7)),
    ]);
    const newOk = churn.filter((r): r is { ok: boolean; calls: number; otherBps: number } => typeof r === 'object' && r !== null && r.ok).length;
    expect(newOk).to.be.at.most(7);
    expect((await a.stores.ledger.usage('T-01')).calls).to.equal(newOk);
  });

  it('two policy chains (two gateway instances) enforce one concurrent-call cap and one nonce replay cache', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const alice = makeIdentity('T-01', { maxCalls: 1 });
    const p = `gw:chains-${randomUUID()}:`;
    const chainOn = async () => {
      const s = createStateStores({ backend: 'redis', url, keyPrefix: p, onUnavailable: 'fail-closed' }, isolatedRegistry(), clock);
      open.push(s);
      await s.ready();
      const registry = new DocumentRegistry({ version: 1, entries: [alice.entry] });
      return buildPolicyChain({ digest: { realm: REALM, nonceSecrets: ['s3cret'] } }, { registry, audit: new MemoryAuditSink('k', clock), stores: s.stores, clock }).chain;
    };
    const a = await chainOn();
    const b = await chainOn();
    const call = async (chain: typeof a, callId: string) => {
      const first = await chain.decide(request(alice, { callId, identity: null }));
      expect(first.decision.outcome).to.equal('challenge');
      const req = request(alice, { callId }, { challenge: first.decision }, clock.now());
      return { req, res: await chain.decide(req) };
    };
    const one = await call(a, 'call-1@198.51.100.7');
    expect(one.res.decision.outcome, one.res.decision.reason).to.equal('admit');
    const two = await call(b, 'call-2@198.51.100.7');
    expect(two.res.decision.reason).to.equal('concurrent-call-cap');
    // The same authenticated INVITE replayed at the other instance: same nonce count -> refused.
    const replay = await b.decide(one.req);
    expect([replay.gate, replay.decision.reason]).to.deep.equal(['digest', 'nonce-replayed']);
    // BYE handled by instance A frees the slot for instance B.
    await a.release('call-1@198.51.100.7');
    const three = await call(b, 'call-3@198.51.100.7');
    expect(three.res.decision.outcome, three.res.decision.reason).to.equal('admit');
  });

  it('Redis server time is used when no clock is injected', async () => {
    const [a] = await pair();
    expect(await a.stores.ttl.addIfAbsent('k', 30_000)).to.equal(true);
    const left = await a.stores.ttl.ttl('k');
    expect(left).to.be.greaterThan(25_000).and.at.most(30_000);
    expect(await a.stores.counters.incr('w', 30_000)).to.equal(1);
    const t = await a.stores.buckets.take('b', 1, 5, 1);
    expect(t).to.deep.equal({ allowed: true, remaining: 4, retryAfterMs: 0 });
  });

  it('keys carry the prefix, follow docs/state.md and all expire (no leaks)', async () => {
    const [a, , p] = await pair();
    await a.stores.counters.incr('ctr', 60_000);
    await a.stores.buckets.take('bkt', 1, 5, 1);
    await a.stores.ttl.add('ttl', 60_000);
    await a.stores.ledger.tryAdd('own', 'cid', 1);
    await a.bindings.put('aor', [{ contact: 'sip:x@198.51.100.7', expiresAt: Date.now() + 60_000, callId: 'r', cseq: 1, updatedAt: 1 }]);
    const keys = (await raw.keys(`${p}*`)).sort();
    expect(keys).to.deep.equal([`${p}b:bkt`, `${p}c:ctr`, `${p}l:c:cid`, `${p}l:o:own`, `${p}reg:aor`, `${p}t:ttl`].sort());
    for (const k of [`${p}b:bkt`, `${p}c:ctr`, `${p}t:ttl`, `${p}reg:aor`]) expect(await raw.pttl(k), k).to.be.greaterThan(0);
    await a.stores.ledger.release('cid');
    expect(await raw.keys(`${p}l:*`)).to.deep.equal([]);
  });
});
