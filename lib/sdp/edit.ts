/**
 * Line-level edits of an SDP text: keep every untouched line byte for byte (the B2BUA forwards
 * what the caller sent, minus what policy removed) instead of re-serialising a parsed structure.
 * Input is expected to have passed parseSdp (CRLF or LF line ends, no bare CR).
 */

interface Section {
  /** Index of the m-line among m-lines, -1 for the session part. */
  index: number;
  lines: string[];
}

function sections(text: string): Section[] {
  const out: Section[] = [{ index: -1, lines: [] }];
  let index = -1;
  for (const line of text.split(/\r?\n/)) {
    if (line.length === 0) continue;
    if (line.startsWith('m=')) out.push({ index: ++index, lines: [] });
    out[out.length - 1]!.lines.push(line);
  }
  return out;
}

function join(parts: Section[]): string {
  return `${parts.flatMap((s) => s.lines).join('\r\n')}\r\n`;
}

/** Sets b=AS (kbps) on the given m-line indexes, replacing any b=AS/b=TIAS there. */
export function capBandwidth(text: string, indexes: readonly number[], kbps: number): string {
  const want = new Set(indexes);
  const parts = sections(text);
  for (const s of parts) {
    if (!want.has(s.index)) continue;
    const kept = s.lines.filter((l) => !/^b=(AS|TIAS):/.test(l));
    // RFC 4566 order inside a media section: m= i= c= b= k= a=; insert after the last of m/i/c.
    let at = 1;
    while (at < kept.length && /^[ic]=/.test(kept[at]!)) at++;
    kept.splice(at, 0, `b=AS:${Math.max(0, Math.floor(kbps))}`);
    s.lines = kept;
  }
  return join(parts);
}

/** Removes the given m-line sections and their mids from a=group lines. */
export function dropMedia(text: string, indexes: readonly number[]): string {
  const drop = new Set(indexes);
  const parts = sections(text);
  const mids = new Set<string>();
  for (const s of parts) {
    if (!drop.has(s.index)) continue;
    for (const l of s.lines) if (l.startsWith('a=mid:')) mids.add(l.slice(6).trim());
  }
  const kept = parts.filter((s) => !drop.has(s.index));
  const session = kept[0]!;
  session.lines = session.lines.flatMap((l) => {
    if (!l.startsWith('a=group:') || mids.size === 0) return [l];
    const [head, ...ids] = l.split(' ');
    const left = ids.filter((x) => !mids.has(x));
    return left.length > 0 ? [[head, ...left].join(' ')] : [];
  });
  return join(kept);
}

/**
 * Lowers session-level b=AS / b=CT (kbps) and b=TIAS (bps) lines that promise more than
 * `maxBps` to it; every other line stays byte for byte, and an offer that needs no change is
 * returned as it came (same string). The fairness gate calls it with what it reserved for the
 * call, so the answerer is never told it may send more than the caller's quota was charged.
 */
export function clampSessionBandwidth(text: string, maxBps: number): string {
  const cap = Math.max(0, Math.floor(maxBps));
  const lines = text.split(/\r?\n/);
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('m=')) break;
    const b = /^b=(AS|CT|TIAS):(\d+)$/.exec(l);
    if (!b) continue;
    const kbps = b[1] !== 'TIAS';
    const value = Number(b[2]);
    const limit = kbps ? Math.floor(cap / 1000) : cap;
    if (value > limit) {
      lines[i] = `b=${b[1]}:${limit}`;
      changed = true;
    }
  }
  if (!changed) return text;
  return `${lines.filter((l) => l.length > 0).join('\r\n')}\r\n`;
}
