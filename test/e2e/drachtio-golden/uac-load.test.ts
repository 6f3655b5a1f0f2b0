/**
 * SIPp's built-in uac scenario: 200 calls at 50 calls/s through the drachtio target (double or
 * real server) to the recording app, over UDP and over TCP, with no failed call.
 */
import { expect } from 'chai';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { startRecordingApp, type RecordingApp } from '../../lab/recording-app.js';
import { runSipp, stopAllSipp, type SippTransport } from '../../lab/sipp.js';

describe('SIPp uac load through the drachtio target', function () {
  this.timeout(60_000);
  let target: DrachtioTarget | undefined;
  let app: RecordingApp | undefined;

  afterEach(async () => {
    await app?.stop();
    await target?.stop();
    stopAllSipp();
    app = undefined;
    target = undefined;
  });

  for (const transport of ['udp', 'tcp'] as SippTransport[]) {
    it(`completes 200 calls at 50 calls/s over ${transport.toUpperCase()} with 0 failures`, async () => {
      target = await startDrachtioTarget();
      app = await startRecordingApp({ host: target.host, port: target.port, secret: target.secret });
      const r = await runSipp({
        target: `${target.sipHost}:${target.sipPort}`, scenario: 'uac', transport, service: 'service',
        calls: 200, rate: 50, timeoutMs: 45_000,
      });
      expect(r.timedOut, 'SIPp timed out').to.equal(false);
      expect({ exit: r.exitCode, successful: r.successful, failed: r.failed }, r.stderr.slice(0, 2000))
        .to.deep.equal({ exit: 0, successful: 200, failed: 0 });
      expect(app.answered()).to.equal(200);
      if (target.double) expect(target.double.problems, 'double reported problems').to.deep.equal([]);
    });
  }
});
