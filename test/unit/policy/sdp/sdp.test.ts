import { expect } from 'chai';
import fc from 'fast-check';
import { parse } from 'sdp-transform';
import { filterSdp } from '../../../../lib/sdp/filter.js';
import { parseSdp } from '../../../../lib/sdp/parse.js';
import { capBandwidth, dropMedia } from '../../../../lib/sdp/edit.js';
import { estimateSdp } from '../../../../lib/sdp/bandwidth.js';
import { codecByName, wireBps, efficiency } from '../../../../lib/sdp/catalogue.js';
import { selectCodec } from '../../../../lib/sdp/selector.js';
import { analyseCouncil, councilMarkdown } from '../../../../lib/sdp/council.js';
import { AUDIO_VIDEO_OFFER, audioOffer, videoOffer } from './sdp-samples.js';

describe('policy/sdp: codec whitelist filter', () => {
  it('keeps allowed codecs with their rtpmap/fmtp/rtcp-fb and drops the rest consistently', () => {
    const res = filterSdp(AUDIO_VIDEO_OFFER);
    expect(res.ok).to.equal(true);
    if (!res.ok) return;
    const s = parse(res.sdp);
    expect(s.media.map((m) => m.type)).to.deep.equal(['audio', 'video']);
    const [a, v] = s.media;
    expect(String(a!.payloads)).to.equal('0 8 111 101');
    expect(a!.rtp.map((r) => r.codec)).to.deep.equal(['PCMU', 'PCMA', 'opus', 'telephone-event']);
    expect(a!.fmtp.map((f) => f.payload)).to.deep.equal([111, 101]);
    expect(String(v!.payloads)).to.equal('96 97'); // rtx 97 follows VP8; rtx 99 went with H264
    expect(v!.fmtp.map((f) => f.config)).to.deep.equal(['apt=96']);
    expect(v!.rtcpFb!.map((f) => `${f.payload} ${f.type}`)).to.deep.equal(['96 nack', '* ccm']);
    expect(s.groups![0]!.mids).to.equal('0 1');
    expect(res.sdp).not.to.match(/G722|H264|BFCP/);
    expect(res.removed).to.include.members(['G722', 'H264']);
  });

  it('uses the static payload table when rtpmap is absent', () => {
    const sdp = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9 18\r\n';
    const res = filterSdp(sdp);
    expect(res.ok).to.equal(true);
    if (res.ok) expect(String(parse(res.sdp).media[0]!.payloads)).to.equal('18');
  });

  it('telephone-event alone is not enough: none left -> not ok with offered list', () => {
    const res = filterSdp(audioOffer(['G722/8000', 'telephone-event/8000']));
    expect(res.ok).to.equal(false);
    if (!res.ok) {
      expect(res.malformed).to.equal(false);
      expect(res.offered).to.deep.equal(['G722', 'telephone-event']);
    }
  });

  it('honours a configured list', () => {
    const res = filterSdp(audioOffer(['G722/8000', 'PCMU/8000']), { allow: ['g722'] });
    expect(res.ok && String(parse(res.sdp).media[0]!.payloads)).to.equal('96');
  });

  it('reports malformed SDP as malformed', () => {
    for (const bad of ['', 'hello', 'v=0\r\n', 'v=0\r\nm=audio x RTP/AVP 0\r\n', 'v=0\r\nm=audio 4000 RTP/AVP 0 abc\r\n', 'v=0\r\nzzz\r\nm=audio 1 RTP/AVP 0\r\n', 'v=0\r\nm=audio 4000  {RTP/AVP 0 96\r\n', 'v=0\r\nm=audio 4000 RTP/AVP\r\n', audioOffer(['PCMU/8000', 'G722/8000']).replace('\r\na=rtpmap:97', '\ra=rtpmap:97')]) {
      const res = filterSdp(bad);
      expect(res.ok, JSON.stringify(bad)).to.equal(false);
      if (!res.ok) expect(res.malformed, JSON.stringify(bad)).to.equal(true);
    }
    expect(parseSdp('v=0\r\n' + 'a=x\r\n'.repeat(5000)).ok).to.equal(false);
    // Found by test/fuzz/policy.ts: sdp-transform turns a numeric codec name into a number.
    const numeric = filterSdp(audioOffer(['PCMU/8000', '0']));
    expect(numeric.ok && String(parse(numeric.sdp).media[0]!.payloads)).to.equal('96');
  });

  it('fuzz: never throws; output only ever holds allowed codecs and consistent payload lists', () => {
    const codec = fc.constantFrom('PCMU/8000', 'PCMA/8000', 'G722/8000', 'opus/48000/2', 'H264/90000', 'VP8/90000', 'telephone-event/8000', 'rtx/90000', 'iLBC/8000');
    fc.assert(
      fc.property(fc.array(codec, { minLength: 1, maxLength: 6 }), fc.array(fc.string({ maxLength: 30 }), { maxLength: 4 }), (codecs, junk) => {
        const extra = junk.map((j) => `a=${j.replace(/[\r\n]/g, '')}`);
        const res = filterSdp(audioOffer(codecs, extra));
        if (!res.ok) return true;
        for (const m of parse(res.sdp).media) {
          const pts = String(m.payloads).split(' ').map(Number);
          for (const r of m.rtp) {
            expect(pts).to.include(r.payload);
            expect(['pcmu', 'pcma', 'opus', 'vp8', 'telephone-event', 'g729', 'rtx']).to.include(r.codec.toLowerCase());
          }
          for (const f of m.fmtp) expect(pts).to.include(f.payload);
        }
        return true;
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        filterSdp(s);
        filterSdp(`v=0\r\n${s}`);
      }),
      { numRuns: 300 },
    );
  });
});

describe('policy/sdp: line edits (fairness trimming)', () => {
  it('caps a video stream with b=AS in RFC 4566 order, dropping TIAS, other lines untouched', () => {
    const text = videoOffer().replace('m=video 4002 RTP/AVP 96\r\n', 'm=video 4002 RTP/AVP 96\r\nc=IN IP4 192.0.2.11\r\nb=TIAS:2000000\r\n');
    const out = capBandwidth(text, [1], 900.7);
    const video = out.slice(out.indexOf('m=video'));
    expect(video).to.equal('m=video 4002 RTP/AVP 96\r\nc=IN IP4 192.0.2.11\r\nb=AS:900\r\na=rtpmap:96 VP8/90000\r\n');
    expect(out.slice(0, out.indexOf('m=video'))).to.equal(text.slice(0, text.indexOf('m=video')));
    expect(parseSdp(out).ok).to.equal(true);
  });

  it('drops media sections and their mids from BUNDLE', () => {
    const out = dropMedia(AUDIO_VIDEO_OFFER, [1, 2]);
    const p = parseSdp(out);
    expect(p.ok).to.equal(true);
    if (!p.ok) return;
    expect(p.sdp.media.map((m) => m.type)).to.deep.equal(['audio']);
    expect(out).to.include('a=group:BUNDLE 0\r\n');
    expect(out).not.to.match(/VP8|BFCP/);
  });
});

describe('policy/sdp: catalogue, bandwidth, selector, council', () => {
  it('computes on-wire rates with 40-byte IPv4/UDP/RTP headers', () => {
    expect(wireBps(codecByName('PCMU')!)).to.equal(80_000);
    expect(wireBps(codecByName('G729')!)).to.equal(24_000);
    expect(wireBps(codecByName('opus')!)).to.equal(48_000);
    expect(wireBps(codecByName('PCMU')!, { ipv6: true })).to.equal(88_000);
    expect(efficiency(codecByName('G729')!)).to.be.greaterThan(efficiency(codecByName('PCMU')!));
  });

  it('estimates SDP bandwidth from b=AS, b=TIAS or the catalogue', () => {
    const p = parseSdp(videoOffer(1000));
    expect(p.ok).to.equal(true);
    if (!p.ok) return;
    const e = estimateSdp(p.sdp);
    expect(e.media.map((m) => [m.codec, m.bps, m.source])).to.deep.equal([
      ['PCMU', 80_000, 'catalogue'],
      ['VP8', 1_000_000, 'AS'],
    ]);
    const t = parseSdp(audioOffer(['opus/48000/2'], ['b=TIAS:64000']));
    if (t.ok) expect(estimateSdp(t.sdp).totalBps).to.equal(64_000 + 50 * 320);
  });

  it('selects the best common codec, within a budget', () => {
    expect(selectCodec([['PCMU', 'opus', 'G729'], ['G729', 'opus'], ['opus', 'PCMA', 'G729']], 'audio')!.codec.name).to.equal('opus');
    expect(selectCodec([['PCMU', 'opus', 'G729'], ['G729', 'opus']], 'audio', 30_000)!.codec.name).to.equal('G729');
    expect(selectCodec([['PCMU'], ['PCMA']], 'audio')).to.equal(undefined);
    expect(selectCodec([['VP8', 'H264'], ['H264', 'VP8']], 'video')!.codec.name).to.equal('H264');
  });

  it('analyses the 12-guardian council: declared 25.0 Mbps vs the stated 24.7', () => {
    const r = analyseCouncil({ participants: 12 });
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.analysis.rows.length).to.equal(12);
    expect(r.analysis.totals.declaredBps).to.equal(25_000_000);
    const audioOnly = r.analysis.rows.filter((x) => x.media === 'audio only');
    expect(audioOnly.map((x) => x.upBps)).to.deep.equal([48_000, 48_000, 48_000]);
    expect(r.analysis.totals.serverBps).to.equal(2 * r.analysis.totals.upBps);
    const mesh = analyseCouncil({ participants: 12, topology: 'mesh' });
    if (mesh.ok) expect(mesh.analysis.totals.downBps).to.equal(11 * r.analysis.totals.upBps);
    expect(councilMarkdown(r.analysis)).to.match(/\| T-01 \| Technical \| VP8 video/);
    expect(analyseCouncil({ participants: 0 }).ok).to.equal(false);
    expect(analyseCouncil({ participants: 2, audioCodec: 'nope' }).ok).to.equal(false);
  });
});
