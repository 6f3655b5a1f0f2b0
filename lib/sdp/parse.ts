/**
 * Guarded SDP parsing. sdp-transform is lenient (it skips lines it does not know), so the shape
 * we rely on is checked here: a version line, at least one m-line, numeric ports and payload
 * lists. Never throws.
 *
 * This gives the whole sdp-transform structure. The policy gates read offers with scanSdp
 * (scan.ts) instead, which accepts exactly the same texts and reads only what they need; this
 * stays as the general-purpose reader and as the independent reference the tests and the fuzz
 * hold scanSdp and the filter's output to.
 */
import { parse, type SessionDescription } from 'sdp-transform';

export const DEFAULT_MAX_SDP_BYTES = 16 * 1024;

export type SdpParse =
  | {
      ok: true;
      sdp: SessionDescription;
      /** The non-empty lines of the text, in order (for line-level editing without a re-split). */
      lines: string[];
    }
  | { ok: false; reason: string };

/** A bare CR or a control byte other than TAB/LF (one pass, no regex backtracking). */
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 32 && c !== 127) continue;
    if (c === 9 || c === 10) continue;
    if (c === 13 && text.charCodeAt(i + 1) === 10) continue;
    return true;
  }
  return false;
}
const NEWLINE = /\r?\n/;
// m=<media> <port>[/<count>] <proto> <fmt> ...  (single spaces, RFC 4566 5.14)
const M_LINE = /^m=([a-z]+) (\d{1,5})(?:\/\d{1,3})? ([A-Za-z0-9/_.-]+)((?: [^\s]+)+)$/;
const PT = /^\d{1,3}$/;
// b=<bwtype>:<bandwidth>, bwtype a token (RFC 8866 token-char), bandwidth 1*DIGIT; as scan.ts.
const B_LINE = /^b=[!#-'*+\-.0-9A-Z^-~]+:\d+$/;
/** Same text as scan.ts's BAD_BANDWIDTH_REASON (not imported: scan.ts imports this file). */
const BAD_BANDWIDTH = 'malformed b= line (bandwidth must be a non-negative integer)';
const WS = /\s+/;

const validPts = (pts: string[]): boolean => {
  for (const p of pts) if (!PT.test(p) || Number(p) > 127) return false;
  return true;
};

export function parseSdp(text: string, maxBytes = DEFAULT_MAX_SDP_BYTES): SdpParse {
  if (typeof text !== 'string' || text.length === 0) return { ok: false, reason: 'empty SDP' };
  // Quick bound first: UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes) return { ok: false, reason: `SDP larger than ${maxBytes} bytes` };
  // A bare CR (or any other control byte) would make sdp-transform and our line editing see
  // different lines; refuse it instead of guessing.
  if (hasControl(text)) return { ok: false, reason: 'SDP contains control characters' };
  const all = text.split(NEWLINE);
  const lines: string[] = [];
  // The m-lines are checked on the text: sdp-transform's lenient regex would read
  // "m=audio 4000  {RTP/AVP 0" as an empty protocol with junk formats.
  let mCount = 0;
  // First bad m-line, reported after the whole-text and parser checks (as before).
  let mErr: string | undefined;
  let bErr = false;
  for (const l of all) {
    if (l.length === 0) continue;
    lines.push(l);
    if (lines.length === 1 && l !== 'v=0') return { ok: false, reason: 'SDP does not start with v=0' };
    // x=... with x in a-z
    const c = l.charCodeAt(0);
    if (c < 97 || c > 122 || l.charCodeAt(1) !== 61) return { ok: false, reason: 'SDP line not of the form x=...' };
    if (c === 98 /* b */ && !B_LINE.test(l)) bErr = true;
    if (c === 109 /* m */) {
      mCount++;
      if (mErr === undefined) {
        const m = M_LINE.exec(l);
        if (!m) mErr = 'malformed m-line';
        else if (m[3]!.includes('RTP') && !validPts(m[4]!.trim().split(' '))) mErr = 'malformed payload type list';
      }
    }
  }
  if (lines.length === 0) return { ok: false, reason: 'SDP does not start with v=0' };
  let sdp: SessionDescription;
  try {
    sdp = parse(text);
  } catch {
    return { ok: false, reason: 'SDP parser error' };
  }
  if (!Array.isArray(sdp.media) || sdp.media.length === 0) return { ok: false, reason: 'SDP has no m-line' };
  if (mCount !== sdp.media.length) return { ok: false, reason: 'malformed m-line' };
  if (mErr !== undefined) return { ok: false, reason: mErr };
  for (const m of sdp.media) {
    if (typeof m.type !== 'string' || !Number.isInteger(m.port) || m.port < 0 || m.port > 65535) {
      return { ok: false, reason: 'malformed m-line' };
    }
    if (String(m.protocol).includes('RTP')) {
      if (!validPts(String(m.payloads ?? '').trim().split(WS))) return { ok: false, reason: 'malformed payload type list' };
    }
  }
  if (bErr) return { ok: false, reason: BAD_BANDWIDTH };
  return { ok: true, sdp, lines };
}
