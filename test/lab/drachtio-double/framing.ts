/**
 * `<N>#<payload>` framing of the drachtio control connection. N is the payload length in UTF-8
 * bytes; the real server refuses lengths of 6+ digits, so a frame is below 100000 bytes.
 */

/** Longest accepted length prefix: the real server refuses 6+ digits. */
export const MAX_LENGTH_DIGITS = 5;

export type FrameEvent =
  | { kind: 'frame'; payload: string }
  | { kind: 'error'; reason: string };

/** Encode one payload as a frame. */
export function encodeFrame(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}#`, 'ascii'), body]);
}

/**
 * Incremental decoder. Once framing is lost (bad prefix) the byte stream cannot be resynchronised,
 * so the decoder reports one error and ignores everything after it; the caller drops the link.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private broken = false;

  get isBroken(): boolean {
    return this.broken;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): FrameEvent[] {
    if (this.broken) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: FrameEvent[] = [];
    for (;;) {
      const hash = this.buf.indexOf(0x23 /* # */);
      const prefixLen = hash === -1 ? this.buf.length : hash;
      // validate the prefix seen so far, even before '#' arrives, so garbage fails fast
      for (let i = 0; i < Math.min(prefixLen, MAX_LENGTH_DIGITS + 1); i++) {
        const c = this.buf[i]!;
        if (c < 0x30 || c > 0x39) return this.fail(out, `bad length prefix: byte 0x${c.toString(16)} at offset ${i}`);
      }
      if (prefixLen > MAX_LENGTH_DIGITS) {
        return this.fail(out, `oversize frame: length prefix has ${prefixLen > MAX_LENGTH_DIGITS ? `${MAX_LENGTH_DIGITS + 1}+` : prefixLen} digits (max ${MAX_LENGTH_DIGITS})`);
      }
      if (hash === -1) return out;
      if (hash === 0) return this.fail(out, 'empty length prefix');
      const len = Number(this.buf.toString('ascii', 0, hash));
      if (len === 0) return this.fail(out, 'zero-length frame');
      if (this.buf.length < hash + 1 + len) return out;
      const payload = this.buf.subarray(hash + 1, hash + 1 + len);
      out.push({ kind: 'frame', payload: payload.toString('utf8') });
      this.buf = this.buf.subarray(hash + 1 + len);
      if (this.buf.length === 0) return out;
    }
  }

  private fail(out: FrameEvent[], reason: string): FrameEvent[] {
    this.broken = true;
    this.buf = Buffer.alloc(0);
    out.push({ kind: 'error', reason });
    return out;
  }
}
