/**
 * Failover (issue 7 item 5): two gateway processes on one redis-server and one drachtio (double),
 * policy on (digest, quota, audit), B2BUA calls from a SIPp caller at 25 calls/s to a SIPp UAS,
 * each held 5 s. Instance A is SIGKILLed mid-load. Measured and asserted on the wire:
 * - new calls succeed again through B within 1 s of the kill (SIPp caller trace timestamps);
 * - B's calls are untouched: no BYE reaches them before their own hang-up;
 * - every call A had answered gets a BYE on both legs from B within 5 s (caller and callee SIPp
 *   traces), its quota is gone from the Redis ledger, and B audits the takeover;
 * - A's audit chain verifies and holds every decision A answered before the kill.
 * Which instance owned which call comes from the double's frame log (who answered what).
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import type { FrameRecord } from '../../lab/drachtio-double/double.js';
import { startSippUas, runSipp, stopAllSipp, type SippUas, type SippResult } from '../../lab/sipp.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { labPerson, writeRegistry } from '../../lab/policy-lab.js';
import { testRedis, type RedisServer } from '../../lab/redis-server.js';
import { verifyAuditDir } from '../../../lib/audit/verify.js';
import { hashId } from '../../../lib/audit/record.js';
import { readFileSync, readdirSync } from 'node:fs';
import { parseSippTrace, uacHoldScenario, type TracedMessage } from './uac-hold.js';

const REALM = 'council.test';
const RATE = 25;
const CALLS = 200;
const HOLD_MS = 8000;
/** A's calls must still be held when the survivor's BYE comes (TTL 2 s + poll + margin). */
const HOLD_LEFT_MS = 4000;
const ID_KEY = 'ha-test-audit-id-key-0123456789';

interface Frame {
  app: number;
  at: number;
  dir: FrameRecord['dir'];
  tokens: string[];
  sip: string;
}

function parseFrame(f: FrameRecord): Frame {
  const crlf = f.payload.indexOf('\r\n');
  const leader = crlf === -1 ? f.payload : f.payload.slice(0, crlf);
  return { app: f.app, at: f.at, dir: f.dir, tokens: leader.split('|'), sip: crlf === -1 ? '' : f.payload.slice(crlf + 2) };
}

const hdr = (sip: string, name: string): string => new RegExp(`^${name}:\\s*(.*?)\\r?$`, 'im').exec(sip)?.[1]?.trim() ?? '';

describe('HA failover: SIGKILL of one of two gateway instances under load', function () {
  this.timeout(90_000);
  let target: DrachtioTarget;
  let redis: { url: string; server?: RedisServer };
  let uas: SippUas;
  const gws: GatewayProcess[] = [];
  const auditDirs: string[] = [];
  const prefix = `gw:ha:${process.pid}:`;
  const alice = labPerson('Alice', REALM, { role: 'operator', maxCalls: 1000, maxBps: 1_000_000_000 });

  before(async function () {
    target = await startDrachtioTarget();
    if (!target.double) this.skip(); // call ownership is read from the double's frame log
    redis = await testRedis();
    // SIPp caps open calls (default 3 x rate x duration) and drops INVITEs beyond it.
    uas = await startSippUas({ args: ['-l', '100000'] });
    const reg = writeRegistry([alice]);
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(join(tmpdir(), `gw-ha${i}-audit-`));
      auditDirs.push(dir);
      const gw = await startGateway({
        config: {
          drachtio: { host: target.host, port: target.port },
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
          ha: { instanceId: i === 0 ? 'gw-a' : 'gw-b', heartbeatMs: 250, ttlMs: 2000, pollMs: 250 },
        },
        env: { DRACHTIO_SECRET: target.secret, POLICY_NONCE_SECRET: 'shared-nonce-secret', REDIS_URL: redis.url, AUDIT_ID_KEY: ID_KEY },
      });
      // A connects first, so its control link is the double's first app.
      await gw.waitForOutput(/connected to drachtio-server/);
      gws.push(gw);
    }
  });

  after(async () => {
    for (const gw of gws) await gw.stop('SIGKILL', 0).catch(() => undefined);
    stopAllSipp();
    await uas?.stop().catch(() => undefined);
    await redis?.server?.stop();
    await target?.stop();
  });

  it('new calls go on within 1 s; the dead instance\'s calls are ended on both legs within 5 s, quota released, audit intact', async () => {
    const double = target.double!;
    const [gwA, gwB] = gws as [GatewayProcess, GatewayProcess];
    const frames: Frame[] = [];
    const pendingInvites = new Map<number, Map<string, string>>(); // app -> txn -> Call-ID
    const authTxns = new Set<string>(); // INVITE transactions carrying credentials (admission possible)
    const openCalleeInvites = new Set<string>(); // A's callee-leg INVITE transactions without a final answer
    let admittedAtKill: string[] = [];
    const answered = new Map<number, number>(); // app -> 200s to callers
    const lastAnswerAt = new Map<number, number>();
    let killAt = 0;
    let firstAnswerAt: number | undefined;
    // The machine was too slow to reach the kill point while A's first calls were still held.
    let tooLate = false;
    let killed: (() => void) | undefined;
    const killedP = new Promise<void>((r) => (killed = r));

    const appIdA = 1;
    const appIdB = 2;
    const onFrame = (rec: FrameRecord): void => {
      const f = parseFrame(rec);
      frames.push(f);
      if (killAt || tooLate) return;
      if (f.dir === 'server->app' && f.tokens[1] === 'sip' && f.tokens[2] === 'network' && f.sip.startsWith('INVITE ')) {
        const m = pendingInvites.get(f.app) ?? new Map<string, string>();
        m.set(f.tokens[8]!, hdr(f.sip, 'Call-ID'));
        pendingInvites.set(f.app, m);
        // Kill A at a moment with a defined outcome: it just got a challenge-phase INVITE; each
        // authenticated INVITE open there is waiting on its callee (admitted and recorded, not
        // half-way through the policy, not between the callee's 200 and ours); its last answer
        // is old enough for that call's record to be in Redis. Both have been serving a while.
        if (/^Proxy-Authorization:/im.test(f.sip)) authTxns.add(f.tokens[8]!);
        const openAuth = [...(pendingInvites.get(appIdA)?.entries() ?? [])].filter(([t]) => authTxns.has(t));
        const quiet = f.app === appIdA && !authTxns.has(f.tokens[8]!) && openAuth.length === openCalleeInvites.size &&
          (answered.get(appIdA) ?? 0) >= 8 && (answered.get(appIdB) ?? 0) >= 8 && rec.at - (lastAnswerAt.get(appIdA) ?? 0) >= 15;
        if (quiet && rec.at - (firstAnswerAt ?? rec.at) > HOLD_MS - HOLD_LEFT_MS) {
          tooLate = true;
          return;
        }
        if (quiet) {
          admittedAtKill = openAuth.map(([, callId]) => callId);
          killAt = Date.now();
          gwA.proc.kill('SIGKILL');
          killed?.();
        }
      }
      if (f.app === appIdA && f.dir === 'server->app' && f.tokens[1] === 'response' && f.sip.startsWith('INVITE ')) openCalleeInvites.add(f.tokens[10]!);
      if (f.app === appIdA && f.dir === 'server->app' && f.tokens[2] === 'network' && /^SIP\/2\.0 [2-6]\d\d /.test(f.sip)) openCalleeInvites.delete(f.tokens[8]!);
      if (f.dir === 'app->server' && f.tokens[1] === 'sip' && f.tokens[2] && /^SIP\/2\.0 [2-6]\d\d /.test(f.sip) && /INVITE/.test(hdr(f.sip, 'cseq'))) {
        pendingInvites.get(f.app)?.delete(f.tokens[2]);
        if (f.sip.startsWith('SIP/2.0 200')) {
          if (f.app === appIdA) firstAnswerAt ??= rec.at;
          answered.set(f.app, (answered.get(f.app) ?? 0) + 1);
          lastAnswerAt.set(f.app, rec.at);
        }
      }
    };
    double.on('frame', onFrame);
    const takeoverLog = gwB.waitForOutput(/^\{.*"message":"ha: peer instance taken over".*$/m, 60_000);

    const caller: Promise<SippResult> = runSipp({
      target: `${target.sipHost}:${target.sipPort}`,
      scenario: uacHoldScenario(alice.username, HOLD_MS, 10_000),
      service: 'council',
      calls: CALLS,
      rate: RATE,
      auth: { user: alice.username, password: alice.password },
      timeoutMs: 60_000,
      args: ['-l', '1000'],
    });
    const gone = once(double, 'appGone');
    let noKill: NodeJS.Timeout | undefined;
    await Promise.race([
      killedP,
      new Promise<never>((_, reject) => {
        noKill = setTimeout(() => {
          const last = frames.filter((f) => f.dir === 'app->server').slice(-3).map((f) => `${f.app}: ${f.sip.split('\r\n')[0]}`);
          reject(new Error(`no moment to kill A within 20 s${tooLate ? ` (too slow: A's first call would have ended before the takeover)` : ''}: answered A=${answered.get(appIdA) ?? 0} B=${answered.get(appIdB) ?? 0}; open at A: ${[...(pendingInvites.get(appIdA)?.values() ?? [])].join(',')}; last app frames: ${last.join(' / ')}\n${gwA.output().slice(-1500)}`));
        }, 20_000);
      }),
    ]).finally(() => clearTimeout(noKill));
    const [goneId] = (await gone) as [number];
    const noticedAt = Date.now();
    expect(goneId, 'A holds the first control link').to.equal(appIdA);
    const takeover = JSON.parse(await takeoverLog) as { calls: number; ms: number; timestamp: string };
    const takeoverSeenAt = Date.now();

    // What A had at the kill, from the frames (before killAt).
    const before = frames.filter((f) => f.at <= killAt);
    const aAnsweredCallers = new Set(before.filter((f) => f.app === appIdA && f.dir === 'app->server' && f.sip.startsWith('SIP/2.0 200') && /INVITE/.test(hdr(f.sip, 'cseq'))).map((f) => hdr(f.sip, 'Call-ID')));
    const bAnsweredCallers = new Set(frames.filter((f) => f.app === appIdB && f.dir === 'app->server' && f.sip.startsWith('SIP/2.0 200') && /INVITE/.test(hdr(f.sip, 'cseq'))).map((f) => hdr(f.sip, 'Call-ID')));
    // B legs A set up: the double echoes each sent INVITE to its app ("Msg sent"); A's ACK confirms them.
    const aAckedCallees = new Set(before.filter((f) => f.app === appIdA && f.dir === 'app->server' && f.sip.startsWith('ACK ')).map((f) => f.tokens[3]!.split(';')[0]!));
    // INVITEs A got and never answered, including those the double handed it between the kill
    // and noticing the closed link: those callers only ever see 100 Trying (recording n3).
    const aAnswers = new Set(frames.filter((f) => f.app === appIdA && f.dir === 'app->server' && f.tokens[1] === 'sip' && /^SIP\/2\.0 [2-6]\d\d /.test(f.sip)).map((f) => f.tokens[2]));
    const aPending = frames.filter((f) => f.app === appIdA && f.dir === 'server->app' && f.tokens[2] === 'network' && f.sip.startsWith('INVITE ') && !aAnswers.has(f.tokens[8])).map((f) => hdr(f.sip, 'Call-ID'));
    expect(aAnsweredCallers.size, 'A had answered calls at the kill').to.be.greaterThan(5);
    expect(takeover.calls, 'call records B found for A: answered + admitted and waiting on the callee').to.equal(aAnsweredCallers.size + admittedAtKill.length);

    // Quota of A's callers: released in the shared ledger by the takeover.
    const r = new Redis(redis.url);
    try {
      const left = await Promise.all([...aAnsweredCallers, ...admittedAtKill].map((id) => r.exists(`${prefix}l:c:${id}`)));
      expect(left.filter((x) => x === 1), 'ledger entries of A\'s calls after the takeover').to.have.length(0);

      const res = await caller;
      const uasLog = parseSippTrace(uas.messages());
      const uacLog = parseSippTrace(res.messages);

      // SIPp caller: calls pending at A when it died are the only failures.
      const completed = new Set([
        ...uacLog.filter((m) => m.dir === 'sent' && m.start.startsWith('SIP/2.0 200') && m.cseq.endsWith('BYE')).map((m) => m.callId),
        ...uacLog.filter((m) => m.dir === 'received' && m.start.startsWith('SIP/2.0 200') && m.cseq.endsWith('BYE')).map((m) => m.callId),
      ]);
      const failedIds = [...new Set(uacLog.map((m) => m.callId))].filter((id) => !completed.has(id));
      const describeCall = (id: string): string =>
        `${id}: sipp ${uacLog.filter((m) => m.callId === id).map((m) => `${m.dir === 'sent' ? '>' : '<'}${m.start.split(' ').slice(0, 2).join(' ')}@${(m.at - killAt).toFixed(0)}`).join(' ')}` +
        ` | double ${frames.filter((f) => f.sip.includes(`Call-ID: ${id}`)).map((f) => `${f.dir === 'server->app' ? '>' : '<'}app${f.app} ${f.sip.split(' ').slice(0, 2).join(' ')}@${f.at - killAt}`).join(' ')}`;
      expect(failedIds.filter((id) => !aPending.includes(id)).map(describeCall), `failed calls other than those pending at A (${aPending.join(',')})`).to.deep.equal([]);
      expect(res.failed).to.equal(failedIds.length);
      expect(res.successful + res.failed).to.equal(CALLS);

      // Time until new calls succeed again: first call whose first INVITE left SIPp after the kill.
      const firstInvite = new Map<string, TracedMessage>();
      for (const m of uacLog) if (m.dir === 'sent' && m.start.startsWith('INVITE') && !firstInvite.has(m.callId)) firstInvite.set(m.callId, m);
      const okAt = new Map<string, number>();
      for (const m of uacLog) if (m.dir === 'received' && m.start.startsWith('SIP/2.0 200') && m.cseq.endsWith('INVITE') && !okAt.has(m.callId)) okAt.set(m.callId, m.at);
      const after = [...firstInvite.values()].filter((m) => m.at > killAt).sort((a, b) => a.at - b.at);
      expect(after.length).to.be.greaterThan(0);
      const firstOk = Math.min(...after.map((m) => okAt.get(m.callId) ?? Infinity));
      const failoverMs = firstOk - killAt;
      // Those the double still handed to A before it noticed the closed link are lost as in n3.
      const lostToA = after.filter((m) => aPending.includes(m.callId)).length;
      const afterFailed = after.filter((m) => !okAt.has(m.callId) && !aPending.includes(m.callId)).map((m) => describeCall(m.callId));
      expect(afterFailed, 'calls started after the kill, not handed to A, and not answered').to.deep.equal([]);
      expect(failoverMs, 'kill -> first new call answered (SIPp trace), ms').to.be.at.most(1000);

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

      // A's callee legs: BYE at the SIPp UAS within 5 s of the kill.
      const byeAtCallee = new Map<string, number>();
      for (const m of uasLog) if (m.dir === 'received' && m.start.startsWith('BYE ')) if (!byeAtCallee.has(m.callId)) byeAtCallee.set(m.callId, m.at);
      const calleeByeDelays = [...aAckedCallees].map((id) => (byeAtCallee.get(id) ?? Infinity) - killAt);
      expect(aAckedCallees.size).to.equal(aAnsweredCallers.size);
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
      const aDecisions = before.filter((f) => f.app === appIdA && f.dir === 'app->server' && /^SIP\/2\.0 [2-6]\d\d /.test(f.sip) && /INVITE/.test(hdr(f.sip, 'cseq'))).length;
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
        `      failover: drachtio noticed the kill after ${noticedAt - killAt} ms (test clock); first new call answered ${failoverMs.toFixed(1)} ms after the kill (SIPp caller trace); ` +
          `${aAnsweredCallers.size} calls of A ended by B (B: ${takeover.ms} ms from noticing A dead to every BYE answered; log line ${takeoverSeenAt - killAt} ms after the kill); caller-leg BYE ${fmt(callerByeDelays)}; callee-leg BYE ${fmt(calleeByeDelays)} after the kill (SIPp traces); ` +
          `${aPending.length} call(s) pending at A failed (${admittedAtKill.length} admitted there, their quota released by B; ${lostToA} of them started after the kill, handed to A before the double saw its link close); ${bAnsweredCallers.size} calls on B untouched`,
      );
    } finally {
      double.off('frame', onFrame);
      r.disconnect();
    }
  });
});
