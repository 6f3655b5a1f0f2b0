/**
 * The gateway process itself placing a SIP call into H.323: SIPp (RTP from a PCMA pcap) ->
 * drachtio double -> gateway (dial plan h323Target) -> FreeSWITCH double (media) -> H.323 lab
 * endpoint answering with fastStart and sending G.711. What the config in docs/configuration.md
 * promises, end to end on the wire.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { writePcmaPcap } from '../../lab/freeswitch-double/pcap.js';
import { telephoneEventPacket } from '../../lab/freeswitch-double/rtp.js';
import { H323Endpoint, type EndpointCall } from '../../lab/h323-endpoint/endpoint.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { runSipp, stopAllSipp } from '../../lab/sipp.js';
import { freePort, freeMediaPort } from '../../lab/ports.js';
import { metricValue, waitUntil } from '../../lab/wait.js';
import { createSocket } from 'node:dgram';
import { repoRoot } from '../../support/paths.js';

describe('gateway: SIP caller into an H.323 room system', function () {
  this.timeout(60_000);
  let target: DrachtioTarget;
  let fs: FreeSwitchDouble;
  let endpoint: H323Endpoint;
  let gw: GatewayProcess;
  const work = mkdtempSync(join(tmpdir(), 'gw-h323-'));

  before(async function () {
    if (process.env.FS_HOST) this.skip(); // this suite drives the FreeSWITCH double's counters
    target = await startDrachtioTarget();
    fs = await FreeSwitchDouble.start({ eslPassword: 'lab-esl-secret', sipPort: 0, eslPort: 0 });
    endpoint = new H323Endpoint({ rtpPackets: 50 });
    const ep = await endpoint.listen(0);
    gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        policy: { enabled: false },
        media: { esl: { host: fs.host, port: fs.eslPort }, listen: { address: '127.0.0.1', port: 0 } },
        h323: {
          ras: { host: '127.0.0.1', port: 0 },
          callSignalAddress: { host: '127.0.0.1', port: await freePort() },
          neighbours: [{ name: 'GK', host: '127.0.0.1' }],
        },
        dialPlan: [{ prefix: '1000', h323Target: `127.0.0.1:${ep.port}` }],
      },
      env: { DRACHTIO_SECRET: target.secret, FS_ESL_SECRET: 'lab-esl-secret' },
    });
    await gw.waitForOutput(/connected to drachtio-server/);
  });

  after(async () => {
    await gw?.stop('SIGTERM');
    stopAllSipp();
    await endpoint?.close();
    await fs?.stop();
    await target?.stop();
  });

  it('rings, answers, carries RTP both ways through FreeSWITCH and releases on BYE with cause 16', async () => {
    const pcap = join(work, 'pcma.pcap');
    writePcmaPcap(pcap, { packets: 100 });
    const xml = readFileSync(join(repoRoot, 'sip-configs/sipp/calls/sip-to-h323-bye.xml'), 'utf8')
      .replaceAll('@PCAP@', pcap).replaceAll('@PT@', '8').replaceAll('@CODEC@', 'PCMA').replaceAll('@STATUS@', '0');
    const file = join(work, 'caller.xml');
    writeFileSync(file, xml);
    const answered = new Promise<EndpointCall>((resolve) => endpoint.once('call', resolve));
    const r = await runSipp({
      target: `${target.sipHost}:${target.sipPort}`, scenario: file, service: '1000', timeoutMs: 30_000,
      args: ['-d', '2800', '-mi', '127.0.0.1', '-mp', String(await freeMediaPort())],
    });
    expect(r.exitCode, r.messages.slice(-3000)).to.equal(0);
    expect(r.messages).to.match(/SIP\/2\.0 180 /);
    expect(r.messages).to.match(/SIP\/2\.0 200 OK[\s\S]*CSeq: \d+ INVITE/);
    const call = await answered;
    const released = await call.done;
    expect(released.cause).to.equal(16);
    expect(call.media?.codec).to.equal('PCMA');
    expect(call.rtp.stats.received).to.be.greaterThan(20);
    const metrics = await gw.metrics();
    expect(metricValue(metrics, 'gw_sip_h323_calls_total', { outcome: 'answered' })).to.equal(1);
  });

  it('relays DTMF both ways: UserInputIndication -> RFC 2833 towards the caller, RFC 2833 -> UserInputIndication', async () => {
    const pcap = join(work, 'pcma2.pcap');
    writePcmaPcap(pcap, { packets: 100 });
    const xml = readFileSync(join(repoRoot, 'sip-configs/sipp/calls/sip-to-h323-bye.xml'), 'utf8')
      .replaceAll('@PCAP@', pcap).replaceAll('@PT@', '8').replaceAll('@CODEC@', 'PCMA').replaceAll('@STATUS@', '0');
    const file = join(work, 'caller-dtmf.xml');
    writeFileSync(file, xml);
    const answered = new Promise<EndpointCall>((resolve) => endpoint.once('call', resolve));
    const before = new Set(fs.channelInfo().map((c) => c.uuid));
    const sipp = runSipp({
      target: `${target.sipHost}:${target.sipPort}`, scenario: file, service: '1000', timeoutMs: 30_000,
      args: ['-d', '4000', '-mi', '127.0.0.1', '-mp', String(await freeMediaPort())],
    });
    const ec = await answered;
    // Two new bridged channels: the H.323 leg sends RTP to the lab endpoint, the caller leg to SIPp.
    const callerLeg = await waitUntil(async () => {
      const legs = fs.channelInfo().filter((c) => !before.has(c.uuid) && c.bridgedTo !== undefined);
      return legs.length === 2 ? legs.find((c) => c.remoteRtp?.port !== ec.rtp.port) : undefined;
    }, 'both legs to be bridged');

    // H.323 -> SIP: a keypad digit from the room system becomes telephone-events to the caller.
    expect(ec.call.sendDtmf('5')).to.equal(true);
    await waitUntil(async () => (fs.channelInfo().find((c) => c.uuid === callerLeg.uuid)?.rtp.txPayloadTypes[101] ?? 0) > 0, 'RFC 2833 events towards the caller');

    // SIP -> H.323: telephone-events arriving on the caller leg reach the room system as UII.
    const sock = createSocket('udp4');
    try {
      for (let i = 0; i < 4; i++) sock.send(telephoneEventPacket(7, i > 0, 100 + i), callerLeg.localRtpPort, '127.0.0.1');
      await waitUntil(async () => ec.dtmf.join('').includes('7') || undefined, 'the digit at the H.323 endpoint');
    } finally {
      sock.close();
    }
    const r = await sipp;
    expect(r.exitCode, r.messages.slice(-2000)).to.equal(0);
  });
});
