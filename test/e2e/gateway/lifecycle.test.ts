/**
 * What an operator relies on when things move: the gateway comes back quickly after
 * drachtio-server does (capped backoff), /health says when it cannot take calls, and SIGTERM
 * drains - new INVITEs go elsewhere (503 here, no other app), calls in progress finish.
 */
import { expect } from 'chai';
import { DrachtioDouble } from '../../lab/drachtio-double/double.js';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { runSipp, startSippUas, stopAllSipp, type SippUas } from '../../lab/sipp.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { inviteExpecting } from '../../lab/scenarios.js';
import { metricValue, waitUntil } from '../../lab/wait.js';

describe('gateway lifecycle', function () {
  this.timeout(60_000);
  after(() => stopAllSipp());

  it('reconnects to a restarted drachtio-server with the backoff capped at retryMaxDelayMs, and /health follows the link', async function () {
    if (process.env.DRACHTIO_HOST) this.skip(); // needs a server this test can stop and restart
    const secret = 'cymru';
    let d = await DrachtioDouble.start({ secret, sipHost: '127.0.0.1', sipPort: 0, controlPort: 0, transports: ['udp'] });
    const { controlPort, sipPort } = d;
    const gw = await startGateway({
      config: { drachtio: { host: '127.0.0.1', port: controlPort, retryMaxDelayMs: 300 }, policy: { enabled: false } },
      env: { DRACHTIO_SECRET: secret },
    });
    try {
      await gw.waitForOutput(/connected to drachtio-server/);
      expect((await gw.health()).status).to.equal(200);

      const mark = gw.output().length;
      await d.stop();
      const h = await waitUntil(async () => {
        const x = await gw.health();
        return x.status === 503 ? x : undefined;
      }, '/health to turn 503 after the link dropped');
      expect(h.body.status).to.equal('degraded');
      expect(h.body.checks.drachtio?.ok).to.equal(false);

      // Let srf climb its backoff (150 ms x 1.7^n) past the cap before the server returns.
      await gw.waitForOutput(/"attempt":6/, 10_000, mark);
      d = await DrachtioDouble.start({ secret, sipHost: '127.0.0.1', sipPort, controlPort, transports: ['udp'] });
      await gw.waitForOutput(/connected to drachtio-server/, 5_000, mark);
      expect((await gw.health()).status).to.equal(200);

      const delays = [...gw.output().slice(mark).matchAll(/"delayMs":(\d+)/g)].map((m) => Number(m[1]));
      expect(delays.length).to.be.at.least(5); // srf numbers its first retry attempt 2
      expect(Math.max(...delays)).to.equal(300);
      const reconnects = metricValue(await gw.metrics(), 'gw_drachtio_reconnects_total') ?? 0;
      expect(reconnects).to.be.at.least(5);
    } finally {
      await gw.stop('SIGKILL');
      await d.stop();
    }
  });

  describe('SIGTERM', () => {
    let target: DrachtioTarget;
    let uas: SippUas;
    let gw: GatewayProcess;

    before(async () => {
      target = await startDrachtioTarget();
      uas = await startSippUas();
      gw = await startGateway({
        config: { drachtio: { host: target.host, port: target.port },
        policy: { enabled: false }, dialPlan: [{ prefix: '', sipTarget: `sip:\${user}@127.0.0.1:${uas.port}` }] },
        env: { DRACHTIO_SECRET: target.secret },
      });
      await gw.waitForOutput(/connected to drachtio-server/);
    });
    after(async () => {
      await gw?.stop('SIGKILL');
      await uas?.stop();
      await target?.stop();
    });

    it('drains: a call in progress completes, a new INVITE gets 503, then the process exits 0', async () => {
      const sip = `${target.sipHost}:${target.sipPort}`;
      // One call that stays up 3 s before SIPp hangs up (-d 3000).
      const longCall = runSipp({ target: sip, scenario: 'uac', calls: 1, args: ['-d', '3000'], timeoutMs: 20_000 });
      await waitUntil(async () => metricValue(await gw.metrics(), 'gw_calls_active') === 1, 'the call to be up');

      const exited = gw.stop('SIGTERM', 20_000);
      await waitUntil(async () => (await gw.health()).body.status === 'draining', '/health to say draining');
      const refused = await runSipp({ target: sip, scenario: inviteExpecting(503), calls: 1 });
      expect(refused.exitCode, refused.messages).to.equal(0);

      const call = await longCall;
      expect(call.exitCode, call.messages).to.equal(0);
      expect(call.successful).to.equal(1);
      expect(await exited).to.equal(0);
      expect(gw.output()).to.match(/draining: no new calls/);
    });
  });
});
