/**
 * b= lines (issue 15, item 3): the SDP readers' bandwidth handling (scanSdp on the hot path,
 * parseSdp beside it) and the quota's charge, held to a reference written here from RFC 8866
 * 5.8 / RFC 3890 in the plainest way (character lists, BigInt, no shared code), over generated
 * offers with random b= lines at session and media level: signs, whitespace, huge digit runs,
 * leading zeros, repeated and unknown types. Then the codec and fairness gates end to end: a
 * malformed value is 400 Bad Request, a huge one meets the quota's normal answer, zero never
 * lowers the charge, and nothing admitted or forwarded carries a value the charge did not cover.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { scanSdp, BAD_BANDWIDTH_REASON } from '../../../lib/sdp/scan.js';
import { parseSdp } from '../../../lib/sdp/parse.js';
import { estimateSdp, largestBps, MAX_BANDWIDTH_BPS } from '../../../lib/sdp/bandwidth.js';
import { clampSessionBandwidth } from '../../../lib/sdp/edit.js';
import { CodecGate } from '../../../lib/policy/codec-gate.js';
import { FairnessGate } from '../../../lib/policy/fairness.js';
import { MemoryCallLedger } from '../../../lib/state/memory.js';
import { plainRequest, type ChainState, type Decision } from '../../../lib/policy/types.js';

// ---------------------------------------------------------------- reference

/** RFC 8866 token-char, spelled out: ! # $ % & ' * + - . 0-9 A-Z ^ _ ` a-z { | } ~ */
const TOKEN_CHARS = "!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz{|}~";
const DIGITS = '0123456789';
const KNOWN = ['AS', 'CT', 'TIAS', 'RR', 'RS'];
const CEILING = 1_000_000_000_000n;

interface RefLine { type: string; digits: string }

/** b=<type>:<value>: split at the first ':'; type all token chars, value all ASCII digits, both non-empty. */
function refParseLine(line: string): RefLine | undefined {
  const body = line.slice(2);
  const colon = body.indexOf(':');
  if (colon <= 0) return undefined;
  const type = body.slice(0, colon);
  const digits = body.slice(colon + 1);
  if (![...type].every((ch) => TOKEN_CHARS.includes(ch))) return undefined;
  if (digits.length === 0 || ![...digits].every((ch) => DIGITS.includes(ch))) return undefined;
  return { type, digits };
}

/** Bits/s of the largest line of `type` (AS/CT in kbps), capped at 1 Tbps, as BigInt. */
function refLargest(lines: RefLine[], type: string): bigint {
  let best = 0n;
  for (const l of lines) {
    if (l.type !== type) continue;
    let v = BigInt(l.digits);
    if (type === 'AS' || type === 'CT') v *= 1000n;
    if (v > CEILING) v = CEILING;
    if (v > best) best = v;
  }
  return best;
}

type RefSdp = { ok: false } | { ok: true; session: RefLine[]; media: RefLine[][] };

function refBandwidth(text: string): RefSdp {
  const session: RefLine[] = [];
  const media: RefLine[][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('m=')) media.push([]);
    if (!line.startsWith('b=')) continue;
    const l = refParseLine(line);
    if (!l) return { ok: false };
    (media.length === 0 ? session : media[media.length - 1]!).push(l);
  }
  return { ok: true, session, media };
}

/** Header bits per packet (IPv4 + UDP + RTP = 40 bytes). */
const HDR = 320n;

/** The charge of one stream of the generated shape: PCMU at 20 ms, or VP8. */
function refCharge(kind: 'audio' | 'video', lines: RefLine[]): bigint {
  const tias = refLargest(lines, 'TIAS');
  const as = refLargest(lines, 'AS');
  const pps = (t: bigint): bigint => (kind === 'audio' ? 50n : (t + 9599n) / 9600n); // video: ceil(rate / 8 / 1200)
  const fromTias = tias > 0n ? tias + pps(tias) * HDR : 0n;
  const best = fromTias > as ? fromTias : as;
  if (best > 0n) return best;
  return kind === 'audio' ? 64_000n + 50n * HDR : 1_800_000n + pps(1_800_000n) * HDR;
}

// ---------------------------------------------------------------- generators

const HEAD = 'v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n';
const AUDIO = ['m=audio 4000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000'];
const VIDEO = ['m=video 4002 RTP/AVP 96', 'a=rtpmap:96 VP8/90000'];

const digitRun = fc.oneof(
  fc.stringMatching(/^[0-9]{1,6}$/),
  fc.stringMatching(/^0{1,5}[0-9]{0,4}$/),
  fc.stringMatching(/^[1-9][0-9]{10,40}$/),
  fc.constantFrom('0', '1', '64', '2500', '2800', '2999', '3000', '2800000', '1000000000', '999999999999', '1000000000000', '1000000000001', '9'.repeat(400)),
);
const VALUE = fc.oneof(
  { weight: 6, arbitrary: digitRun },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('-', '+', ' ', '\t', '-0', '--', '\u00a0'), digitRun).map(([a, b]) => a + b) },
  { weight: 2, arbitrary: fc.tuple(digitRun, fc.constantFrom(' ', '.5', 'e3', 'k', '\t', ',0', '-')).map(([a, b]) => a + b) },
  { weight: 1, arbitrary: fc.constantFrom('', '-1', '-99999999999', 'abc', '0x10', '1e3', 'NaN', 'Infinity', '\u0663', '\uff11', '1 000') },
);
const TYPE = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KNOWN) },
  { weight: 2, arbitrary: fc.constantFrom('X-YZ', 'as', 'Tias', 'ASX', 'X_BW', "x'#*+.~") },
  { weight: 1, arbitrary: fc.constantFrom('', ' AS', 'AS ', 'A S', 'A:S', 'A\u00e9', '(AS)') },
);
const B_LINE = fc.oneof(
  { weight: 10, arbitrary: fc.tuple(TYPE, VALUE).map(([t, v]) => `b=${t}:${v}`) },
  { weight: 1, arbitrary: fc.tuple(TYPE, VALUE, fc.constantFrom('', '=', '::', ': ')).map(([t, v, sep]) => `b=${t}${sep}${v}`) },
);
/** Well-formed lines only (known and unknown types, any digits): the quota's side of the rules. */
const CLEAN_LINE = fc.tuple(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...KNOWN) }, { weight: 1, arbitrary: fc.constantFrom('X-YZ', 'as') }), digitRun).map(([t, v]) => `b=${t}:${v}`);
const offerOf = (line: fc.Arbitrary<string>) => {
  const lines = fc.array(line, { maxLength: 3 });
  return fc.tuple(lines, lines, fc.option(lines, { nil: undefined }), fc.constantFrom('\r\n', '\n'));
};
const OFFER = fc
  .oneof(offerOf(B_LINE), offerOf(CLEAN_LINE))
  .map(([session, audio, video, nl]) => {
    const lines = [...HEAD.trimEnd().split('\r\n'), ...session, AUDIO[0]!, ...audio, AUDIO[1]!, ...(video ? [VIDEO[0]!, ...video, VIDEO[1]!] : [])];
    return { text: `${lines.join(nl)}${nl}`, hasVideo: video !== undefined };
  });

// ---------------------------------------------------------------- gate helpers

const LIMIT = 3_000_000;

async function throughGates(text: string): Promise<{ decision: Decision; state: ChainState; reservedBps: number }> {
  const ledger = new MemoryCallLedger();
  const codec = new CodecGate({});
  const fairness = new FairnessGate(ledger, { defaultLimitBps: LIMIT });
  const req = plainRequest({ method: 'INVITE', uri: 'sip:council@gw', headers: { 'Call-ID': 'c1', 'Content-Type': 'application/sdp' }, body: text, source: { address: '192.0.2.99', port: 5060 } });
  const state: ChainState = { mutations: { headers: {} }, notes: [] };
  let decision = codec.decide(req, state);
  if (decision.outcome === 'admit') decision = await fairness.decide(req, state);
  const reservedBps = (await ledger.usage('src:192.0.2.99')).bps;
  return { decision, state, reservedBps };
}

/** Every b= line of a text, by level. */
function bLines(text: string): { session: string[]; media: string[] } {
  const out = { session: [] as string[], media: [] as string[] };
  let inMedia = false;
  for (const l of text.split(/\r?\n/)) {
    if (l.startsWith('m=')) inMedia = true;
    if (l.startsWith('b=')) (inMedia ? out.media : out.session).push(l);
  }
  return out;
}

const sdp = (session: string[], audio: string[], video?: string[]): string =>
  `${HEAD}${session.map((l) => `${l}\r\n`).join('')}${AUDIO[0]}\r\n${audio.map((l) => `${l}\r\n`).join('')}${AUDIO[1]}\r\n` +
  (video ? `${VIDEO[0]}\r\n${video.map((l) => `${l}\r\n`).join('')}${VIDEO[1]}\r\n` : '');

// ---------------------------------------------------------------- tests

describe('sdp: b= lines against the reference', () => {
  it('scanSdp and parseSdp accept exactly the b= lines the reference accepts, and read the same values', () => {
    fc.assert(
      fc.property(OFFER, ({ text }) => {
        const ref = refBandwidth(text);
        const s = scanSdp(text);
        const p = parseSdp(text);
        expect(s.ok, text).to.equal(ref.ok);
        expect(p.ok, text).to.equal(ref.ok);
        if (!ref.ok) {
          expect(s.ok ? '' : s.reason).to.equal(BAD_BANDWIDTH_REASON);
          expect(p.ok ? '' : p.reason).to.equal(BAD_BANDWIDTH_REASON);
          return;
        }
        if (!s.ok || !p.ok) return;
        for (const type of KNOWN) {
          const want = Number(refLargest(ref.session, type));
          expect(largestBps(s.offer.bandwidth, type), `${text} session ${type}`).to.equal(want);
          expect(largestBps(p.sdp.bandwidth, type), `${text} session ${type} (sdp-transform)`).to.equal(want);
          ref.media.forEach((lines, i) => {
            const w = Number(refLargest(lines, type));
            expect(largestBps(s.offer.media[i]!.bandwidth, type), `${text} m${i} ${type}`).to.equal(w);
            expect(largestBps(p.sdp.media[i]!.bandwidth, type), `${text} m${i} ${type} (sdp-transform)`).to.equal(w);
          });
        }
        const est = estimateSdp(s.offer);
        expect(est).to.deep.equal(estimateSdp(p.sdp));
        const want = ref.media.map((lines, i) => Number(refCharge(i === 0 ? 'audio' : 'video', lines)));
        expect(est.media.map((m) => m.bps), text).to.deep.equal(want);
        for (const m of est.media) expect(Number.isSafeInteger(m.bps) && m.bps > 0, text).to.equal(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('the gates: malformed -> 400 + Warning 399; otherwise the call is charged what the reference says, refused by the quota, or trimmed; nothing forwarded exceeds the charge', async () => {
    await fc.assert(
      fc.asyncProperty(OFFER, async ({ text, hasVideo }) => {
        const ref = refBandwidth(text);
        const { decision, state, reservedBps } = await throughGates(text);
        if (!ref.ok) {
          expect(decision, text).to.include({ outcome: 'reject', status: 400, reason: 'malformed-bandwidth' });
          expect(String(decision.headers.Warning)).to.match(/^399 council-gw "Malformed SDP: malformed b= line/);
          expect(reservedBps).to.equal(0);
          return;
        }
        const audio = refCharge('audio', ref.media[0]!);
        const video = hasVideo ? refCharge('video', ref.media[1]!) : 0n;
        const limit = BigInt(LIMIT);
        if (audio > limit) {
          expect(decision, text).to.include({ status: 488, reason: 'bandwidth-exceeds-limit' });
          expect(reservedBps).to.equal(0);
          return;
        }
        expect(decision.outcome, text).to.equal('admit');
        let want = audio + video;
        if (want > limit) {
          const perVideo = limit - audio;
          want = perVideo >= 256_000n ? audio + (perVideo / 1000n) * 1000n : audio;
        }
        expect(reservedBps, text).to.equal(Number(want));
        const out = state.mutations.sdp ?? text;
        const fwd = bLines(out);
        for (const l of [...fwd.session, ...fwd.media]) expect(refParseLine(l), l).to.not.equal(undefined);
        // No session-level total above what was charged.
        const session = fwd.session.map((l) => refParseLine(l)!);
        for (const t of ['AS', 'CT', 'TIAS']) expect(refLargest(session, t) <= want, `${t} in ${out}`).to.equal(true);
        // A trimmed video stream is capped with one b=AS within the charge.
        if (hasVideo && audio + video > limit && want > audio) {
          const v = out.split(/^m=video/m)[1]!;
          const vb = bLines(`m=video${v}`).media.map((l) => refParseLine(l)!);
          expect(vb.filter((l) => l.type === 'AS' || l.type === 'TIAS').map((l) => l.type)).to.deep.equal(['AS']);
          expect(refLargest(vb, 'AS') + audio <= want).to.equal(true);
        }
      }),
      { numRuns: 1500 },
    );
  });
});

describe('sdp: the documented bandwidth rules, case by case', () => {
  it('b=AS:-1 and b=TIAS:-99999999999 (the issue) are 400 Bad Request with a Warning, not a 200', async () => {
    for (const line of ['b=AS:-1', 'b=TIAS:-99999999999']) {
      for (const text of [sdp([], [line]), sdp([line], []), sdp([], [], [line])]) {
        const { decision, reservedBps } = await throughGates(text);
        expect(decision, text).to.include({ status: 400, reasonPhrase: 'Bad Request', reason: 'malformed-bandwidth' });
        expect(reservedBps).to.equal(0);
      }
    }
  });

  it('other malformed values: empty, signed, spaced, fractional, exponent, non-ASCII digits', async () => {
    for (const line of ['b=AS:', 'b=AS:+64', 'b=AS: 64', 'b=AS:64 ', 'b=AS:64.5', 'b=AS:1e3', 'b=AS:\u0663', 'b=TIAS:0x10', 'b=:64', 'b=AS 64', 'b=A S:64']) {
      expect((await throughGates(sdp([], [line]))).decision.status, line).to.equal(400);
    }
  });

  it('huge but well-formed: audio -> 488 (the quota), video -> capped to what is left, a session total -> lowered to the charge', async () => {
    const huge = `b=AS:${'9'.repeat(60)}`;
    const a = await throughGates(sdp([], [huge]));
    expect(a.decision).to.include({ status: 488, reason: 'bandwidth-exceeds-limit' });
    const v = await throughGates(sdp([], [], ['b=TIAS:99999999999999999999']));
    expect(v.decision).to.include({ outcome: 'admit', reason: 'video-capped' });
    expect(v.reservedBps).to.equal(80_000 + 2_920_000);
    expect(v.state.mutations.sdp).to.match(/m=video 4002 RTP\/AVP 96\r\nb=AS:2920\r\n/);
    const s = await throughGates(sdp(['b=AS:99999999', 'b=CT:5000', 'b=TIAS:64000'], []));
    expect(s.decision).to.include({ outcome: 'admit', reason: 'session-bandwidth-clamped' });
    expect(s.reservedBps).to.equal(80_000);
    expect(bLines(s.state.mutations.sdp!).session).to.deep.equal(['b=AS:80', 'b=CT:80', 'b=TIAS:64000']);
    expect(estimateSdp({ media: [{ type: 'audio', port: 1, payloads: '0', bandwidth: [{ type: 'AS', limit: Number('9'.repeat(400)) }] }] }).totalBps).to.equal(MAX_BANDWIDTH_BPS);
  });

  it('zero never lowers the charge; RR/RS 0 (RFC 3556, RTCP off) pass; all forwarded untouched', async () => {
    for (const lines of [['b=AS:0'], ['b=TIAS:0'], ['b=AS:0', 'b=TIAS:0'], ['b=RR:0', 'b=RS:0']]) {
      const text = sdp([], lines);
      const r = await throughGates(text);
      expect(r.decision, lines.join(' ')).to.include({ outcome: 'admit' });
      expect(r.reservedBps).to.equal(80_000); // PCMU at 20 ms on the wire, as with no b= line
      expect(bLines(r.state.mutations.sdp!).media).to.deep.equal(lines);
    }
  });

  it('repeated lines of one type charge the largest; TIAS and AS charge the larger; leading zeros are digits', async () => {
    expect((await throughGates(sdp([], ['b=AS:64', 'b=AS:500']))).reservedBps).to.equal(500_000);
    expect((await throughGates(sdp([], ['b=TIAS:1000', 'b=AS:300']))).reservedBps).to.equal(300_000);
    expect((await throughGates(sdp([], ['b=TIAS:400000', 'b=AS:300']))).reservedBps).to.equal(416_000);
    expect((await throughGates(sdp([], ['b=AS:0096']))).reservedBps).to.equal(96_000);
  });

  it('a=ptime without a usable number counts as absent (it used to make the charge NaN, which every quota check let through)', () => {
    for (const p of ['a=ptime:1.2.3', 'a=ptime:', 'a=ptime:0']) {
      const s = scanSdp(`${HEAD}m=audio 4000 RTP/AVP 0\r\n${p}\r\n`);
      expect(s.ok).to.equal(true);
      if (s.ok) expect(estimateSdp(s.offer).totalBps, p).to.equal(80_000);
    }
  });

  it('clampSessionBandwidth changes only session lines above the cap, and returns the same text when none is', () => {
    const text = sdp(['b=AS:100', 'b=TIAS:50000'], ['b=AS:9000']);
    expect(clampSessionBandwidth(text, 200_000)).to.equal(text);
    const out = clampSessionBandwidth(text, 80_000);
    expect(bLines(out)).to.deep.equal({ session: ['b=AS:80', 'b=TIAS:50000'], media: ['b=AS:9000'] });
    expect(out.replace('b=AS:80', 'b=AS:100')).to.equal(text);
  });
});
