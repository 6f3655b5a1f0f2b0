/**
 * lib/ha against a real redis-server: heartbeats, call records through a call's life, atomic
 * takeover claims (two survivors, one winner), fencing of an instance that was frozen past its
 * TTL, and the takeover itself with recorded actions (BYE per leg with the dialog's identifiers
 * and next CSeq, uuid_kill, quota release, one audit per call).
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { HaStore } from '../../../lib/ha/store.js';
import { HaNode, type CallTakeover, type TakeoverActions, type TakeoverReport } from '../../../lib/ha/node.js';
import { byeHeaders, parseRecord, type CallRecord, type SipLegRecord } from '../../../lib/ha/records.js';
import { createLogger } from '../../../lib/log/logger.js';
import { testRedis, dropKeys, type RedisServer } from '../../lab/redis-server.js';

const log = createLogger('error');

const caller: SipLegRecord = {
  side: 'caller', callId: 'c-1@198.51.100.7', localTag: 'gw-tag', remoteTag: 'caller-tag',
  localUri: '<sip:council@192.0.2.1>', remoteUri: '"A" <sip:alice@198.51.100.7>', remoteTarget: 'sip:alice@198.51.100.7:5070', routeSet: [], localCseq: 0,
};
const callee: SipLegRecord = {
  side: 'callee', callId: 'b-1', localTag: 'gw-b-tag', remoteTag: 'uas-tag',
  localUri: '<sip:alice@192.0.2.1>', remoteUri: '<sip:callee@192.0.2.9>', remoteTarget: 'sip:callee@192.0.2.9:5080', routeSet: [], localCseq: 41,
};

class RecordingActions implements TakeoverActions {
  byes: SipLegRecord[] = [];
  killed: string[] = [];
  released: string[] = [];
  audited: Array<{ rec: CallRecord; o: CallTakeover }> = [];
  async bye(leg: SipLegRecord): Promise<number | undefined> {
    this.byes.push(leg);
    return 200;
  }
  async killMedia(uuids: readonly string[]): Promise<number> {
    this.killed.push(...uuids);
    return uuids.length;
  }
  async releaseQuota(callId: string): Promise<void> {
    this.released.push(callId);
  }
  async audit(rec: CallRecord, o: CallTakeover): Promise<void> {
    this.audited.push({ rec, o });
  }
}

describe('lib/ha on Redis', function () {
  this.timeout(20_000);
  let redis: { url: string; server?: RedisServer };
  let client: Redis;
  let prefix: string;
  let n = 0;
  const nodes: HaNode[] = [];

  before(async () => {
    redis = await testRedis();
    client = new Redis(redis.url);
  });
  after(async () => {
    client?.disconnect();
    await redis?.server?.stop();
  });
  beforeEach(() => {
    prefix = `gw:ha-unit:${process.pid}:${++n}:`;
  });
  afterEach(async () => {
    for (const x of nodes.splice(0)) await x.stop(false);
    await dropKeys(client, `${prefix}*`);
  });

  const node = (id: string, actions: TakeoverActions = new RecordingActions(), o: Partial<{ ttlMs: number; pollMs: number }> = {}): HaNode => {
    const x = new HaNode(new HaStore(client, prefix), { instanceId: id, heartbeatMs: 50, ttlMs: o.ttlMs ?? 200, pollMs: o.pollMs ?? 50, claimTtlMs: 5000 }, actions, log, new Registry());
    nodes.push(x);
    return x;
  };

  it('keeps a call record from admission to the end of the call', async () => {
    const a = node('a');
    await a.start();
    const t = a.track('c-1@198.51.100.7', 'sip-b2bua');
    t.answered([caller, callee]);
    t.requestSent('callee');
    const raw = await client.hget(`${prefix}ha:calls:a`, 'c-1@198.51.100.7');
    const rec = parseRecord(raw!)!;
    expect(rec).to.include({ instance: 'a', callId: 'c-1@198.51.100.7', state: 'answered', kind: 'sip-b2bua' });
    expect(rec.legs.map((l) => [l.side, l.localCseq])).to.deep.equal([['caller', 0], ['callee', 42]]);
    expect(await client.pttl(`${prefix}ha:hb:a`)).to.be.within(1, 200);
    expect(await client.smembers(`${prefix}ha:members`)).to.deep.equal(['a']);
    t.end();
    expect(await client.hlen(`${prefix}ha:calls:a`)).to.equal(0);
  });

  it('the BYE for a leg carries its Call-ID, our tag in From, theirs in To, and the next CSeq', () => {
    expect(byeHeaders(callee)).to.deep.equal({ 'Call-ID': 'b-1', From: '<sip:alice@192.0.2.1>;tag=gw-b-tag', To: '<sip:callee@192.0.2.9>;tag=uas-tag', CSeq: '42 BYE' });
    expect(byeHeaders(caller).CSeq).to.equal('1 BYE');
  });

  it('a dead peer is claimed by exactly one of two survivors, which ends its calls and forgets it', async () => {
    const dead = node('dead');
    await dead.start();
    const t = dead.track('c-1@198.51.100.7', 'sip-b2bua');
    t.answered([caller, callee], ['uuid-1', 'uuid-2']);
    dead.track('c-2@198.51.100.7', 'sip-b2bua'); // admitted, not answered yet: quota only
    await dead.stop(false); // a crash: no leave, the heartbeat lapses
    const acts = [new RecordingActions(), new RecordingActions()];
    const s1 = node('s1', acts[0]);
    const s2 = node('s2', acts[1]);
    const reports: Array<[string, TakeoverReport]> = [];
    s1.on('takeover', (r) => reports.push(['s1', r]));
    s2.on('takeover', (r) => reports.push(['s2', r]));
    const first = Promise.race([once(s1, 'takeover'), once(s2, 'takeover')]);
    await Promise.all([s1.start(), s2.start()]);
    await first;
    const winner = reports[0]![0] === 's1' ? acts[0]! : acts[1]!;
    const loser = winner === acts[0] ? acts[1]! : acts[0]!;
    expect(reports.map((r) => [r[1].dead, r[1].calls])).to.deep.equal([['dead', 2]]);
    expect(winner.byes.map((b) => b.side).sort()).to.deep.equal(['callee', 'caller']);
    expect(winner.killed.sort()).to.deep.equal(['uuid-1', 'uuid-2']);
    expect(winner.released.sort()).to.deep.equal(['c-1@198.51.100.7', 'c-2@198.51.100.7']);
    expect(winner.audited.map((x) => [x.rec.callId, x.o.byStatus.length, x.o.quotaReleased]).sort()).to.deep.equal([['c-1@198.51.100.7', 2, true], ['c-2@198.51.100.7', 0, true]]);
    expect(loser.byes).to.have.length(0);
    expect(await client.exists(`${prefix}ha:calls:dead`)).to.equal(0);
    expect(await client.smembers(`${prefix}ha:members`)).to.have.members(['s1', 's2']);
    expect(await client.get(`${prefix}ha:claim:dead`)).to.equal(reports[0]![0]);
    expect(await client.get(`${prefix}ha:gone:dead`), 'tombstone').to.equal(reports[0]![0]);
  });

  it('a clean stop leaves: nobody takes a drained instance over', async () => {
    const a = node('a');
    await a.start();
    await a.stop(true);
    expect(await client.exists(`${prefix}ha:hb:a`)).to.equal(0);
    expect(await client.sismember(`${prefix}ha:members`, 'a')).to.equal(0);
    const acts = new RecordingActions();
    const s = node('s', acts);
    await s.start();
    expect(await new HaStore(client, prefix).reap('other', 5000)).to.deep.equal([]);
    expect(acts.byes).to.have.length(0);
  });

  it('an instance frozen even past the claim finds the tombstone and stays fenced', async () => {
    const a = node('a');
    await a.start();
    await client.del(`${prefix}ha:hb:a`);
    await client.set(`${prefix}ha:gone:a`, 'survivor', 'PX', 5000);
    await once(a, 'fenced');
    expect(await client.exists(`${prefix}ha:hb:a`), 'no heartbeat written once fenced').to.equal(0);
  });

  it('an instance frozen past its TTL and taken over is fenced when it beats again', async () => {
    const a = node('a');
    await a.start();
    // What a survivor's claim leaves behind while `a` could not beat.
    await client.del(`${prefix}ha:hb:a`);
    await client.set(`${prefix}ha:claim:a`, 'survivor', 'PX', 5000);
    await once(a, 'fenced');
    expect(a.fenced).to.equal(true);
    expect(await client.exists(`${prefix}ha:hb:a`)).to.equal(0);
  });
});
