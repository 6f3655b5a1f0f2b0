/**
 * Redis loss and recovery against a real redis-server that the tests kill (SIGKILL), freeze
 * (SIGSTOP) and restart on the same port. Skipped when REDIS_URL points at a shared server.
 * Synchronisation is on events only: the server's exit, the guard's 'down'/'up' events.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryAuditSink } from '../../../lib/audit/sink.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { buildPolicyChain } from '../../../lib/policy/build.js';
import { DocumentRegistry } from '../../../lib/registry/store.js';
import { StateUnavailableError } from '../../../lib/state/guarded.js';
import { createStateStores, type StateStores } from '../../../lib/state/factory.js';
import { redisClientOptions } from '../../../lib/state/redis.js';
import { ManualClock } from '../../../lib/state/types.js';
import type { Registry } from 'prom-client';
import { makeIdentity, REALM } from '../policy/fixtures.js';
import { request } from '../policy/harness.js';
import { RedisServer } from '../../lab/redis-server.js';

async function metric(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return Number(v?.value ?? 0);
}

async function rejectsWithin<T>(p: Promise<T>, ms: number): Promise<unknown> {
  const t0 = Date.now();
  try {
    await p;
  } catch (err) {
    expect(Date.now() - t0, 'failed fast').to.be.lessThan(ms);
    return err;
  }
  throw new Error('expected a rejection');
}

(process.env.REDIS_URL ? describe.skip : describe)('state/redis: Redis loss and recovery', function () {
  let server: RedisServer;
  let raw: Redis;
  let open: StateStores[] = [];

  function stores(onUnavailable: 'fail-closed' | 'fail-open', registry: Registry = isolatedRegistry(), commandTimeoutMs = 300): StateStores {
    const s = createStateStores(
      { backend: 'redis', url: server.url, keyPrefix: `gw:outage-${randomUUID()}:`, onUnavailable, commandTimeoutMs, maxReconnectDelayMs: 100 },
      registry,
    );
    open.push(s);
    return s;
  }

  before(async () => {
    server = await RedisServer.start();
  });

  beforeEach(async () => {
    if (!server.running) await server.start();
    raw = new Redis(server.url, redisClientOptions());
    raw.on('error', () => undefined);
    await new Promise<void>((resolve) => raw.once('ready', () => resolve()));
  });

  afterEach(async () => {
    server.thaw();
    for (const s of open) await s.close();
    open = [];
    raw.disconnect();
  });

  after(async () => {
    await server.stop();
  });

  it('fail-closed: Redis killed -> every operation throws StateUnavailableError at once; metrics show it', async () => {
    const reg = isolatedRegistry();
    const s = stores('fail-closed', reg);
    await s.ready();
    expect(await metric(reg, 'gw_state_backend_up')).to.equal(1);
    expect((await s.stores.buckets.take('k', 1, 5, 1)).allowed).to.equal(true);

    // Issued right as the server dies (no wait for the disconnect): fails within the command timeout.
    const kill = server.kill();
    const inflight = rejectsWithin(s.stores.ttl.addIfAbsent('x', 1000), 1000);
    await kill;
    expect(await inflight).to.be.instanceOf(StateUnavailableError);

    await s.guard!.whenDown();
    expect(s.up()).to.equal(false);
    const ops: Array<() => Promise<unknown>> = [
      () => s.stores.buckets.take('k', 1, 5, 1),
      () => s.stores.counters.incr('c', 1000),
      () => s.stores.counters.raiseTo('nc', 1, 1000),
      () => s.stores.ttl.addIfAbsent('sig', 1000),
      () => s.stores.ledger.tryAdd('o', 'c1', 1),
      () => s.stores.ledger.trySetBandwidth('o', 'c1', 1, 10),
      () => s.bindings.get('T-01'),
    ];
    for (const op of ops) {
      const err = await rejectsWithin(op(), 50);
      expect(err).to.be.instanceOf(StateUnavailableError);
      expect((err as StateUnavailableError).code).to.equal('STATE_UNAVAILABLE');
    }
    expect(await metric(reg, 'gw_state_backend_up')).to.equal(0);
    expect(await metric(reg, 'gw_state_errors_total', { op: 'bucket.take' })).to.equal(1);
    expect(await metric(reg, 'gw_state_errors_total', { op: 'ttl.addIfAbsent' })).to.equal(2);
  });

  it('fail-closed: recovery when Redis returns; a release made during the outage frees the slot kept by Redis', async () => {
    const reg = isolatedRegistry();
    const s = stores('fail-closed', reg);
    await s.ready();
    expect((await s.stores.ledger.tryAdd('T-01', 'call-1', 1)).ok).to.equal(true);
    // A persistent Redis keeps the slot across the outage: snapshot now, reload on restart.
    await raw.save();
    await server.kill();
    await s.guard!.whenDown();
    // BYE during the outage: the release does not throw and is remembered.
    await s.stores.ledger.release('call-1');
    expect(await metric(reg, 'gw_state_pending_releases')).to.equal(1);
    expect(await rejectsWithin(s.stores.ledger.tryAdd('T-01', 'call-2', 1), 50)).to.be.instanceOf(StateUnavailableError);

    const up = s.guard!.whenUp();
    await server.start();
    await up;
    expect(s.up()).to.equal(true);
    expect(await metric(reg, 'gw_state_backend_up')).to.equal(1);
    expect(await metric(reg, 'gw_state_pending_releases')).to.equal(0);
    const check = new Redis(server.url, redisClientOptions());
    check.on('error', () => undefined);
    try {
      await new Promise<void>((resolve) => check.once('ready', () => resolve()));
      expect(await check.keys('*:l:*')).to.deep.equal([]);
    } finally {
      check.disconnect();
    }
    expect((await s.stores.buckets.take('k', 1, 5, 1)).allowed).to.equal(true);
    expect((await s.stores.ledger.tryAdd('T-01', 'call-2', 1)).ok).to.equal(true);
  });

  it('fail-open: Redis killed -> local in-memory fallback, counted; back on Redis after recovery', async () => {
    const reg = isolatedRegistry();
    const s = stores('fail-open', reg);
    await s.ready();
    await server.kill();
    await s.guard!.whenDown();
    const t0 = Date.now();
    expect(await s.stores.buckets.take('src', 1, 2, 0)).to.deep.equal({ allowed: true, remaining: 1, retryAfterMs: 0 });
    expect((await s.stores.buckets.take('src', 1, 2, 0)).allowed).to.equal(true);
    expect((await s.stores.buckets.take('src', 1, 2, 0)).allowed).to.equal(false);
    expect(await s.stores.ttl.addIfAbsent('sig', 60_000)).to.equal(true);
    expect(await s.stores.ttl.addIfAbsent('sig', 60_000)).to.equal(false);
    expect((await s.stores.ledger.tryAdd('T-01', 'local-call', 1)).ok).to.equal(true);
    expect(Date.now() - t0).to.be.lessThan(200);
    expect(await metric(reg, 'gw_state_fallback_total', { op: 'bucket.take' })).to.equal(3);
    expect(await metric(reg, 'gw_state_backend_up')).to.equal(0);
    // The local call is released locally (and the release replayed to Redis, harmlessly).
    await s.stores.ledger.release('local-call');
    expect((await s.stores.ledger.tryAdd('T-01', 'local-call-2', 1)).ok).to.equal(true);

    const up = s.guard!.whenUp();
    await server.start();
    await up;
    raw.disconnect();
    raw = new Redis(server.url, redisClientOptions());
    raw.on('error', () => undefined);
    await new Promise<void>((resolve) => raw.once('ready', () => resolve()));
    const before = await metric(reg, 'gw_state_fallback_total', { op: 'ttl.addIfAbsent' });
    expect(await s.stores.ttl.addIfAbsent('after', 60_000)).to.equal(true);
    expect(await metric(reg, 'gw_state_fallback_total', { op: 'ttl.addIfAbsent' })).to.equal(before);
    expect((await raw.keys('*:t:after')).length).to.equal(1);
  });

  it('fail-closed: a frozen Redis (SIGSTOP) fails each operation within the command timeout, no hang', async () => {
    const s = stores('fail-closed', isolatedRegistry(), 200);
    await s.ready();
    server.freeze();
    const pending: Array<Promise<unknown>> = [s.stores.ttl.addIfAbsent('a', 1000), s.stores.counters.get('b'), s.bindings.put('T-01', [])];
    const errs = await Promise.all(pending.map((p) => rejectsWithin(p, 800)));
    for (const e of errs) expect(e).to.be.instanceOf(StateUnavailableError);
    server.thaw();
    // Served again once Redis answers. (The timed-out add was still applied when Redis woke up:
    // a timeout refuses the request but may have consumed the token/nonce - the safe side.)
    expect(await s.stores.ttl.addIfAbsent('fresh', 1000)).to.equal(true);
    expect(await s.stores.ttl.addIfAbsent('a', 1000)).to.equal(false);
  });

  it('policy chain on Redis stores: admits a call with Redis up, answers 503 + Retry-After with Redis down (fail-closed), admits again after recovery', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const alice = makeIdentity('T-01');
    const s = createStateStores(
      { backend: 'redis', url: server.url, keyPrefix: `gw:chain-${randomUUID()}:`, onUnavailable: 'fail-closed', commandTimeoutMs: 300, maxReconnectDelayMs: 100 },
      isolatedRegistry(),
      clock,
    );
    open.push(s);
    await s.ready();
    const audit = new MemoryAuditSink('k', clock);
    const { chain } = buildPolicyChain(
      { digest: { realm: REALM, nonceSecrets: ['s3cret'] } },
      { registry: new DocumentRegistry({ version: 1, entries: [alice.entry] }), audit, stores: s.stores, clock },
    );
    const call = async (callId: string) => {
      const first = await chain.decide(request(alice, { callId, identity: null }));
      if (first.decision.outcome !== 'challenge') return first;
      return chain.decide(request(alice, { callId }, { challenge: first.decision }, clock.now()));
    };
    const ok = await call('call-up@198.51.100.7');
    expect(ok.decision.outcome, ok.decision.reason).to.equal('admit');
    expect((await s.stores.ledger.usage(alice.entry.id)).calls).to.equal(1);

    await server.kill();
    await s.guard!.whenDown();
    const down = await call('call-down@198.51.100.7');
    expect(down.decision.status).to.equal(503);
    expect(down.decision.headers['Retry-After']).to.be.a('string');
    expect(down.record, 'audited').to.not.equal(undefined);

    const up = s.guard!.whenUp();
    await server.start();
    await up;
    const again = await call('call-again@198.51.100.7');
    expect(again.decision.outcome, again.decision.reason).to.equal('admit');
  });
});
