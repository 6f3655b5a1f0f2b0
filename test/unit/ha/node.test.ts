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
import { HaNode, type ByeAttempt, type CallTakeover, type CallTracker, type TakeoverActions, type TakeoverReport } from '../../../lib/ha/node.js';
import { byeHeaders, parseRecord, type CallRecord, type SeatRef, type SipLegRecord } from '../../../lib/ha/records.js';
import { createLogger } from '../../../lib/log/logger.js';
import { MediaCallRecorder } from '../../../lib/ha/hooks.js';
import { RedisMembershipStore } from '../../../lib/state/membership.js';
import type { MediaSession } from '../../../lib/media/session.js';
import type { SrfDialog } from '../../../types/drachtio-srf.js';
import { EventEmitter } from 'node:events';
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
  freed: SeatRef[] = [];
  audited: Array<{ rec: CallRecord; o: CallTakeover }> = [];
  async bye(leg: SipLegRecord): Promise<ByeAttempt> {
    this.byes.push(leg);
    return { sent: true, answer: Promise.resolve(200) };
  }
  async killMedia(uuids: readonly string[]): Promise<number> {
    this.killed.push(...uuids);
    return uuids.length;
  }
  async releaseQuota(callId: string): Promise<void> {
    this.released.push(callId);
  }
  async freeSeat(seat: SeatRef): Promise<boolean> {
    this.freed.push(seat);
    return true;
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

  const admitted = async (n: HaNode, callId: string, kind: CallRecord['kind'], o: { quota?: boolean } = {}): Promise<CallTracker> => {
    const t = await n.admit(callId, kind, o);
    expect(t, `${callId} admitted`).to.not.equal(undefined);
    return t!;
  };

  const node = (id: string, actions: TakeoverActions = new RecordingActions(), o: Partial<{ ttlMs: number; pollMs: number }> = {}): HaNode => {
    const x = new HaNode(new HaStore(client, prefix), { instanceId: id, heartbeatMs: 50, ttlMs: o.ttlMs ?? 200, pollMs: o.pollMs ?? 50, claimTtlMs: 5000 }, actions, log, new Registry());
    nodes.push(x);
    return x;
  };

  it('keeps a call record from admission to the end of the call', async () => {
    const a = node('a');
    await a.start();
    const t = await admitted(a, 'c-1@198.51.100.7', 'sip-b2bua');
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
    const t = await admitted(dead, 'c-1@198.51.100.7', 'sip-b2bua');
    t.answered([caller, callee], ['uuid-1', 'uuid-2']);
    await admitted(dead, 'c-2@198.51.100.7', 'sip-b2bua'); // admitted, not answered yet: quota only
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
    await Promise.all([s1.settled(), s2.settled()]); // audits follow the BYEs' answers
    const winner = reports[0]![0] === 's1' ? acts[0]! : acts[1]!;
    const loser = winner === acts[0] ? acts[1]! : acts[0]!;
    expect(reports.map((r) => [r[1].dead, r[1].calls])).to.deep.equal([['dead', 2]]);
    expect(winner.byes.map((b) => b.side).sort()).to.deep.equal(['callee', 'caller']);
    expect(winner.killed.sort()).to.deep.equal(['uuid-1', 'uuid-2']);
    expect(winner.released.sort()).to.deep.equal(['c-1@198.51.100.7', 'c-2@198.51.100.7']);
    expect(winner.audited.map((x) => [x.rec.callId, x.o.byes.length, x.o.quotaReleased]).sort()).to.deep.equal([['c-1@198.51.100.7', 2, true], ['c-2@198.51.100.7', 0, true]]);
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
    expect((await new HaStore(client, prefix).reap('other', 5000)).claimed).to.deep.equal([]);
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
  it('a council call: its SIP leg, channels and seat are recorded; the takeover frees the seat in the shared membership, and releases no quota for an H.323 caller', async () => {
    const membership = new RedisMembershipStore(client, prefix);
    const info = { role: 'expert', leg: 'sip' as const, instance: 'council-dead', joinedAt: Date.now() };
    expect((await membership.tryJoin('r1', 'seat-dead', info, 5)).ok).to.equal(true);
    expect((await membership.tryJoin('r1', 'seat-live', { ...info, instance: 'council-live' }, 5)).ok).to.equal(true);
    const dead = node('dead');
    await dead.start();
    // A media session as the recorder sees it: endpoints and a caller dialog appear over time.
    const session = Object.assign(new EventEmitter(), { endpointUuids: [] as string[], openDialogs: [] as SrfDialog[] });
    const rec = new MediaCallRecorder(await admitted(dead, 'council-1@198.51.100.7', 'council'));
    rec.seat('r1', 'seat-dead');
    rec.session(session as unknown as MediaSession);
    session.endpointUuids = ['uuid-c1'];
    session.emit('changed');
    const uas = {
      type: 'uas', sip: { callId: 'council-1@198.51.100.7', localTag: 'gw-tag', remoteTag: 'caller-tag' }, remote: { uri: 'sip:alice@198.51.100.7:5070' },
      req: { has: () => false, get: (h: string) => ({ From: '"A" <sip:alice@198.51.100.7>;tag=caller-tag', To: '<sip:council@192.0.2.1>' })[h] ?? '' },
      res: { has: () => false, get: () => '' },
      on: () => undefined,
    };
    session.openDialogs = [uas as unknown as SrfDialog];
    session.emit('changed');
    const stored = await client.hget(`${prefix}ha:calls:dead`, 'council-1@198.51.100.7');
    expect(parseRecord(stored ?? '')).to.deep.include({ kind: 'council', state: 'answered', mediaUuids: ['uuid-c1'], seats: [{ room: 'r1', seatId: 'seat-dead' }] });
    expect(parseRecord(stored ?? '')?.legs).to.deep.equal([{ ...caller, callId: 'council-1@198.51.100.7' }]);
    await admitted(dead, 'h323-7', 'h323-sip', { quota: false }); // an H.323 caller: nothing in the ledger
    await dead.stop(false);
    const acts = new RecordingActions();
    acts.freeSeat = (seat: SeatRef): Promise<boolean> => membership.leave(seat.room, seat.seatId);
    const s = node('s', acts);
    const done = once(s, 'takeover');
    await s.start();
    await done;
    await s.settled();
    expect(acts.byes.map((b) => b.side)).to.deep.equal(['caller']);
    expect(acts.killed).to.deep.equal(['uuid-c1']);
    expect(acts.audited.map((x) => [x.rec.callId, x.o.seatsFreed, x.o.quotaReleased]).sort()).to.deep.equal([['council-1@198.51.100.7', 1, true], ['h323-7', 0, false]]);
    expect(acts.released, 'no ledger release under an H.323 call\'s key').to.deep.equal(['council-1@198.51.100.7']);
    expect((await membership.members('r1')).map((m) => m.seatId)).to.deep.equal(['seat-live']);
  });

  it('a FreeSWITCH-anchored call that ends normally leaves no record', async () => {
    const a = node('a');
    await a.start();
    const session = Object.assign(new EventEmitter(), { endpointUuids: ['u1'], openDialogs: [] as SrfDialog[] });
    const rec = new MediaCallRecorder(await admitted(a, 'h323-1', 'h323-sip', { quota: false }));
    rec.session(session as unknown as MediaSession);
    rec.end();
    session.emit('changed'); // late events after the end write nothing
    await a.stop(false);
    expect(await client.hlen(`${prefix}ha:calls:a`)).to.equal(0);
  });
});
