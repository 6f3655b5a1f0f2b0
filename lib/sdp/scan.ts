/**
 * The policy hot path's SDP reader: one pass over the lines, keeping only what the codec filter
 * and the bandwidth estimate read (m-lines, b=, a=rtpmap/fmtp/mid/ptime). parseSdp (full
 * sdp-transform structure) measured at about half of the whole codec gate on a typical offer,
 * mostly spent trying each line against sdp-transform's entire grammar.
 *
 * It accepts and refuses exactly what parseSdp does, with the same reasons, and the fields it
 * keeps hold what sdp-transform would have put there (same patterns, first/last-wins rules and
 * number conversion), so decisions do not depend on which reader produced the offer;
 * test/unit/policy/sdp/scan.test.ts checks both against each other. Never throws.
 */
import { DEFAULT_MAX_SDP_BYTES, hasControl } from './parse.js';

/** a=rtpmap / a=fmtp payload: a number when the digits are canonical ("96"), else the text ("096", ""). */
export type PayloadRef = number | string;

export interface OfferMedia {
  type: string;
  port: number;
  protocol: string;
  /** Format list as written (absent when sdp-transform would not have read one). */
  payloads?: string;
  rtp: Array<{ payload: PayloadRef; codec: string }>;
  fmtp: Array<{ payload: PayloadRef; config: string }>;
  bandwidth?: Array<{ type: string; limit: number }>;
  /** Last a=ptime; NaN/0 when it has no usable number (as the division by it behaved before). */
  ptime?: number;
  /** Last a=mid. */
  mid?: string;
}

/** What the policy reads of an offer. */
export interface SdpOffer {
  media: OfferMedia[];
  /** Session-level b= lines of the known types (before the first m-line), as for a media section. */
  bandwidth?: Array<{ type: string; limit: number }>;
}

export type SdpScan = { ok: true; offer: SdpOffer; lines: string[] } | { ok: false; reason: string };

// m=<media> <port>[/<count>] <proto> <fmt> ...  (single spaces, RFC 4566 5.14); as parse.ts.
const M_LINE = /^m=([a-z]+) (\d{1,5})(\/\d{1,3})? ([A-Za-z0-9/_.-]+)((?: [^\s]+)+)$/;
// The attribute patterns sdp-transform applies to these lines (grammar.js) are
//   rtpmap:(\d*) ([\w\-.]*)   fmtp:(\d*) ([\S| ]*)   mid:([^\s]*)   ptime:(\d*(?:\.\d*)*)
// a line they do not match contributes nothing, as there. rtpmap and fmtp (most of an offer's
// lines) are matched by hand below, without building a match array per line.
const MID = /^a=mid:([^\s]*)/;
const PTIME = /^a=ptime:(\d*(?:\.\d*)*)/;
const BANDWIDTH = /^b=(TIAS|AS|CT|RR|RS):(\d*)/;

/**
 * Why an offer with a b= line that is not `b=<bwtype>:<1*DIGIT>` is refused (RFC 8866 5.8,
 * RFC 3890 for TIAS): a negative, empty, fractional or otherwise non-numeric bandwidth, or
 * whitespace around it. parseSdp gives the same reason.
 */
export const BAD_BANDWIDTH_REASON = 'malformed b= line (bandwidth must be a non-negative integer)';

/** RFC 8866 token-char: %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E. */
function isTokenChar(c: number): boolean {
  return c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2e || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x5e && c <= 0x7e);
}

/**
 * Whether a line starting with "b=" is `b=<token>:<1*DIGIT>` and nothing else; one pass, no
 * regex. The value may have any number of digits (leading zeros too): its size is the
 * estimate's business (lib/sdp/bandwidth.ts clamps it), its form is checked here.
 */
export function bandwidthLineOk(l: string): boolean {
  let i = 2;
  while (i < l.length && isTokenChar(l.charCodeAt(i))) i++;
  if (i === 2 || l.charCodeAt(i) !== 58 /* : */) return false;
  const from = ++i;
  while (i < l.length && isDigit(l.charCodeAt(i))) i++;
  return i > from && i === l.length;
}
// How much of a protocol sdp-transform's m-line pattern ([\w/]*) takes.
const PROTO_PREFIX = /^[\w/]*/;

/** What \s matches (JavaScript's WhiteSpace and LineTerminator). */
export function isJsSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return c === 160 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** [\w\-.] */
const isCodecChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isDigit(c) || c === 95 || c === 45 || c === 46;

/** Index after the run of digits starting at `from`. */
function digitsEnd(l: string, from: number): number {
  let i = from;
  while (i < l.length && isDigit(l.charCodeAt(i))) i++;
  return i;
}

/**
 * Value of s[start, end) when it is 1 to 15 ASCII digits (exact in a double, so equal to
 * Number() of it), else -1: the common case of Number() without building a substring.
 */
export function digitsValue(s: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** sdp-transform's toIntIfInt (a number exactly when String(Number(s)) === s). */
function payloadRef(s: string): PayloadRef {
  const d = digitsValue(s, 0, s.length);
  // Pure digits are canonical unless they have a leading zero.
  if (d >= 0) return s.length === 1 || s.charCodeAt(0) !== 48 ? d : s;
  const n = Number(s);
  return String(n) === s ? n : s;
}

/** The space-separated tokens of a format list as Number() reads each one. */
export function formatNumbers(list: string): number[] {
  const out: number[] = [];
  let start = 0;
  for (;;) {
    let end = list.indexOf(' ', start);
    if (end < 0) end = list.length;
    const d = digitsValue(list, start, end);
    out.push(d >= 0 ? d : Number(list.slice(start, end)));
    if (end === list.length) return out;
    start = end + 1;
  }
}

/** Space-separated payload types, each 1-3 digits and at most 127. */
function validPts(list: string): boolean {
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= list.length; i++) {
    const c = i < list.length ? list.charCodeAt(i) : 32;
    if (c === 32) {
      if (digits === 0 || value > 127) return false;
      digits = 0;
      value = 0;
    } else {
      if (!isDigit(c) || ++digits > 3) return false;
      value = value * 10 + (c - 48);
    }
  }
  return true;
}


interface Pending {
  media: OfferMedia;
  portText: string;
  /** sdp-transform's m-line pattern has no port count ("4000/2"): it reads no type or port. */
  counted: boolean;
  /** sdp-transform's reading of the protocol includes "RTP": its format list must be numbers. */
  rtp: boolean;
}

export function scanSdp(text: string, maxBytes = DEFAULT_MAX_SDP_BYTES): SdpScan {
  if (typeof text !== 'string' || text.length === 0) return { ok: false, reason: 'empty SDP' };
  if (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes) return { ok: false, reason: `SDP larger than ${maxBytes} bytes` };
  if (hasControl(text)) return { ok: false, reason: 'SDP contains control characters' };
  const lines: string[] = [];
  const pending: Pending[] = [];
  let cur: OfferMedia | undefined;
  let mErr: string | undefined;
  let bErr = false;
  let session: Array<{ type: string; limit: number }> | undefined;
  let seenM = false;
  const n = text.length;
  let start = 0;
  while (start <= n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    // No bare CR got past hasControl: a CR here ends the line.
    const l = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    if (l.length === 0) continue;
    lines.push(l);
    if (lines.length === 1 && l !== 'v=0') return { ok: false, reason: 'SDP does not start with v=0' };
    const c = l.charCodeAt(0);
    if (c < 97 || c > 122 || l.charCodeAt(1) !== 61) return { ok: false, reason: 'SDP line not of the form x=...' };
    if (c === 109 /* m */) {
      cur = undefined;
      seenM = true;
      if (mErr !== undefined) continue;
      const m = M_LINE.exec(l);
      if (!m) {
        mErr = 'malformed m-line';
        continue;
      }
      const proto = m[4]!;
      if (proto.includes('RTP') && !validPts(m[5]!.slice(1))) {
        mErr = 'malformed payload type list';
        continue;
      }
      const stProto = PROTO_PREFIX.exec(proto)![0];
      cur = { type: m[1]!, port: 0, protocol: stProto, rtp: [], fmtp: [] };
      // A protocol with '.' or '-' ends sdp-transform's match before the format list.
      if (stProto.length === proto.length) cur.payloads = m[5]!.slice(1);
      pending.push({ media: cur, portText: m[2]!, counted: m[3] !== undefined, rtp: stProto.includes('RTP') });
      continue;
    }
    if (c === 98 /* b */) {
      // Every b= line, session or media level (also in a section after a bad m-line).
      if (!bandwidthLineOk(l)) bErr = true;
      else if (!seenM) {
        const b = BANDWIDTH.exec(l);
        if (b) (session ??= []).push({ type: b[1]!, limit: Number(b[2]!) });
      }
    }
    if (cur === undefined) continue;
    if (c === 97 /* a */) {
      const k = l.charCodeAt(2);
      if (k === 114 /* r */ && l.startsWith('a=rtpmap:')) {
        const d = digitsEnd(l, 9);
        if (l.charCodeAt(d) === 32) {
          let e = d + 1;
          while (e < l.length && isCodecChar(l.charCodeAt(e))) e++;
          cur.rtp.push({ payload: payloadRef(l.slice(9, d)), codec: l.slice(d + 1, e) });
        }
      } else if (k === 102 /* f */ && l.startsWith('a=fmtp:')) {
        const d = digitsEnd(l, 7);
        if (l.charCodeAt(d) === 32) {
          let e = d + 1;
          while (e < l.length) {
            const ch = l.charCodeAt(e);
            if (ch !== 32 && isJsSpace(ch)) break;
            e++;
          }
          cur.fmtp.push({ payload: payloadRef(l.slice(7, d)), config: l.slice(d + 1, e) });
        }
      } else if (k === 109 /* m */ && l.startsWith('a=mid:')) {
        cur.mid = MID.exec(l)![1]!;
      } else if (k === 112 /* p */ && l.startsWith('a=ptime:')) {
        cur.ptime = Number(PTIME.exec(l)![1]!);
      }
    } else if (c === 98 /* b */) {
      const b = BANDWIDTH.exec(l);
      if (b) (cur.bandwidth ??= []).push({ type: b[1]!, limit: Number(b[2]!) });
    }
  }
  if (lines.length === 0) return { ok: false, reason: 'SDP does not start with v=0' };
  if (pending.length === 0 && mErr === undefined) return { ok: false, reason: 'SDP has no m-line' };
  if (mErr !== undefined) return { ok: false, reason: mErr };
  const media: OfferMedia[] = [];
  for (const p of pending) {
    const port = payloadRef(p.portText);
    if (p.counted || typeof port !== 'number' || port > 65535) return { ok: false, reason: 'malformed m-line' };
    p.media.port = port;
    if (p.rtp && (p.media.payloads === undefined || !validPts(p.media.payloads))) return { ok: false, reason: 'malformed payload type list' };
    media.push(p.media);
  }
  if (bErr) return { ok: false, reason: BAD_BANDWIDTH_REASON };
  return { ok: true, offer: session ? { media, bandwidth: session } : { media }, lines };
}
