/**
 * The gateway as a drachtio-srf app on the wire: SIPp -> drachtio (double, or a real server by
 * DRACHTIO_* env) -> gateway process -> SIPp UAS. What a SIP peer sees, and what /metrics says.
 */
import { expect } from 'chai';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { runSipp, startSippUas, stopAllSipp, type SippUas } from '../../lab/sipp.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { inviteExpecting } from '../../lab/scenarios.js';
import { metricValue } from '../../lab/wait.js';

describe('gateway on the wire (SIPp through drachtio)', function () {
  this.timeout(60_000);
  let target: DrachtioTarget;
  let uas: SippUas;
  let gw: GatewayProcess;
  let sip: string;

  before(async () => {
    target = await startDrachtioTarget();
    uas = await startSippUas({ transport: 'udp' });
    gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        policy: { enabled: false },
        // SIPp's default Request-URI user is 'service'; anything else has no route.
        dialPlan: [{ prefix: 'service', sipTarget: `sip:\${user}@127.0.0.1:${uas.port}` }],
      },
      env: { DRACHTIO_SECRET: target.secret },
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

  it('reports healthy once linked to drachtio', async () => {
    const h = await gw.health();
    expect(h.status).to.equal(200);
    expect(h.body.checks.drachtio).to.deep.equal({ ok: true, detail: 'up' });
  });

  it('answers OPTIONS 200 with an Allow header', async () => {
    const r = await runSipp({ target: sip, scenario: 'gateway/options-allow.xml', calls: 1 });
    expect(r.exitCode, r.stdout + r.messages).to.equal(0);
    expect(r.successful).to.equal(1);
  });

  it('refuses a method it does not serve with 405 + Allow', async () => {
    const r = await runSipp({ target: sip, scenario: 'gateway/refused-method.xml', calls: 1 });
    expect(r.exitCode, r.messages).to.equal(0);
    expect(r.messages).to.match(/SIP\/2\.0 405 Method Not Allowed/);
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`forwards 200 calls at 50 calls/s over ${transport.toUpperCase()} to the dial-plan target with 0 failures`, async () => {
      const before = metricValue(await gw.metrics(), 'gw_calls_total', { outcome: 'answered' }) ?? 0;
      const r = await runSipp({ target: sip, scenario: 'uac', transport, calls: 200, rate: 50, timeoutMs: 45_000 });
      expect(r.exitCode, r.stdout.slice(-2000)).to.equal(0);
      expect(r.successful).to.equal(200);
      expect(r.failed).to.equal(0);
      const after = metricValue(await gw.metrics(), 'gw_calls_total', { outcome: 'answered' }) ?? 0;
      expect(after - before).to.equal(200);
    });
  }

  it('answers 404 when the dial plan has no route, and counts it', async () => {
    const before = metricValue(await gw.metrics(), 'gw_calls_total', { outcome: 'no_route' }) ?? 0;
    const r = await runSipp({ target: sip, scenario: inviteExpecting(404), service: 'alice', calls: 1 });
    expect(r.exitCode, `${r.stderr}\n${r.stdout.slice(-1500)}\n${r.messages}`).to.equal(0);
    expect(metricValue(await gw.metrics(), 'gw_calls_total', { outcome: 'no_route' })).to.equal(before + 1);
  });
});
