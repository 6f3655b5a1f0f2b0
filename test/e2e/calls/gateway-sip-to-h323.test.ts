/**
 * The gateway process itself placing a SIP call into H.323: SIPp (RTP from a pcap) -> drachtio
 * (double or DRACHTIO_*) -> gateway (dial plan h323Target) -> FreeSWITCH (double or FS_*) media ->
 * H.323 lab endpoint answering with fastStart and sending G.711. What the config in
 * docs/configuration.md promises, end to end on the wire: SIP as SIPp sees it, RTP at SIPp's media
 * port (tcpdump) and at the endpoint's socket, FreeSWITCH's channels through the test's own ESL
 * connection (CHANNEL_BRIDGE / CHANNEL_HANGUP_COMPLETE events, `show channels count`).
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { H323Endpoint, type EndpointCall } from '../../lab/h323-endpoint/endpoint.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { runSipp, stopAllSipp } from '../../lab/sipp.js';
import { freePort, freeMediaPort } from '../../lab/ports.js';
import { metricValue, waitUntil } from '../../lab/wait.js';
import { repoRoot } from '../../support/paths.js';
import { bridgesSince, EslClient, fsTarget, waitHangups, type FsTarget } from '../../support/esl.js';
import { RtpTap, type RtpPacket } from '../../support/rtp-tap.js';
import { telephoneEventDigit, toneAmplitude, writeTonePcap } from '../../support/tone.js';
import { realFsFromEnv } from '../freeswitch-double/harness.js';

const ESL_SECRET = 'lab-esl-secret';
/** The H.323 endpoint's tone (test/lab/h323-endpoint: 1 kHz, amplitude 8000). */
const ENDPOINT_HZ = 1000;

describe('gateway: SIP caller into an H.323 room system', function () {
  this.timeout(60_000);
  let target: DrachtioTarget;
  let fs: FreeSwitchDouble | undefined;
  let esl: EslClient;
  let endpoint: H323Endpoint;
  let gw: GatewayProcess;
  const taps: RtpTap[] = [];
  const work = mkdtempSync(join(tmpdir(), 'gw-h323-'));

  before(async function () {
    target = await startDrachtioTarget();
    if (!realFsFromEnv()) fs = await FreeSwitchDouble.start({ eslPassword: ESL_SECRET, sipPort: 0, eslPort: 0 });
    const fsEsl: FsTarget = fsTarget(fs, ESL_SECRET);
    esl = await EslClient.connect(fsEsl);
    await esl.subscribe(['CHANNEL_BRIDGE', 'CHANNEL_HANGUP_COMPLETE']);
    endpoint = new H323Endpoint({ rtpPackets: 50 });
    const ep = await endpoint.listen(0);
    gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        policy: { enabled: false },
        media: { esl: { host: fsEsl.host, port: fsEsl.port }, listen: { address: '127.0.0.1', port: 0 } },
        h323: {
          ras: { host: '127.0.0.1', port: 0 },
          callSignalAddress: { host: '127.0.0.1', port: await freePort() },
          neighbours: [{ name: 'GK', host: '127.0.0.1' }],
        },
        dialPlan: [{ prefix: '1000', h323Target: `127.0.0.1:${ep.port}` }],
      },
      env: { DRACHTIO_SECRET: target.secret, FS_ESL_SECRET: fsEsl.secret },
    });
    await gw.waitForOutput(/connected to drachtio-server/);
    await gw.waitForOutput(/media server up/);
  });

  afterEach(async () => {
    for (const t of taps.splice(0)) await t.stop();
  });

  after(async () => {
    await gw?.stop('SIGTERM');
    stopAllSipp();
    await endpoint?.close();
    esl?.close();
    await fs?.stop();
    await target?.stop();
  });

  /** The caller scenario with RTP from `pcap`, SIPp's media on `mediaPort`. */
  function caller(pcap: string, mediaPort: number, holdMs: number) {
    const xml = readFileSync(join(repoRoot, 'sip-configs/sipp/calls/sip-to-h323-bye.xml'), 'utf8')
      .replaceAll('@PCAP@', pcap).replaceAll('@PT@', '8').replaceAll('@CODEC@', 'PCMA').replaceAll('@STATUS@', '0');
    const file = join(work, `caller-${mediaPort}.xml`);
    writeFileSync(file, xml);
    return runSipp({
      target: `${target.sipHost}:${target.sipPort}`, scenario: file, service: '1000', timeoutMs: 30_000,
      args: ['-d', String(holdMs), '-mi', '127.0.0.1', '-mp', String(mediaPort)],
    });
  }

  /** RTP FreeSWITCH sent to the caller in PCMA: not from the endpoint's own socket. */
  const fromFreeSwitch = (p: RtpPacket, ec: EndpointCall): boolean => p.pt === 8 && p.src.port !== ec.rtp.port;

  it('rings, answers, carries RTP both ways through FreeSWITCH and releases on BYE with cause 16', async () => {
    const pcap = join(work, 'caller.pcap');
    writeTonePcap(pcap, { packets: 100, hz: 500 });
    const baseline = await esl.channelCount();
    const mediaPort = await freeMediaPort();
    const tap = await RtpTap.start([mediaPort]);
    taps.push(tap);
    const since = Date.now();
    const answered = new Promise<EndpointCall>((resolve) => endpoint.once('call', resolve));
    const r = await caller(pcap, mediaPort, 2800);
    expect(r.exitCode, r.messages.slice(-3000)).to.equal(0);
    expect(r.messages).to.match(/SIP\/2\.0 180 /);
    expect(r.messages).to.match(/SIP\/2\.0 200 OK[\s\S]*CSeq: \d+ INVITE/);
    const call = await answered;
    const released = await call.done;
    expect(released.cause).to.equal(16);
    expect(call.media?.codec).to.equal('PCMA');
    // SIP -> H.323: the caller's audio (SIPp's pcap) reached the endpoint through FreeSWITCH
    expect(call.rtp.stats.received).to.be.greaterThan(20);
    // H.323 -> SIP: the endpoint's tone (50 packets) reached SIPp's media port from FreeSWITCH
    const atCaller = tap.to(mediaPort, (p) => fromFreeSwitch(p, call));
    expect(atCaller.length, 'RTP from FreeSWITCH at the caller').to.be.at.least(20);
    expect(atCaller.filter((p) => toneAmplitude(p.payload, 'PCMA', ENDPOINT_HZ) > 2400).length, 'packets carrying the endpoint\'s tone').to.be.at.least(20);
    // FreeSWITCH bridged the call's two legs and hung both up; nothing is left open there
    const bridges = bridgesSince(esl, since);
    expect(bridges, 'CHANNEL_BRIDGE events').to.have.length(1);
    await waitHangups(esl, bridges[0]!, 'the bridged legs');
    await waitUntil(async () => (await esl.channelCount()) === baseline || undefined, 'FreeSWITCH back to its channel count before the call');
    const metrics = await gw.metrics();
    expect(metricValue(metrics, 'gw_sip_h323_calls_total', { outcome: 'answered' })).to.equal(1);
  });

  it('relays DTMF both ways: UserInputIndication -> RFC 2833 towards the caller, RFC 2833 -> UserInputIndication', async () => {
    // The caller presses 7 every 500 ms (RFC 4733 from SIPp's media port, where FreeSWITCH takes
    // RTP from), so a press lands once the legs are bridged however long that takes.
    const pcap = join(work, 'caller-dtmf.pcap');
    writeTonePcap(pcap, { packets: 200, hz: 500, dtmf: { digit: '7', everyMs: 500, firstAtMs: 300 } });
    const baseline = await esl.channelCount();
    const mediaPort = await freeMediaPort();
    const tap = await RtpTap.start([mediaPort]);
    taps.push(tap);
    const since = Date.now();
    const answered = new Promise<EndpointCall>((resolve) => endpoint.once('call', resolve));
    const sipp = caller(pcap, mediaPort, 4000);
    const ec = await answered;
    // The media path H.323 -> SIP is up: the endpoint's audio arrives at the caller from FreeSWITCH.
    await tap.waitFor((ps) => (ps.filter((p) => fromFreeSwitch(p, ec)).length >= 5 ? true : undefined), 'the endpoint\'s audio at the caller');

    // H.323 -> SIP: a keypad digit from the room system becomes telephone-events to the caller.
    expect(ec.call.sendDtmf('5')).to.equal(true);
    const events = await tap.waitFor((ps) => {
      const te = ps.filter((p) => p.pt === 101 && p.src.port !== ec.rtp.port);
      return te.length > 0 ? te : undefined;
    }, 'RFC 2833 events towards the caller');
    expect(events.map((p) => telephoneEventDigit(p.payload))).to.include('5');

    // SIP -> H.323: the caller's telephone-events reach the room system as UserInputIndication.
    await waitUntil(async () => ec.dtmf.join('').includes('7') || undefined, 'the digit at the H.323 endpoint');
    expect(ec.dtmf.filter((d) => d !== '7'), 'digits at the endpoint other than the caller\'s').to.deep.equal([]);
    const r = await sipp;
    expect(r.exitCode, r.messages.slice(-2000)).to.equal(0);
    const bridges = bridgesSince(esl, since);
    expect(bridges).to.have.length(1);
    await waitHangups(esl, bridges[0]!, 'the bridged legs');
    await waitUntil(async () => (await esl.channelCount()) === baseline || undefined, 'FreeSWITCH back to its channel count before the call');
  });
});
