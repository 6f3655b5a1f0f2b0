/**
 * Video negotiation on the wire. FreeSWITCH relays video but never transcodes it, so video runs
 * only where both sides share a codec and FreeSWITCH accepts the stream; otherwise it is refused
 * on both sides and the call goes on with audio (docs/media.md, "Video"). What FreeSWITCH was
 * offered and answered per leg is read from FreeSWITCH itself over the test's own ESL connection
 * (`uuid_getvar <uuid> switch_r_sdp` / `rtp_local_sdp_str` of the two channels a CHANNEL_BRIDGE
 * event names); video RTP is counted where the SIP side receives it (tcpdump on SIPp's video port)
 * and at the room system's socket.
 *
 * Whether FreeSWITCH takes H.264 is its profile's business: the FreeSWITCH double answers no video
 * by default (the recorded profile is audio-only) and passes H.264/H.263/VP8 through with
 * `videoPassthrough`; a real FreeSWITCH takes video when its drachtio_mrf profile lists the codec
 * (sip-configs/freeswitch/sip_profiles/mrf.xml has VP8 and H264 in codec-prefs), which
 * `sofia status profile drachtio_mrf` reports as CODECS IN. The refusal case for H.264 needs a
 * FreeSWITCH that takes no video and skips otherwise; the relay cases run on the double only (the
 * lab endpoint's video is filler, which a real FreeSWITCH does not pass through).
 */
import { expect } from 'chai';
import { parseFastStartOffer } from '../../../lib/h323/call/faststart.js';
import { stopAllSipp } from '../../lab/sipp.js';
import { freeMediaPort } from '../../lab/ports.js';
import { waitUntil } from '../../lab/wait.js';
import type { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { bridgesSince, type EslClient } from '../../support/esl.js';
import { SymmetricVideoPort, VideoDecoder, VideoEncoder } from '../../support/video.js';
import { startCallsLab, type CallsLab } from './harness.js';
import { startH323SipLab, type H323SipLab } from './h323-harness.js';

/**
 * Does the FreeSWITCH under test take H.264 video? The double: its videoPassthrough switch (the
 * test's setting). A real one: H264 in its drachtio_mrf profile's CODECS IN.
 */
async function takesH264(esl: EslClient, fs: FreeSwitchDouble | undefined): Promise<{ yes: boolean }> {
  if (fs) return { yes: fs.videoPassthrough };
  const body = await esl.api('sofia status profile drachtio_mrf');
  const codecs = /^CODECS IN\s+(\S+)/m.exec(body)?.[1];
  if (!codecs) throw new Error(`sofia status profile drachtio_mrf: no CODECS IN line in ${JSON.stringify(body.slice(0, 300))}`);
  return { yes: codecs.split(',').some((c) => c.toUpperCase() === 'H264') };
}

interface LegSdps {
  uuid: string;
  /** What FreeSWITCH last received (switch_r_sdp). */
  remote: string;
  /** What FreeSWITCH last sent (rtp_local_sdp_str). */
  local: string;
}

/** Both bridged channels' SDPs, as FreeSWITCH answers uuid_getvar (read while the call is up). */
async function bridgedSdps(esl: EslClient, since: number): Promise<LegSdps[] | undefined> {
  const b = bridgesSince(esl, since)[0];
  if (!b) return undefined;
  const out: LegSdps[] = [];
  for (const uuid of b) {
    const remote = await esl.getVar(uuid, 'switch_r_sdp');
    const local = await esl.getVar(uuid, 'rtp_local_sdp_str');
    if (!remote || !local) return undefined;
    out.push({ uuid, remote, local });
  }
  return out;
}

/** The far side's picture: the encoders send 320x240 (FreeSWITCH's own frames, 352x288, may come first). */
const FAR_SIZE = '320x240';

/** Resolves once 30 frames of the far side's picture are decoded (within 20 s). */
async function farPicture(d: VideoDecoder, what: string): Promise<void> {
  await waitUntil(async () => d.frames.filter((f) => f.size === FAR_SIZE).length >= 30, what, 20_000, 100);
}

/**
 * The far side's frames decoded, not black. A real FreeSWITCH sends a leg with video a few frames
 * of its own (352x288) before it relays the bridged leg's; those are the only other ones allowed.
 */
function expectPicture(d: VideoDecoder, where: string): void {
  const far = d.frames.filter((f) => f.size === FAR_SIZE);
  if (process.env.VIDEO_FIGURES) console.log(`video figures ${where}: ${JSON.stringify({ ...d.summary(), farFrames: far.length, errors: d.errors.length })}`);
  expect(far.length, `far-side frames decoded ${where}`).to.be.at.least(30);
  expect(far.filter((f) => f.meanY > 24).length, `far-side frames ${where} not black`).to.equal(far.length);
  expect(d.summary().sizes.filter((x) => x !== FAR_SIZE), `other frame sizes ${where}`).to.satisfy((o: string[]) => o.every((x) => x === '352x288'));
}

const videoPort = (sdp: string): number | undefined => {
  const m = /^m=video (\d+) /m.exec(sdp);
  return m ? Number(m[1]) : undefined;
};
const audioPort = (sdp: string): number | undefined => {
  const m = /^m=audio (\d+) /m.exec(sdp);
  return m ? Number(m[1]) : undefined;
};

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
        // This case is FreeSWITCH refusing H.264 (an audio-only profile: the double's default, the
        // recorded one). A FreeSWITCH whose profile lists H264 (the project's mrf.xml does) takes it.
        if (v.codec === 'H264' && (await takesH264(l.esl, l.lab.fs)).yes) this.skip();
        const since = Date.now();
        // What FreeSWITCH was offered for each leg, read from FreeSWITCH while the call is up.
        let sdpsP: Promise<{ caller: string; h323: string }> | undefined;
        l.endpoint.on('call', (ec) =>
          ec.call.once('connected', () => {
            // the caller's leg is the channel whose offer is not our H.323-side one (o=gw-h323).
            // The re-point runs alongside the answer: wait for the H.323 leg's offer to leave the
            // discard port (9) it had before the fastStart answer.
            sdpsP = waitUntil(async () => {
              const legs = await bridgedSdps(l.esl, since);
              const h323 = legs?.find((x) => /^o=gw-h323 /m.test(x.remote))?.remote;
              const caller = legs?.find((x) => !/^o=gw-h323 /m.test(x.remote) && /^v=0/.test(x.remote))?.remote;
              return caller && h323 && audioPort(h323) !== 9 ? { caller, h323 } : undefined;
            }, 'the caller leg and the re-pointed H.323 leg at FreeSWITCH');
            sdpsP.catch(() => undefined); // judged below
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
        const { caller: callerSdp, h323: h323Sdp } = await sdpsP!;
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

  describe('SIP -> H.323 with FreeSWITCH relaying real H.264 (the double in video passthrough, or a real FreeSWITCH)', () => {
    let lab: CallsLab | undefined;
    const media: Array<{ stop(): unknown }> = [];
    afterEach(async () => {
      stopAllSipp();
      for (const m of media.splice(0).reverse()) await m.stop();
      await lab?.stop();
      lab = undefined;
    });

    it('caller offers audio + H.264: Setup proposes H.264 (session 2) at FreeSWITCH\'s video port, the room system accepts, the leg re-pointed keeps video, and each side decodes the other\'s encoded video', async function () {
      // The room system sends no stand-in packets (rtpPackets 0): ffmpeg sends real H.264 from its video port.
      const l = (lab = await startCallsLab({ endpoint: { video: true, codecs: ['PCMA', 'H264'], rtpPackets: 0 } }));
      const fs = l.lab.fs;
      if (fs) fs.videoPassthrough = true;
      const mediaPort = await freeMediaPort();
      // the caller's video port (its SDP's m=video): sends and receives real H.264 at payload type 97
      const callerPort = await SymmetricVideoPort.open({});
      const callerDec = await VideoDecoder.start({ codec: 'H264', pt: 97 });
      const roomDec = await VideoDecoder.start({ codec: 'H264', pt: 96 });
      media.push({ stop: () => callerPort.close() }, callerDec, roomDec);
      callerPort.decodeTo = { host: '127.0.0.1', port: callerDec.port };
      const since = Date.now();
      let legsP: Promise<LegSdps[]> | undefined;
      l.endpoint.on('call', (ec) => {
        ec.call.once('video', (v) => {
          // the room system's side: its own video port, toward FreeSWITCH's H.323-leg video port
          void SymmetricVideoPort.open({ socket: ec.videoRtp!.socket }).then((p) => {
            media.push({ stop: () => p.close() });
            p.decodeTo = { host: '127.0.0.1', port: roomDec.port };
            p.remote = v.remoteRtp;
            media.push(VideoEncoder.start({ codec: 'H264', pt: 96, to: p.input, seconds: 8 }));
          });
        });
        ec.call.once('connected', () => {
          legsP = waitUntil(async () => {
            const legs = await bridgedSdps(l.esl, since);
            const h = legs?.find((x) => /^o=gw-h323 /m.test(x.remote));
            return h && videoPort(h.remote) === ec.videoRtp?.port ? legs : undefined;
          }, 'the H.323 leg re-pointed at the room system\'s video port');
          legsP.then((legs) => {
            // the caller's side: FreeSWITCH's video port on the caller's leg
            const c = legs.find((x) => !/^o=gw-h323 /m.test(x.remote))!;
            callerPort.remote = { host: '127.0.0.1', port: videoPort(c.local)! };
            media.push(VideoEncoder.start({ codec: 'H264', pt: 97, to: callerPort.input, seconds: 8 }));
          }, () => undefined); // judged below
        });
      });
      const sippP = l.caller({ scenario: 'video', video: { pt: 97, codec: 'H264', port: callerPort.port }, holdMs: 9000, mediaPort });
      // each side decodes what the other's encoder sent, relayed by FreeSWITCH
      await Promise.all([farPicture(callerDec, 'the room system\'s H.264 decoded at the caller'), farPicture(roomDec, 'the caller\'s H.264 decoded at the room system')]);
      const sipp = await sippP;
      expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
      expect(await l.outcomes[0]).to.equal('answered');
      await l.calls[0]!.ended;
      const ec = l.endpoint.calls[0]!;
      const body = ec.call.setup?.['h323-uu-pdu']['h323-message-body'];
      const proposals = parseFastStartOffer(body?.choice === 'setup' ? body.value.fastStart ?? [] : []);
      expect(proposals.map((p) => p.codec)).to.deep.equal(['PCMA', 'PCMA', 'H264', 'H264']);
      const legs = await legsP!;
      const h = legs.find((x) => /^o=gw-h323 /m.test(x.remote))!;
      // the room system sends its video to FreeSWITCH's video port on the H.323 leg, which FreeSWITCH
      // kept when the leg was re-pointed at the room system (its answer has an active m=video) ...
      expect(ec.video).to.include({ codec: 'H264', via: 'fastStart' });
      expect(videoPort(h.local)).to.be.greaterThan(0);
      expect(ec.video!.remoteRtp.port).to.equal(videoPort(h.local));
      expect(h.remote).to.match(/^a=fmtp:96 .*profile-level-id=42e01f/m);
      expect(videoPort(h.remote)).to.equal(ec.videoRtp!.port);
      // the caller's 200 opens video at its payload type 97
      expect(sipp.messages).to.match(/SIP\/2\.0 200 OK[\s\S]*?m=video [1-9]\d* RTP\/AVP 97/);
      expectPicture(callerDec, 'at the caller');
      expectPicture(roomDec, 'at the room system');
      expect(l.lab.media.sessionCount).to.equal(0);
      if (fs) {
        const chans = [...fs.channelInfo()];
        const hCh = chans.find((c) => c.remoteRtp?.port === ec.rtp.port)!;
        expect(hCh.video!.rtp.rxPackets).to.be.greaterThan(0);
      }
    });
  });

  describe('H.323 -> SIP', () => {
    let lab: H323SipLab | undefined;
    const media: Array<{ stop(): unknown }> = [];
    afterEach(async () => {
      for (const m of media.splice(0).reverse()) await m.stop();
      await lab?.stop();
      lab = undefined;
    });

    it('Setup with audio + H.264 fastStart proposals, FreeSWITCH relaying video: INVITE offers video, the expert answers H.264, the fastStart answer accepts H.264 at FreeSWITCH\'s video port, and each side decodes the other\'s encoded video', async function () {
      const l = (lab = await startH323SipLab({ rtpPackets: 0 }));
      const fs = l.media.fs;
      if (fs) fs.videoPassthrough = true;
      const mediaPort = await freeMediaPort();
      const expertPort = await SymmetricVideoPort.open({});
      const expertDec = await VideoDecoder.start({ codec: 'H264', pt: 96 });
      const roomDec = await VideoDecoder.start({ codec: 'H264', pt: 96 });
      media.push({ stop: () => expertPort.close() }, expertDec, roomDec);
      const since = Date.now();
      const uas = await l.expert('h323-uas-video', undefined, undefined, { mediaPort, videoPort: expertPort.port });
      l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
      const { H323Endpoint } = await import('../../lab/h323-endpoint/endpoint.js');
      const vep = new H323Endpoint({ rtpPackets: 0, codecs: ['PCMA', 'H264'], video: true });
      media.push({ stop: () => vep.close() });
      const a = l.listener.address();
      const ec = await vep.call(a.host, a.port, '1001');
      await new Promise<void>((r) => ec.call.once('connected', () => r()));
      expect(ec.video).to.include({ codec: 'H264', via: 'fastStart' });
      // FreeSWITCH's legs as FreeSWITCH reports them: the H.323 leg aimed at the endpoint's ports
      const legs = await waitUntil(async () => {
        const all = await bridgedSdps(l.esl, since);
        const h = all?.find((x) => audioPort(x.remote) === ec.rtp.port);
        return h && videoPort(h.remote) === ec.videoRtp!.port ? { h, sip: all!.find((x) => x !== h)! } : undefined;
      }, 'the H.323 leg aimed at the room system\'s video port');
      expect(ec.video!.remoteRtp.port).to.equal(videoPort(legs.h.local));
      // the expert's leg: FreeSWITCH offered video and took the expert's H.264 (at FreeSWITCH's payload type)
      const hpt = /^a=rtpmap:(\d+) H264\/90000/m.exec(legs.sip.local)?.[1];
      expect(hpt, 'H.264 in FreeSWITCH\'s offer to the expert').to.be.a('string');
      expect(legs.sip.remote).to.match(new RegExp(`^m=video ${expertPort.port} RTP/AVP ${hpt}\\r?$`, 'm'));
      // real H.264 both ways, each from the port its side advertised
      const room = await SymmetricVideoPort.open({ socket: ec.videoRtp!.socket });
      media.push({ stop: () => room.close() });
      room.decodeTo = { host: '127.0.0.1', port: roomDec.port };
      room.remote = ec.video!.remoteRtp;
      expertPort.remote = { host: '127.0.0.1', port: videoPort(legs.sip.local)! };
      expertPort.decodeTo = { host: '127.0.0.1', port: expertDec.port };
      // the expert's decoder takes FreeSWITCH's payload type: restart it if that is not 96
      let expertDecoder = expertDec;
      if (hpt !== '96') {
        await expertDec.stop();
        expertDecoder = await VideoDecoder.start({ codec: 'H264', pt: Number(hpt) });
        media.push(expertDecoder);
        expertPort.decodeTo = { host: '127.0.0.1', port: expertDecoder.port };
      }
      media.push(VideoEncoder.start({ codec: 'H264', pt: 96, to: room.input, seconds: 8 }));
      media.push(VideoEncoder.start({ codec: 'H264', pt: Number(hpt), to: expertPort.input, seconds: 8 }));
      await Promise.all([
        farPicture(expertDecoder, 'the room system\'s H.264 decoded at the expert'),
        farPicture(roomDec, 'the expert\'s H.264 decoded at the room system'),
      ]);
      await ec.rtp.receivedAtLeast(10); // the expert's audio reaches the room system
      ec.call.hangup(16);
      await l.calls[0]!.whenFinished;
      expectPicture(expertDecoder, 'at the expert');
      expectPicture(roomDec, 'at the room system');
      if (fs) {
        const h = fs.channelInfo().find((c) => c.remoteRtp?.port === ec.rtp.port)!;
        expect(h.video!.localPort).to.equal(ec.video!.remoteRtp.port);
      }
      await waitUntil(async () => /CSeq: \d+ BYE[\s\S]*SIP\/2\.0 200 OK/.test(uas.messages()), 'BYE at SIPp');
      const sipp = await uas.stop();
      expect(sipp.messages).to.match(/INVITE sip:[\s\S]*?m=video [1-9]\d* RTP\/AVP [\s\S]*?a=rtpmap:\d+ H264\/90000/);
    });

    it('Setup with audio + H.264/H.263 fastStart proposals, INVITE offering video, the expert answers audio only (m=video 0): our fastStart answer accepts no video, audio flows', async () => {
      const l = (lab = await startH323SipLab({ rtpPackets: 50 }));
      // the double offers video as a real FreeSWITCH with video codecs in its profile does
      if (l.media.fs) l.media.fs.videoPassthrough = true;
      const since = Date.now();
      const uas = await l.expert('h323-uas-video', undefined, undefined, { videoPort: 0 });
      l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
      const { H323Endpoint } = await import('../../lab/h323-endpoint/endpoint.js');
      const vep = new H323Endpoint({ rtpPackets: 50, codecs: ['PCMA', 'H264', 'H263'], video: true });
      media.push({ stop: () => vep.close() });
      const a = l.listener.address();
      const ec = await vep.call(a.host, a.port, '1001');
      await new Promise<void>((r) => ec.call.once('connected', () => r()));
      const setupBody = l.calls[0]!.call.setup?.['h323-uu-pdu']['h323-message-body'];
      const offered = parseFastStartOffer(setupBody?.choice === 'setup' ? setupBody.value.fastStart ?? [] : []).map((p) => p.codec);
      expect(offered).to.deep.equal(['PCMA', 'PCMA', 'H264', 'H264', 'H263', 'H263']);
      expect(l.calls[0]!.call.offeredVideoCodecs).to.deep.equal(['H264', 'H263']);
      expect(ec.media?.codec).to.equal('PCMA');
      expect(ec.video).to.equal(undefined); // no video channel accepted
      // FreeSWITCH's H.323 leg has its video refused (port 0), so it sends the room system none
      await waitUntil(async () => {
        const legs = await bridgedSdps(l.esl, since);
        const h = legs?.find((x) => audioPort(x.remote) === ec.rtp.port);
        return h && /^m=video 0 /m.test(h.remote) ? h : undefined;
      }, 'the H.323 leg with its video refused');
      await ec.rtp.receivedAtLeast(10);
      ec.call.hangup(16);
      await l.calls[0]!.whenFinished;
      await waitUntil(async () => /CSeq: \d+ BYE[\s\S]*SIP\/2\.0 200 OK/.test(uas.messages()), 'BYE at SIPp');
      const sipp = await uas.stop();
      // FreeSWITCH offered video toward the expert (its profile has H.264), the expert refused it
      expect(sipp.messages).to.match(/INVITE sip:[\s\S]*?m=video [1-9]\d* RTP\/AVP/);
      expect(sipp.messages).to.match(/SIP\/2\.0 200 OK[\s\S]*?m=video 0 RTP\/AVP/);
      expect(ec.videoRtp?.stats.received).to.equal(0);
    });
  });
});
