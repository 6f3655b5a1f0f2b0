/**
 * Fencing with teeth (issue 15 items 1 and 4), lib/ha against a real redis-server:
 * - a frozen instance (its heartbeat calls held like a SIGSTOPped process's, so its lease runs
 *   out while Redis and the test act as the peer) admits nothing once it wakes: the lease check
 *   refuses before any record is written, and a freeze during the admission write still refuses
 *   the call (the record stays for the survivor);
 * - a lapse that was not a takeover lets the waiting calls through after one heartbeat;
 * - once fenced, each call's handler learns which legs the peer ended (those in the record it
 *   read) and which it must end itself; records are never written after the claim;
 * - the survivor reports a takeover done when its BYEs are sent, then audits and counts what it
 *   saw of the answers: "sent, answer not seen" is never turned into "no answer";
 * - RouteWeight's control messages; ActiveCalls.forgetAll; CallSession's fence and answer paths.
 */
import { expect } from 'chai';
import { EventEmitter, once } from 'node:events';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { HaStore, type PutResult } from '../../../lib/ha/store.js';
import { HaNode, callOutcome, type ByeAttempt, type CallTakeover, type FenceReport, type TakeoverActions } from '../../../lib/ha/node.js';
import { parseRecord, type CallRecord, type SipLegRecord } from '../../../lib/ha/records.js';
import { byeText, sendBye } from '../../../lib/ha/wiring.js';
import { RouteWeight, unrouteInvites } from '../../../lib/ha/route-weight.js';
import { ActiveCalls } from '../../../lib/sip/active-calls.js';
import { CallSession, createCallMetrics } from '../../../lib/sip/call-session.js';
import { b2buaHooks, MediaCallRecorder } from '../../../lib/ha/hooks.js';
import type { MediaSession } from '../../../lib/media/session.js';
import { createLogger } from '../../../lib/log/logger.js';
import type { GatewaySrf, SrfDialog, SrfRequest, SrfResponse } from '../../../types/drachtio-srf.js';
import { testRedis, dropKeys, type RedisServer } from '../../lab/redis-server.js';
import { waitUntil, metricValue } from '../../lab/wait.js';

const log = createLogger('error');

const caller: SipLegRecord = {
  side: 'caller', callId: 'c-1@198.51.100.7', localTag: 'gw-tag', remoteTag: 'caller-tag',
  localUri: '<sip:council@192.0.2.1>', remoteUri: '<sip:alice@198.51.100.7>', remoteTarget: 'sip:alice@198.51.100.7:5070', routeSet: [], localCseq: 0,
};
const callee: SipLegRecord = {
  side: 'callee', callId: 'b-1', localTag: 'gw-b-tag', remoteTag: 'uas-tag',
  localUri: '<sip:alice@192.0.2.1>', remoteUri: '<sip:callee@192.0.2.9>', remoteTarget: 'sip:callee@192.0.2.9:5080', routeSet: [], localCseq: 41,
};

/**
 * The store as a SIGSTOPped process uses it: while frozen, a heartbeat or a record write is not
 * sent before the thaw, and a reply that arrives meanwhile is read only after it.
 */
class FreezableStore extends HaStore {
  frozen = false;
  private thawed: Array<() => void> = [];
  puts = 0;
  private wait(): Promise<void> {
    return this.frozen ? new Promise((r) => this.thawed.push(r)) : Promise.resolve();
  }
  freeze(): void {
    this.frozen = true;
  }
  thaw(): void {
    this.frozen = false;
    for (const r of this.thawed.splice(0)) r();
  }
  override async beat(id: string, ttlMs: number): Promise<boolean> {
    await this.wait();
    return super.beat(id, ttlMs);
  }
  override async put(rec: CallRecord, admit: boolean): Promise<PutResult> {
    this.puts++;
    const r = await super.put(rec, admit);
    await this.wait(); // the reply is read after the thaw
    return r;
  }
}

class Actions implements TakeoverActions {
  audited: Array<{ rec: CallRecord; o: CallTakeover }> = [];
  constructor(private readonly byeFor: (leg: SipLegRecord) => Promise<ByeAttempt>) {}
  bye(leg: SipLegRecord): Promise<ByeAttempt> {
    return this.byeFor(leg);
  }
  async killMedia(uuids: readonly string[]): Promise<number> {
    return uuids.length;
  }
  async releaseQuota(): Promise<void> { /* recorded by the audit */ }
  async freeSeat(): Promise<boolean> {
    return true;
  }
  async audit(rec: CallRecord, o: CallTakeover): Promise<void> {
    this.audited.push({ rec, o });
  }
}

const ok: ByeAttempt = { sent: true, answer: Promise.resolve(200) };

describe('HA fencing (issue 15)', function () {
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
    prefix = `gw:ha-fence:${process.pid}:${++n}:`;
  });
  afterEach(async () => {
    for (const x of nodes.splice(0)) await x.stop(false);
    await dropKeys(client, `${prefix}*`);
  });

  const node = (id: string, store: HaStore, actions: TakeoverActions = new Actions(async () => ok), registry = new Registry()): HaNode => {
    const x = new HaNode(store, { instanceId: id, heartbeatMs: 50, ttlMs: 200, pollMs: 50, claimTtlMs: 5000 }, actions, log, registry);
    nodes.push(x);
    return x;
  };
  /** What a survivor's REAP leaves once our heartbeat has expired. */
  const claim = async (id: string): Promise<void> => {
    await waitUntil(async () => (await client.exists(`${prefix}ha:hb:${id}`)) === 0, 'heartbeat expired', 2000, 5);
    await client.set(`${prefix}ha:claim:${id}`, 'survivor', 'PX', 5000);
  };

  it('a frozen instance that wakes after a takeover refuses the call before writing anything', async () => {
    const store = new FreezableStore(client, prefix);
    const registry = new Registry();
    const a = node('a', store, undefined, registry);
    await a.start();
    expect(a.admissible()).to.equal(true);
    store.freeze();
    await waitUntil(async () => !a.admissible(), 'lease lapsed', 2000, 5);
    await claim('a');
    const putsBefore = store.puts;
    // The INVITE read first after the wake: the lease check fails synchronously, one heartbeat decides.
    const admitting = a.admit('late@198.51.100.7', 'sip-b2bua');
    store.thaw();
    expect(await admitting, 'admitted under a claimed id').to.equal(undefined);
    expect(a.fenced).to.equal(true);
    expect(store.puts - putsBefore, 'record writes').to.equal(0);
    expect(await client.hlen(`${prefix}ha:calls:a`)).to.equal(0);
    expect(metricValue(await registry.metrics(), 'gw_ha_admissions_refused_total', { reason: 'fenced' })).to.equal(1);
    expect(await a.admit('later@198.51.100.7', 'sip-b2bua'), 'fenced for good').to.equal(undefined);
  });

  it('a freeze during the admission write: the write landed before the claim, the call is still refused and its record left for the survivor', async () => {
    const store = new FreezableStore(client, prefix);
    const a = node('a', store);
    await a.start();
    store.freeze(); // the write goes out, its reply is read after the thaw
    const admitting = a.admit('mid@198.51.100.7', 'sip-b2bua');
    await waitUntil(async () => (await client.hlen(`${prefix}ha:calls:a`)) === 1, 'record written', 2000, 5);
    await claim('a');
    store.thaw();
    expect(await admitting).to.equal(undefined);
    expect(a.fenced).to.equal(true);
    expect(parseRecord((await client.hget(`${prefix}ha:calls:a`, 'mid@198.51.100.7'))!)?.state, 'the survivor reads it and frees its quota').to.equal('setup');
  });

  it('the record script refuses a first record while the heartbeat is gone, and any write once claimed', async () => {
    const store = new HaStore(client, prefix);
    const rec: CallRecord = { v: 1, instance: 'x', callId: 'c', kind: 'sip-b2bua', startedAt: 0, state: 'setup', legs: [], mediaUuids: [] };
    expect(await store.put(rec, true), 'no heartbeat: not admitted').to.equal('lapsed');
    expect(await store.beat('x', 5000)).to.equal(true);
    expect(await store.put(rec, true)).to.equal('ok');
    await client.del(`${prefix}ha:hb:x`);
    expect(await store.put({ ...rec, state: 'answered' }, false), 'an update of a recorded call while unclaimed').to.equal('ok');
    await client.set(`${prefix}ha:claim:x`, 's', 'PX', 5000);
    expect(await store.put({ ...rec, callId: 'd' }, false)).to.equal('fenced');
    expect(await client.hkeys(`${prefix}ha:calls:x`)).to.deep.equal(['c']);
  });

  it('a lapse that was no takeover (a pause, a slow Redis): the waiting call goes through after one heartbeat', async () => {
    const store = new FreezableStore(client, prefix);
    const a = node('a', store);
    await a.start();
    store.freeze();
    await waitUntil(async () => !a.admissible(), 'lease lapsed', 2000, 5);
    await waitUntil(async () => (await client.exists(`${prefix}ha:hb:a`)) === 0, 'heartbeat expired', 2000, 5);
    const admitting = a.admit('paused@198.51.100.7', 'sip-b2bua');
    store.thaw();
    const t = await admitting;
    expect(t).to.not.equal(undefined);
    expect(a.fenced).to.equal(false);
    expect(await client.hexists(`${prefix}ha:calls:a`, 'paused@198.51.100.7')).to.equal(1);
    t!.end();
  });

  it('fenced with calls up: each learns which legs the peer ended; nothing is written after the claim', async () => {
    const store = new FreezableStore(client, prefix);
    const a = node('a', store);
    await a.start();
    const t1 = (await a.admit('c-1@198.51.100.7', 'sip-b2bua'))!;
    t1.answered([caller, callee]);
    const t2 = (await a.admit('c-2@198.51.100.7', 'sip-b2bua'))!;
    await waitUntil(async () => parseRecord((await client.hget(`${prefix}ha:calls:a`, 'c-1@198.51.100.7')) ?? '')?.state === 'answered', 'c-1 recorded answered', 2000, 5);
    const seen: Record<string, string[]> = {};
    const legs2: SipLegRecord[] = [{ ...caller, callId: 'c-2@198.51.100.7', localTag: 't2' }, { ...callee, callId: 'b-2', localTag: 't2b' }];
    t1.onFenced((v) => {
      seen['c-1'] = [caller, callee].map((l) => `${l.side}:${v.endedByPeer(l) ? 'peer' : 'here'}`);
      return 'forgotten';
    });
    t2.onFenced((v) => {
      seen['c-2'] = legs2.map((l) => `${l.side}:${v.endedByPeer(l) ? 'peer' : 'here'}`);
      return 'ended';
    });
    store.freeze();
    await claim('a');
    // Woken: the callee of c-2 answered during the freeze; its record write meets the claim.
    const reconciled = once(a, 'reconciled') as Promise<[FenceReport]>;
    store.thaw();
    t2.answered(legs2);
    const [report] = await reconciled;
    expect(report).to.include({ calls: 2, forgotten: 1, endedHere: 1 });
    expect(seen).to.deep.equal({ 'c-1': ['caller:peer', 'callee:peer'], 'c-2': ['caller:here', 'callee:here'] });
    expect(parseRecord((await client.hget(`${prefix}ha:calls:a`, 'c-2@198.51.100.7'))!)?.state, 'no write after the claim').to.equal('setup');
    t1.end();
    expect(await client.hlen(`${prefix}ha:calls:a`), 'a fenced instance deletes nothing either (the survivor does)').to.equal(2);
  });

  it('a FreeSWITCH-anchored call when fenced: the dialog the peer BYE\'d is left alone, one made after its read is BYE\'d', async () => {
    const store = new FreezableStore(client, prefix);
    const a = node('a', store);
    await a.start();
    const dialog = (leg: SipLegRecord): SrfDialog & { byes: number } => Object.assign(new EventEmitter(), {
      byes: 0, type: 'uas', sip: { callId: leg.callId, localTag: leg.localTag, remoteTag: leg.remoteTag }, remote: { uri: leg.remoteTarget },
      req: { has: () => false, get: (h: string) => ({ From: leg.remoteUri, To: leg.localUri })[h] ?? '' }, res: { has: () => false, get: () => '' },
      destroy() { this.byes++; return Promise.resolve(); },
    }) as unknown as SrfDialog & { byes: number };
    const recorded = dialog(caller);
    const late = dialog({ ...caller, callId: 'c-9@198.51.100.7', localTag: 'late' });
    const session = Object.assign(new EventEmitter(), { endpointUuids: ['u1'], openDialogs: [recorded] as SrfDialog[] });
    const rec = new MediaCallRecorder((await a.admit('c-1@198.51.100.7', 'sip-h323'))!);
    rec.session(session as unknown as MediaSession);
    await waitUntil(async () => parseRecord((await client.hget(`${prefix}ha:calls:a`, 'c-1@198.51.100.7')) ?? '')?.legs.length === 1, 'caller leg recorded', 2000, 5);
    store.freeze();
    await claim('a');
    const reconciled = once(a, 'reconciled') as Promise<[FenceReport]>;
    store.thaw();
    session.openDialogs = [recorded, late];
    session.emit('changed'); // its record write meets the claim: fenced
    const [report] = await reconciled;
    expect(report).to.include({ calls: 1, endedHere: 1 });
    expect([recorded.byes, late.byes]).to.deep.equal([0, 1]);
  });

  it('the survivor is done when the BYEs are sent; answers not seen are audited and counted as such', async () => {
    let answerCallee: ((s: number | undefined) => void) | undefined;
    const acts = new Actions(async (leg) => (leg.side === 'caller'
      ? { sent: true, answer: Promise.resolve(200) }
      : { sent: true, answer: new Promise<number | undefined>((r) => { answerCallee = r; }) }));
    const registry = new Registry();
    const dead = node('dead', new HaStore(client, prefix));
    await dead.start();
    const t = (await dead.admit('c-1@198.51.100.7', 'sip-b2bua'))!;
    t.answered([caller, callee]);
    const u = (await dead.admit('c-2@198.51.100.7', 'sip-b2bua'))!;
    void u;
    await dead.stop(false);
    const s = node('s', new HaStore(client, prefix), acts, registry);
    const done = once(s, 'takeover');
    await s.start();
    const [report] = await done;
    expect(report).to.include({ calls: 2, byesSent: 2, byesNotSent: 0 });
    expect(answerCallee, 'the callee BYE was sent').to.be.a('function');
    expect(acts.audited.filter((x) => x.rec.callId === 'c-1@198.51.100.7'), 'the takeover is done, c-1\'s audit waits for what its answers show').to.have.length(0);
    answerCallee!(undefined); // the answer window passed without the callee's 200 reaching us
    await s.settled();
    const c1 = acts.audited.find((x) => x.rec.callId === 'c-1@198.51.100.7')!;
    expect(c1.o.byes).to.deep.equal([{ side: 'caller', sent: true, status: 200 }, { side: 'callee', sent: true }]);
    expect(c1.o.byes.map((b) => byeText(b, 4000)).join(', ')).to.equal('caller 200, callee sent, answer not seen by this app within 4000 ms');
    const m = await registry.metrics();
    expect(metricValue(m, 'gw_ha_calls_taken_over_total', { outcome: 'bye_unconfirmed' })).to.equal(1);
    expect(metricValue(m, 'gw_ha_calls_taken_over_total', { outcome: 'no_dialog' })).to.equal(1);
    expect(metricValue(m, 'gw_ha_calls_taken_over_total', { outcome: 'bye_failed' })).to.equal(undefined);
    expect(metricValue(m, 'gw_ha_byes_total', { answer: '2xx' })).to.equal(1);
    expect(metricValue(m, 'gw_ha_byes_total', { answer: 'not_seen' })).to.equal(1);
  });

  it('call outcomes and audit wording from what was observed', () => {
    expect(callOutcome([])).to.equal('no_dialog');
    expect(callOutcome([{ side: 'caller', sent: true, status: 200 }])).to.equal('bye_ok');
    expect(callOutcome([{ side: 'caller', sent: true }])).to.equal('bye_unconfirmed');
    expect(callOutcome([{ side: 'caller', sent: true, status: 481 }, { side: 'callee', sent: true }])).to.equal('bye_refused');
    expect(callOutcome([{ side: 'caller', sent: false, error: 'x' }, { side: 'callee', sent: true, status: 200 }])).to.equal('bye_not_sent');
    expect(byeText({ side: 'callee', sent: false, error: 'no connection' }, 4000)).to.equal('callee not sent (no connection)');
    expect(byeText({ side: 'caller', sent: true, status: 481 }, 4000)).to.equal('caller 481');
  });
});

describe('sendBye through srf', () => {
  const fakeSrf = (behave: (cb: (err: Error | null, sent?: { on(e: 'response', f: (r: { status: number }) => void): void }) => void) => void): GatewaySrf =>
    ({ request: (_uri: string, _o: unknown, cb: never) => behave(cb) }) as unknown as GatewaySrf;

  it('resolves when the server has sent it; the answer separately, or undefined after the window', async () => {
    const sent = new EventEmitter();
    const a = await sendBye(fakeSrf((cb) => cb(null, sent as never)), callee, 50);
    expect(a.sent).to.equal(true);
    sent.emit('response', { status: 100 });
    sent.emit('response', { status: 200 });
    expect(await (a as { answer: Promise<number | undefined> }).answer).to.equal(200);
    const quiet = await sendBye(fakeSrf((cb) => cb(null, new EventEmitter() as never)), callee, 50);
    expect(await (quiet as { answer: Promise<number | undefined> }).answer, 'none seen').to.equal(undefined);
    expect(await sendBye(fakeSrf((cb) => cb(new Error('refused'))), callee, 50)).to.deep.equal({ sent: false, error: 'refused' });
    expect(await sendBye(fakeSrf(() => { throw new Error('no connection'); }), callee, 50)).to.deep.equal({ sent: false, error: 'no connection' });
  });
});

describe('RouteWeight', () => {
  function lab(): { srf: GatewaySrf & EventEmitter; sent: string[]; rw: RouteWeight; clock: { t: number } } {
    const sent: string[] = [];
    const socket = {};
    const srf = Object.assign(new EventEmitter(), {
      _app: { client: { mapServer: new Map([[socket, { authenticated: true }]]), verbs: new Map([['invite', {}], ['options', {}], ['register', {}]]), wp: { send: (_s: unknown, m: string) => { sent.push(m); } } } },
    }) as unknown as GatewaySrf & EventEmitter;
    const clock = { t: 0 };
    const rw = new RouteWeight(srf, { self: 'b', extra: 3, settleMs: 2000, now: () => clock.t }, log, new Registry());
    return { srf, sent, rw, clock };
  }

  it('takes 3 more INVITE entries when a peer it saw beating goes silent, and gives them back once a newcomer has settled', () => {
    const { sent, rw, clock } = lab();
    rw.peers([], ['a', 'b']);
    rw.peers(['a'], ['a', 'b']);
    expect(sent).to.deep.equal(['route|invite', 'route|invite', 'route|invite']);
    expect(rw.weighted).to.equal(true);
    rw.peers(['a'], ['b']); // taken over: still silent, nothing more
    clock.t = 1000;
    rw.peers([], ['b', 'a2']);
    clock.t = 2500;
    rw.peers([], ['b', 'a2']);
    expect(rw.weighted, 'newcomer not settled yet').to.equal(true);
    clock.t = 3000;
    rw.peers([], ['b', 'a2']);
    expect(sent.slice(3)).to.deep.equal(['remove_route|invite', 'route|invite', 'route|options', 'route|register']);
    expect(rw.weighted).to.equal(false);
  });

  it('ignores silence of a peer it never saw beating (a fresh start after a takeover), and re-applies after a reconnect', () => {
    const { srf, sent, rw } = lab();
    rw.peers(['old'], ['b']);
    expect(sent).to.deep.equal([]);
    rw.peers([], ['a', 'b']);
    rw.peers(['a'], ['a', 'b']);
    sent.length = 0;
    srf.emit('connect', null, '');
    expect(sent, 'srf re-routed each verb once; the extra entries are sent again').to.deep.equal(['route|invite', 'route|invite', 'route|invite']);
  });
});

describe('unrouteInvites', () => {
  it('sends remove_route|invite and resolves on the server\'s answer to it (every INVITE routed to us is in by then)', async () => {
    const sent: string[] = [];
    const pending = new Map<unknown, () => void>();
    const verbs = new Map([['invite', {}], ['options', {}]]);
    const srf = { _app: { client: { mapServer: new Map([[{}, { authenticated: true, pendingRequests: pending }]]), verbs, wp: { send: (_s: unknown, m: string) => { sent.push(m); return `id${sent.length}`; } } } } } as unknown as GatewaySrf;
    let done = false;
    const p = unrouteInvites(srf, 10_000).then(() => { done = true; });
    expect(sent).to.deep.equal(['remove_route|invite']);
    expect([...verbs.keys()], 'a reconnect would not route INVITEs again').to.deep.equal(['options']);
    await Promise.resolve();
    expect(done).to.equal(false);
    pending.get('id1')!();
    await p;
    expect(done).to.equal(true);
  });

  it('falls back to srf.unregisterForMessages without srf\'s agent, and never throws', async () => {
    let calls = 0;
    await unrouteInvites({ unregisterForMessages: () => { calls++; throw new Error('no route request to remove for invite'); } } as unknown as GatewaySrf, 10);
    expect(calls).to.equal(1);
  });
});

describe('ActiveCalls.forgetAll', () => {
  it('drops every call, sets the gauge to 0 and lets a drain end at once', async () => {
    const registry = new Registry();
    const calls = new ActiveCalls(registry);
    calls.add('a');
    calls.add('b');
    const drained = calls.drained(10_000);
    expect(calls.forgetAll()).to.equal(2);
    expect(await drained).to.equal(0);
    expect(metricValue(await registry.metrics(), 'gw_calls_active')).to.equal(0);
  });
});

describe('CallSession under fencing', () => {
  class FakeDialog extends EventEmitter {
    byes = 0;
    constructor(readonly type: 'uas' | 'uac', readonly leg: SipLegRecord) {
      super();
    }
    get sip(): { callId: string; localTag: string; remoteTag: string } {
      return { callId: this.leg.callId, localTag: this.leg.localTag, remoteTag: this.leg.remoteTag };
    }
    get remote(): { uri: string } {
      return { uri: this.leg.remoteTarget };
    }
    get req(): { has(): boolean; get(h: string): string } {
      return { has: () => false, get: (h: string) => ({ From: this.leg.remoteUri, To: this.leg.localUri, CSeq: `${this.leg.localCseq} INVITE` })[h] ?? '' };
    }
    get res(): { has(): boolean; get(h: string): string } {
      return { has: () => false, get: (h: string) => (h === 'To' ? this.leg.remoteUri : '') };
    }
    destroy(_o?: unknown, cb?: (err?: Error | null) => void): this {
      this.byes++;
      cb?.(null);
      return this;
    }
  }
  interface Lab {
    srf: GatewaySrf;
    res: SrfResponse & { sent: Array<{ status: number; headers?: Record<string, string> }> };
    answer(): void;
    cancelled: () => boolean;
    removed: SrfDialog[];
    uas: FakeDialog;
    uac: FakeDialog;
  }
  function lab(): Lab {
    let answer!: () => void;
    let cancelled = false;
    const removed: SrfDialog[] = [];
    const uas = new FakeDialog('uas', caller);
    const uac = new FakeDialog('uac', callee);
    const sent: Array<{ status: number; headers?: Record<string, string> }> = [];
    const res = { sent, finalResponseSent: false, send(status: number, o?: { headers?: Record<string, string> }) { sent.push({ status, ...(o?.headers ? { headers: o.headers } : {}) }); this.finalResponseSent = true; } };
    const srf = {
      removeDialog: (d: SrfDialog) => removed.push(d),
      createB2BUA: (_req: unknown, r: typeof res, _uri: string, opts: { localSdpA?: (sdp: string) => Promise<string>; responseHeaders?: Record<string, string> }, cbs: { cbRequest(e: unknown, x: { cancel(): void }): void }) => {
        cbs.cbRequest(null, { cancel: () => { cancelled = true; } });
        return new Promise((resolve, reject) => {
          answer = () => {
            void (opts.localSdpA ? opts.localSdpA('v=0') : Promise.resolve('v=0')).then(
              () => {
                r.send(200, { headers: opts.responseHeaders ?? {} });
                resolve({ uas, uac });
              },
              (err: unknown) => {
                uac.destroy(); // srf tears the answered callee down
                reject(err);
              },
            );
          };
        });
      },
    } as unknown as GatewaySrf;
    return { srf, res: res as unknown as Lab['res'], answer: () => answer(), cancelled: () => cancelled, removed, uas, uac };
  }
  const req = { get: () => 'c-1@198.51.100.7' } as unknown as SrfRequest;

  async function fencedNode(): Promise<{ a: HaNode; store: FreezableStore; client: Redis; stop(): Promise<void> }> {
    const redis = await testRedis();
    const client = new Redis(redis.url);
    const prefix = `gw:ha-cs:${process.pid}:${Math.random()}:`;
    const store = new FreezableStore(client, prefix);
    const a = new HaNode(store, { instanceId: 'a', heartbeatMs: 50, ttlMs: 200, pollMs: 50, claimTtlMs: 5000 }, new Actions(async () => ok), log, new Registry());
    await a.start();
    return {
      a, store, client,
      stop: async () => {
        await a.stop(false);
        await dropKeys(client, `${prefix}*`);
        client.disconnect();
        await redis.server?.stop();
      },
    };
  }

  it('fenced with both legs up: the leg the peer ended is dropped without a BYE, the other BYE\'d, quota left to the peer', async function () {
    this.timeout(10_000);
    const x = await fencedNode();
    try {
      const l = lab();
      const registry = new Registry();
      const calls = new ActiveCalls(registry);
      let released = 0;
      const tracker = (await x.a.admit('c-1@198.51.100.7', 'sip-b2bua'))!;
      const session = new CallSession(l.srf, req, l.res, calls, createCallMetrics(registry), log);
      const forwarding = session.forward('sip:callee@192.0.2.9', { 'User-Agent': 'gw-a' }, undefined, () => released++, false, b2buaHooks(tracker));
      l.answer();
      await forwarding;
      expect(l.res.sent).to.deep.equal([{ status: 200, headers: { Server: 'gw-a' } }]);
      // the record the peer reads lists the caller leg only (as if the callee's write had not landed)
      tracker.update({ legs: [caller], mediaUuids: [] });
      await waitUntil(async () => {
        const [k] = await x.client.keys('gw:ha-cs:*ha:calls:a');
        return k ? parseRecord((await x.client.hget(k, 'c-1@198.51.100.7')) ?? '')?.legs.length === 1 : false;
      }, 'caller-only record', 2000, 5);
      x.store.freeze();
      await waitUntil(async () => !x.a.admissible(), 'lease lapsed', 2000, 5);
      await waitUntil(async () => (await x.client.keys('gw:ha-cs:*ha:hb:a')).length === 0, 'hb expired', 2000, 5);
      const [k] = await x.client.keys('gw:ha-cs:*ha:calls:a');
      await x.client.set(k!.replace(/calls:a$/, 'claim:a'), 'survivor', 'PX', 5000);
      const reconciled = once(x.a, 'reconciled') as Promise<[FenceReport]>;
      x.store.thaw();
      const [report] = await reconciled;
      expect(report).to.include({ calls: 1, endedHere: 1 });
      expect(l.uas.byes, 'caller leg: the peer sent its BYE').to.equal(0);
      expect(l.removed).to.deep.equal([l.uas]);
      expect(l.uac.byes, 'callee leg: not in the record the peer read, BYE\'d here').to.equal(1);
      expect(released, 'quota: freed by the peer').to.equal(0);
      expect(calls.size).to.equal(0);
      expect(metricValue(await registry.metrics(), 'gw_calls_byes_total', { answer: 'seen' })).to.equal(1);
    } finally {
      await x.stop();
    }
  });

  it('the callee answers while the instance is frozen and taken over: the caller gets 503, never the 200, and the callee a BYE', async function () {
    this.timeout(10_000);
    const x = await fencedNode();
    try {
      const l = lab();
      const registry = new Registry();
      const calls = new ActiveCalls(registry);
      const tracker = (await x.a.admit('c-1@198.51.100.7', 'sip-b2bua'))!;
      const session = new CallSession(l.srf, req, l.res, calls, createCallMetrics(registry), log);
      let released = 0;
      const forwarding = session.forward('sip:callee@192.0.2.9', { 'User-Agent': 'gw-a' }, undefined, () => released++, false, b2buaHooks(tracker));
      x.store.freeze();
      await waitUntil(async () => !x.a.admissible(), 'lease lapsed', 2000, 5);
      await waitUntil(async () => (await x.client.keys('gw:ha-cs:*ha:hb:a')).length === 0, 'hb expired', 2000, 5);
      const [k] = await x.client.keys('gw:ha-cs:*ha:calls:a');
      await x.client.set(k!.replace(/calls:a$/, 'claim:a'), 'survivor', 'PX', 5000);
      l.answer(); // the callee's 200, read first after the wake
      x.store.thaw();
      await forwarding;
      expect(l.res.sent.map((r) => r.status)).to.deep.equal([503]);
      expect(l.uac.byes).to.equal(1);
      await x.a.reconciled;
      expect(calls.size).to.equal(0);
      expect(metricValue(await registry.metrics(), 'gw_calls_total', { outcome: 'fenced' })).to.equal(1);
      expect(released, 'the setup-phase call\'s quota: its INVITE transaction is still ours, freed here too (idempotent)').to.equal(1);
    } finally {
      await x.stop();
    }
  });

  it('fenced while the callee has not answered: 503 to the caller, CANCEL to the callee', async function () {
    this.timeout(10_000);
    const x = await fencedNode();
    try {
      const l = lab();
      const registry = new Registry();
      const tracker = (await x.a.admit('c-1@198.51.100.7', 'sip-b2bua'))!;
      const session = new CallSession(l.srf, req, l.res, new ActiveCalls(registry), createCallMetrics(registry), log);
      void session.forward('sip:callee@192.0.2.9', { 'User-Agent': 'gw-a' }, undefined, () => undefined, false, b2buaHooks(tracker));
      x.store.freeze();
      await waitUntil(async () => (await x.client.keys('gw:ha-cs:*ha:hb:a')).length === 0, 'hb expired', 2000, 5);
      const [k] = await x.client.keys('gw:ha-cs:*ha:calls:a');
      await x.client.set(k!.replace(/calls:a$/, 'claim:a'), 'survivor', 'PX', 5000);
      x.store.thaw();
      const [report] = (await once(x.a, 'reconciled')) as [FenceReport];
      expect(report).to.include({ calls: 1, endedHere: 1 });
      expect(l.res.sent).to.deep.equal([{ status: 503, headers: { 'Retry-After': '5', Server: 'gw-a' } }]);
      expect(l.cancelled()).to.equal(true);
    } finally {
      await x.stop();
    }
  });
});
