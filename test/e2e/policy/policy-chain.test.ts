/**
 * The policy chain on the wire: SIPp callers -> drachtio (double, or real by DRACHTIO_* env) ->
 * gateway -> SIPp UAS. Every gate admits the good case and refuses its bad cases with the right
 * SIP code; the UAS receives the redacted, codec-filtered INVITE; every decision is in the audit
 * log, which `gatewayctl audit verify` accepts and which fails at the right record once tampered.
 * The registrar binds experts over REGISTER, and GnuGk's LRQs (as a neighbour) learn from it.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { runSipp, startSippUas, stopAllSipp, type SippResult, type SippUas } from '../../lab/sipp.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { SDP, injectionFile, policyInvite } from '../../lab/scenarios.js';
import { identityJws, labPerson, writeRegistry, type LabPerson } from '../../lab/policy-lab.js';
import { metricValue } from '../../lab/wait.js';
import { main as cli } from '../../../apps/cli/index.js';
import { hashId } from '../../../lib/audit/record.js';
import { UdpPeer, rasFixture } from '../../lab/h323/udp-peer.js';
import { decodeRas, encodeRas, aliasFromString } from '../../../lib/h323/ras/messages.js';

const REALM = 'council.test';
const HOST = '127.0.0.1';

describe('policy chain on the wire', function () {
  this.timeout(90_000);
  let target: DrachtioTarget;
  let uas: SippUas;
  let gw: GatewayProcess;
  let sip: string;
  let auditDir: string;
  const alice = labPerson('Alice', REALM);
  const bob = labPerson('Bob', REALM);
  const sam = labPerson('Sam', REALM, { status: 'suspended' });
  const vic = labPerson('Vic', REALM, { maxCalls: 4, maxBps: 3_000_000 });
  const outsider = labPerson('Eve', REALM); // has keys, not in the registry

  before(async () => {
    target = await startDrachtioTarget();
    uas = await startSippUas();
    const reg = writeRegistry([alice, bob, sam, vic]);
    auditDir = mkdtempSync(join(tmpdir(), 'gw-audit-'));
    gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        dialPlan: [{ prefix: '', sipTarget: `sip:\${user}@127.0.0.1:${uas.port}` }],
        policy: {
          realm: REALM,
          // SIPp 3.6 answers only the first challenge and only knows MD5, so MD5 is offered first
          // here; the SHA-256 challenge that follows is answered by the test's own UAC below.
          digestAlgorithms: ['MD5', 'SHA-256'],
          // Every caller here is 127.0.0.1: lift the per-source limits (tested on their own below).
          rates: { invitePerSourceBurst: 1000, invitePerSourcePerSec: 1000, invitePerIdentityBurst: 100, invitePerIdentityPerSec: 100 },
          lockout: { sourceThreshold: 1000, userThreshold: 1000 },
        },
        registry: { file: reg.file },
        audit: { dir: auditDir },
        h323: {
          ras: { host: '127.0.0.1', port: 0 },
          callSignalAddress: { host: '127.0.0.1', port: 1720 },
          neighbours: [{ name: 'GK', host: '127.0.0.1' }],
          localZone: { prefixes: ['9'] },
        },
      },
      env: { DRACHTIO_SECRET: target.secret, POLICY_NONCE_SECRET: 'test-nonce-secret' },
    });
    await gw.waitForOutput(/connected to drachtio-server/);
    sip = `${target.sipHost}:${target.sipPort}`;
  });

  after(async () => {
    await gw?.stop('SIGTERM');
    await uas?.stop();
    stopAllSipp();
    await target?.stop();
  });

  interface CallOpts {
    caller: LabPerson;
    password?: string;
    signer?: LabPerson | null;
    kid?: string;
    iat?: number;
    jws?: string;
    subject?: string;
    display?: string;
    sdp?: readonly string[];
    to?: string;
  }

  function row(o: CallOpts): string[] {
    const to = o.to ?? 'service';
    const jws = o.jws ?? (o.signer === null ? 'none' : identityJws({
      signer: o.signer ?? o.caller, kid: o.kid, fromUser: o.caller.username, fromHost: HOST, toUser: to, toHost: target.sipHost, iat: o.iat,
    }));
    return [o.caller.username, o.password ?? o.caller.password, jws, o.kid ?? (o.signer ?? o.caller).kid, o.subject ?? 'weekly sync', o.display ?? o.caller.entry.displayName, o.signer === null ? 'X-No-Identity' : 'Identity'];
  }

  async function call(status: number, o: CallOpts, extra: { calls?: number; args?: string[]; rows?: string[][] } = {}): Promise<SippResult> {
    const inf = injectionFile(extra.rows ?? [row(o)]);
    const r = await runSipp({
      auth: { user: o.caller.username, password: o.password ?? o.caller.password },
      target: sip, scenario: policyInvite(status, o.sdp ?? SDP.audio), service: o.to ?? 'service',
      calls: extra.calls ?? 1, rate: 10, timeoutMs: 30_000,
      // SIPp's digest uri defaults to remote_ip:port; the gateway checks it against the Request-URI.
      args: ['-inf', inf, '-auth_uri', `${o.to ?? 'service'}@${sip}`, ...(extra.args ?? [])],
    });
    expect(r.exitCode, `${r.stderr}\n${r.stdout.slice(-2500)}\n${r.messages.slice(-2500)}`).to.equal(0);
    return r;
  }

  /** The INVITEs the UAS received since `mark` (its message trace grows as calls arrive). */
  function uasInvites(mark: number): string[] {
    return uas.messages().slice(mark).split(/(?=INVITE sip:)/).filter((m) => m.startsWith('INVITE sip:'));
  }

  it('admits a registered expert with digest (MD5 by SIPp) and a valid Identity; the UAS gets the call', async () => {
    const mark = uas.messages().length;
    const r = await call(200, { caller: alice });
    expect(r.successful).to.equal(1);
    const got = uasInvites(mark);
    expect(got).to.have.length(1);
    // The Identity and Authorization of the caller are not forwarded.
    expect(got[0]).not.to.match(/^(Identity|Proxy-Authorization):/im);
  });

  it('forwards an ESCALATE call redacted (display name, Subject) and codec-filtered (G722 removed)', async () => {
    const mark = uas.messages().length;
    await call(200, { caller: alice, subject: 'call me at 555-867-5309 or alice@example.org', display: 'Alice 4111111111111111' });
    const inv = uasInvites(mark)[0] ?? '';
    expect(inv).to.match(/^Subject:/m);
    expect(inv).not.to.include('555-867-5309');
    expect(inv).not.to.include('alice@example.org');
    expect(inv).not.to.include('4111111111111111');
    expect(inv).to.match(/m=audio \d+ RTP\/AVP 0 8 18 101/);
    expect(inv).not.to.match(/G722/);
    // The audit holds categories and counts, never the values.
    const audit = readAudit();
    expect(audit).not.to.include('555-867-5309');
    expect(audit).not.to.include('alice@example.org');
  });

  it('refuses a wrong password, an unknown user and a suspended user with 403', async () => {
    await call(403, { caller: alice, password: 'wrong' });
    await call(403, { caller: outsider });
    await call(403, { caller: sam });
  });

  it('asks for an Identity when there is none (428) and refuses bad ones: bad signature, wrong key (438), unknown key (436)', async () => {
    await call(428, { caller: bob, signer: null, jws: 'none' });
    const good = identityJws({ signer: bob, fromUser: bob.username, fromHost: HOST, toUser: 'service', toHost: target.sipHost });
    const [h, c, s] = good.split('.') as [string, string, string];
    const flipped = `${h}.${c}.${(s[0] === 'A' ? 'B' : 'A') + s.slice(1)}`;
    await call(438, { caller: bob, jws: flipped });
    // Signed by Alice's key but naming Bob's key id: the signature does not verify.
    await call(438, { caller: bob, signer: alice, kid: bob.kid });
    await call(436, { caller: bob, signer: outsider });
  });

  it('refuses expired and future-dated Identity headers (403 Stale Date) and a replayed one (438)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await call(403, { caller: bob, iat: now - 600 });
    await call(403, { caller: bob, iat: now + 600 });
    const jws = identityJws({ signer: bob, fromUser: bob.username, fromHost: HOST, toUser: 'service', toHost: target.sipHost });
    await call(200, { caller: bob, jws });
    await call(438, { caller: bob, jws });
  });

  it('anti-Sybil: digest as Bob with Alice\'s valid signature is refused (403)', async () => {
    await call(403, { caller: bob, signer: alice });
  });

  it('no whitelisted codec left: 488 with a Warning; malformed SDP: 400', async () => {
    const r = await call(488, { caller: alice, sdp: SDP.noneAllowed });
    expect(r.messages).to.match(/^Warning: 30\d /m);
    await call(400, { caller: alice, sdp: SDP.malformed });
  });

  it('bandwidth: b=AS:-1 and b=TIAS:-99999999999 get 400 Bad Request + Warning 399, a huge b=AS gets the quota\'s 488; each audited for its call', async () => {
    const audioWith = (line: string): string[] => [
      'v=0', 'o=user1 53655765 2353687637 IN IP4 [local_ip]', 's=-', 'c=IN IP4 [media_ip]', 't=0 0',
      'm=audio [media_port] RTP/AVP 0', line, 'a=rtpmap:0 PCMU/8000',
    ];
    const cases: Array<[string, number, string, RegExp]> = [
      ['b=AS:-1', 400, 'malformed-bandwidth', /^Warning: 399 \S+ "Malformed SDP: malformed b= line/m],
      ['b=TIAS:-99999999999', 400, 'malformed-bandwidth', /^Warning: 399 \S+ "Malformed SDP: malformed b= line/m],
      ['b=AS:99999999999999999999', 488, 'bandwidth-exceeds-limit', /^Warning: 370 \S+ "Insufficient bandwidth"/m],
    ];
    const idKey = readFileSync(join(auditDir, '.id-key'), 'utf8').trim();
    for (const [line, status, reason, warning] of cases) {
      const mark = uas.messages().length;
      const r = await call(status, { caller: alice, sdp: audioWith(line) });
      // On the wire: the final answer SIPp checked, with its Warning; the callee never saw the call.
      const answer = r.messages.split(/(?=SIP\/2\.0 \d{3} )/).find((m) => m.startsWith(`SIP/2.0 ${status} `));
      expect(answer, r.messages.slice(-2000)).to.match(warning);
      expect(uasInvites(mark)).to.have.length(0);
      // In the audit: this call's own record (the Call-ID is stored as its keyed hash).
      const callId = /^Call-ID: *(\S+)/m.exec(answer!)![1]!;
      const recs = readAudit().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((x) => x.callId === hashId(idKey, 'call', callId));
      // The digest challenge, then the refusal of the authenticated INVITE.
      expect(recs.map((x) => x.decision), line).to.deep.equal(['challenge', 'reject']);
      expect(recs[1], line).to.include({ status, reason, method: 'INVITE', gate: status === 400 ? 'codec' : 'fairness' });
    }
  });

  it('fairness: a caller\'s second concurrent 2.5 Mbps video call is trimmed to fit 3 Mbps', async () => {
    const mark = uas.messages().length;
    const rows = [row({ caller: vic, sdp: SDP.video }), row({ caller: vic, sdp: SDP.video })];
    // Two calls, 100 ms apart, each held 2 s: they overlap.
    const r = await call(200, { caller: vic, sdp: SDP.video }, { calls: 2, rows, args: ['-d', '2000'] });
    expect(r.successful).to.equal(2);
    const invs = uasInvites(mark);
    expect(invs).to.have.length(2);
    const videoAs = (inv: string): number | undefined => {
      const video = inv.split(/^m=video/m)[1];
      if (video === undefined) return undefined;
      const m = /^b=AS:(\d+)/m.exec(video);
      return m ? Number(m[1]) : NaN;
    };
    expect(videoAs(invs[0]!)).to.equal(2500);
    const second = videoAs(invs[1]!);
    // Either video capped below what was asked, or dropped (no video m-line / port 0).
    expect(second === undefined || (second as number) < 2500 || /m=video 0 /.test(invs[1]!)).to.equal(true);
  });

  describe('registrar and RAS', () => {
    let gk: UdpPeer;
    before(async () => {
      gk = await UdpPeer.open('127.0.0.1');
    });
    after(() => gk.close());

    /** GnuGk's own neighbour LRQ (captured bytes), asking for `alias` and replying to our peer. */
    async function lrq(alias: string, seq: number): Promise<string> {
      const m = decodeRas(rasFixture('s1a-ep-ras-and-neighbour-lrq-noreply', '0006'));
      if (m.choice !== 'locationRequest') throw new Error('fixture is not an LRQ');
      m.value.destinationInfo = [aliasFromString(alias)];
      m.value.replyAddress = { choice: 'ipAddress', value: { ip: Uint8Array.from([127, 0, 0, 1]), port: gk.port } };
      m.value.requestSeqNum = seq;
      await gk.send(encodeRas(m), { host: '127.0.0.1', port: gw.rasPort });
      let timer: NodeJS.Timeout | undefined;
      const reply = await Promise.race([
        gk.next(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no RAS reply to LRQ for ${alias}`)), 5000); }),
      ]).finally(() => clearTimeout(timer));
      const got = decodeRas(reply.bytes);
      if (got.choice === 'locationReject') return `LRJ ${(got.value.rejectReason as { choice: string }).choice}`;
      return got.choice === 'locationConfirm' ? 'LCF' : got.choice;
    }

    const sippReg = (scenario: string) =>
      runSipp({ target: sip, scenario, calls: 1, auth: { user: alice.username, password: alice.password }, args: ['-inf', injectionFile([[alice.username]])] });

    it('REGISTER with digest binds the contact; GnuGk\'s LRQ for the expert then gets LCF; after un-REGISTER, LRJ', async () => {
      expect(await lrq('alice', 101)).to.equal('LRJ notRegistered');
      const reg = await sippReg('policy/register.xml');
      expect(reg.exitCode, reg.messages.slice(-2000)).to.equal(0);
      expect(await lrq('alice', 102)).to.equal('LCF');
      expect(await lrq('9123', 103)).to.equal('LCF');
      expect(await lrq('5555', 104)).to.match(/^LRJ/);
      const unreg = await sippReg('policy/unregister.xml');
      expect(unreg.exitCode, unreg.messages.slice(-2000)).to.equal(0);
      expect(await lrq('alice', 105)).to.equal('LRJ notRegistered');
    });
  });

  it('every decision above is in the audit log; audit verify passes, and fails at the right record on a tampered copy', async () => {
    const decisions = metricValue(await gw.metrics(), 'gw_audit_head_seq') ?? 0;
    expect(decisions).to.be.greaterThan(20);
    const io = captureIo();
    expect(await cli(['audit', 'verify', auditDir], io)).to.equal(0);

    const copy = mkdtempSync(join(tmpdir(), 'gw-audit-tampered-'));
    try {
      cpSync(auditDir, copy, { recursive: true });
      const file = readdirSync(copy).filter((f) => f.endsWith('.jsonl')).sort()[0]!;
      const lines = readFileSync(join(copy, file), 'utf8').split('\n');
      // Turn the 5th decision into an admit, as an insider hiding a refusal would.
      lines[4] = lines[4]!.replace(/"decision":"(reject|challenge)"/, '"decision":"admit"').replace(/"decision":"admit"/, '"decision":"reject"');
      writeFileSync(join(copy, file), lines.join('\n'));
      const io2 = captureIo();
      expect(await cli(['audit', 'verify', copy], io2)).to.equal(1);
      expect(io2.text()).to.match(/seq 5\b|line 5\b/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  function readAudit(): string {
    return readdirSync(auditDir).filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(join(auditDir, f), 'utf8')).join('');
  }
});

function captureIo(): { out: (s: string) => void; err: (s: string) => void; env: Record<string, string | undefined>; text: () => string } {
  let buf = '';
  return { out: (s: string) => { buf += s; }, err: (s: string) => { buf += s; }, env: {}, text: () => buf };
}
