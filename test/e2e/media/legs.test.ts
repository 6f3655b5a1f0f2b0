/**
 * lib/media legs against the drachtio target + FreeSWITCH target: the SIP caller leg
 * (connectCaller) with RTP both ways, the H.323 leg (endpoint aimed at a placeholder, re-pointed
 * with updateRemote) bridged to the caller, jitter buffer on the ESL transcript, call-quality
 * figures only when FreeSWITCH sends them, and nothing left behind.
 *
 * FreeSWITCH writes silence on a leg that sits idle in fsmrf's socket app (the mrf dialplan's
 * send_silence_when_idle=-1), from the moment the leg has a remote address: the H.323 leg's
 * placeholder (in the gateway the discard port 9 of the target host, here a socket standing in
 * for it) gets that silence until the leg is re-pointed. The double does the same (idleSilence).
 */
import { expect } from 'chai';
import { stopAllSipp } from '../../lab/sipp.js';
import { metricValue } from '../../lab/wait.js';
import type { MediaSession, H323Leg, CallerLeg } from '../../../lib/media/session.js';
import {
  eslConnectionsAtMost, isSilence, payloadType, rtpPacket, seqOf, sippCaller, ssrcOf, startMediaLab, toneShare, udpPeer, PCAP_PACKETS, type MediaLab,
} from './harness.js';

const TONE = 'tone_stream://%(400,200,425);loops=2';

describe('media: SIP and H.323 legs', function () {
  this.timeout(30_000);
  let lab: MediaLab | undefined;

  beforeEach(async () => {
    // With the per-leg jitter buffer (media.jitterBufferMsec; off by default, when FreeSWITCH's
    // profile applies it), so its command can be checked on the transcript.
    lab = await startMediaLab({ jitterBufferMsec: '20:150' }, { idleSilence: true });
  });
  afterEach(async () => {
    stopAllSipp();
    await lab?.stop();
    lab = undefined;
  });

  it('connectCaller: SIPp PCMA caller, RTP counted both ways, jitter buffer applied, released without leaks', async () => {
    const l = lab!;
    let session: MediaSession | undefined;
    let leg: CallerLeg | undefined;
    const released = new Promise<string>((resolve, reject) => {
      l.onInvite((req, res) => {
        session = l.media.session();
        session.once('released', resolve);
        session.connectCaller(req, res).then((c) => {
          leg = c;
          c.endpoint.play(TONE).catch(() => undefined);
        }, reject);
      });
    });
    const hangupsComplete: string[] = [];
    l.media.on('hangup-complete', (h) => {
      if (h.quality === undefined) hangupsComplete.push(h.leg);
    });
    const sipp = await sippCaller(l, { user: 'caller', scenario: 'caller-bye', holdMs: 2800 });
    expect(sipp.exitCode, sipp.stderr).to.equal(0);
    expect(await released).to.equal('sip-hangup');
    expect(leg).to.not.equal(undefined);
    expect(session!.liveEndpoints).to.equal(0);
    expect(l.media.sessionCount).to.equal(0);
    if (!l.fs) return; // counters and transcript below come from the double
    const chans = l.fs.channelInfo();
    expect(chans).to.have.length(1);
    const ch = chans[0]!;
    expect(ch.state).to.equal('hangup');
    expect(ch.rtp.rxPackets).to.equal(PCAP_PACKETS); // caller -> FreeSWITCH
    expect(ch.rtp.rxPayloadTypes[8]).to.equal(PCAP_PACKETS);
    expect(ch.rtp.txPackets).to.be.greaterThan(10); // FreeSWITCH -> caller (the tone)
    expect(ch.rtp.txPayloadTypes[8]).to.equal(ch.rtp.txPackets);
    // the jitter buffer command on the outbound ESL connection
    const jb = l.fs.transcript.filter((t) => t.dir === 'app->FS' && /execute-app-name: jitterbuffer/.test(t.text));
    expect(jb).to.have.length(1);
    expect(jb[0]!.text).to.contain('execute-app-arg: 20:150');
    // the double sent CHANNEL_HANGUP_COMPLETE without statistics: nothing was recorded
    await waitForHangupComplete(l, hangupsComplete, 1);
    expect(hangupsComplete).to.deep.equal(['sip']);
    const text = await l.registry.metrics();
    expect(metricValue(text, 'gw_media_rtp_mos_count', { leg: 'sip' })).to.equal(undefined);
    expect(metricValue(text, 'gw_media_rtp_jitter_ms_count', { leg: 'sip' })).to.equal(undefined);
    expect(metricValue(text, 'gw_media_server_up')).to.equal(1);
    await eslConnectionsAtMost(l.fs, 1); // only the inbound ESL connection remains
  });

  it('H.323 leg: endpoint aimed at a placeholder, re-pointed by updateRemote, bridged to the caller; RTP relayed both ways, none of it at the placeholder', async () => {
    const l = lab!;
    const placeholder = await udpPeer();
    const h323 = await udpPeer();
    try {
      let h: H323Leg | undefined;
      let atRepoint: number | undefined;
      let bridged!: () => void;
      const isBridged = new Promise<void>((r) => {
        bridged = r;
      });
      const released = new Promise<string>((resolve, reject) => {
        l.onInvite((req, res) => {
          const s = l.media.session();
          s.once('released', resolve);
          (async () => {
            const caller = await s.connectCaller(req, res);
            // Setup goes out with FreeSWITCH's RTP address in the OLCs; the far end's is not known yet
            h = await s.createEndpointFor({ host: '127.0.0.1', port: placeholder.port, codec: 'PCMU' });
            // meanwhile FreeSWITCH's idle silence goes to the placeholder
            await placeholder.waitForCount(1);
            // the fastStart answer names the real RTP address
            atRepoint = h323.packets.length;
            await h.updateRemote({ host: '127.0.0.1', port: h323.port, codec: 'PCMU' });
            await s.bridge(caller.endpoint, h.endpoint);
            bridged();
          })().catch(reject);
        });
      });
      const sippDone = sippCaller(l, { user: 'h323', scenario: 'caller-bye', holdMs: 2800 });
      await isBridged;
      expect(h!.endpoint.remote.mediaPort).to.equal(String(h323.port));
      expect(h!.local.port).to.be.greaterThan(0);
      // caller audio (SIPp's 1 kHz A-law) reaches the H.323 side, in u-law (FreeSWITCH transcodes)
      await h323.waitForCount(10, (p) => payloadType(p) === 0 && toneShare(p, 1000) > 0.5);
      // the H.323 side talks back
      for (let i = 0; i < 50; i++) h323.sock.send(rtpPacket(0, i), h!.local.port, '127.0.0.1');
      const sipp = await sippDone;
      expect(sipp.exitCode, sipp.stderr).to.equal(0);
      expect(await released).to.equal('sip-hangup');
      expect(l.media.sessionCount).to.equal(0);

      // On the wire: nothing reached the H.323 side before the leg was pointed at it ...
      expect(atRepoint).to.equal(0);
      // ... the placeholder got nothing but FreeSWITCH's idle silence (never the caller's audio) ...
      expect(placeholder.packets.filter((p) => !isSilence(p))).to.have.length(0);
      // ... and only before the re-point: the leg's one stream (one SSRC, one sequence) went to the
      // placeholder first and to the H.323 side from then on
      const stream = [...placeholder.packets, ...h323.packets];
      expect(new Set(stream.map(ssrcOf)).size).to.equal(1);
      const rel = (p: Buffer): number => (seqOf(p) - seqOf(stream[0]!)) & 0xffff;
      expect(Math.max(...placeholder.packets.map(rel))).to.be.lessThan(Math.min(...h323.packets.map(rel)));
      if (!l.fs) return;
      const chans = l.fs.channelInfo();
      expect(chans.map((c) => c.state)).to.deep.equal(['hangup', 'hangup']);
      const hCh = chans.find((c) => c.uuid === h!.endpoint.uuid)!;
      const cCh = chans.find((c) => c.uuid !== h!.endpoint.uuid)!;
      expect(hCh.remoteRtp?.port).to.equal(h323.port);
      expect(hCh.codec).to.equal('PCMU');
      expect(hCh.rtp.rxPackets).to.equal(50); // H.323 side -> FreeSWITCH
      expect(cCh.rtp.relayedTx).to.equal(50); // ... relayed on to the caller
      expect(cCh.rtp.txPayloadTypes[8]).to.equal(cCh.rtp.txPackets); // in the caller's law (idle silence included)
      // every packet the H.323 leg sent is on the wire: silence (placeholder, then the H.323 side
      // until the bridge) and the caller's audio relayed
      expect(hCh.rtp.txPackets).to.equal(placeholder.packets.length + h323.packets.length);
      expect(hCh.rtp.relayedTx).to.equal(h323.packets.filter((p) => !isSilence(p)).length);
      await eslConnectionsAtMost(l.fs, 1); // only the inbound ESL connection remains
    } finally {
      placeholder.close();
      h323.close();
    }
  });
});

async function waitForHangupComplete(l: MediaLab, seen: string[], n: number): Promise<void> {
  if (seen.length >= n) return;
  await new Promise<void>((resolve) => {
    const on = (): void => {
      if (seen.length >= n) {
        l.media.off('hangup-complete', on);
        resolve();
      }
    };
    l.media.on('hangup-complete', on);
  });
}
