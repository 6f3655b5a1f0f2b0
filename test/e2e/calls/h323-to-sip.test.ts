/**
 * H.323 -> SIP through the gateway's call layer: H.323 lab endpoint (caller, fastStart, G.711 RTP)
 * -> H323Listener -> H323ToSipCall -> FreeSWITCH (double, or real by FS_*) as media anchor ->
 * drachtio (double or DRACHTIO_*) -> SIPp expert. Answered calls with RTP counted both ways (at the
 * endpoint's socket and, by tcpdump, at the expert's media port) and hang-up from either side; a
 * busy expert; aliases nobody owns or whose owner is not registered (no SIP traffic at all).
 * FreeSWITCH's channels are read through the test's own ESL connection.
 */
import { expect } from 'chai';
import { metricValue, waitUntil } from '../../lab/wait.js';
import { freeMediaPort } from '../../lab/ports.js';
import { PCAP_PACKETS } from '../media/harness.js';
import { bridgesSince, channelsReleased, hangupsSince } from '../../support/esl.js';
import { RtpTap } from '../../support/rtp-tap.js';
import { telephoneEventDigit, toneAmplitude } from '../../support/tone.js';
import { startH323SipLab, type H323SipLab } from './h323-harness.js';

const RTP_PACKETS = 100;
/** The H.323 endpoint's tone (test/lab/h323-endpoint: 1 kHz, amplitude 8000). */
const ENDPOINT_HZ = 1000;

describe('calls: H.323 -> SIP', function () {
  this.timeout(30_000);
  let lab: H323SipLab | undefined;
  let tap: RtpTap | undefined;
  let baseline = 0;
  let since = 0;

  beforeEach(async () => {
    lab = await startH323SipLab({ rtpPackets: RTP_PACKETS });
    baseline = await lab.esl.channelCount();
    since = Date.now();
  });
  afterEach(async () => {
    await tap?.stop();
    tap = undefined;
    await lab?.stop();
    lab = undefined;
  });

  /** An RtpTap on a fresh media port for the SIPp expert (what the expert receives). */
  async function expertTap(): Promise<{ tap: RtpTap; mediaPort: number }> {
    const mediaPort = await freeMediaPort();
    tap = await RtpTap.start([mediaPort]);
    return { tap, mediaPort };
  }

  const dial = (l: H323SipLab, alias: string) => {
    const a = l.listener.address();
    return l.endpoint.call(a.host, a.port, alias);
  };

  it('answered call: Alerting and Connect at the endpoint, RTP both ways through FreeSWITCH, SIPp BYE -> ReleaseComplete 16', async () => {
    const l = lab!;
    const { tap: t, mediaPort } = await expertTap();
    const uas = await l.expert('h323-uas-bye', 2800, undefined, { mediaPort });
    l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
    const ec = await dial(l, '1001');
    const alerted = new Promise<void>((r) => ec.call.once('alerting', () => r()));
    const connected = new Promise<void>((r) => ec.call.once('connected', () => r()));
    await alerted;
    await connected;
    // the expert's audio (SIPp pcap) reaches the H.323 endpoint through FreeSWITCH
    await ec.rtp.receivedAtLeast(20);
    const rel = await ec.done;
    expect(rel.cause).to.equal(16);
    expect(rel.by).to.equal('remote');
    expect(ec.media?.codec).to.equal('PCMA');
    expect(ec.rtp.stats.received).to.be.at.least(20);
    const outcome = await l.calls[0]!.whenFinished;
    expect(outcome).to.equal('answered');
    expect(l.media.media.sessionCount).to.equal(0);
    // endpoint -> FreeSWITCH -> expert: the endpoint's tone at the expert's media port, relayed
    // once both legs are bridged (the endpoint starts at Alerting, with the fastStart answer,
    // before the expert has answered)
    const atExpert = t.to(mediaPort, (p) => p.pt === 8 && p.src.port !== ec.rtp.port && toneAmplitude(p.payload, 'PCMA', ENDPOINT_HZ) > 2400);
    expect(atExpert.length, 'the endpoint\'s audio at the expert').to.be.greaterThan(RTP_PACKETS / 2).and.at.most(RTP_PACKETS);
    // FreeSWITCH bridged the two legs and hung both up; nothing left open there
    const bridges = bridgesSince(l.esl, since);
    expect(bridges, 'CHANNEL_BRIDGE events').to.have.length(1);
    expect([...(await channelsReleased(l.esl, { baseline, since, legs: 2 }))].sort()).to.deep.equal([...bridges[0]!].sort());
    if (l.media.fs) {
      const chans = l.media.fs.channelInfo();
      expect(chans).to.have.length(2);
      expect(chans.map((c) => c.state)).to.deep.equal(['hangup', 'hangup']);
      const hCh = chans.find((c) => c.remoteRtp?.port === ec.rtp.port)!;
      const sCh = chans.find((c) => c !== hCh)!;
      expect(hCh, 'H.323 leg aimed at the endpoint').to.not.equal(undefined);
      expect(hCh.codec).to.equal('PCMA');
      // H.323 endpoint -> FreeSWITCH (all of its packets were sent before the expert hung up)
      expect(hCh.rtp.rxPackets).to.equal(RTP_PACKETS);
      // ... relayed on to the expert once both legs are bridged (the endpoint starts at Alerting,
      // with the fastStart answer, before the expert has answered)
      expect(sCh.rtp.relayedTx).to.be.greaterThan(RTP_PACKETS / 2).and.at.most(RTP_PACKETS);
      // expert -> FreeSWITCH -> endpoint
      expect(sCh.rtp.rxPackets).to.equal(PCAP_PACKETS);
      expect(hCh.rtp.relayedTx).to.equal(ec.rtp.stats.received);
    }
    const text = await l.registry.metrics();
    expect(metricValue(text, 'gw_h323_sip_calls_total', { outcome: 'answered' })).to.equal(1);
    expect(metricValue(text, 'gw_h323_sip_setup_seconds_count')).to.equal(1);
    const sipp = await uas.stop();
    expect(sipp.messages).to.match(/SIP\/2\.0 200 OK[\s\S]*CSeq: 2 BYE/);
  });

  it('DTMF from the room system (UserInputIndication) reaches the expert as RFC 2833 telephone-events', async () => {
    const l = lab!;
    const { tap: t, mediaPort } = await expertTap();
    const uas = await l.expert('h323-uas-wait-bye', undefined, undefined, { mediaPort, telephoneEvent: true });
    l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
    const ec = await dial(l, '1001');
    await new Promise<void>((r) => ec.call.once('connected', () => r()));
    // The media path is up: the endpoint's audio reaches the expert through FreeSWITCH.
    await t.waitFor((ps) => (ps.filter((p) => p.pt === 8 && p.src.port !== ec.rtp.port).length >= 5 ? true : undefined), 'the endpoint\'s audio at the expert');
    expect(ec.call.sendDtmf('9')).to.equal(true);
    // FreeSWITCH sends the digit to the expert as telephone-events (payload type 101 as negotiated).
    const events = await t.waitFor((ps) => {
      const te = ps.filter((p) => p.pt === 101);
      return te.length > 0 ? te : undefined;
    }, 'telephone-events at the expert');
    expect(events.map((p) => telephoneEventDigit(p.payload))).to.include('9');
    ec.call.hangup();
    await ec.done;
    await waitUntil(async () => /CSeq: \d+ BYE[\s\S]*SIP\/2\.0 200 OK/.test(uas.messages()) || undefined, 'BYE at SIPp');
    await uas.stop();
    expect(await channelsReleased(l.esl, { baseline, since, legs: 2 })).to.have.length(2);
  });

  it('endpoint hangs up mid-call with cause 31 -> the expert gets BYE with Reason Q.850 cause 31', async () => {
    const l = lab!;
    const uas = await l.expert('h323-uas-wait-bye');
    l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
    const ec = await dial(l, '1001');
    await new Promise<void>((r) => ec.call.once('connected', () => r()));
    await ec.rtp.receivedAtLeast(20);
    ec.call.hangup(31);
    expect(await l.calls[0]!.whenFinished).to.equal('answered');
    await waitUntil(async () => /BYE sip:/.test(uas.messages()) && /CSeq: \d+ BYE[\s\S]*SIP\/2\.0 200 OK/.test(uas.messages()), 'BYE at SIPp');
    const sipp = await uas.stop();
    expect(sipp.messages).to.match(/BYE sip:[\s\S]*Reason: Q\.850;cause=31;text="Normal, unspecified"/);
    expect(l.media.media.sessionCount).to.equal(0);
    const bridges = bridgesSince(l.esl, since);
    expect(bridges).to.have.length(1);
    expect([...(await channelsReleased(l.esl, { baseline, since, legs: 2 }))].sort()).to.deep.equal([...bridges[0]!].sort());
    if (l.media.fs) {
      const chans = l.media.fs.channelInfo();
      expect(chans.map((c) => c.state)).to.deep.equal(['hangup', 'hangup']);
      const hCh = chans.find((c) => c.remoteRtp?.port === ec.rtp.port)!;
      expect(hCh.rtp.rxPackets).to.be.greaterThan(0);
    }
  });

  it('early media: expert 183 with SDP + RTP -> Progress with the fastStart answer, the expert\'s RTP reaches the H.323 caller before Connect', async () => {
    const l = lab!;
    const uas = await l.expert('h323-uas-early', 1000, 1500);
    l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
    const ec = await dial(l, '1001');
    const events: string[] = [];
    ec.call.on('progress', () => events.push('progress'));
    ec.call.on('alerting', () => events.push('alerting'));
    ec.call.on('media', (m) => events.push(`media:${m.early ? 'early' : 'answer'}`));
    let receivedAtConnect = -1;
    await new Promise<void>((r) =>
      ec.call.once('connected', () => {
        receivedAtConnect = ec.rtp.stats.received;
        events.push('connected');
        r();
      }),
    );
    expect(events.slice(0, 2)).to.deep.equal(['media:early', 'progress']);
    expect(events).to.include('connected');
    expect(receivedAtConnect, 'expert RTP before Connect').to.be.at.least(20);
    ec.call.hangup(16);
    expect(await l.calls[0]!.whenFinished).to.equal('answered');
    await waitUntil(async () => /CSeq: \d+ BYE[\s\S]*SIP\/2\.0 200 OK/.test(uas.messages()), 'BYE at SIPp');
    const sipp = await uas.stop();
    expect(sipp.messages).to.match(/SIP\/2\.0 183 Session Progress/);
    expect(l.media.media.sessionCount).to.equal(0);
    const bridges = bridgesSince(l.esl, since);
    expect(bridges).to.have.length(1);
    expect([...(await channelsReleased(l.esl, { baseline, since, legs: 2 }))].sort()).to.deep.equal([...bridges[0]!].sort());
    if (l.media.fs) {
      const chans = l.media.fs.channelInfo();
      expect(chans.map((c) => c.state)).to.deep.equal(['hangup', 'hangup']);
      const hCh = chans.find((c) => c.remoteRtp?.port === ec.rtp.port)!;
      expect(hCh.rtp.relayedTx).to.equal(ec.rtp.stats.received); // FreeSWITCH -> endpoint, all counted
    }
  });

  it('busy expert (486) -> ReleaseComplete cause 17, nothing left behind', async () => {
    const l = lab!;
    const uas = await l.expert('h323-uas-busy');
    l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
    const ec = await dial(l, '1001');
    const rel = await ec.done;
    expect(rel.cause).to.equal(17);
    expect(await l.calls[0]!.whenFinished).to.equal('sip-rejected');
    expect(l.media.media.sessionCount).to.equal(0);
    // the H.323 leg and the one offered to the expert, both hung up, never bridged
    expect(await channelsReleased(l.esl, { baseline, since, legs: 2 })).to.have.length(2);
    expect(bridgesSince(l.esl, since)).to.deep.equal([]);
    if (l.media.fs) expect(l.media.fs.channelInfo().every((c) => c.state === 'hangup')).to.equal(true);
    const text = await l.registry.metrics();
    expect(metricValue(text, 'gw_h323_sip_calls_total', { outcome: 'sip-rejected' })).to.equal(1);
    expect(metricValue(text, 'gw_h323_sip_setup_seconds_count')).to.equal(0);
    await uas.stop();
  });

  it('unknown alias -> ReleaseComplete cause 1 with no SIP traffic and no media', async () => {
    const l = lab!;
    const ec = await dial(l, '9999');
    const rel = await ec.done;
    expect(rel.cause).to.equal(1);
    expect(await l.calls[0]!.whenFinished).to.equal('unknown-alias');
    expect(l.invitesPlaced).to.equal(0);
    // no channel was ever made at FreeSWITCH
    expect(await l.esl.channelCount()).to.equal(baseline);
    expect(hangupsSince(l.esl, since)).to.deep.equal([]);
    if (l.media.fs) expect(l.media.fs.channelInfo()).to.have.length(0);
    const text = await l.registry.metrics();
    expect(metricValue(text, 'gw_h323_sip_calls_total', { outcome: 'unknown-alias' })).to.equal(1);
  });

  it('known but not registered -> ReleaseComplete cause 20 with no SIP traffic', async () => {
    const l = lab!;
    l.targets.set('1002', { notRegistered: true });
    const ec = await dial(l, '1002');
    expect((await ec.done).cause).to.equal(20);
    expect(await l.calls[0]!.whenFinished).to.equal('not-registered');
    expect(l.invitesPlaced).to.equal(0);
    expect(await l.esl.channelCount()).to.equal(baseline);
    expect(hangupsSince(l.esl, since)).to.deep.equal([]);
    if (l.media.fs) expect(l.media.fs.channelInfo()).to.have.length(0);
  });
});
