/**
 * Video negotiation on the wire. FreeSWITCH relays video but never transcodes it, so video runs
 * only where both sides share a codec and FreeSWITCH accepts the stream; otherwise it is refused
 * on both sides and the call goes on with audio (docs/media.md, "Video"). The FreeSWITCH double
 * answers no video by default (the recorded profile is audio-only): that drives the clean-drop
 * cases. With `videoPassthrough` it answers and offers H.264/H.263/VP8 and relays video RTP
 * untouched between bridged legs: that drives H.264 end to end in both call directions, with the
 * room system's video RTP counted at FreeSWITCH and relayed to the SIP side.
 */
import { expect } from 'chai';
import { parseFastStartOffer } from '../../../lib/h323/call/faststart.js';
import { stopAllSipp } from '../../lab/sipp.js';
import { waitUntil } from '../../lab/wait.js';
import { startCallsLab, type CallsLab } from './harness.js';
import { startH323SipLab, type H323SipLab } from './h323-harness.js';

/** The SDP FreeSWITCH (the double) last received for a channel. */
async function remoteSdpOf(lab: CallsLab['lab'], uuid: string): Promise<string> {
  return lab.media.server().api(`uuid_getvar ${uuid} switch_r_sdp`);
}

describe('calls: video negotiation', function () {
  this.timeout(60_000);

  describe('SIP -> H.323', () => {
    let lab: CallsLab | undefined;
    afterEach(async () => {
      stopAllSipp();
      await lab?.stop();
      lab = undefined;
    });

    for (const v of [{ pt: 96, codec: 'VP8', why: 'no common codec (VP8 has no H.323 counterpart)' }, { pt: 97, codec: 'H264', why: 'FreeSWITCH took no video on the H.323 leg' }]) {
      it(`caller offers audio + ${v.codec}: ${v.why} -> audio-only fastStart, the caller's video refused (port 0), the call carries audio`, async function () {
        const l = (lab = await startCallsLab());
        if (!l.lab.fs) this.skip(); // reads what the double received
        const fs = l.lab.fs!;
        // What FreeSWITCH was offered for the caller's leg, read while the call is up.
        let callerSdpP: Promise<string> | undefined;
        let h323Sdp = '';
        l.endpoint.on('call', (ec) =>
          ec.call.once('connected', () => {
            // the caller's leg is the channel whose offer is not our H.323-side one (o=gw-h323)
            // The re-point runs alongside the answer: wait for the H.323 leg's offer to leave the
            // discard port (9) it had before the fastStart answer.
            callerSdpP = waitUntil(async () => {
              let caller: string | undefined;
              for (const c of fs.channelInfo().filter((x) => x.state === 'active')) {
                const sdp = await remoteSdpOf(l.lab, c.uuid);
                if (/^o=gw-h323 /m.test(sdp)) h323Sdp = sdp;
                else if (/^v=0/.test(sdp)) caller = sdp;
              }
              return caller && /^m=audio (?!9 )\d+ /m.test(h323Sdp) ? caller : undefined;
            }, 'the caller leg and the re-pointed H.323 leg');
          }),
        );
        const sipp = await l.caller({ scenario: 'video', video: { pt: v.pt, codec: v.codec }, holdMs: 1500 });
        expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
        expect(await l.outcomes[0]).to.equal('answered');
        const ec = l.endpoint.calls[0]!;
        // Setup as received by the H.323 endpoint: audio proposals only
        const body = ec.call.setup?.['h323-uu-pdu']['h323-message-body'];
        const proposals = parseFastStartOffer(body?.choice === 'setup' ? body.value.fastStart ?? [] : []);
        expect(proposals.map((p) => p.codec)).to.deep.equal(['PCMA', 'PCMA']);
        expect(ec.video).to.equal(undefined);
        const callerSdp = await callerSdpP!;
        expect(callerSdp).to.match(/^m=video 0 RTP\/AVP/m);
        expect(callerSdp).to.match(/^m=audio [1-9]\d* RTP\/AVP 8/m);
        // the H.323 leg, re-pointed at the fastStart answer: H.264 was asked of FreeSWITCH, now refused
        // (kept with port 0: an m-line never leaves a re-offer); VP8 was never asked
        expect(h323Sdp).to.match(/^m=audio \d+ RTP\/AVP 8 101/m);
        if (v.codec === 'H264') expect(h323Sdp).to.match(/^m=video 0 RTP\/AVP 96\r?$/m);
        else expect(h323Sdp).to.not.match(/^m=video/m);
        // the caller's answer (FreeSWITCH's) opens no video stream
        const ok = /SIP\/2\.0 200 OK[\s\S]*?(v=0[\s\S]*?)(?:\r?\n\r?\n|$)/.exec(sipp.messages);
        expect(ok?.[1] ?? '').to.not.match(/^m=video [1-9]/m);
        await l.calls[0]!.ended;
        expect(ec.rtp.stats.received).to.be.greaterThan(0);
        expect(l.lab.media.sessionCount).to.equal(0);
      });
    }
  });

  describe('SIP -> H.323 with FreeSWITCH relaying video (double in video passthrough)', () => {
    let lab: CallsLab | undefined;
    afterEach(async () => {
      stopAllSipp();
      await lab?.stop();
      lab = undefined;
    });

    it('caller offers audio + H.264: Setup proposes H.264 (session 2) at FreeSWITCH\'s video port, the room system accepts, its video RTP reaches FreeSWITCH and is relayed to the caller', async function () {
      const l = (lab = await startCallsLab({ endpoint: { video: true, codecs: ['PCMA', 'H264'], rtpPackets: 50 } }));
      if (!l.lab.fs) this.skip(); // a real FreeSWITCH needs video codecs in its profile for this
      const fs = l.lab.fs!;
      fs.videoPassthrough = true;
      const sipp = await l.caller({ scenario: 'video', video: { pt: 97, codec: 'H264' }, holdMs: 2500 });
      expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
      expect(await l.outcomes[0]).to.equal('answered');
      await l.calls[0]!.ended;
      const ec = l.endpoint.calls[0]!;
      const body = ec.call.setup?.['h323-uu-pdu']['h323-message-body'];
      const proposals = parseFastStartOffer(body?.choice === 'setup' ? body.value.fastStart ?? [] : []);
      expect(proposals.map((p) => p.codec)).to.deep.equal(['PCMA', 'PCMA', 'H264', 'H264']);
      const chans = [...fs.channelInfo()];
      const hCh = chans.find((c) => c.remoteRtp?.port === ec.rtp.port)!;
      const cCh = chans.find((c) => c !== hCh)!;
      // the room system sends its video to FreeSWITCH's video port on the H.323 leg ...
      expect(ec.video).to.include({ codec: 'H264', via: 'fastStart' });
      expect(ec.video!.remoteRtp.port).to.equal(hCh.video!.localPort);
      // ... FreeSWITCH's H.323 leg was re-pointed at the room system's video port ...
      expect(hCh.video!.remote?.port).to.equal(ec.videoRtp!.port);
      expect(hCh.video!.rtp.rxPackets).to.equal(50);
      // ... and relays it untouched to the caller's video (H.264 at the caller's payload type 97)
      expect(cCh.video?.codec).to.equal('H264');
      expect(cCh.video!.rtp.relayedTx).to.be.greaterThan(0).and.at.most(50);
      expect(cCh.video!.rtp.txPayloadTypes[97]).to.equal(cCh.video!.rtp.txPackets);
      // the caller's 200 opens video
      expect(sipp.messages).to.match(/SIP\/2\.0 200 OK[\s\S]*?m=video [1-9]\d* RTP\/AVP 97/);
      expect(l.lab.media.sessionCount).to.equal(0);
    });
  });

  describe('H.323 -> SIP', () => {
    let lab: H323SipLab | undefined;
    afterEach(async () => {
      await lab?.stop();
      lab = undefined;
    });

    it('Setup with audio + H.264 fastStart proposals, FreeSWITCH relaying video: INVITE offers video, the expert answers H.264, the fastStart answer accepts H.264 at FreeSWITCH\'s video port, video RTP relayed to the expert', async function () {
      const l = (lab = await startH323SipLab({ rtpPackets: 50 }));
      if (!l.media.fs) this.skip(); // a real FreeSWITCH needs video codecs in its profile for this
      const fs = l.media.fs!;
      fs.videoPassthrough = true;
      const uas = await l.expert('h323-uas-video');
      l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
      const { H323Endpoint } = await import('../../lab/h323-endpoint/endpoint.js');
      const vep = new H323Endpoint({ rtpPackets: 50, codecs: ['PCMA', 'H264'], video: true });
      try {
        const a = l.listener.address();
        const ec = await vep.call(a.host, a.port, '1001');
        await new Promise<void>((r) => ec.call.once('connected', () => r()));
        expect(ec.video).to.include({ codec: 'H264', via: 'fastStart' });
        const hCh = () => fs.channelInfo().find((c) => c.remoteRtp?.port === ec.rtp.port)!;
        expect(ec.video!.remoteRtp.port).to.equal(hCh().video!.localPort);
        expect(hCh().video!.remote?.port).to.equal(ec.videoRtp!.port);
        await waitUntil(async () => (hCh().video!.rtp.rxPackets >= 50 ? true : undefined), 'the room system\'s video at FreeSWITCH');
        await ec.rtp.receivedAtLeast(10);
        ec.call.hangup(16);
        await l.calls[0]!.whenFinished;
        const chans = fs.channelInfo();
        const h = chans.find((c) => c.remoteRtp?.port === ec.rtp.port)!;
        const sipCh = chans.find((c) => c !== h)!;
        expect(sipCh.video?.codec).to.equal('H264');
        expect(sipCh.video!.rtp.relayedTx).to.be.greaterThan(0).and.at.most(50);
        await waitUntil(async () => /CSeq: \d+ BYE[\s\S]*SIP\/2\.0 200 OK/.test(uas.messages()), 'BYE at SIPp');
        const sipp = await uas.stop();
        expect(sipp.messages).to.match(/INVITE sip:[\s\S]*?m=video [1-9]\d* RTP\/AVP 96 34/);
      } finally {
        await vep.close();
      }
    });

    it('Setup with audio + H.264/H.263 fastStart proposals: audio-only answer, no video toward the expert, audio flows', async () => {
      const l = (lab = await startH323SipLab({ rtpPackets: 50 }));
      const uas = await l.expert('h323-uas-wait-bye');
      l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
      // an endpoint proposing video as well as audio
      const { H323Endpoint } = await import('../../lab/h323-endpoint/endpoint.js');
      const vep = new H323Endpoint({ rtpPackets: 50, codecs: ['PCMA', 'H264', 'H263'], video: true });
      try {
        const a = l.listener.address();
        const ec = await vep.call(a.host, a.port, '1001');
        await new Promise<void>((r) => ec.call.once('connected', () => r()));
        const setupBody = l.calls[0]!.call.setup?.['h323-uu-pdu']['h323-message-body'];
        const offered = parseFastStartOffer(setupBody?.choice === 'setup' ? setupBody.value.fastStart ?? [] : []).map((p) => p.codec);
        expect(offered).to.deep.equal(['PCMA', 'PCMA', 'H264', 'H264', 'H263', 'H263']);
        expect(l.calls[0]!.call.offeredVideoCodecs).to.deep.equal(['H264', 'H263']);
        expect(ec.media?.codec).to.equal('PCMA');
        expect(ec.video).to.equal(undefined); // no video channel accepted
        await ec.rtp.receivedAtLeast(10);
        ec.call.hangup(16);
        await l.calls[0]!.whenFinished;
        await waitUntil(async () => /CSeq: \d+ BYE[\s\S]*SIP\/2\.0 200 OK/.test(uas.messages()), 'BYE at SIPp');
        const sipp = await uas.stop();
        const invite = /INVITE sip:[\s\S]*?(v=0[\s\S]*?)(?:\r?\n\r?\n|$)/.exec(sipp.messages);
        expect(invite?.[1] ?? '').to.match(/^m=audio /m);
        expect(invite?.[1] ?? '').to.not.match(/^m=video [1-9]/m);
        expect(ec.videoRtp?.stats.received).to.equal(0);
      } finally {
        await vep.close();
      }
    });
  });
});
