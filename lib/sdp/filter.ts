/**
 * Codec whitelist filter over an SDP offer. Removes payload types whose codec is not allowed and
 * keeps the rest consistent: the m-line format list, a=rtpmap, a=fmtp, a=rtcp-fb and
 * retransmission payloads (rtx apt=) whose target went away. A stream left without a media codec
 * (telephone-event alone does not count) is dropped; non-audio/video streams are dropped.
 *
 * Decisions are made on the offer as read by scanSdp (the hot path's reader, equivalent to
 * parseSdp for everything read here); the output text is produced by editing the original lines
 * (m= format lists, per-payload attribute lines, whole dropped sections, BUNDLE groups) rather
 * than by re-serialising, which keeps every untouched line byte-for-byte.
 */
import { codecByStaticPt } from './catalogue.js';
import { DEFAULT_MAX_SDP_BYTES } from './parse.js';
import { digitsValue, formatNumbers, isJsSpace, scanSdp, type OfferMedia, type PayloadRef, type SdpOffer } from './scan.js';

export const DEFAULT_ALLOWED_CODECS = ['PCMU', 'PCMA', 'G729', 'opus', 'VP8', 'telephone-event'] as const;

/** Codecs that only make sense next to a media codec. */
const AUXILIARY = new Set(['telephone-event', 'rtx', 'red', 'ulpfec', 'flexfec-03', 'cn']);

export interface FilterOptions {
  allow?: readonly string[];
  /** `allow` already lower-cased into a set (callers filtering many offers build it once). */
  allowSet?: ReadonlySet<string>;
  maxBytes?: number;
}

export type FilterResult =
  | { ok: true; sdp: string; parsed: SdpOffer; kept: string[]; removed: string[] }
  | { ok: false; malformed: boolean; reason: string; offered: string[] };

/** Lower-cased set of codec names, as filterSdp compares them. */
export function allowSetOf(allow: readonly string[] = DEFAULT_ALLOWED_CODECS): Set<string> {
  return new Set(allow.map((c) => c.toLowerCase()));
}

const DEFAULT_ALLOW_SET: ReadonlySet<string> = allowSetOf();

export function codecNameOf(m: { rtp?: ReadonlyArray<{ payload: PayloadRef; codec: string | number }> }, pt: number): string {
  const r = m.rtp?.find((x) => x.payload === pt);
  if (r) return String(r.codec);
  return codecByStaticPt(pt)?.name ?? `pt${pt}`;
}

const APT = /(?:^|;)\s*apt=(\d+)/;

/** Target of a retransmission format (first a=fmtp of the payload type), if it names one. */
function aptOf(m: OfferMedia, pt: number): number | undefined {
  for (const f of m.fmtp) {
    if (f.payload !== pt) continue;
    const a = APT.exec(f.config);
    return a ? Number(a[1]) : undefined;
  }
  return undefined;
}

/** Whether pts[i] equals pt for one of the indexes (as Array.includes compares). */
function listsPt(pts: readonly number[], idxs: readonly number[], pt: number): boolean {
  for (const i of idxs) if (pts[i] === pt || (pt !== pt && pts[i] !== pts[i])) return true;
  return false;
}

export function filterSdp(text: string, opts: FilterOptions = {}): FilterResult {
  const scanned = scanSdp(text, opts.maxBytes ?? DEFAULT_MAX_SDP_BYTES);
  if (!scanned.ok) return { ok: false, malformed: true, reason: scanned.reason, offered: [] };
  const allow = opts.allowSet ?? (opts.allow ? allowSetOf(opts.allow) : DEFAULT_ALLOW_SET);
  const kept = new Set<string>();
  const removed = new Set<string>();
  const offered = new Set<string>();
  const droppedMids = new Set<string>();

  const media: OfferMedia[] = [];
  const keepByIndex: Array<Set<number> | null> = [];
  for (const m of scanned.offer.media) {
    const pts = m.payloads === undefined ? [] : formatNumbers(m.payloads);
    if (m.type !== 'audio' && m.type !== 'video') {
      for (const p of pts) removed.add(`${m.type}/${p}`);
      if (m.mid !== undefined) droppedMids.add(m.mid);
      keepByIndex.push(null);
      continue;
    }
    // Codec name per format (first rtpmap of a payload type wins), and lower-cased.
    const names: string[] = [];
    const lower: string[] = [];
    for (const pt of pts) {
      let name: string | undefined;
      for (const r of m.rtp) {
        if (r.payload === pt) {
          name = r.codec;
          break;
        }
      }
      name ??= codecByStaticPt(pt)?.name ?? `pt${pt}`;
      names.push(name);
      lower.push(name.toLowerCase());
    }
    // Indexes into pts of the formats kept so far.
    const first: number[] = [];
    for (let i = 0; i < pts.length; i++) {
      if (lower[i] !== 'rtx') {
        offered.add(names[i]!);
        if (!allow.has(lower[i]!)) continue;
      }
      first.push(i);
    }
    // Retransmission formats point at a media payload with apt=: they follow that payload
    // (kept with an allowed codec, removed with a refused one) whatever the list says.
    const keep: number[] = [];
    const keepSet = new Set<number>();
    let payloads = '';
    let hasMedia = false;
    for (const i of first) {
      const pt = pts[i]!;
      const apt = aptOf(m, pt);
      const ok = lower[i] === 'rtx' ? apt !== undefined && listsPt(pts, first, apt) && apt !== pt : apt === undefined || listsPt(pts, first, apt);
      if (!ok) continue;
      keep.push(i);
      keepSet.add(pt);
      payloads = payloads.length === 0 ? `${pt}` : `${payloads} ${pt}`;
      if (!AUXILIARY.has(lower[i]!)) hasMedia = true;
    }
    for (let i = 0; i < pts.length; i++) if (!hasMedia || !keepSet.has(pts[i]!)) removed.add(names[i]!);
    if (!hasMedia) {
      if (m.mid !== undefined) droppedMids.add(m.mid);
      keepByIndex.push(null);
      continue;
    }
    for (const i of keep) kept.add(names[i]!);
    keepByIndex.push(keepSet);
    // One rtpmap and one fmtp per payload: the first, which the decision above was based on
    // (a later duplicate could otherwise smuggle a refused codec under an allowed payload type).
    const rtp: OfferMedia['rtp'] = [];
    for (const r of m.rtp) {
      if (typeof r.payload === 'number' && keepSet.has(r.payload) && !rtp.some((x) => x.payload === r.payload)) rtp.push(r);
    }
    const fmtp: OfferMedia['fmtp'] = [];
    for (const f of m.fmtp) {
      if (typeof f.payload === 'number' && keepSet.has(f.payload) && !fmtp.some((x) => x.payload === f.payload)) fmtp.push(f);
    }
    const kept1: OfferMedia = { type: m.type, port: m.port, protocol: m.protocol, payloads, rtp, fmtp };
    if (m.bandwidth !== undefined) kept1.bandwidth = m.bandwidth;
    if (m.ptime !== undefined) kept1.ptime = m.ptime;
    if (m.mid !== undefined) kept1.mid = m.mid;
    media.push(kept1);
  }
  if (media.length === 0) return { ok: false, malformed: false, reason: 'no allowed codec left', offered: [...offered] };
  for (const k of kept) removed.delete(k);
  // Always rewritten, even when nothing was removed: attribute lines for payload types the
  // m-line does not list are dropped too, so what we forward is consistent.
  const parsed: SdpOffer = scanned.offer.bandwidth ? { media, bandwidth: scanned.offer.bandwidth } : { media };
  return { ok: true, sdp: rewriteLines(scanned.lines, keepByIndex, droppedMids), parsed, kept: [...kept], removed: [...removed] };
}

// Per-payload attribute lines the rewrite checks against the kept payload types.
const ATTR_NONE = 0;
const ATTR_RTPMAP = 1;
const ATTR_FMTP = 2;
const ATTR_RTCP_FB = 3;

/** Which per-payload attribute a line is (a=rtpmap: / a=fmtp: / a=rtcp-fb: / a=rtcp-fb-trr-int:), and where its value starts. */
function ptAttr(line: string): { kind: number; at: number } {
  if (line.charCodeAt(0) !== 97 || line.charCodeAt(1) !== 61) return NOT_PT_ATTR;
  if (line.startsWith('rtpmap:', 2)) return { kind: ATTR_RTPMAP, at: 9 };
  if (line.startsWith('fmtp:', 2)) return { kind: ATTR_FMTP, at: 7 };
  if (line.startsWith('rtcp-fb:', 2)) return { kind: ATTR_RTCP_FB, at: 10 };
  if (line.startsWith('rtcp-fb-trr-int:', 2)) return { kind: ATTR_RTCP_FB, at: 18 };
  return NOT_PT_ATTR;
}
const NOT_PT_ATTR = { kind: ATTR_NONE, at: 0 };

/**
 * The payload type an attribute value starts with: digits without leading zeros ("a=rtpmap:096"
 * is not the same token as "96" to every parser), at most three, then a space and something
 * that is not a space. -1 when the value is not of that form.
 */
function attrPayload(line: string, at: number): number {
  let e = at;
  while (e < line.length && e - at < 4 && line.charCodeAt(e) >= 48 && line.charCodeAt(e) <= 57) e++;
  const len = e - at;
  if (len === 0 || len > 3 || (len > 1 && line.charCodeAt(at) === 48)) return -1;
  if (line.charCodeAt(e) !== 32 || e + 1 >= line.length || isJsSpace(line.charCodeAt(e + 1))) return -1;
  return digitsValue(line, at, e);
}

/** Applies the filter decisions to the original text, line by line. */
function rewriteLines(lines: readonly string[], keepByIndex: Array<Set<number> | null>, droppedMids: Set<string>): string {
  let out = '';
  let index = -1;
  let skipping = false;
  let keep: Set<number> | null = null;
  // rtpmap/fmtp lines already forwarded in the current section, as kind * 1000 + payload type.
  const once = new Set<number>();
  for (const line of lines) {
    if (line.startsWith('m=')) {
      index++;
      once.clear();
      keep = keepByIndex[index] ?? null;
      skipping = keep === null;
      if (skipping) continue;
      // scanSdp checked the m-line: single spaces, at least one format after the protocol.
      const protoEnd = line.indexOf(' ', line.indexOf(' ', line.indexOf(' ') + 1) + 1);
      let fmts = '';
      let start = protoEnd + 1;
      for (;;) {
        let end = line.indexOf(' ', start);
        if (end < 0) end = line.length;
        const d = digitsValue(line, start, end);
        if (keep!.has(d >= 0 ? d : Number(line.slice(start, end)))) fmts += fmts.length === 0 ? line.slice(start, end) : ` ${line.slice(start, end)}`;
        if (end === line.length) break;
        start = end + 1;
      }
      out += `${line.slice(0, protoEnd)} ${fmts}\r\n`;
      continue;
    }
    if (skipping) continue;
    if (index < 0 && droppedMids.size > 0 && line.startsWith('a=group:')) {
      const [head, ...mids] = line.split(' ');
      const left = mids.filter((x) => !droppedMids.has(x));
      if (left.length > 0) out += `${[head, ...left].join(' ')}\r\n`;
      continue;
    }
    if (keep) {
      const attr = ptAttr(line);
      if (attr.kind !== ATTR_NONE) {
        // Per-payload attributes must name a listed payload type exactly; anything else
        // (a=rtpmap: 96 ..., unknown payloads) is dropped rather than forwarded ambiguously.
        if (attr.kind === ATTR_RTCP_FB && line.charCodeAt(attr.at) === 42 /* * */) {
          out += `${line}\r\n`;
          continue;
        }
        const pt = attrPayload(line, attr.at);
        if (pt < 0 || !keep.has(pt)) continue;
        if (attr.kind !== ATTR_RTCP_FB) {
          const k = attr.kind * 1000 + pt;
          if (once.has(k)) continue;
          once.add(k);
        }
      }
    }
    out += `${line}\r\n`;
  }
  return out;
}
