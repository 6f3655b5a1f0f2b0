/**
 * SIP -> H.323 through the gateway's call layer: SIPp caller (RTP from the PCMA pcap) -> drachtio
 * target -> srf app running SipToH323Call -> FreeSWITCH double (or real FreeSWITCH by env) ->
 * H.323 lab endpoint (fastStart, tunnelled H.245, real G.711 RTP). Observed on the wire: SIP at
 * SIPp, H.225 and RTP at the endpoint, RTP at SIPp's media port (tcpdump), FreeSWITCH's channels
 * through the test's own ESL connection; the double's tables only as extras when it runs.
 */
import { expect } from 'chai';
import { stopAllSipp } from '../../lab/sipp.js';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Q931Channel, MessageType, findIe, type Q931Message } from '../../../lib/h323/q931/index.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { metricValue, waitUntil } from '../../lab/wait.js';
import { PCAP_PACKETS } from '../media/harness.js';
import { freeMediaPort, freePort } from '../../lab/ports.js';
import type { EndpointCall } from '../../lab/h323-endpoint/endpoint.js';
import { bridgesSince, channelsReleased } from '../../support/esl.js';
import { RtpTap, type RtpPacket } from '../../support/rtp-tap.js';
import { lawOf, toneAmplitude } from '../../support/tone.js';
import { startCallsLab, type CallsLab } from './harness.js';

/** The H.323 endpoint's tone (test/lab/h323-endpoint: 1 kHz, amplitude 8000). */
const ENDPOINT_HZ = 1000;

/** RTP FreeSWITCH sent to the caller carrying the endpoint's tone (in G.711, either law). */
const endpointAudio = (p: RtpPacket, ec: EndpointCall): boolean => {
  const law = lawOf(p.pt);
  return law !== undefined && p.src.port !== ec.rtp.port && toneAmplitude(p.payload, law, ENDPOINT_HZ) > 2400;
};

describe('calls: SIP -> H.323', function () {
  let lab: CallsLab | undefined;
  let tap: RtpTap | undefined;
  afterEach(async () => {
    stopAllSipp();
    await tap?.stop();
    tap = undefined;
    await lab?.stop();
    lab = undefined;
  });

  /** An RtpTap on a fresh media port for SIPp (what the caller receives). */
  async function callerTap(): Promise<{ tap: RtpTap; mediaPort: number }> {
    const mediaPort = await freeMediaPort();
    tap = await RtpTap.start([mediaPort]);
    return { tap, mediaPort };
  }

  it('answered call: 180/200 to SIPp, RTP both ways, SIP BYE -> ReleaseComplete cause 16, nothing leaks', async () => {
    const l = (lab = await startCallsLab());
    const { tap: t, mediaPort } = await callerTap();
    const baseline = await l.esl.channelCount();
    const since = Date.now();
    const sipp = await l.caller({ scenario: 'bye', holdMs: 2800, mediaPort });
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    expect(await l.outcomes[0]).to.equal('answered');
    await l.calls[0]!.ended;
    const ec = l.endpoint.calls[0]!;
    const rel = await ec.done;
    expect(rel).to.include({ cause: 16, by: 'remote' });
    expect(l.hangups).to.deep.equal([[16]]); // one ReleaseComplete, cause 16 (RFC 3398: BYE -> 16)
    expect(ec.media?.via).to.equal('fastStart');
    expect(ec.media?.codec).to.equal('PCMA');
    expect(ec.rtp.stats.sent).to.equal(50);
    // Caller -> FreeSWITCH -> H.323 (the first ~150 ms arrive before the bridge and are not relayed).
    expect(ec.rtp.stats.received).to.be.at.least(PCAP_PACKETS / 2);
    expect(ec.rtp.stats.invalid).to.equal(0);
    // H.323 -> FreeSWITCH -> caller: the endpoint's tone at SIPp's media port, in the caller's law (of 50)
    expect(t.to(mediaPort, (p) => endpointAudio(p, ec)).length, 'the endpoint\'s audio at the caller').to.be.at.least(20);
    expect(t.to(mediaPort, (p) => p.pt !== 8 && p.pt !== 101), 'RTP in another payload type at the caller').to.deep.equal([]);
    expect(l.lab.media.sessionCount).to.equal(0);
    // FreeSWITCH bridged the call's two legs and hung both up; nothing is left open there
    const bridges = bridgesSince(l.esl, since);
    expect(bridges, 'CHANNEL_BRIDGE events').to.have.length(1);
    const gone = await channelsReleased(l.esl, { baseline, since, legs: 2 });
    expect([...gone].sort()).to.deep.equal([...bridges[0]!].sort());
    const text = await l.registry.metrics();
    expect(metricValue(text, 'gw_sip_h323_calls_total', { outcome: 'answered' })).to.equal(1);
    expect(metricValue(text, 'gw_sip_h323_setup_seconds_count')).to.equal(1);
    if (!l.lab.fs) return;
    const chans = l.lab.fs.channelInfo();
    expect(chans.map((c) => c.state)).to.deep.equal(['hangup', 'hangup']);
    const hCh = chans.find((c) => c.remoteRtp?.port === ec.rtp.port)!; // re-pointed at the fastStart answer
    const cCh = chans.find((c) => c !== hCh)!;
    expect(hCh, 'H.323 leg pointed at the endpoint').to.not.equal(undefined);
    expect(hCh.codec).to.equal('PCMA');
    expect(cCh.rtp.rxPackets).to.equal(PCAP_PACKETS); // SIPp -> FreeSWITCH
    expect(hCh.rtp.rxPackets).to.equal(50); // H.323 endpoint -> FreeSWITCH
    expect(cCh.rtp.relayedTx).to.be.at.least(20); // ... relayed on to SIPp (of 50)
    expect(cCh.rtp.txPayloadTypes[8]).to.equal(cCh.rtp.txPackets); // in the caller's law
    expect(hCh.rtp.relayedTx).to.equal(ec.rtp.stats.received); // FreeSWITCH -> H.323 endpoint
    // No per-leg jitter buffer command by default: FreeSWITCH's profile applies it (no ESL work per call).
    expect(l.lab.fs.transcript.filter((t) => /execute-app-name: jitterbuffer/.test(t.text))).to.have.length(0);
  });

  // The far end sends EndSessionCommand, then ReleaseComplete with cause 31: the call waits for
  // the ReleaseComplete, so the BYE carries 31 (not the 16 an EndSessionCommand alone implies).
  it('H.323 side clears mid-call with cause 31: SIPp gets one BYE with Reason Q.850 cause 31, everything released once', async () => {
    const l = (lab = await startCallsLab({ endpoint: { rtpPackets: 10 } }));
    const baseline = await l.esl.channelCount();
    const since = Date.now();
    l.endpoint.on('call', (ec) => {
      ec.call.once('connected', () => {
        void ec.rtp.receivedAtLeast(20).then(() => ec.call.hangup(31));
      });
    });
    const sipp = await l.caller({ scenario: 'wait-bye' });
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    expect(sipp.messages).to.match(/BYE sip:[\s\S]*Reason: Q\.850;cause=31;text="Normal, unspecified"/);
    expect(sipp.messages.match(/^BYE sip:/gm)).to.have.length(1);
    await l.calls[0]!.ended;
    expect(await l.outcomes[0]).to.equal('answered');
    expect(l.endpoint.calls[0]!.released).to.include({ cause: 31, by: 'local' });
    expect(l.hangups).to.deep.equal([[]]); // we never sent a second release
    expect(l.lab.media.sessionCount).to.equal(0);
    const bridges = bridgesSince(l.esl, since);
    expect(bridges).to.have.length(1);
    expect([...(await channelsReleased(l.esl, { baseline, since, legs: 2 }))].sort()).to.deep.equal([...bridges[0]!].sort());
    if (l.lab.fs) expect(l.lab.fs.channelInfo().map((c) => c.state)).to.deep.equal(['hangup', 'hangup']);
  });

  it('H.323 side refuses with cause 17: SIPp gets 486 with Reason Q.850 cause 17', async () => {
    const l = (lab = await startCallsLab({ endpoint: { answer: { mode: 'reject', cause: 17 } } }));
    const baseline = await l.esl.channelCount();
    const since = Date.now();
    const sipp = await l.caller({ scenario: 'reject', status: 486 });
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    expect(sipp.messages).to.match(/SIP\/2\.0 486[\s\S]*Reason: Q\.850;cause=17;text="User busy"/);
    expect(await l.outcomes[0]).to.equal('refused');
    await l.calls[0]!.ended;
    expect(l.lab.media.sessionCount).to.equal(0);
    // The H.323 leg's channel and the caller's (made alongside it), both hung up: nothing left.
    expect(await channelsReleased(l.esl, { baseline, since, legs: 2 })).to.have.length(2);
    expect(bridgesSince(l.esl, since), 'a refused call is never bridged').to.deep.equal([]);
    if (l.lab.fs) expect(l.lab.fs.channelInfo().map((c) => c.state)).to.deep.equal(['hangup', 'hangup']);
    expect(metricValue(await l.registry.metrics(), 'gw_sip_h323_calls_total', { outcome: 'refused' })).to.equal(1);
  });

  for (const [cause, status, text] of [[21, 403, 'Call rejected'], [34, 503, 'No circuit/channel available']] as const) {
    it(`H.323 side refuses with cause ${cause}: SIPp gets ${status} with Reason Q.850 cause ${cause}`, async () => {
      const l = (lab = await startCallsLab({ endpoint: { answer: { mode: 'reject', cause } } }));
      const sipp = await l.caller({ scenario: 'reject', status });
      expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
      expect(sipp.messages).to.match(new RegExp(`SIP/2\\.0 ${status}[\\s\\S]*Reason: Q\\.850;cause=${cause};text="${text}"`));
      expect(await l.outcomes[0]).to.equal('refused');
      await l.calls[0]!.ended;
      expect(l.lab.media.sessionCount).to.equal(0);
    });
  }

  it('H.323 side takes the TCP connection but never answers Setup: setup timer -> 408 with Reason cause 18, connection closed', async () => {
    // A peer that reads the Setup and stays silent: records what the gateway sends.
    const silentSockets: Socket[] = [];
    const got: Q931Message[] = [];
    let closedSilent = 0;
    const silent = createServer((s) => {
      silentSockets.push(s);
      s.on('error', () => undefined);
      new Q931Channel(s, { onMessage: (m) => got.push(m), onClose: () => closedSilent++ }, { registry: isolatedRegistry() });
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (silent.address() as AddressInfo).port;
      const l = (lab = await startCallsLab({ target: { host: '127.0.0.1', port }, deps: { setupTimeoutMs: 400 } }));
      const sipp = await l.caller({ scenario: 'reject', status: 408 });
      expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
      expect(sipp.messages).to.match(/SIP\/2\.0 408[\s\S]*Reason: Q\.850;cause=18;text="No user responding"/);
      expect(await l.outcomes[0]).to.equal('no-answer');
      await l.calls[0]!.ended;
      expect(l.lab.media.sessionCount).to.equal(0);
      await waitUntil(async () => closedSilent === 1 || undefined, 'the gateway closed the H.323 connection');
      expect(got.map((m) => m.messageType)).to.deep.equal([MessageType.Setup, MessageType.ReleaseComplete]);
      expect(findIe(got[1]!, 'cause')?.value).to.equal(18);
    } finally {
      for (const s of silentSockets) s.destroy();
      silent.close();
    }
  });

  for (const how of ['Progress', 'Alerting'] as const) {
    it(`early media: H.323 ${how} with the fastStart answer -> 183 with SDP, H.323 RTP reaches the caller before Connect`, async () => {
      const l = (lab = await startCallsLab({ endpoint: { answer: { mode: 'manual' }, rtpPackets: 100 } }));
      const { tap: t, mediaPort } = await callerTap();
      const baseline = await l.esl.channelCount();
      const since = Date.now();
      let beforeAnswer = -1;
      let answered: Promise<void> | undefined;
      l.endpoint.on('call', (ec) => {
        if (how === 'Progress') ec.call.progress();
        else ec.call.ring();
        // The endpoint answers only once its audio has reached the caller (SIPp's media port).
        answered = t.waitFor((ps) => {
          const n = ps.filter((p) => endpointAudio(p, ec)).length;
          return n >= 20 ? n : undefined;
        }, 'the endpoint\'s RTP at the caller before the answer').then((n) => {
          beforeAnswer = n;
          expect(ec.call.state).to.equal(how === 'Progress' ? 'offered' : 'ringing');
          ec.call.once('connected', () => void ec.rtp.receivedAtLeast(10).then(() => ec.call.hangup(16)));
          ec.call.answer();
        });
        answered.catch(() => undefined); // judged below, after SIPp
      });
      const sipp = await l.caller({ scenario: 'early', mediaPort });
      await answered;
      expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
      expect(beforeAnswer).to.be.at.least(20);
      // 183 carries FreeSWITCH's SDP, the 200 the same endpoint's (one caller channel, answered)
      const sdp183 = /SIP\/2\.0 183[\s\S]*?\r?\n\r?\n(v=0[\s\S]*?)(?=\r?\n\r?\n|$)/.exec(sipp.messages);
      expect(sdp183, sipp.messages).to.not.equal(null);
      expect(sdp183![1]).to.match(/m=audio \d+ RTP\/AVP 8/);
      expect(sipp.messages.indexOf('SIP/2.0 183')).to.be.lessThan(sipp.messages.indexOf('SIP/2.0 200'));
      if (how === 'Alerting') expect(sipp.messages.indexOf('SIP/2.0 180')).to.be.within(0, sipp.messages.indexOf('SIP/2.0 183'));
      else expect(sipp.messages).to.not.match(/SIP\/2\.0 180/);
      // The early audio came from the port the 183 announced, in its codec.
      const port183 = Number(/^m=audio (\d+) /m.exec(sdp183![1]!)![1]);
      const early = t.to(mediaPort, (p) => endpointAudio(p, l.endpoint.calls[0]!));
      expect(new Set(early.map((p) => p.src.port))).to.deep.equal(new Set([port183]));
      expect(new Set(early.map((p) => p.pt))).to.deep.equal(new Set([8]));
      await l.calls[0]!.ended;
      expect(await l.outcomes[0]).to.equal('answered');
      expect(l.lab.media.sessionCount).to.equal(0);
      // Two channels at FreeSWITCH, bridged for the early media, both hung up
      const bridges = bridgesSince(l.esl, since);
      expect(bridges).to.have.length(1);
      expect([...(await channelsReleased(l.esl, { baseline, since, legs: 2 }))].sort()).to.deep.equal([...bridges[0]!].sort());
      if (l.lab.fs) {
        const chans = l.lab.fs.channelInfo();
        expect(chans).to.have.length(2);
        expect(chans.map((c) => c.state)).to.deep.equal(['hangup', 'hangup']);
      }
    });
  }

  it('early media in another codec than FreeSWITCH\'s H.323 leg was made with: the leg is re-pointed at once, so the H.323 RTP reaches the caller before Connect', async () => {
    // The caller offers PCMA then PCMU; FreeSWITCH's H.323 leg is made with PCMA (the first), and
    // the endpoint, preferring PCMU, answers fastStart in PCMU with Alerting. FreeSWITCH takes
    // packets only in the codec it negotiated, so before Connect they reach the caller only if the
    // leg was re-pointed at once (PCMU) rather than after the 200.
    const l = (lab = await startCallsLab({ endpoint: { answer: { mode: 'manual' }, rtpPackets: 100, codecs: ['PCMU', 'PCMA'] } }));
    const { tap: t, mediaPort } = await callerTap();
    let beforeAnswer = -1;
    let answered: Promise<void> | undefined;
    l.endpoint.on('call', (ec) => {
      ec.call.ring();
      answered = t.waitFor((ps) => {
        const n = ps.filter((p) => endpointAudio(p, ec)).length;
        return n >= 20 ? n : undefined;
      }, 'the endpoint\'s RTP (sent in PCMU) at the caller before the answer').then((n) => {
        beforeAnswer = n;
        expect(ec.call.state).to.equal('ringing');
        ec.call.once('connected', () => void ec.rtp.receivedAtLeast(10).then(() => ec.call.hangup(16)));
        ec.call.answer();
      });
      answered.catch(() => undefined); // judged below, after SIPp
    });
    const sipp = await l.caller({ scenario: 'early', offer: { pt: 8, codec: 'PCMA', alsoStatic: [0] }, mediaPort });
    await answered;
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    expect(l.endpoint.calls[0]!.media?.codec).to.equal('PCMU');
    expect(beforeAnswer).to.be.at.least(20);
    await l.calls[0]!.ended;
    expect(await l.outcomes[0]).to.equal('answered');
  });

  it('H.323 side alerts but never answers: no-answer timer -> 480 with Reason cause 19, endpoint sees ReleaseComplete', async () => {
    const l = (lab = await startCallsLab({ endpoint: { answer: { mode: 'manual' } }, deps: { noAnswerMs: 400 } }));
    l.endpoint.on('call', (ec) => ec.call.ring());
    const sipp = await l.caller({ scenario: 'reject', status: 480 });
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    expect(sipp.messages).to.match(/SIP\/2\.0 180/);
    expect(sipp.messages).to.match(/SIP\/2\.0 480[\s\S]*Reason: Q\.850;cause=19/);
    expect(await l.outcomes[0]).to.equal('no-answer');
    await l.calls[0]!.ended;
    expect(await l.endpoint.calls[0]!.done).to.include({ cause: 19, by: 'remote' });
    expect(l.hangups).to.deep.equal([[]]); // the no-answer timer released the call; no second release
    expect(l.lab.media.sessionCount).to.equal(0);
  });

  it('SIPp CANCELs during alerting: endpoint sees ReleaseComplete (16), SIPp gets 487', async () => {
    const l = (lab = await startCallsLab({ endpoint: { answer: { mode: 'manual' } } }));
    l.endpoint.on('call', (ec) => ec.call.ring());
    const sipp = await l.caller({ scenario: 'cancel' });
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    expect(await l.outcomes[0]).to.equal('cancelled');
    await l.calls[0]!.ended;
    expect(await l.endpoint.calls[0]!.done).to.include({ cause: 16, by: 'remote' });
    expect(l.hangups).to.deep.equal([[16]]);
    expect(l.lab.media.sessionCount).to.equal(0);
    expect(sipp.messages.match(/SIP\/2\.0 487/g)).to.have.length(1);
  });

  it('FreeSWITCH gone: 503 at once, no H.323 call placed', async function () {
    const l = (lab = await startCallsLab());
    if (!l.lab.fs) this.skip(); // stops FreeSWITCH: a real one (FS_*) is not this test's to stop
    const down = new Promise<void>((r) => l.lab.media.once('down', () => r()));
    await l.lab.fs!.stop();
    await down;
    const t0 = Date.now();
    const sipp = await l.caller({ scenario: 'reject', status: 503 });
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    expect(Date.now() - t0).to.be.lessThan(2000);
    expect(sipp.messages).to.match(/SIP\/2\.0 503[\s\S]*Reason: Q\.850;cause=41/);
    expect(await l.outcomes[0]).to.equal('media-unavailable');
    expect(l.endpoint.calls).to.have.length(0);
  });

  it('codec mismatch (caller offers only G.722): 488 with Reason Q.850 cause 65, no H.323 call, no media session', async () => {
    const l = (lab = await startCallsLab());
    const sipp = await l.caller({ scenario: 'reject', status: 488, offer: { pt: 9, codec: 'G722' } });
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    expect(sipp.messages).to.match(/SIP\/2\.0 488[\s\S]*Reason: Q\.850;cause=65/);
    expect(await l.outcomes[0]).to.equal('codec-mismatch');
    expect(l.endpoint.calls).to.have.length(0);
    expect(l.lab.media.sessionCount).to.equal(0);
  });

  it('ESL drops mid-call: H.323 side released (cause 41), SIPp gets BYE with Reason cause 41, nothing leaks', async function () {
    const l = (lab = await startCallsLab());
    // Resets FreeSWITCH's event-socket connections from FreeSWITCH's side (the double's fault
    // injection): a real FreeSWITCH the test does not own cannot be made to, short of killing it.
    if (!l.lab.fs) this.skip();
    l.endpoint.on('call', (ec) => {
      ec.call.once('connected', () => {
        void ec.rtp.receivedAtLeast(10).then(() => l.lab.fs!.dropConnections());
      });
    });
    const sipp = await l.caller({ scenario: 'wait-bye' });
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    expect(sipp.messages).to.match(/BYE sip:[\s\S]*Reason: Q\.850;cause=41;text="Temporary failure"/);
    expect(sipp.messages.match(/^BYE sip:/gm)).to.have.length(1);
    await l.calls[0]!.ended;
    expect(await l.endpoint.calls[0]!.done).to.include({ cause: 41, by: 'remote' }); // our ReleaseComplete's cause
    expect(l.hangups).to.deep.equal([[41]]); // RFC 3398-ish: temporary failure
    expect(l.lab.media.sessionCount).to.equal(0);
  });

  it('H.323 destination unreachable (TCP refused, cause 27): 502 with Reason cause 27, media released', async () => {
    const l = (lab = await startCallsLab({ target: { host: '127.0.0.1', port: await freePort() } }));
    const baseline = await l.esl.channelCount();
    const since = Date.now();
    const sipp = await l.caller({ scenario: 'reject', status: 502 });
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    expect(sipp.messages).to.match(/SIP\/2\.0 502[\s\S]*Reason: Q\.850;cause=27;text="Destination out of order"/);
    expect(await l.outcomes[0]).to.equal('unreachable');
    await l.calls[0]!.ended;
    expect(l.lab.media.sessionCount).to.equal(0);
    // The H.323 leg's channel and the caller's (made alongside it), both hung up: nothing left.
    expect(await channelsReleased(l.esl, { baseline, since, legs: 2 })).to.have.length(2);
    if (l.lab.fs) expect(l.lab.fs.channelInfo().map((c) => c.state)).to.deep.equal(['hangup', 'hangup']);
  });
});
