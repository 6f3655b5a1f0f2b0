/**
 * TPKT (RFC 1006 section 6) framing as H.225.0 uses it on TCP: version 3, a reserved octet and a
 * 16-bit big-endian length that counts the 4-octet header too. H.225.0 puts the Q.931 message (or,
 * on a separate H.245 channel, the H.245 PDU) straight after the header, without X.224.
 *
 * The deframer is a pure state machine over byte chunks: no sockets, no timers. It copies each
 * frame's octets into a buffer of exactly the announced size, so memory per connection is bounded
 * by maxFrameSize whatever the peer sends, and one-byte segments cost no re-concatenation.
 */
import { err, ok, type Result } from '../q931/result.js';

export const TPKT_VERSION = 3;
export const TPKT_HEADER_LENGTH = 4;
/** Largest frame the 16-bit length can describe. */
export const TPKT_MAX_FRAME_LENGTH = 0xffff;

export type TpktErrorCode = 'bad-version' | 'bad-length' | 'frame-too-large' | 'timeout' | 'closed-mid-frame';

export interface TpktError {
  readonly code: TpktErrorCode;
  readonly message: string;
}

/** Frame a payload. Fails (never throws) when the payload does not fit one TPKT. */
export function encodeTpkt(payload: Uint8Array): Result<Buffer, TpktError> {
  const total = payload.length + TPKT_HEADER_LENGTH;
  if (total > TPKT_MAX_FRAME_LENGTH) {
    return err({ code: 'frame-too-large', message: `payload of ${payload.length} octets does not fit a TPKT frame` });
  }
  const out = Buffer.allocUnsafe(total);
  out[0] = TPKT_VERSION;
  out[1] = 0;
  out.writeUInt16BE(total, 2);
  out.set(payload, TPKT_HEADER_LENGTH);
  return ok(out);
}

export interface TpktDeframerOptions {
  /** Largest frame accepted, header included (default and maximum 65535). */
  readonly maxFrameSize?: number;
}

export interface TpktPushResult {
  /** Payloads of the frames completed by this chunk, in order. Empty payloads are keep-alives. */
  readonly frames: Uint8Array[];
  /** Set when the stream is unusable (no way to find the next frame boundary); later pushes fail too. */
  readonly error?: TpktError;
}

export class TpktDeframer {
  private readonly maxFrameSize: number;
  private readonly header = new Uint8Array(TPKT_HEADER_LENGTH);
  private headerFill = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private failed: TpktError | undefined;

  constructor(options: TpktDeframerOptions = {}) {
    const max = options.maxFrameSize ?? TPKT_MAX_FRAME_LENGTH;
    this.maxFrameSize = Math.max(TPKT_HEADER_LENGTH, Math.min(TPKT_MAX_FRAME_LENGTH, Math.floor(max)));
  }

  /** True while some octets of a frame have arrived but not all of it. */
  get inFrame(): boolean {
    return this.headerFill > 0;
  }

  /** Octets held for the frame in progress (header included). */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  get error(): TpktError | undefined {
    return this.failed;
  }

  push(chunk: Uint8Array): TpktPushResult {
    const frames: Uint8Array[] = [];
    if (this.failed) return { frames, error: this.failed };
    let i = 0;
    while (i < chunk.length) {
      if (this.headerFill < TPKT_HEADER_LENGTH) {
        this.header[this.headerFill++] = chunk[i++]!;
        // Check the version as soon as it arrives: a non-TPKT peer is refused without waiting.
        if (this.headerFill === 1 && this.header[0] !== TPKT_VERSION) {
          return this.fail(frames, 'bad-version', `TPKT version ${this.header[0]} (expected 3)`);
        }
        if (this.headerFill < TPKT_HEADER_LENGTH) continue;
        const length = (this.header[2]! << 8) | this.header[3]!;
        if (length < TPKT_HEADER_LENGTH) return this.fail(frames, 'bad-length', `TPKT length ${length} is shorter than its header`);
        if (length > this.maxFrameSize) {
          return this.fail(frames, 'frame-too-large', `TPKT length ${length} exceeds the limit of ${this.maxFrameSize}`);
        }
        this.body = new Uint8Array(length - TPKT_HEADER_LENGTH);
        this.bodyFill = 0;
      } else {
        const body = this.body!;
        const n = Math.min(body.length - this.bodyFill, chunk.length - i);
        body.set(chunk.subarray(i, i + n), this.bodyFill);
        this.bodyFill += n;
        i += n;
      }
      if (this.body && this.bodyFill === this.body.length) {
        frames.push(this.body);
        this.body = undefined;
        this.bodyFill = 0;
        this.headerFill = 0;
      }
    }
    return { frames };
  }

  /** Mark the stream dead from outside (frame timeout, connection closed inside a frame). */
  abort(code: TpktErrorCode, message: string): TpktError {
    if (!this.failed) this.failed = { code, message };
    this.body = undefined;
    return this.failed;
  }

  private fail(frames: Uint8Array[], code: TpktErrorCode, message: string): TpktPushResult {
    this.failed = { code, message };
    this.body = undefined;
    return { frames, error: this.failed };
  }
}
