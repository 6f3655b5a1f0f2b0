/**
 * Failover (issue 7 item 5): two gateway processes on one redis-server and one drachtio (double
 * or DRACHTIO_*), policy on (digest, quota, audit), B2BUA calls from a SIPp caller at 25 calls/s to
 * a SIPp UAS, each held 5 s. Instance A is SIGKILLed mid-load. Measured and asserted on the wire:
 * - new calls succeed again through B within 1 s of the kill (SIPp caller trace timestamps);
 * - B's calls are untouched: no BYE reaches them before their own hang-up;
 * - every call A had answered gets a BYE on both legs from B within 5 s (caller and callee SIPp
 *   traces), its quota is gone from the Redis ledger, and B audits the takeover;
 * - A's audit chain verifies and holds every decision A answered before the kill.
 * Which instance handled which call is on the wire: each instance has its own User-Agent
 * (sip.userAgent), which its callee INVITEs carry, and the caller's Subject (its Call-ID) is
 * forwarded to the callee, so the UAS's trace ties every callee leg to its caller and instance.
 * What A held at the kill is its call records in Redis (read once A is gone, before B takes them
 * over), cross-checked against those traces.
 * The moment of the kill is chosen from A's control link to drachtio, seen through a frame tap
 * (test/lab/frame-tap.ts, transparent, the same against a real drachtio-server): right after A
 * was handed an unauthenticated INVITE, while every authenticated INVITE open at A waits on its
 * callee (admitted and recorded, not half-way through the policy, not between the callee's 200
 * and ours). The tap's record of what drachtio handed A also cross-checks the failed calls.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { startFrameTap, type FrameTap, type TappedFrame } from '../../lab/frame-tap.js';
import { startSippUas, runSipp, stopAllSipp, type SippUas, type SippResult } from '../../lab/sipp.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { labPerson, writeRegistry } from '../../lab/policy-lab.js';
import { testRedis, type RedisServer } from '../../lab/redis-server.js';
import { verifyAuditDir } from '../../../lib/audit/verify.js';
import { hashId } from '../../../lib/audit/record.js';
import { parseRecord, type CallRecord } from '../../../lib/ha/records.js';
import { readFileSync, readdirSync } from 'node:fs';
import { parseSippTrace, uacHoldScenario, type TracedMessage } from './uac-hold.js';

const REALM = 'council.test';
const RATE = 25;
const CALLS = 200;
const HOLD_MS = 8000;
/** A's calls must still be held when the survivor's BYE comes (TTL 2 s + poll + margin). */
const HOLD_LEFT_MS = 4000;
/** New calls must be answered again within this long after the kill. */
const FAILOVER_MS = 1000;
const ID_KEY = 'ha-test-audit-id-key-0123456789';
const INSTANCES = ['gw-a', 'gw-b'] as const;
const userAgentOf = (name: string): string => `council-gateway ${name}`;

interface Frame {
  at: number;
  dir: 'app->server' | 'server->app';
  tokens: string[];
  sip: string;
}

function parseFrame(f: TappedFrame): Frame {
  const crlf = f.payload.indexOf('\r\n');
  const leader = crlf === -1 ? f.payload : f.payload.slice(0, crlf);
  return { at: f.at, dir: f.dir === 'C->S' ? 'app->server' : 'server->app', tokens: leader.split('|'), sip: crlf === -1 ? '' : f.payload.slice(crlf + 2) };
}

const hdr = (sip: string, name: string): string => new RegExp(`^${name}:\\s*(.*?)\\r?$`, 'im').exec(sip)?.[1]?.trim() ?? '';
/** A final response the app sent to an INVITE. */
const isFinalToInvite = (f: Frame): boolean => f.dir === 'app->server' && f.tokens[1] === 'sip' && !!f.tokens[2] && /^SIP\/2\.0 [2-6]\d\d /.test(f.sip) && /INVITE/.test(hdr(f.sip, 'cseq'));

describe('HA failover: SIGKILL of one of two gateway instances under load', function () {
  this.timeout(90_000);
  let target: DrachtioTarget;
  let redis: { url: string; server?: RedisServer };
  let uas: SippUas;
  const gws: GatewayProcess[] = [];
  /** Each gateway's control link to drachtio, in the order of `gws`. */
  const taps: FrameTap[] = [];
  const auditDirs: string[] = [];
  const prefix = `gw:ha:${process.pid}:`;
  const alice = labPerson('Alice', REALM, { role: 'operator', maxCalls: 1000, maxBps: 1_000_000_000 });

  before(async function () {
    target = await startDrachtioTarget();
    redis = await testRedis();
    // SIPp caps open calls (default 3 x rate x duration) and drops INVITEs beyond it.
    uas = await startSippUas({ args: ['-l', '100000'] });
    const reg = writeRegistry([alice]);
    for (const [i, name] of INSTANCES.entries()) {
      const dir = mkdtempSync(join(tmpdir(), `gw-ha${i}-audit-`));
      auditDirs.push(dir);
      const tap = await startFrameTap(target.host, target.port);
      taps.push(tap);
      const gw = await startGateway({
        config: {
          drachtio: { host: '127.0.0.1', port: tap.port },
          sip: { userAgent: userAgentOf(name) },
          dialPlan: [{ prefix: '', sipTarget: `sip:callee@127.0.0.1:${uas.port}` }],
          policy: {
            realm: REALM,
            digestAlgorithms: ['MD5'],
            identityRequiredFor: ['guardian'],
            perCallerBps: 1_000_000_000,
            rates: { invitePerSourceBurst: 100_000, invitePerSourcePerSec: 100_000, invitePerIdentityBurst: 100_000, invitePerIdentityPerSec: 100_000 },
          },
          registry: { file: reg.file },
          // The kill is of the process, not the host: written records survive it in the page
          // cache. fsync would only add disk stalls from the other suites sharing this machine.
          audit: { dir, fsync: false },
          state: { backend: 'redis', keyPrefix: prefix },
          ha: { instanceId: name, heartbeatMs: 250, ttlMs: 2000, pollMs: 250 },
        },
        env: { DRACHTIO_SECRET: target.secret, POLICY_NONCE_SECRET: 'shared-nonce-secret', REDIS_URL: redis.url, AUDIT_ID_KEY: ID_KEY },
      });
      // A connects first: the round robin hands it the first INVITE.
      await gw.waitForOutput(/connected to drachtio-server/);
      gws.push(gw);
    }
  });

  after(async () => {
    for (const gw of gws) await gw.stop('SIGKILL', 0).catch(() => undefined);
    stopAllSipp();
    await uas?.stop().catch(() => undefined);
    for (const t of taps) await t.stop();
    await redis?.server?.stop();
    await target?.stop();
  });

  it('new calls go on within 1 s; the dead instance\'s calls are ended on both legs within 5 s, quota released, audit intact', async () => {
    const [gwA, gwB] = gws as [GatewayProcess, GatewayProcess];
    const [tapA, tapB] = taps as [FrameTap, FrameTap];
    // A's link, frame by frame, to find the moment to kill it (see the file comment).
    const pendingA = new Map<string, string>(); // INVITE txn -> Call-ID, handed to A and not finally answered by A
    const authTxns = new Set<string>(); // INVITE transactions carrying credentials (admission possible)
    const openCalleeInvites = new Set<string>(); // A's callee-leg INVITE transactions without a final answer
    let answeredA = 0;
    let lastAnswerAtA = 0;
    let firstAnswerAt: number | undefined;
    let bSeen = 0;
    let answeredB = 0;
    const answersOfB = (): number => {
      for (; bSeen < tapB.frames.length; bSeen++) {
        const f = parseFrame(tapB.frames[bSeen]!);
        if (isFinalToInvite(f) && f.sip.startsWith('SIP/2.0 200')) answeredB++;
      }
      return answeredB;
    };
    let killAt = 0;
    // The machine was too slow to reach the kill point while A's first calls were still held.
    let tooLate = false;
    const aGone = once(gwA.proc, 'exit');
    const killMoment = tapA.waitFor((tf) => {
      const f = parseFrame(tf);
      if (f.dir === 'server->app' && f.tokens[1] === 'sip' && f.tokens[2] === 'network' && f.sip.startsWith('INVITE ')) {
        const txn = f.tokens[8]!;
        pendingA.set(txn, hdr(f.sip, 'Call-ID'));
        if (/^Proxy-Authorization:/im.test(f.sip)) authTxns.add(txn);
        const openAuth = [...pendingA.keys()].filter((t) => authTxns.has(t));
        const quiet = !authTxns.has(txn) && openAuth.length === openCalleeInvites.size &&
          answeredA >= 8 && answersOfB() >= 8 && tf.at - lastAnswerAtA >= 15;
        if (quiet && tf.at - (firstAnswerAt ?? tf.at) > HOLD_MS - HOLD_LEFT_MS) {
          tooLate = true;
          return true;
        }
        if (quiet) {
          killAt = Date.now();
          gwA.proc.kill('SIGKILL');
          return true;
        }
        return false;
      }
      if (f.dir === 'server->app' && f.tokens[1] === 'response' && f.sip.startsWith('INVITE ')) openCalleeInvites.add(f.tokens[10]!);
      if (f.dir === 'server->app' && f.tokens[2] === 'network' && /^SIP\/2\.0 [2-6]\d\d /.test(f.sip)) openCalleeInvites.delete(f.tokens[8]!);
      if (isFinalToInvite(f)) {
        pendingA.delete(f.tokens[2]!);
        if (f.sip.startsWith('SIP/2.0 200')) {
          firstAnswerAt ??= tf.at;
          answeredA++;
          lastAnswerAtA = tf.at;
        }
      }
      return false;
    }, 20_000);
    const takeoverLog = gwB.waitForOutput(/^\{.*"message":"ha: peer instance taken over".*$/m, 60_000);

    const caller: Promise<SippResult> = runSipp({
      target: `${target.sipHost}:${target.sipPort}`,
      scenario: uacHoldScenario(alice.username, HOLD_MS, 10_000, { subject: '[call_id]' }),
      service: 'council',
      calls: CALLS,
      rate: RATE,
      auth: { user: alice.username, password: alice.password },
      timeoutMs: 60_000,
      args: ['-l', '1000'],
    });
    await killMoment.catch((e: Error) => {
      const last = tapA.frames.filter((f) => f.dir === 'C->S').slice(-3).map((f) => parseFrame(f).sip.split('\r\n')[0]);
      throw new Error(`no moment to kill A within 20 s (${e.message}): answered A=${answeredA} B=${answersOfB()}; open at A: ${[...pendingA.values()].join(',')}; last frames from A: ${last.join(' / ')}\n${gwA.output().slice(-1500)}`);
    });
    expect(tooLate, 'too slow: A\'s first call would have ended before the takeover').to.equal(false);
    await aGone;
    const goneAt = Date.now();

    // What A held at the kill, as A recorded it: read now that A is gone and before B (after A's
    // 2 s heartbeat TTL) takes these very records over.
    const r = new Redis(redis.url);
    try {
      const idA = (await r.smembers(`${prefix}ha:members`)).find((id) => id.startsWith('gw-a-'));
      expect(idA, 'A in the HA membership').to.be.a('string');
      const recsA = Object.values(await r.hgetall(`${prefix}ha:calls:${idA}`)).map((j) => parseRecord(j)).filter((x): x is CallRecord => x !== undefined);
      const recordedAnswered = new Set(recsA.filter((x) => x.state === 'answered').map((x) => x.callId));
      const admittedAtKill = recsA.filter((x) => x.state === 'setup').map((x) => x.callId);
      const takeover = JSON.parse(await takeoverLog) as { calls: number; ms: number; timestamp: string };
      const takeoverSeenAt = Date.now();
      expect(takeover.calls, 'call records B found for A: answered + admitted and waiting on the callee').to.equal(recsA.length);

      const res = await caller;
      const uasLog = parseSippTrace(uas.messages());
      const uacLog = parseSippTrace(res.messages);

      // Who handled each call, from the callee's side: the instance's User-Agent on the callee
      // INVITE, the caller's Call-ID in its Subject.
      const byCaller = new Map<string, { instance: string; callee: string }>();
      const byCallee = new Map<string, string>();
      for (const m of uasLog) {
        if (m.dir !== 'received' || !m.start.startsWith('INVITE ')) continue;
        const ua = hdr(m.text, 'User-Agent');
        const instance = INSTANCES.find((n) => ua === userAgentOf(n));
        expect(instance, `instance of callee INVITE ${m.callId} (User-Agent ${ua})`).to.not.equal(undefined);
        const callerId = hdr(m.text, 'Subject');
        expect(callerId, `caller of callee INVITE ${m.callId}`).to.not.equal('');
        byCaller.set(callerId, { instance: instance!, callee: m.callId });
        byCallee.set(m.callId, instance!);
      }
      const okAt = new Map<string, number>();
      for (const m of uacLog) if (m.dir === 'received' && m.start.startsWith('SIP/2.0 200') && m.cseq.endsWith('INVITE') && !okAt.has(m.callId)) okAt.set(m.callId, m.at);
      const aAnsweredCallers = new Set([...okAt].filter(([id, at]) => at <= killAt && byCaller.get(id)?.instance === 'gw-a').map(([id]) => id));
      const bAnsweredCallers = new Set([...okAt.keys()].filter((id) => byCaller.get(id)?.instance === 'gw-b'));
      // Callee legs A had set up: A's INVITEs the UAS had the ACK for before the kill.
      const aAckedCallees = new Set(uasLog.filter((m) => m.dir === 'received' && m.start.startsWith('ACK ') && m.at <= killAt && byCallee.get(m.callId) === 'gw-a').map((m) => m.callId));
      expect(aAnsweredCallers.size, 'A had answered calls at the kill').to.be.greaterThan(5);
      expect(recordedAnswered, 'A\'s answered calls: its records vs the SIP traces').to.deep.equal(aAnsweredCallers);
      for (const id of admittedAtKill) expect(byCaller.get(id)?.instance, `admitted call ${id} forwarded by A`).to.equal('gw-a');

      // Quota of A's callers: released in the shared ledger by the takeover.
      const left = await Promise.all([...aAnsweredCallers, ...admittedAtKill].map((id) => r.exists(`${prefix}l:c:${id}`)));
      expect(left.filter((x) => x === 1), 'ledger entries of A\'s calls after the takeover').to.have.length(0);

      // SIPp caller: the only failures are calls caught in setup at A by the kill.
      const completed = new Set([
        ...uacLog.filter((m) => m.dir === 'sent' && m.start.startsWith('SIP/2.0 200') && m.cseq.endsWith('BYE')).map((m) => m.callId),
        ...uacLog.filter((m) => m.dir === 'received' && m.start.startsWith('SIP/2.0 200') && m.cseq.endsWith('BYE')).map((m) => m.callId),
      ]);
      const failedIds = [...new Set(uacLog.map((m) => m.callId))].filter((id) => !completed.has(id));
      // INVITEs A was handed and never answered, including those drachtio handed it between the
      // kill and noticing the closed link: those callers only ever see 100 Trying (recording n3).
      const aFrames = tapA.frames.map(parseFrame);
      const aAnswers = new Set(aFrames.filter((f) => f.dir === 'app->server' && f.tokens[1] === 'sip' && /^SIP\/2\.0 [2-6]\d\d /.test(f.sip)).map((f) => f.tokens[2]));
      const aPending = aFrames.filter((f) => f.dir === 'server->app' && f.tokens[2] === 'network' && f.sip.startsWith('INVITE ') && !aAnswers.has(f.tokens[8])).map((f) => hdr(f.sip, 'Call-ID'));
      const describeCall = (id: string): string =>
        `${id}: sipp ${uacLog.filter((m) => m.callId === id).map((m) => `${m.dir === 'sent' ? '>' : '<'}${m.start.split(' ').slice(0, 2).join(' ')}@${(m.at - killAt).toFixed(0)}`).join(' ')}` +
        ` | A's link ${aFrames.filter((f) => f.sip.includes(`Call-ID: ${id}`)).map((f) => `${f.dir === 'server->app' ? '>' : '<'}${f.sip.split(' ').slice(0, 2).join(' ')}@${f.at - killAt}`).join(' ')}`;
      const lastInvite = (id: string): TracedMessage | undefined => uacLog.filter((m) => m.callId === id && m.dir === 'sent' && m.start.startsWith('INVITE')).pop();
      for (const id of failedIds) {
        const inv = lastInvite(id);
        // (SIPp gives up after its answer timeout with a CANCEL, which earns the 487)
        const gaveUp = uacLog.find((m) => m.callId === id && m.dir === 'sent' && m.start.startsWith('CANCEL '))?.at ?? Infinity;
        const finals = uacLog.filter((m) => m.callId === id && m.dir === 'received' && /^SIP\/2\.0 [2-6]/.test(m.start) && m.cseq === inv?.cseq && m.at < gaveUp);
        expect(finals.map((m) => m.start), `failed call ${describeCall(id)}: no final answer to its last INVITE`).to.deep.equal([]);
        expect(inv!.at - killAt, `failed call ${describeCall(id)}: its INVITE left within the failover window`).to.be.at.most(FAILOVER_MS);
      }
      for (const id of admittedAtKill) expect(failedIds, `call admitted at A when it died (${id})`).to.include(id);
      expect(failedIds.filter((id) => !aPending.includes(id)).map(describeCall), `failed calls other than those drachtio had handed A (${aPending.join(',')})`).to.deep.equal([]);
      expect(res.failed).to.equal(failedIds.length);
      expect(res.successful + res.failed).to.equal(CALLS);

      // Time until new calls succeed again: first call whose first INVITE left SIPp after the kill.
      const firstInvite = new Map<string, TracedMessage>();
      for (const m of uacLog) if (m.dir === 'sent' && m.start.startsWith('INVITE') && !firstInvite.has(m.callId)) firstInvite.set(m.callId, m);
      const after = [...firstInvite.values()].filter((m) => m.at > killAt).sort((a, b) => a.at - b.at);
      expect(after.length).to.be.greaterThan(0);
      const firstOk = Math.min(...after.map((m) => okAt.get(m.callId) ?? Infinity));
      const failoverMs = firstOk - killAt;
      const lostToA = after.filter((m) => failedIds.includes(m.callId)).length;
      const afterFailed = after.filter((m) => !okAt.has(m.callId) && !aPending.includes(m.callId)).map((m) => describeCall(m.callId));
      expect(afterFailed, 'calls started after the kill, not handed to A, and not answered').to.deep.equal([]);
      expect(failoverMs, 'kill -> first new call answered (SIPp trace), ms').to.be.at.most(FAILOVER_MS);

      // A's calls: BYE from the network on the caller leg (SIPp caller) within 5 s of the kill.
      const byeAtCaller = new Map<string, number>();
      for (const m of uacLog) if (m.dir === 'received' && m.start.startsWith('BYE ')) byeAtCaller.set(m.callId, m.at);
      const callerByeDelays = [...aAnsweredCallers].map((id) => (byeAtCaller.get(id) ?? Infinity) - killAt);
      expect(callerByeDelays.every((d) => d > 0 && d <= 5000), `caller-leg BYE delays ${callerByeDelays.map((d) => d.toFixed(0)).join(',')}`).to.equal(true);
      // B's calls: never a BYE from the network; they hung up themselves after the hold.
      const bGotBye = [...bAnsweredCallers].filter((id) => byeAtCaller.has(id));
      expect(bGotBye, 'B calls that received a BYE').to.have.length(0);
      const byeSentByCaller = new Set(uacLog.filter((m) => m.dir === 'sent' && m.start.startsWith('BYE ')).map((m) => m.callId));
      expect([...bAnsweredCallers].every((id) => byeSentByCaller.has(id)), 'every B call ended by its caller').to.equal(true);
      const byeOkAtCaller = new Set(uacLog.filter((m) => m.dir === 'received' && m.start.startsWith('SIP/2.0 200') && m.cseq.endsWith('BYE')).map((m) => m.callId));
      expect([...bAnsweredCallers].every((id) => byeOkAtCaller.has(id)), 'every B call\'s BYE answered 200').to.equal(true);

      // A's callee legs: BYE at the SIPp UAS within 5 s of the kill, each the leg of one of A's
      // answered callers.
      const byeAtCallee = new Map<string, number>();
      for (const m of uasLog) if (m.dir === 'received' && m.start.startsWith('BYE ')) if (!byeAtCallee.has(m.callId)) byeAtCallee.set(m.callId, m.at);
      const calleeByeDelays = [...aAckedCallees].map((id) => (byeAtCallee.get(id) ?? Infinity) - killAt);
      expect(aAckedCallees).to.deep.equal(new Set([...aAnsweredCallers].map((id) => byCaller.get(id)!.callee)));
      expect(calleeByeDelays.every((d) => d > 0 && d <= 5000), `callee-leg BYE delays ${calleeByeDelays.map((d) => d.toFixed(0)).join(',')}`).to.equal(true);
      const calleeByeOk = uasLog.filter((m) => m.dir === 'sent' && m.start.startsWith('SIP/2.0 200') && m.cseq.endsWith('BYE') && aAckedCallees.has(m.callId));
      expect(new Set(calleeByeOk.map((m) => m.callId)).size, 'callee legs that answered the survivor\'s BYE 200').to.equal(aAckedCallees.size);

      // After every call ended: nothing left in the ledger at all.
      expect(await r.keys(`${prefix}l:*`), 'ledger keys left').to.deep.equal([]);
      expect(await r.keys(`${prefix}ha:calls:*`), 'call records left').to.deep.equal([]);
      expect(await r.keys(`${prefix}ha:gone:gw-a-*`), 'tombstone of A').to.have.length(1);

      // Audit: A's chain verifies and holds an admit for every call it answered before dying.
      const va = verifyAuditDir(auditDirs[0]!);
      expect(va.ok, JSON.stringify(va.firstBad)).to.equal(true);
      const aRecords = readdirSync(auditDirs[0]!).filter((f) => f.endsWith('.jsonl')).flatMap((f) => readFileSync(join(auditDirs[0]!, f), 'utf8').trim().split('\n')).map((l) => JSON.parse(l) as { decision: string; callId?: string; method?: string; gate: string });
      const aAdmits = new Set(aRecords.filter((x) => x.decision === 'admit' && x.method === 'INVITE').map((x) => x.callId));
      const missing = [...aAnsweredCallers].filter((id) => !aAdmits.has(hashId(ID_KEY, 'call', id)));
      expect(missing, 'answered calls without an admit record in A\'s audit').to.have.length(0);
      // Every INVITE decision A sent on its link before the kill (challenges, answers) is on disk.
      const aDecisions = aFrames.filter((f) => f.at <= killAt && isFinalToInvite(f)).length;
      expect(aRecords.filter((x) => x.method === 'INVITE').length, 'A\'s INVITE decisions answered before the kill vs records on disk').to.be.at.least(aDecisions);
      // B audited each takeover, and its chain verifies too.
      const vb = verifyAuditDir(auditDirs[1]!);
      expect(vb.ok, JSON.stringify(vb.firstBad)).to.equal(true);
      const bTakeovers = readdirSync(auditDirs[1]!).filter((f) => f.endsWith('.jsonl')).flatMap((f) => readFileSync(join(auditDirs[1]!, f), 'utf8').trim().split('\n')).map((l) => JSON.parse(l) as { gate: string; callId?: string; reason: string });
      const taken = bTakeovers.filter((x) => x.gate === 'ha-takeover');
      expect(new Set(taken.map((x) => x.callId))).to.deep.equal(new Set([...aAnsweredCallers, ...admittedAtKill].map((id) => hashId(ID_KEY, 'call', id))));
      const answeredHashes = new Set([...aAnsweredCallers].map((id) => hashId(ID_KEY, 'call', id)));
      expect(taken.every((x) => /quota released/.test(x.reason) && (answeredHashes.has(x.callId!) ? /bye caller 200, callee 200/ : /bye none \(not answered yet\)/).test(x.reason)), taken.map((x) => x.reason).join('\n')).to.equal(true);

      const fmt = (xs: number[]): string => `max ${Math.max(...xs).toFixed(0)} ms, median ${xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0)} ms`;
      // eslint-disable-next-line no-console
      console.log(
        `      failover: A's process gone ${goneAt - killAt} ms after the kill (test clock); first new call answered ${failoverMs.toFixed(1)} ms after the kill (SIPp caller trace); ` +
          `${aAnsweredCallers.size} calls of A ended by B (B: ${takeover.ms} ms from noticing A dead to every BYE answered; log line ${takeoverSeenAt - killAt} ms after the kill); caller-leg BYE ${fmt(callerByeDelays)}; callee-leg BYE ${fmt(calleeByeDelays)} after the kill (SIPp traces); ` +
          `${failedIds.length} call(s) caught in setup at A failed (${admittedAtKill.length} admitted there, their quota released by B; ${lostToA} of them started after the kill, handed to A before drachtio saw its link close); ${bAnsweredCallers.size} calls on B untouched`,
      );
    } finally {
      r.disconnect();
    }
  });
});
