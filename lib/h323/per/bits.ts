/**
 * Bit-level buffers for aligned PER. PER packs fields MSB first without byte boundaries except
 * where X.691 asks for octet alignment, so both sides track a bit position.
 */
import { PerDecodeError } from './errors.js';

/**
 * Octets handed out by the codec (encodings, decoded OCTET STRINGs) are carved from shared
 * 8 KB slabs, as Node does for small Buffers: `new Uint8Array(n)` above 64 octets allocates an
 * off-heap backing store (~0.5 us each, and work for the GC), which was a fifth of encode time.
 * Each piece is its own range that is never written again, so callers may keep it; a slab is
 * freed once no piece of it is referenced.
 */
const SLAB_SIZE = 8192;
const EMPTY = new Uint8Array(0);
const SLAB_MAX_PIECE = 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

function copyOut(src: Uint8Array, start: number, n: number): Uint8Array {
  let out: Uint8Array;
  if (n > SLAB_MAX_PIECE) out = new Uint8Array(n);
  else {
    if (slabUsed + n > SLAB_SIZE) {
      slab = new ArrayBuffer(SLAB_SIZE);
      slabUsed = 0;
    }
    out = new Uint8Array(slab, slabUsed, n);
    slabUsed = (slabUsed + n + 7) & ~7;
  }
  if (n <= 64) for (let i = 0; i < n; i++) out[i] = src[start + i]!;
  else out.set(src.subarray(start, start + n));
  return out;
}

export class BitWriter {
  private buf: Uint8Array;
  private pos = 0; // in bits

  constructor(initialBytes = 128) {
    this.buf = new Uint8Array(initialBytes);
  }

  get bitLength(): number {
    return this.pos;
  }

  private ensure(bits: number): void {
    const needBytes = (this.pos + bits + 7) >>> 3;
    if (needBytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needBytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf);
    this.buf = next;
  }

  /** Writes the low `n` bits of `value` (0 <= n <= 32), most significant first. */
  writeBits(value: number, n: number): void {
    if (n === 0) return;
    this.ensure(n);
    if ((this.pos & 7) === 0 && (n === 8 || n === 16)) {
      const i = this.pos >>> 3;
      if (n === 8) this.buf[i] = value & 0xff;
      else {
        this.buf[i] = (value >>> 8) & 0xff;
        this.buf[i + 1] = value & 0xff;
      }
      this.pos += n;
      return;
    }
    let left = n;
    while (left > 0) {
      const free = 8 - (this.pos & 7);
      const take = free < left ? free : left;
      const chunk = left > 31 ? Math.floor(value / 2 ** (left - take)) & ((1 << take) - 1) : (value >>> (left - take)) & ((1 << take) - 1);
      this.buf[this.pos >>> 3]! |= chunk << (free - take);
      this.pos += take;
      left -= take;
    }
  }

  writeBit(bit: boolean): void {
    this.ensure(1);
    if (bit) this.buf[this.pos >>> 3]! |= 0x80 >>> (this.pos & 7);
    this.pos += 1;
  }

  /** Pads with zero bits to the next octet boundary. */
  align(): void {
    this.pos = (this.pos + 7) & ~7;
    this.ensure(0);
  }

  /** Writes whole octets at the current (possibly unaligned) position. */
  writeBytes(bytes: Uint8Array): void {
    if ((this.pos & 7) === 0) {
      const n = bytes.length;
      this.ensure(n * 8);
      const at = this.pos >>> 3;
      // Short runs (addresses, GUIDs, OIDs) copy faster by hand than through set().
      if (n <= 32) for (let i = 0; i < n; i++) this.buf[at + i] = bytes[i]!;
      else this.buf.set(bytes, at);
      this.pos += n * 8;
      return;
    }
    for (const b of bytes) this.writeBits(b, 8);
  }

  /** Octets encoded so far (padded), for copying one writer into another. */
  get byteLength(): number {
    const len = (this.pos + 7) >>> 3;
    return len === 0 ? 1 : len;
  }

  /** Appends another writer's complete encoding (as whole octets) without an intermediate copy. */
  writeWriter(other: BitWriter): void {
    const n = other.byteLength;
    const src = other.buf;
    if ((this.pos & 7) === 0) {
      this.ensure(n * 8);
      // other.buf is zero beyond its bits, so an empty encoding copies one zero octet.
      const at = this.pos >>> 3;
      if (n <= 64) for (let i = 0; i < n; i++) this.buf[at + i] = src[i]!;
      else this.buf.set(src.subarray(0, n), at);
      this.pos += n * 8;
      return;
    }
    for (let i = 0; i < n; i++) this.writeBits(src[i] ?? 0, 8);
  }

  /** Writes an unsigned integer of `nBytes` octets (may exceed 32 bits, up to 2^53). */
  writeUnsignedBytes(value: number, nBytes: number): void {
    for (let i = nBytes - 1; i >= 0; i--) this.writeBits(Math.floor(value / 2 ** (8 * i)) & 0xff, 8);
  }

  /**
   * Claims `n` whole octets at the current position, which must be on an octet boundary, and
   * returns the index of the first in `buffer`; the caller stores them directly (strings, where
   * a writeBits call per character was most of their encoding time).
   */
  claimOctets(n: number): number {
    this.ensure(n * 8);
    const at = this.pos >>> 3;
    this.pos += n * 8;
    return at;
  }

  /** True when the next bit starts an octet. */
  get octetAligned(): boolean {
    return (this.pos & 7) === 0;
  }

  /** The backing store, valid until the next write that may grow it (see claimOctets). */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** Clears the writer for reuse (the buffer must be zero where bits get OR-ed in). */
  reset(): void {
    const len = (this.pos + 7) >>> 3;
    if (len <= 256) for (let i = 0; i < len; i++) this.buf[i] = 0;
    else this.buf.fill(0, 0, len);
    this.pos = 0;
  }

  /** Like toBytes() but without copying: valid only until the writer is reset or written again. */
  view(): Uint8Array {
    const len = (this.pos + 7) >>> 3;
    if (len === 0) {
      this.ensure(8);
      this.pos = 8; // one zero octet, as toBytes() gives for an empty encoding
      return this.buf.subarray(0, 1);
    }
    return this.buf.subarray(0, len);
  }

  /** The encoding so far padded to whole octets (X.691 10.1.3: an empty encoding is one zero octet). */
  toBytes(): Uint8Array {
    const len = (this.pos + 7) >>> 3;
    if (len === 0) return new Uint8Array(1);
    return copyOut(this.buf, 0, len);
  }
}

export class BitReader {
  private pos: number;
  private end: number;

  private buf: Uint8Array;

  constructor(input: Uint8Array, startByte = 0, endByte = input.length) {
    // A plain view even for a Buffer, so octets we copy out are plain Uint8Arrays.
    this.buf = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    this.pos = startByte * 8;
    this.end = endByte * 8;
  }

  /** Points this reader at new input from its start (lets top-level decodes reuse one reader). */
  reset(input: Uint8Array): void {
    this.buf = input;
    this.pos = 0;
    this.end = input.length * 8;
  }

  /** Drops the reference to the last input so a reused reader does not keep it alive. */
  release(): void {
    this.buf = EMPTY;
    this.pos = 0;
    this.end = 0;
  }

  /** True when the next bit starts an octet. */
  get octetAligned(): boolean {
    return (this.pos & 7) === 0;
  }

  /** The input octets; with takeOctets, for whole-octet fast paths that read them in place. */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /**
   * Consumes `n` whole octets at the current position, which must be on an octet boundary, and
   * returns the index of the first in `buffer` (the caller reads them in place, no copy).
   */
  takeOctets(n: number, what: string): number {
    this.need(n * 8, what);
    const at = this.pos >>> 3;
    this.pos += n * 8;
    return at;
  }

  /** Whether the next octets (at an octet boundary) equal `bytes`; consumes nothing. */
  nextOctetsEqual(bytes: Uint8Array): boolean {
    const n = bytes.length;
    if (n * 8 > this.end - this.pos) return false;
    const at = this.pos >>> 3;
    for (let i = 0; i < n; i++) if (this.buf[at + i] !== bytes[i]) return false;
    return true;
  }

  get bitPosition(): number {
    return this.pos;
  }

  get remainingBits(): number {
    return this.end - this.pos;
  }

  /**
   * Narrows the readable range to end at `endBit` (an open type's content) and returns the
   * previous end for restore(); decoding inside cannot run past the open type.
   */
  narrow(endBit: number): number {
    const prev = this.end;
    this.end = endBit;
    return prev;
  }

  /** Restores the range saved by narrow() and moves to `posBit` (the open type's end). */
  restore(prevEnd: number, posBit: number): void {
    this.end = prevEnd;
    this.pos = posBit;
  }

  need(bits: number, what: string): void {
    if (bits > this.end - this.pos) throw new PerDecodeError(`truncated: ${what} needs ${bits} bits, ${this.end - this.pos} left`);
  }

  readBits(n: number): number {
    if (n === 0) return 0;
    this.need(n, 'field');
    if ((this.pos & 7) === 0 && (n === 8 || n === 16)) {
      // Aligned octet fast path (lengths, ranges of 256 and 64K, characters).
      const i = this.pos >>> 3;
      this.pos += n;
      return n === 8 ? this.buf[i]! : (this.buf[i]! << 8) | this.buf[i + 1]!;
    }
    let value = 0;
    let left = n;
    while (left > 0) {
      const avail = 8 - (this.pos & 7);
      const take = avail < left ? avail : left;
      const byte = this.buf[this.pos >>> 3]!;
      const chunk = (byte >>> (avail - take)) & ((1 << take) - 1);
      value = value * (1 << take) + chunk;
      this.pos += take;
      left -= take;
    }
    return value;
  }

  readBit(): boolean {
    this.need(1, 'bit');
    const bit = (this.buf[this.pos >>> 3]! >>> (7 - (this.pos & 7))) & 1;
    this.pos += 1;
    return bit === 1;
  }

  align(): void {
    const next = (this.pos + 7) & ~7;
    if (next > this.end) throw new PerDecodeError('truncated: alignment past end');
    this.pos = next;
  }

  /** Reads `n` octets at the current position (a copy, so callers may keep it). */
  readBytes(n: number): Uint8Array {
    this.need(n * 8, `${n} octets`);
    if ((this.pos & 7) === 0) {
      const start = this.pos >>> 3;
      this.pos += n * 8;
      return copyOut(this.buf, start, n);
    }
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.readBits(8);
    return out;
  }

  readUnsignedBytes(nBytes: number): number {
    let v = 0;
    for (let i = 0; i < nBytes; i++) v = v * 256 + this.readBits(8);
    return v;
  }
}
