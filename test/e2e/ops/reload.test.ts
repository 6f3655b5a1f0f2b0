/**
 * Config reload without a restart, through the gateway process and the wire: the per-source
 * INVITE limit is changed in the config file and put in force by SIGHUP or by POST /admin/reload;
 * INVITEs from a UDP client through drachtio then get 407 (admitted past the rate gate, challenged
 * by digest) or 503 (rate-limited) by the new limit. A broken file (not JSON, a value out of
 * range, an unknown key, a registry file that does not load) is refused, named, counted, and
 * the old limit stays. The token never reaches the log or the audit; without it the endpoint
 * answers 401.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { labPerson, writeRegistry } from '../../lab/policy-lab.js';
import { SipUdpClient } from '../../lab/sip-client.js';

const REALM = 'council.test';
const SDP = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

describe('config reload without restart (SIGHUP and POST /admin/reload)', function () {
  this.timeout(60_000);
  let target: DrachtioTarget;
  let gw: GatewayProcess;
  let configFile: string;
  let auditDir: string;
  let base: Record<string, unknown>;
  let registryFile: string;
  const token = randomBytes(24).toString('hex');
  const clients: SipUdpClient[] = [];
  const alice = labPerson('Alice', REALM);

  /** The config with the per-source INVITE burst set; the refill is ~0 so counts are exact. */
  const withBurst = (burst: unknown): Record<string, unknown> => ({
    ...base,
    policy: { realm: REALM, rates: { invitePerSourceBurst: burst, invitePerSourcePerSec: 0.001 } },
  });

  before(async () => {
    target = await startDrachtioTarget();
    const reg = writeRegistry([alice]);
    registryFile = reg.file;
    auditDir = mkdtempSync(join(tmpdir(), 'gw-audit-'));
    base = {
      drachtio: { host: target.host, port: target.port },
      dialPlan: [{ prefix: '', sipTarget: 'sip:${user}@127.0.0.1:9' }],
      registry: { file: reg.file },
      audit: { dir: auditDir },
    };
    gw = await startGateway({ config: withBurst(3), env: { DRACHTIO_SECRET: target.secret, POLICY_NONCE_SECRET: 'n', ADMIN_TOKEN: token } });
    // The harness passes the file it wrote as `--config FILE`; the test edits that file.
    configFile = gw.proc.spawnargs[gw.proc.spawnargs.indexOf('--config') + 1] as string;
    await gw.waitForOutput(/connected to drachtio-server/);
  });

  after(async () => {
    for (const c of clients) c.close();
    await gw?.stop('SIGTERM');
    await target?.stop();
  });

  /** n INVITEs one after the other from a fresh loopback address; their final status codes. */
  async function invites(host: string, n: number): Promise<number[]> {
    const c = await SipUdpClient.open(host);
    clients.push(c);
    const to = { host: target.sipHost, port: target.sipPort };
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const text = c.build({ method: 'INVITE', uri: `sip:service@${to.host}:${to.port}`, fromUser: alice.username, toUser: 'service', callId: randomUUID(), cseq: 1, body: SDP });
      const r = await c.request(to, text);
      c.send(to, c.ackFor(text, r));
      out.push(r.status);
    }
    return out;
  }

  const admitted = (n: number): number[] => [...Array<number>(n).fill(407), 503];

  async function sighup(logged: RegExp): Promise<void> {
    const from = gw.output().length;
    gw.proc.kill('SIGHUP');
    await gw.waitForOutput(logged, 10_000, from);
  }

  async function post(auth?: string): Promise<{ status: number; body: { outcome?: string; problems?: Array<{ field: string; problem: string }>; restartRequired?: string[] } }> {
    const res = await fetch(`http://127.0.0.1:${gw.httpPort}/admin/reload`, { method: 'POST', headers: auth ? { authorization: auth } : {} });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as never) : {} };
  }

  async function counter(labels: RegExp): Promise<number> {
    const line = (await gw.metrics()).split('\n').find((l) => labels.test(l));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  it('SIGHUP puts a raised limit in force for new sources and keeps the buckets already spent', async () => {
    expect(await invites('127.0.0.31', 4)).to.deep.equal(admitted(3));
    writeFileSync(configFile, JSON.stringify(withBurst(6)));
    await sighup(/"message":"config reloaded"/);
    expect(await invites('127.0.0.32', 7)).to.deep.equal(admitted(6));
    // The first source spent its bucket before the reload: the reload did not refill it.
    expect(await invites('127.0.0.31', 1)).to.deep.equal([503]);
    expect(await counter(/^gw_config_reloads_total\{trigger="sighup",outcome="applied"\}/)).to.equal(1);
  });

  it('a file that is not JSON or has a value out of range is refused, named, and the old limit stays', async () => {
    writeFileSync(configFile, '{ "policy": ');
    await sighup(/config reload refused.*"outcome":"unreadable"/);
    writeFileSync(configFile, JSON.stringify(withBurst(0)));
    await sighup(/config reload refused.*policy\.rates\.invitePerSourceBurst.*must be between 1 and 1000000, got 0/);
    expect(await invites('127.0.0.33', 7)).to.deep.equal(admitted(6));
    expect(await counter(/^gw_config_reloads_total\{trigger="sighup",outcome="unreadable"\}/)).to.equal(1);
    expect(await counter(/^gw_config_reloads_total\{trigger="sighup",outcome="invalid"\}/)).to.equal(1);
  });

  it('POST /admin/reload: 401 without the bearer token, 400/422 naming the problem, 200 and the new limit on the wire', async () => {
    writeFileSync(configFile, JSON.stringify(withBurst(2)));
    expect((await post()).status).to.equal(401);
    expect((await post(`Bearer ${token.slice(0, -1)}x`)).status).to.equal(401);
    expect((await post(`Basic ${Buffer.from(`admin:${token}`).toString('base64')}`)).status).to.equal(401);
    // None of those changed anything: the limit is still 6.
    expect(await invites('127.0.0.34', 7)).to.deep.equal(admitted(6));

    writeFileSync(configFile, 'not json');
    const bad = await post(`Bearer ${token}`);
    expect(bad.status).to.equal(400);
    expect(bad.body.outcome).to.equal('unreadable');

    const typo = withBurst(2);
    (typo.policy as { rates: Record<string, unknown> }).rates.invitePerSorceBurst = 2;
    writeFileSync(configFile, JSON.stringify(typo));
    const unknown = await post(`Bearer ${token}`);
    expect(unknown.status).to.equal(422);
    expect(unknown.body.problems).to.deep.include({ field: 'policy.rates.invitePerSorceBurst', problem: 'unknown field' });
    expect(await invites('127.0.0.35', 7)).to.deep.equal(admitted(6));

    writeFileSync(configFile, JSON.stringify({ ...withBurst(2), registry: { file: registryFile, fil: 'x' } }));
    const badKey = await post(`Bearer ${token}`);
    expect(badKey.status).to.equal(422);
    expect(badKey.body.problems).to.deep.include({ field: 'registry.fil', problem: 'unknown field' });

    // A valid config with a registry file that does not load: the whole reload is refused.
    const registryText = readFileSync(registryFile, 'utf8');
    writeFileSync(registryFile, '{ "version": 1, "entries": [ ');
    writeFileSync(configFile, JSON.stringify(withBurst(2)));
    const badRegistry = await post(`Bearer ${token}`);
    expect(badRegistry.status).to.equal(422);
    expect(badRegistry.body.problems?.[0]?.field).to.equal('registry.file');
    expect(await invites('127.0.0.37', 7)).to.deep.equal(admitted(6));
    writeFileSync(registryFile, registryText);

    writeFileSync(configFile, JSON.stringify({ ...withBurst(2), registrar: { maxContacts: 5 } }));
    const ok = await post(`Bearer ${token}`);
    expect(ok.status).to.equal(200);
    expect(ok.body).to.deep.include({ outcome: 'applied', restartRequired: ['registrar'] });
    expect(await invites('127.0.0.36', 3)).to.deep.equal(admitted(2));

    expect(await counter(/^gw_admin_requests_total\{endpoint="reload",outcome="unauthorized"\}/)).to.equal(3);
    expect(await counter(/^gw_config_reloads_total\{trigger="http",outcome="applied"\}/)).to.equal(1);
    expect(gw.output()).not.to.include(token);
  });

  it('writes each reload to the audit chain (trigger, outcome, fields named; never the token)', () => {
    const text = readdirSync(auditDir)
      .filter((f) => !f.startsWith('.'))
      .map((f) => readFileSync(join(auditDir, f), 'utf8'))
      .join('');
    const reloads = text.split('\n').filter((l) => l.includes('"gate":"config-reload"')).map((l) => JSON.parse(l) as { reason: string; status: number });
    expect(reloads.map((r) => r.reason.split(';')[0])).to.deep.equal(['sighup:applied', 'sighup:unreadable', 'sighup:invalid', 'http:unreadable', 'http:invalid', 'http:invalid', 'http:invalid', 'http:applied']);
    expect(reloads.map((r) => r.status)).to.deep.equal([200, 400, 422, 400, 422, 422, 422, 200]);
    expect(reloads[2]?.reason).to.include('policy.rates.invitePerSourceBurst');
    expect(reloads[7]?.reason).to.include('restart:registrar');
    expect(text).not.to.include(token);
  });
});
