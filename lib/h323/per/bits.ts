/**
 * Bit-level buffers for aligned PER. PER packs fields MSB first without byte boundaries except
 * where X.691 asks for octet alignment, so both sides track a bit position.
 */
import { PerDecodeError } from './errors.js';

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
      this.ensure(bytes.length * 8);
      this.buf.set(bytes, this.pos >>> 3);
      this.pos += bytes.length * 8;
      return;
    }
    for (const b of bytes) this.writeBits(b, 8);
  }

  /** Writes an unsigned integer of `nBytes` octets (may exceed 32 bits, up to 2^53). */
  writeUnsignedBytes(value: number, nBytes: number): void {
    for (let i = nBytes - 1; i >= 0; i--) this.writeBits(Math.floor(value / 2 ** (8 * i)) & 0xff, 8);
  }

  /** The encoding so far padded to whole octets (X.691 10.1.3: an empty encoding is one zero octet). */
  toBytes(): Uint8Array {
    const len = (this.pos + 7) >>> 3;
    if (len === 0) return new Uint8Array(1);
    return this.buf.slice(0, len);
  }
}

export class BitReader {
  private pos: number;
  private readonly end: number;

  constructor(private readonly buf: Uint8Array, startByte = 0, endByte = buf.length) {
    this.pos = startByte * 8;
    this.end = endByte * 8;
  }

  get bitPosition(): number {
    return this.pos;
  }

  get remainingBits(): number {
    return this.end - this.pos;
  }

  need(bits: number, what: string): void {
    if (bits > this.end - this.pos) throw new PerDecodeError(`truncated: ${what} needs ${bits} bits, ${this.end - this.pos} left`);
  }

  readBits(n: number): number {
    if (n === 0) return 0;
    this.need(n, 'field');
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
      return this.buf.slice(start, start + n);
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
