/**
 * What SIPp cannot script, sent by the test's own UDP client through drachtio to the gateway:
 * SHA-256 digest (RFC 8760), a replayed nonce, a stale nonce, a malformed Authorization, an
 * oversized header, a flood from one source and the auth-failure lockout.
 */
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { startSippUas, stopAllSipp, type SippUas } from '../../lab/sipp.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { identityJws, labPerson, writeRegistry } from '../../lab/policy-lab.js';
import { SipUdpClient, SipUdpServer, digestAuthorization, parseChallenge, type SipResponse } from '../../lab/sip-client.js';

const REALM = 'council.test';
const SDP = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

describe('policy and registrar: wire cases beyond SIPp', function () {
  this.timeout(60_000);
  let target: DrachtioTarget;
  let uas: SippUas;
  let infoUas: SippUas;
  let imServer: SipUdpServer;
  let gw: GatewayProcess;
  let to: { host: string; port: number };
  const alice = labPerson('Alice', REALM);
  const clients: SipUdpClient[] = [];

  before(async () => {
    target = await startDrachtioTarget();
    uas = await startSippUas();
    infoUas = await startSippUas({ scenario: 'policy/uas-info.xml' });
    imServer = await SipUdpServer.open();
    const reg = writeRegistry([alice]);
    gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        dialPlan: [
          { prefix: '', sipTarget: `sip:\${user}@127.0.0.1:${uas.port}` },
          { prefix: 'info', sipTarget: `sip:\${user}@127.0.0.1:${infoUas.port}` },
          { prefix: 'im', sipTarget: `sip:\${user}@127.0.0.1:${imServer.port}` },
        ],
        policy: {
          realm: REALM,
          nonceTtlSec: 1,
          rates: { invitePerSourceBurst: 8, invitePerSourcePerSec: 1, registerPerSourceBurst: 50, registerPerSourcePerSec: 50 },
          lockout: { sourceThreshold: 3, userThreshold: 100, windowSec: 60, lockoutSec: 60 },
        },
        registry: { file: reg.file },
        audit: { dir: mkdtempSync(join(tmpdir(), 'gw-audit-')) },
      },
      env: { DRACHTIO_SECRET: target.secret, POLICY_NONCE_SECRET: 'n' },
    });
    await gw.waitForOutput(/connected to drachtio-server/);
    to = { host: target.sipHost, port: target.sipPort };
  });

  after(async () => {
    for (const c of clients) c.close();
    await gw?.stop('SIGTERM');
    await uas?.stop();
    await infoUas?.stop();
    imServer?.close();
    stopAllSipp();
    await target?.stop();
  });

  /** A fresh client on its own loopback address, so rate limits and lockouts stay per test. */
  async function client(host: string): Promise<SipUdpClient> {
    const c = await SipUdpClient.open(host);
    clients.push(c);
    return c;
  }

  function invite(c: SipUdpClient, callId: string, cseq: number, headers: Record<string, string> = {}, user = 'service'): string {
    return c.build({ method: 'INVITE', uri: `sip:${user}@${to.host}:${to.port}`, fromUser: alice.username, toUser: user, callId, cseq, headers, body: SDP });
  }

  async function challenge(c: SipUdpClient, callId: string): Promise<SipResponse> {
    const text = invite(c, callId, 1);
    const r = await c.request(to, text);
    c.send(to, c.ackFor(text, r));
    return r;
  }

  function identity(c: SipUdpClient, user = 'service'): string {
    const jws = identityJws({ signer: alice, fromUser: alice.username, fromHost: c.host, toUser: user, toHost: to.host });
    return `${jws};info=<urn:x-council-gw:kid:${alice.kid}>;alg=EdDSA`;
  }

  it('offers SHA-256 before MD5 and admits a SHA-256 digest answer', async () => {
    const c = await client('127.0.0.11');
    const callId = randomUUID();
    const r1 = await challenge(c, callId);
    expect(r1.status).to.equal(407);
    const algs = r1.all('Proxy-Authenticate').map((v) => parseChallenge(v)?.algorithm);
    expect(algs).to.deep.equal(['SHA-256', 'MD5']);
    const ch = parseChallenge(r1.all('Proxy-Authenticate')[0]!)!;
    const uri = `sip:service@${to.host}:${to.port}`;
    const text = invite(c, callId, 2, { 'Proxy-Authorization': digestAuthorization(ch, alice.username, alice.password, 'INVITE', uri), Identity: identity(c) });
    const r2 = await c.request(to, text);
    expect(r2.status, r2.raw).to.equal(200);
    // ACK the 2xx and hang up so the call slot is released.
    const ack = text.replace(/^INVITE /, 'ACK ').replace(/CSeq: 2 INVITE/, 'CSeq: 2 ACK').replace(/;branch=z9hG4bK[0-9a-f]+/, ';branch=z9hG4bKack' + callId.slice(0, 8)).replace(/\r\nTo: [^\r\n]+/, `\r\nTo: ${r2.header('To')}`).replace(/\r\nContent-Type[\s\S]*$/, '\r\nContent-Length: 0\r\n\r\n');
    c.send(to, ack);
    const bye = c.build({ method: 'BYE', uri, fromUser: alice.username, toUser: 'service', callId, cseq: 3 }).replace(/\r\nTo: [^\r\n]+/, `\r\nTo: ${r2.header('To')}`);
    expect((await c.request(to, bye)).status).to.equal(200);
  });

  it('a replayed Authorization (same nonce and nc) is challenged again, not admitted', async () => {
    const c = await client('127.0.0.12');
    const callId = randomUUID();
    const ch = parseChallenge((await challenge(c, callId)).all('Proxy-Authenticate')[0]!)!;
    const uri = `sip:service@${to.host}:${to.port}`;
    const auth = digestAuthorization(ch, alice.username, alice.password, 'INVITE', uri, 1, 'fixedcnonce');
    const first = invite(c, callId, 2, { 'Proxy-Authorization': auth, Identity: identity(c) });
    const r1 = await c.request(to, first);
    expect(r1.status).to.equal(200);
    // The same credentials on a new call: an attacker replaying what it captured.
    const replay = invite(c, randomUUID(), 2, { 'Proxy-Authorization': auth, Identity: identity(c) });
    const r2 = await c.request(to, replay);
    expect(r2.status).to.be.oneOf([401, 407]);
    c.send(to, c.ackFor(replay, r2));
  });

  it('an expired nonce gets a new challenge with stale=true', async () => {
    const c = await client('127.0.0.13');
    const callId = randomUUID();
    const ch = parseChallenge((await challenge(c, callId)).all('Proxy-Authenticate')[0]!)!;
    // nonceTtlSec is 1 here: let the nonce age past it (the behaviour under test is expiry).
    await new Promise((r) => setTimeout(r, 2100));
    const uri = `sip:service@${to.host}:${to.port}`;
    const text = invite(c, callId, 2, { 'Proxy-Authorization': digestAuthorization(ch, alice.username, alice.password, 'INVITE', uri), Identity: identity(c) });
    const r = await c.request(to, text);
    expect(r.status).to.equal(407);
    expect(r.all('Proxy-Authenticate').map((v) => parseChallenge(v)?.stale)).to.include(true);
    c.send(to, c.ackFor(text, r));
  });

  it('a malformed Authorization gets 400, an oversized header 513', async () => {
    const c = await client('127.0.0.14');
    const bad = invite(c, randomUUID(), 1, { 'Proxy-Authorization': 'Digest username="alice", nonce=, ,,=' });
    const r1 = await c.request(to, bad);
    expect(r1.status).to.equal(400);
    c.send(to, c.ackFor(bad, r1));
    // Over the gateway's 4 KiB per header, under the 8 KiB line sofia-sip (drachtio-server)
    // itself answers 400 for before the app sees the request (the drachtio double does the same).
    const huge = invite(c, randomUUID(), 1, { 'X-Padding': 'a'.repeat(5000) });
    const r2 = await c.request(to, huge);
    expect(r2.status).to.equal(513);
    c.send(to, c.ackFor(huge, r2));
  });

  it('a flood from one source is cut with 503 + Retry-After after the burst', async () => {
    const c = await client('127.0.0.15');
    const codes: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 14; i++) {
      const text = invite(c, randomUUID(), 1);
      const r = await c.request(to, text);
      codes.push(r.status);
      if (r.status === 503) retryAfter = r.header('Retry-After');
      c.send(to, c.ackFor(text, r));
    }
    expect(codes.slice(0, 8), codes.join(',')).to.deep.equal(Array(8).fill(407));
    expect(codes.slice(8).every((s) => s === 503), codes.join(',')).to.equal(true);
    expect(Number(retryAfter)).to.be.greaterThan(0);
  });

  it('repeated wrong passwords lock the source out: even the right password is then refused', async () => {
    const c = await client('127.0.0.16');
    const uri = `sip:service@${to.host}:${to.port}`;
    const attempt = async (password: string): Promise<number> => {
      const callId = randomUUID();
      const ch = parseChallenge((await challenge(c, callId)).all('Proxy-Authenticate')[0]!)!;
      const text = invite(c, callId, 2, { 'Proxy-Authorization': digestAuthorization(ch, alice.username, password, 'INVITE', uri), Identity: identity(c) });
      const r = await c.request(to, text);
      c.send(to, c.ackFor(text, r));
      return r.status;
    };
    expect([await attempt('nope1'), await attempt('nope2'), await attempt('nope3')]).to.deep.equal([403, 403, 403]);
    const text = invite(c, randomUUID(), 1);
    const locked = await c.request(to, text);
    c.send(to, c.ackFor(text, locked));
    expect(locked.status).to.equal(403);
  });

  const PII_TEXT = 'my card 4111 1111 1111 1111, ssn 078-05-1120, mail alice@example.org';

  it('MESSAGE on an escalated conversation is authenticated and forwarded with its text body redacted', async () => {
    const c = await client('127.0.0.17');
    const uri = `sip:im-desk@${to.host}:${to.port}`;
    const msg = (cseq: number, auth?: string): string =>
      c.build({
        method: 'MESSAGE', uri, fromUser: alice.username, toUser: 'im-desk', callId: 'msg-' + callIdSeed, cseq,
        headers: { 'X-Council-Escalation': 'ESCALATE', ...(auth ? { 'Proxy-Authorization': auth } : {}) },
        body: PII_TEXT, contentType: 'text/plain',
      });
    const callIdSeed = randomUUID();
    const r1 = await c.request(to, msg(1));
    expect(r1.status).to.equal(407);
    const ch = parseChallenge(r1.all('Proxy-Authenticate')[0]!)!;
    const r2 = await c.request(to, msg(2, digestAuthorization(ch, alice.username, alice.password, 'MESSAGE', uri)));
    expect(r2.status, r2.raw).to.equal(200);
    const got = await imServer.next();
    expect(got).to.match(/^MESSAGE sip:im-desk@127\.0\.0\.1:\d+ SIP\/2\.0/);
    const body = got.split('\r\n\r\n')[1] ?? '';
    expect(body).to.match(/my card .+, ssn .+, mail .+/);
    for (const raw of ['4111 1111 1111 1111', '078-05-1120', 'alice@example.org']) expect(got).not.to.include(raw);
  });

  it('in-dialog INFO on an escalated call reaches the callee redacted', async () => {
    const c = await client('127.0.0.18');
    const user = 'info-desk';
    const uri = `sip:${user}@${to.host}:${to.port}`;
    const callId = randomUUID();
    const first = invite(c, callId, 1, {}, user);
    const r1 = await c.request(to, first);
    c.send(to, c.ackFor(first, r1));
    const ch = parseChallenge(r1.all('Proxy-Authenticate')[0]!)!;
    const text = invite(c, callId, 2, { 'Proxy-Authorization': digestAuthorization(ch, alice.username, alice.password, 'INVITE', uri), Identity: identity(c, user), 'X-Council-Escalation': 'ESCALATE' }, user);
    const r2 = await c.request(to, text);
    expect(r2.status, r2.raw).to.equal(200);
    const toHdr = r2.header('To') ?? '';
    const inDialog = (method: string, cseq: number, body = ''): string =>
      c.build({ method, uri, fromUser: alice.username, toUser: user, callId, cseq, body, contentType: 'text/plain' }).replace(/\r\nTo: [^\r\n]+/, `\r\nTo: ${toHdr}`);
    c.send(to, inDialog('ACK', 2));
    const info = await c.request(to, inDialog('INFO', 3, PII_TEXT));
    expect(info.status).to.equal(200);
    expect((await c.request(to, inDialog('BYE', 4))).status).to.equal(200);
    const trace = infoUas.messages();
    const relayed = trace.slice(trace.lastIndexOf('INFO sip:'));
    expect(relayed).to.match(/^INFO sip:/);
    expect(relayed).to.match(/my card .+, ssn .+, mail .+/);
    for (const raw of ['4111 1111 1111 1111', '078-05-1120', 'alice@example.org']) expect(relayed).not.to.include(raw);
  });
});
