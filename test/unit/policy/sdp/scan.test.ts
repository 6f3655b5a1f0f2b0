/**
 * The hot path's SDP reader (scanSdp) and the filter built on it, held to what they replaced:
 * parseSdp (sdp-transform) for accept/refuse and every field read, the previous filter
 * (reference-filter.ts) for every output, on fixed edge cases and on generated offers.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { parseSdp } from '../../../../lib/sdp/parse.js';
import { scanSdp } from '../../../../lib/sdp/scan.js';
import { filterSdp } from '../../../../lib/sdp/filter.js';
import { estimateSdp } from '../../../../lib/sdp/bandwidth.js';
import { referenceFilterSdp } from './reference-filter.js';
import { AUDIO_VIDEO_OFFER, audioOffer, videoOffer } from './sdp-samples.js';

const HEAD = 'v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n';

/** Media fields as the policy reads them, normalised the way its readers use them. */
function view(media: ReadonlyArray<{ type: string; port: number; payloads?: string | number; rtp?: ReadonlyArray<{ payload: number | string; codec: string | number }>; fmtp?: ReadonlyArray<{ payload: number | string; config: string | number }>; bandwidth?: ReadonlyArray<{ type: string; limit: number | string }>; ptime?: number; mid?: string | number }>) {
  return media.map((m) => ({
    type: m.type,
    port: m.port,
    payloads: String(m.payloads ?? ''),
    rtp: (m.rtp ?? []).map((r) => [r.payload, String(r.codec)]),
    fmtp: (m.fmtp ?? []).map((f) => [f.payload, String(f.config)]),
    bandwidth: (m.bandwidth ?? []).map((b) => [b.type, Number(b.limit)]),
    // Only ever used as a divisor.
    ptime: m.ptime === undefined ? 'none' : String(1000 / m.ptime),
    mid: m.mid === undefined ? 'none' : String(m.mid),
  }));
}

function same(text: string, allow?: readonly string[]): void {
  const label = JSON.stringify(text);
  const p = parseSdp(text);
  const s = scanSdp(text);
  expect(s.ok ? 'ok' : s.reason, label).to.equal(p.ok ? 'ok' : p.reason);
  if (p.ok && s.ok) {
    expect(s.lines, label).to.deep.equal(p.lines);
    expect(view(s.offer.media), label).to.deep.equal(view(p.sdp.media));
    // Session-level b= lines, as sdp-transform reads them.
    const sessionBw = (b?: ReadonlyArray<{ type: string; limit: number | string }>) => (b ?? []).map((x) => [x.type, Number(x.limit)]);
    expect(sessionBw(s.offer.bandwidth), label).to.deep.equal(sessionBw(p.sdp.bandwidth));
    expect(estimateSdp(s.offer), label).to.deep.equal(estimateSdp(p.sdp));
  }
  const opts = allow ? { allow } : {};
  const f = filterSdp(text, opts);
  const r = referenceFilterSdp(text, opts);
  if (!f.ok || !r.ok) {
    expect(f, label).to.deep.equal(r);
    return;
  }
  expect([f.sdp, f.kept, f.removed], label).to.deep.equal([r.sdp, r.kept, r.removed]);
  expect(view(f.parsed.media), label).to.deep.equal(view(r.parsed.media));
  expect(estimateSdp(f.parsed), label).to.deep.equal(estimateSdp(r.parsed));
}

const CODECS = ['PCMU/8000', 'PCMA/8000', 'G722/8000', 'G729/8000', 'opus/48000/2', 'H264/90000', 'VP8/90000', 'VP9/90000', 'telephone-event/8000', 'rtx/90000', 'red/90000', 'CN/8000', '0', ''];
const ATTR = fc.oneof(
  fc.constantFrom('a=mid:0', 'a=mid:1', 'a=mid:', 'a=mid:01', 'a=ptime:20', 'a=ptime:', 'a=ptime:1.2.3', 'a=ptime:020', 'a=ptime:0', 'a=sendrecv', 'a=group:BUNDLE 0 1', 'a=group:BUNDLE 0  1'),
  fc.constantFrom('b=AS:', 'b=AS:0', 'b=AS:0700', 'b=TIAS:64000', 'b=TIAS:', 'b=ASX:1', 'b=CT:100', 'b=AS:-1', 'b=TIAS:-99999999999', 'b=AS:9999999999999999999999', 'a=rtcp-fb:* nack', 'a=rtcp-fb: nack', 'a=rtcp-fb-trr-int:96 100'),
  fc.tuple(fc.constantFrom('rtpmap', 'fmtp', 'rtcp-fb'), fc.constantFrom('0', '8', '96', '097', '', ' 96', '97', '98', '127', '00', '1000', '*'), fc.constantFrom(...CODECS, 'apt=96', 'apt=97', 'x;apt=98', 'nack pli', 'a\tb', 'x\u00a0apt=96', 'apt=96\u3000', 'a|b c', '\ufeffPCMU/8000', 'PC+MU/8000', ' PCMU/8000', '', 'x \u2028y')).map(([k, pt, v]) => `a=${k}:${pt} ${v}`),
  fc.string({ maxLength: 24 }).map((s) => `a=${s.replace(/[\r\n]/g, '')}`),
);
const WEIRD_MLINE = fc
  .tuple(
    fc.constantFrom('audio', 'video', 'application', 'image', 'Audio'),
    fc.constantFrom('4000', '0', '04000', '65535', '65536', '4000/2', '99999'),
    fc.constantFrom('RTP/AVP', 'RTP/SAVPF', 'UDP/TLS/RTP/SAVPF', 'RTP/AVP.x', 'X.RTP', 'RTP-AVP', 'UDP/BFCP', 'udp'),
    fc.array(fc.constantFrom('0', '8', '9', '18', '34', '96', '97', '98', '99', '101', '127', '128', '007', '*', 'x'), { minLength: 0, maxLength: 6 }),
  )
  .map(([t, port, proto, fmts]) => `m=${t} ${port} ${proto}${fmts.map((f) => ` ${f}`).join('')}`);
const VALID_MLINE = fc
  .tuple(
    fc.constantFrom('audio', 'audio', 'video', 'application'),
    fc.constantFrom('4000', '4002', '0'),
    fc.constantFrom('RTP/AVP', 'RTP/SAVPF', 'UDP/TLS/RTP/SAVPF'),
    fc.array(fc.constantFrom('0', '8', '9', '18', '34', '96', '97', '98', '99', '101', '127'), { minLength: 1, maxLength: 6 }),
  )
  .map(([t, port, proto, fmts]) => `m=${t} ${port} ${proto}${fmts.map((f) => ` ${f}`).join('')}`);
const MLINE = fc.oneof({ weight: 5, arbitrary: VALID_MLINE }, { weight: 1, arbitrary: WEIRD_MLINE });
const SECTION = fc.tuple(MLINE, fc.array(ATTR, { maxLength: 8 })).map(([m, attrs]) => [m, ...attrs]);
const OFFER = fc
  .tuple(fc.array(ATTR, { maxLength: 3 }), fc.array(SECTION, { minLength: 1, maxLength: 4 }), fc.constantFrom('\r\n', '\n'))
  .map(([session, sections, nl]) => `${HEAD}${[...session, ...sections.flat()].join(nl)}${nl}`);

/** Random edits of a valid string: near-misses, not only noise. */
const mutate = (valid: string) =>
  fc.array(fc.tuple(fc.nat(valid.length), fc.nat(6), fc.constantFrom('', ' ', '\r', '\n', '\r\n', '/', '.', '0', '=', 'm=', 'a=', '\t', '\u2028', 'é')), { maxLength: 4 }).map((edits) => {
    let s = valid;
    for (const [at, del, ins] of edits) s = s.slice(0, at) + ins + s.slice(at + del);
    return s;
  });

describe('policy/sdp: scanSdp and the filter agree with sdp-transform and the previous filter', () => {
  it('fixed cases', () => {
    const cases = [
      AUDIO_VIDEO_OFFER,
      audioOffer(['PCMU/8000', '0']),
      audioOffer(['G722/8000', 'telephone-event/8000']),
      videoOffer(1000),
      audioOffer(['opus/48000/2'], ['b=TIAS:64000', 'a=ptime:40']),
      `${HEAD}m=audio 4000/2 RTP/AVP 0\r\n`,
      `${HEAD}m=audio 04000 RTP/AVP 0\r\n`,
      `${HEAD}m=audio 70000 RTP/AVP 0\r\n`,
      `${HEAD}m=audio 4000 RTP/AVP.x 0\r\n`,
      `${HEAD}m=audio 4000 RTP-AVP 0\r\n`,
      `${HEAD}m=audio 4000 X.RTP 0 x\r\n`,
      `${HEAD}m=audio 4000 udp 0 x 8\r\n`,
      `${HEAD}m=application 5000 UDP/BFCP *\r\na=mid:2\r\nm=audio 4000 RTP/AVP 0\r\n`,
      `${HEAD}a=group:BUNDLE 0 1\r\nm=audio 4000 RTP/AVP 9\r\na=mid:0\r\nm=audio 4002 RTP/AVP 0\r\na=mid:1\r\n`,
      `${HEAD}m=audio 4000 RTP/AVP 0\r\na=ptime:\r\n`,
      `${HEAD}m=audio 4000 RTP/AVP 0\r\nb=AS:0700\r\n`,
      `${HEAD}m=audio 4000 RTP/AVP 0\r\na=ptime:.20\r\n`,
      `${HEAD}b=AS:2000\r\nb=CT:0100\r\nb=X-YZ:1\r\nm=audio 4000 RTP/AVP 0\r\nb=AS:-1\r\n`,
      `${HEAD}b=TIAS:-99999999999\r\nm=audio 4000 RTP/AVP 0\r\n`,
      `${HEAD}b=AS:2000\r\nb=CT:0100\r\nm=audio 4000 RTP/AVP 0\r\nb=AS:64\r\nb=AS:128\r\n`,
      `${HEAD}m=video 4000 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=fmtp:97 apt=98\r\n`,
      `${HEAD}m=video 4000 RTP/AVP 97 96\r\na=rtpmap:097 H264/90000\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n`,
      `${HEAD}m=audio 4000 RTP/AVP 0\r\nm=audio 4000 RTP/AVP 0 abc\r\n`,
      `${HEAD}m=audio 4000 RTP/AVP 0 abc\r\nm=audio 4000/2 RTP/AVP 0\r\n`,
      `${HEAD}m=audio 4000/2 RTP/AVP 0\r\nm=audio 4000 RTP-AVP 0\r\n`,
      'v=0\r\n\r\n\r\n',
      '\r\n\r\n',
      'v=0\r\nm=audio 4000 RTP/AVP 0\r\nX=1\r\n',
      'v=0\r\nm=audio 4000 RTP/AVP 0\r\r\n',
      '',
    ];
    for (const c of cases) same(c);
    for (const allow of [['rtx', 'H264'], ['g722'], [], ['ptNaN', 'pt128', ''], ['0', 'PCMU']]) for (const c of cases) same(c, allow);
  });

  it('generated offers, and mutations of them', () => {
    fc.assert(fc.property(OFFER, (o) => same(o)), { numRuns: 1500 });
    fc.assert(fc.property(OFFER.chain((o) => mutate(o)), (o) => same(o)), { numRuns: 1500 });
    fc.assert(fc.property(mutate(AUDIO_VIDEO_OFFER), fc.constantFrom(undefined, ['rtx', 'VP8', 'opus'], ['G722']), (o, allow) => same(o, allow)), { numRuns: 1000 });
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => (same(s), same(`v=0\r\n${s}`))), { numRuns: 500 });
  });
});
