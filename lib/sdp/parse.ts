/**
 * Guarded SDP parsing. sdp-transform is lenient (it skips lines it does not know), so the shape
 * we rely on is checked here: a version line, at least one m-line, numeric ports and payload
 * lists. Never throws.
 */
import { parse, type SessionDescription } from 'sdp-transform';

export const DEFAULT_MAX_SDP_BYTES = 16 * 1024;

export type SdpParse = { ok: true; sdp: SessionDescription } | { ok: false; reason: string };

const LINE_RE = /^[a-z]=/;
// m=<media> <port>[/<count>] <proto> <fmt> ...  (single spaces, RFC 4566 5.14)
const M_LINE = /^m=([a-z]+) (\d{1,5})(?:\/\d{1,3})? ([A-Za-z0-9/_.-]+)((?: [^\s]+)+)$/;

export function parseSdp(text: string, maxBytes = DEFAULT_MAX_SDP_BYTES): SdpParse {
  if (typeof text !== 'string' || text.length === 0) return { ok: false, reason: 'empty SDP' };
  if (Buffer.byteLength(text) > maxBytes) return { ok: false, reason: `SDP larger than ${maxBytes} bytes` };
  // A bare CR (or any other control byte) would make sdp-transform and our line editing see
  // different lines; refuse it instead of guessing.
  if (/\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text)) return { ok: false, reason: 'SDP contains control characters' };
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') return { ok: false, reason: 'SDP does not start with v=0' };
  if (!lines.every((l) => LINE_RE.test(l))) return { ok: false, reason: 'SDP line not of the form x=...' };
  let sdp: SessionDescription;
  try {
    sdp = parse(text);
  } catch {
    return { ok: false, reason: 'SDP parser error' };
  }
  if (!Array.isArray(sdp.media) || sdp.media.length === 0) return { ok: false, reason: 'SDP has no m-line' };
  // The m-lines are checked on the text: sdp-transform's lenient regex would read
  // "m=audio 4000  {RTP/AVP 0" as an empty protocol with junk formats.
  const mLines = lines.filter((l) => l.startsWith('m='));
  if (mLines.length !== sdp.media.length) return { ok: false, reason: 'malformed m-line' };
  for (const l of mLines) {
    const m = M_LINE.exec(l);
    if (!m) return { ok: false, reason: 'malformed m-line' };
    if (/RTP/.test(m[3]!) && !m[4]!.trim().split(' ').every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 127)) {
      return { ok: false, reason: 'malformed payload type list' };
    }
  }
  for (const m of sdp.media) {
    if (typeof m.type !== 'string' || !Number.isInteger(m.port) || m.port < 0 || m.port > 65535) {
      return { ok: false, reason: 'malformed m-line' };
    }
    if (/RTP/.test(String(m.protocol))) {
      const pts = String(m.payloads ?? '').trim().split(/\s+/);
      if (!pts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 127)) return { ok: false, reason: 'malformed payload type list' };
    }
  }
  return { ok: true, sdp };
}
