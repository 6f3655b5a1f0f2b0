/**
 * The neighbour responder's answers, kept so that a retried LRQ (GnuGk resends it byte-identical
 * with the same requestSeqNum) gets the same answer again without a second lookup.
 *
 * Why typed arrays and not a Map of objects: every answer has to live for seconds, so in a Map
 * each one survives the young-generation GCs and is copied and promoted. At 5,000 LRQ/s that
 * made scavenges take up to 11 ms (44 ms of pauses in 5 s), which was most of the LRQ->LCF p99;
 * with the answers in preallocated typed arrays the collector has nothing to copy.
 *
 * Layout: a ring of `slots` entries (key, expiry, where its bytes are) written in order, a ring
 * of bytes the answers are appended to, and a hash index of chains through the slots. Writing a
 * slot evicts the oldest entry; bytes overwritten by newer answers make their entry invalid. So
 * memory is fixed, and a flood shortens how long answers stay rather than growing anything.
 */

/** Keys are non-negative integers below 2^53 (the responder packs neighbour, port and seqNum). */
export interface AnswerCacheOptions {
  /** Entries kept at most (the ring of slots). */
  readonly slots: number;
  /** Bytes of answers kept at most (the ring of bytes). */
  readonly bytes: number;
  /** How long an answer is served again (ms). */
  readonly ttlMs: number;
}

const NONE = -1;

export class AnswerCache {
  private readonly keys: Float64Array;
  private readonly expires: Float64Array;
  /** Absolute position (bytes written before it, ever) of each slot's answer; exact below 2^53. */
  private readonly starts: Float64Array;
  private readonly lengths: Uint32Array;
  /** Next slot in the same hash chain, or NONE. */
  private readonly next: Int32Array;
  /** First slot of each hash chain, or NONE. */
  private readonly heads: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;
  /** 32 - log2(buckets): the bucket is the top bits of the mixed key. */
  private readonly shift: number;
  /** Slots written so far (the next slot is written % slots). */
  private written = 0;
  /** Bytes written so far, ever. */
  private bytesWritten = 0;

  constructor(private readonly opts: AnswerCacheOptions) {
    if (!(Number.isInteger(opts.slots) && opts.slots >= 1 && Number.isInteger(opts.bytes) && opts.bytes >= 1 && opts.ttlMs >= 0)) {
      throw new RangeError('answer cache needs integer slots >= 1 and bytes >= 1, and ttlMs >= 0');
    }
    this.keys = new Float64Array(opts.slots).fill(-1);
    this.expires = new Float64Array(opts.slots);
    this.starts = new Float64Array(opts.slots);
    this.lengths = new Uint32Array(opts.slots);
    this.next = new Int32Array(opts.slots).fill(NONE);
    // About two chain heads per slot keeps chains short.
    let buckets = 2;
    let bits = 1;
    while (buckets < opts.slots * 2) {
      buckets *= 2;
      bits++;
    }
    this.heads = new Int32Array(buckets).fill(NONE);
    this.mask = buckets - 1;
    this.shift = 32 - bits;
    this.data = new Uint8Array(opts.bytes);
  }

  /** A copy of the answer for `key` when one is kept and still fresh at `now` (ms). */
  get(key: number, now: number): Buffer | undefined {
    for (let s = this.heads[this.bucket(key)]!; s !== NONE; s = this.next[s]!) {
      if (this.keys[s] !== key) continue;
      if (this.expires[s]! <= now || !this.intact(s)) return undefined;
      const len = this.lengths[s]!;
      const at = this.starts[s]! % this.data.length;
      const out = Buffer.allocUnsafe(len);
      // An answer may wrap round the end of the byte ring.
      const first = Math.min(len, this.data.length - at);
      out.set(this.data.subarray(at, at + first), 0);
      if (first < len) out.set(this.data.subarray(0, len - first), first);
      return out;
    }
    return undefined;
  }

  /** Keeps `bytes` as the answer for `key` until now + ttlMs; answers larger than the ring are not kept. */
  put(key: number, bytes: Uint8Array, now: number): void {
    if (bytes.length > this.data.length) return;
    const slot = this.written % this.opts.slots;
    this.written++;
    if (this.keys[slot]! >= 0) this.unlink(slot);
    // A second answer for a key (not expected: retries are answered from here) shadows the first,
    // since chains are searched newest first.
    const at = this.bytesWritten % this.data.length;
    const first = Math.min(bytes.length, this.data.length - at);
    this.data.set(bytes.subarray(0, first), at);
    if (first < bytes.length) this.data.set(bytes.subarray(first), 0);
    this.keys[slot] = key;
    this.expires[slot] = now + this.opts.ttlMs;
    this.starts[slot] = this.bytesWritten;
    this.lengths[slot] = bytes.length;
    this.bytesWritten += bytes.length;
    const b = this.bucket(key);
    this.next[slot] = this.heads[b]!;
    this.heads[b] = slot;
  }

  /** Entries whose bytes are still intact (for tests and metrics). */
  size(now: number): number {
    let n = 0;
    for (let s = 0; s < this.opts.slots; s++) if (this.keys[s]! >= 0 && this.expires[s]! > now && this.intact(s)) n++;
    return n;
  }

  /** Whether the slot's bytes have not been overwritten by answers written after it. */
  private intact(slot: number): boolean {
    return this.bytesWritten - this.starts[slot]! <= this.data.length;
  }

  private unlink(slot: number): void {
    const b = this.bucket(this.keys[slot]!);
    let s = this.heads[b]!;
    if (s === slot) this.heads[b] = this.next[slot]!;
    else {
      while (s !== NONE && this.next[s] !== slot) s = this.next[s]!;
      if (s !== NONE) this.next[s] = this.next[slot]!;
    }
    this.next[slot] = NONE;
    this.keys[slot] = -1;
  }

  private bucket(key: number): number {
    // Mix high and low halves (keys differ mostly in the low 16 bits, the requestSeqNum).
    const lo = key >>> 0;
    const hi = Math.floor(key / 4294967296) >>> 0;
    return (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> this.shift) & this.mask;
  }
}
