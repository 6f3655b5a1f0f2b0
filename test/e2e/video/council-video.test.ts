/**
 * Council video (issue 14, item 1): a VP8 SIP member and an H.264 H.323 member in one FreeSWITCH
 * conference of the `council` profile (video-mode mux, sip-configs/freeswitch), each sending real
 * encoded video (ffmpeg testsrc) from the port it advertised and decoding what FreeSWITCH sends it:
 * the mixed canvas, in its own codec. The SIP member is SIPp (signalling and PCMA) with its video
 * m-line at the test's own port; the H.323 member is the H.323 lab endpoint proposing H.264 by
 * fastStart, its video RTP port used by ffmpeg.
 *
 * On the wire with either FreeSWITCH: the SIP member's 200 keeps its VP8 m-line (FreeSWITCH's
 * video port), the H.323 member's fastStart answer accepts H.264 at FreeSWITCH's video port. With
 * a real FreeSWITCH also: each member decodes the canvas (640x360) in its own codec, with picture
 * content (not a flat or black frame), and FreeSWITCH's `conference <room> list` shows both
 * members with video. The FreeSWITCH double does not mix pictures (it has no canvas), so the
 * canvas is judged only against a real one.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CouncilService } from '../../../lib/council/service.js';
import type { CouncilRoomConfig } from '../../../lib/council/config.js';
import { H323Listener } from '../../../lib/h323/call/index.js';
import { createLogger } from '../../../lib/log/logger.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { MemoryMembershipStore } from '../../../lib/state/membership.js';
import { H323Endpoint } from '../../lab/h323-endpoint/endpoint.js';
import { freeMediaPort } from '../../lab/ports.js';
import { runSipp, stopAllSipp } from '../../lab/sipp.js';
import { waitUntil } from '../../lab/wait.js';
import { EslClient } from '../../support/esl.js';
import { repoRoot } from '../../support/paths.js';
import { SymmetricVideoPort, VideoDecoder, VideoEncoder, type DecodedFrame } from '../../support/video.js';
import { startMediaLab, type MediaLab } from '../media/harness.js';

const ROOM: CouncilRoomConfig = {
  name: 'council-video', sipUsers: ['council'], h323Aliases: ['8100'], maxMembers: 4,
  allowedRoles: ['guardian', 'expert', 'observer', 'guest'] as CouncilRoomConfig['allowedRoles'], moderatorRoles: [], mutedRoles: [], h323DefaultRole: 'guardian',
} as CouncilRoomConfig;

/**
 * The two tiles of the `grid` group's 2x1 layout (conference_layouts.conf.xml: images at x 0 and
 * 180, y 90, scale 180 of a 360x360 space) on the canvas: left and right half, middle half of the
 * height.
 */
const TILES_2X1 = ['iw/2:ih/2:0:ih/4', 'iw/2:ih/2:iw/2:ih/4', 'iw:ih/4:0:0'];

/**
 * Frames (by index) in which both tiles show a picture and the strip above them is the flat canvas
 * background: both members' video is in the mixed 2x1 canvas (a full-screen picture, as in
 * FreeSWITCH's transcode fallback, has content there).
 */
function bothTiles(d: VideoDecoder): number {
  const [a = [], b = [], top = []] = d.regionFrames;
  let n = 0;
  for (let i = 0; i < Math.min(a.length, b.length, top.length); i++) if (a[i]!.stdevY > 20 && b[i]!.stdevY > 20 && top[i]!.stdevY < 5) n++;
  return n;
}

/** A canvas frame with picture content: the members' testsrc tiles, not a flat background or black. */
const hasPicture = (f: DecodedFrame): boolean => f.meanY > 24 && f.stdevY > 20;

describe('council video: VP8 SIP member and H.264 H.323 member in one mixed canvas', function () {
  this.timeout(60_000);
  let lab: MediaLab | undefined;
  let esl: EslClient | undefined;
  let listener: H323Listener | undefined;
  let vep: H323Endpoint | undefined;
  const media: Array<{ stop(): unknown }> = [];
  /** FreeSWITCH's channels before the test's calls (a shared real FreeSWITCH may hold others'). */
  let baseline = 0;

  afterEach(async () => {
    stopAllSipp();
    for (const m of media.splice(0).reverse()) await m.stop();
    await vep?.close();
    await listener?.close();
    const real = lab !== undefined && !lab.fs;
    await lab?.stop(); // destroys the conference
    lab = undefined;
    // a real FreeSWITCH ends the conference's control leg a moment later: the next suite counts channels
    if (real && esl) {
      const c = esl;
      await waitUntil(async () => (await c.channelCount()) <= baseline, 'FreeSWITCH back to its channel count before the test', 10_000, 100);
    }
    esl?.close();
  });

  it('each member gets the canvas in its own codec (VP8 / H.264) and decodes it, both pictures in it', async () => {
    const l = (lab = await startMediaLab({ conference: { profile: 'council', destroyTimeoutMs: 300 } }));
    if (l.fs) l.fs.videoPassthrough = true; // the double takes video m-lines as a real FreeSWITCH with video codecs does
    const real = !l.fs;
    let refreshMs: number | undefined;
    esl = await EslClient.connect(l.config.esl);
    baseline = await esl.channelCount();
    const registry = isolatedRegistry();
    const log = createLogger(process.env.LOG_LEVEL ?? 'error');
    const council = new CouncilService({
      config: { rooms: [ROOM], retryAfterSec: 5 }, media: l.media, srf: l.srf, membership: new MemoryMembershipStore(), registry, log,
      audit: () => undefined, people: () => undefined, instanceId: 'vid', userAgent: 'council-video-test',
    });
    l.onInvite((req, res) => void council.joinSip(req, res, ROOM, { offerSdp: req.body }));
    const joins: Array<Promise<void>> = [];
    listener = new H323Listener({
      host: '127.0.0.1', port: 0,
      callOptions: { codecs: ['PCMA', 'PCMU'], media: { rtp: { host: '127.0.0.1', port: 0 } }, fastStart: true, tunnel: true, registry },
      onCall: (call) => joins.push(council.joinH323(call, ROOM)),
    });
    const addr = await listener.listen();

    // decoders first: each member's receive side
    const sipDec = await VideoDecoder.start({ codec: 'VP8', pt: 96, regions: TILES_2X1 });
    const h323Dec = await VideoDecoder.start({ codec: 'H264', pt: 96, regions: TILES_2X1 });
    const sipPort = await SymmetricVideoPort.open({});
    media.push(sipDec, h323Dec, { stop: () => sipPort.close() });
    sipPort.decodeTo = { host: '127.0.0.1', port: sipDec.port };
    sipPort.learnRemote = true; // FreeSWITCH sends the canvas from its video port

    // the SIP member: SIPp with PCMA + VP8 at sipPort, held 12 s
    const work = l.workDir;
    const scn = join(work, `council-member-vp8-${Date.now()}.xml`);
    writeFileSync(scn, readFileSync(join(repoRoot, 'test/e2e/video/council-member-vp8.xml'), 'utf8')
      .replaceAll('@PCAP@', l.pcapFor('PCMA')).replaceAll('@VPORT@', String(sipPort.port)));
    const sipJoinAt = Date.now();
    const sippP = runSipp({
      target: `${l.drachtio.sipHost}:${l.drachtio.sipPort}`, scenario: scn, service: 'council', timeoutMs: 40_000,
      args: ['-d', '12000', '-mi', '127.0.0.1', '-mp', String(await freeMediaPort())],
    });
    // its VP8 once FreeSWITCH's video port is known (the first canvas packet), or after the 200 on the double
    await waitUntil(async () => council.list(ROOM.name).length === 1, 'the SIP member admitted', 15_000, 50);

    // the H.323 member: fastStart audio + H.264
    vep = new H323Endpoint({ rtpPackets: 0, codecs: ['PCMA', 'H264'], video: true });
    const h323JoinAt = Date.now();
    const ec = await vep.call(addr.host, addr.port, '8100');
    await new Promise<void>((r) => ec.call.once('connected', () => r()));
    expect(ec.video, 'fastStart answer accepted H.264').to.include({ codec: 'H264', via: 'fastStart' });
    const h323Port = await SymmetricVideoPort.open({ socket: ec.videoRtp!.socket });
    media.push({ stop: () => h323Port.close() });
    h323Port.decodeTo = { host: '127.0.0.1', port: h323Dec.port };
    h323Port.remote = ec.video!.remoteRtp;
    media.push(VideoEncoder.start({ codec: 'H264', pt: 96, to: h323Port.input, seconds: 10 }));
    if (real) await waitUntil(async () => sipPort.remote, 'the canvas at the SIP member', 15_000, 50);
    else sipPort.remote = { host: '127.0.0.1', port: 9 };
    media.push(VideoEncoder.start({ codec: 'VP8', pt: 96, to: sipPort.input, seconds: 10 }));

    if (real) {
      // both members' pictures in the canvas: 2 video members on the conference's member list
      const list = await waitUntil(async () => {
        const r = await esl!.api(`conference ${ROOM.name} list`);
        const rows = r.split('\n').filter((x) => /;/.test(x));
        return rows.filter((x) => /\bvideo\b/.test(x)).length >= 2 ? rows : undefined;
      }, 'two video members on FreeSWITCH\'s conference list', 15_000, 200);
      expect(list.length).to.be.at.least(2);
      await Promise.all([
        waitUntil(async () => sipDec.frames.filter(hasPicture).length >= 45 && bothTiles(sipDec) >= 30, 'the canvas with both pictures decoded (VP8) at the SIP member', 25_000, 100),
        waitUntil(async () => h323Dec.frames.filter(hasPicture).length >= 45 && bothTiles(h323Dec) >= 30, 'the canvas with both pictures decoded (H.264) at the H.323 member', 25_000, 100),
      ]);
      // Picture refresh (issue 14, item 2): after the join's burst of key frames FreeSWITCH sends
      // none unasked; the H.323 member's H.245 videoFastUpdatePicture brings one.
      await waitUntil(async () => {
        const keys = h323Dec.frames.filter((f) => f.key);
        return keys.length > 0 && Date.now() - keys[keys.length - 1]!.at > 1500;
      }, 'a pause in key frames at the H.323 member', 10_000, 50);
      const askedAt = Date.now();
      expect(ec.call.requestFastUpdate(), 'videoFastUpdatePicture sent').to.equal(true);
      const key = await waitUntil(async () => h323Dec.frames.find((f) => f.key && f.at > askedAt), 'a key frame after videoFastUpdatePicture', 2000, 10);
      refreshMs = key.at - askedAt;
      expect(refreshMs).to.be.below(1000);
    } else {
      expect(ec.call.requestFastUpdate(), 'videoFastUpdatePicture sent').to.equal(true);
      // the double has no canvas: it records the INFO picture_fast_update the gateway sent on the member's leg
      await waitUntil(async () => l.fs!.videoRefreshes.length === 1, 'picture_fast_update at the FreeSWITCH double', 5000, 20);
    }
    const sipp = await sippP;
    if (real) {
      // over the whole call (the encoders ran 10 s): frames, fps from the stream's timestamps, and
      // join -> first decoded frame (first packet at the member's port + that frame's stream time)
      const figures = (d: VideoDecoder, p: SymmetricVideoPort, joinAt: number): Record<string, unknown> => {
        const s = d.summary();
        return {
          frames: s.frames, withPicture: d.frames.filter(hasPicture).length, withBothTiles: bothTiles(d), fps: s.fps, sizes: s.sizes, decodeErrors: s.errors.length,
          joinToFirstFrameMs: p.firstReceivedAt !== undefined && s.firstPts !== undefined ? Math.round(p.firstReceivedAt + s.firstPts * 1000 - joinAt) : undefined,
        };
      };
      const fs = figures(sipDec, sipPort, sipJoinAt);
      const fh = figures(h323Dec, h323Port, h323JoinAt);
      if (process.env.VIDEO_FIGURES) console.log(`council video figures: SIP VP8 member ${JSON.stringify(fs)}; H.323 H.264 member ${JSON.stringify({ ...fh, fastUpdateToKeyFrameMs: refreshMs })}`);
      expect(sipDec.summary().sizes).to.deep.equal(['640x360']);
      expect(h323Dec.summary().sizes).to.deep.equal(['640x360']);
      expect(sipDec.summary().fps).to.be.within(10, 20);
      expect(h323Dec.summary().fps).to.be.within(10, 20);
    }
    expect(sipp.exitCode, sipp.stderr + sipp.messages).to.equal(0);
    // the SIP member's 200 kept its VP8 m-line
    expect(sipp.messages).to.match(/SIP\/2\.0 200 OK[\s\S]*?m=video [1-9]\d* RTP\/AVP 96[\s\S]*?a=rtpmap:96 VP8\/90000/);
    ec.call.hangup(16);
    await Promise.all(joins);
  });
});
