/**
 * Aligned PER decoder (X.691, ALIGNED variant) driven by the schemas in schema.ts.
 * Input is untrusted: every length is checked against the remaining input before anything is
 * allocated, nesting depth is bounded, and every failure is a PerDecodeError.
 */
import { BitReader } from './bits.js';
import { attachExtensionInfo, bitsFor, charInfo, minBits, octetsFor, K16, K64, MAX_DEPTH } from './common.js';
import { PerDecodeError } from './errors.js';
import type { AnySchema, BitString, CharStringSchema, ChoiceSchema, IntegerSchema, Schema, SequenceSchema, SizeRange } from './schema.js';

export interface DecodeOptions {
  /** Fail if octets remain after the value (default false: trailing padding is tolerated). */
  readonly strict?: boolean;
}

export function decode<T>(schema: Schema<T>, bytes: Uint8Array, opts: DecodeOptions = {}): T {
  const r = new BitReader(bytes);
  try {
    const v = decodeValue(r, schema, '', 0) as T;
    if (opts.strict && r.remainingBits >= 8) throw new PerDecodeError(`${r.remainingBits >>> 3} trailing octets`);
    return v;
  } catch (e) {
    if (e instanceof PerDecodeError) throw e;
    // Anything else is a decoder bug on hostile input; still report it as malformed input.
    throw new PerDecodeError(`internal decoder error: ${(e as Error).message}`);
  }
}

function fail(path: string, msg: string): never {
  throw new PerDecodeError(msg, path || '<root>');
}

export function readConstrained(r: BitReader, lb: number, ub: number): number {
  const range = ub - lb + 1;
  if (range <= 1) return lb;
  if (range <= 255) return lb + r.readBits(bitsFor(range - 1));
  if (range === 256) {
    r.align();
    return lb + r.readBits(8);
  }
  if (range <= K64) {
    r.align();
    return lb + r.readBits(16);
  }
  const n = readConstrained(r, 1, octetsFor(range - 1));
  r.align();
  return lb + r.readUnsignedBytes(n);
}

function readNormallySmall(r: BitReader): number {
  if (!r.readBit()) return r.readBits(6);
  const n = readUnconstrainedLength(r);
  if (n.fragment || n.count === 0 || n.count > 6) throw new PerDecodeError('normally small number too large');
  return r.readUnsignedBytes(n.count);
}

interface LengthPart {
  count: number;
  /** True when this is a 16K-multiple fragment and another length determinant follows. */
  fragment: boolean;
}

function readUnconstrainedLength(r: BitReader): LengthPart {
  r.align();
  const b = r.readBits(8);
  if ((b & 0x80) === 0) return { count: b, fragment: false };
  if ((b & 0xc0) === 0x80) return { count: ((b & 0x3f) << 8) | r.readBits(8), fragment: false };
  const m = b & 0x3f;
  if (m < 1 || m > 4) throw new PerDecodeError(`bad fragment multiplier ${m}`);
  return { count: m * K16, fragment: true };
}

/**
 * Reads a length determinant and the items it counts (following fragments). `unitBits` is the
 * minimum size of one item, used to reject counts the remaining input cannot hold.
 */
function readCounted(
  r: BitReader,
  sz: SizeRange | undefined,
  unitBits: number,
  readItems: (count: number) => void,
  path: string,
): number {
  let inRoot = true;
  if (sz?.extensible) inRoot = !r.readBit();
  const check = (count: number, total: number): void => {
    if (unitBits > 0 ? count * unitBits > r.remainingBits : total > K64) fail(path, `length ${count} exceeds remaining input`);
  };
  if (inRoot && sz && sz.max !== undefined && sz.max < K64) {
    const count = readConstrained(r, sz.min, sz.max);
    check(count, count);
    readItems(count);
    return count;
  }
  let total = 0;
  for (;;) {
    const part = readUnconstrainedLength(r);
    total += part.count;
    check(part.count, total);
    readItems(part.count);
    if (!part.fragment) break;
  }
  if (inRoot && sz && (total < sz.min || (sz.max !== undefined && total > sz.max))) fail(path, `size ${total} outside constraint`);
  return total;
}

function isFixed(sz: SizeRange | undefined): sz is SizeRange & { max: number } {
  return sz !== undefined && !sz.extensible && sz.max === sz.min;
}

function decodeInteger(r: BitReader, s: IntegerSchema, path: string): number {
  const inRoot = s.extensible ? !r.readBit() : true;
  if (inRoot && s.min !== undefined && s.max !== undefined) return readConstrained(r, s.min, s.max);
  const len = readUnconstrainedLength(r);
  if (len.fragment || len.count === 0 || len.count > 6) fail(path, `integer of ${len.count} octets unsupported`);
  r.need(len.count * 8, 'integer');
  if (inRoot && s.min !== undefined) return s.min + r.readUnsignedBytes(len.count);
  const u = r.readUnsignedBytes(len.count);
  const half = 2 ** (8 * len.count - 1);
  return u >= half ? u - 2 * half : u;
}

function decodeCharString(r: BitReader, s: CharStringSchema, path: string): string {
  const info = charInfo(s);
  const sz = s.size;
  const alignChars = !(sz?.max !== undefined && sz.max * info.bits <= 16);
  let out = '';
  const readChars = (count: number): void => {
    if (count > 0 && alignChars) r.align();
    r.need(count * info.bits, 'characters');
    for (let i = 0; i < count; i++) {
      const raw = r.readBits(info.bits);
      let code = raw;
      if (info.indexed) {
        const c = info.indexed[raw];
        if (c === undefined) fail(path, `character index ${raw} outside alphabet`);
        code = c;
      } else if (code > info.maxCode || (info.allowed && !info.allowed.has(code))) {
        fail(path, `character code ${code} not permitted`);
      }
      out += String.fromCharCode(code);
    }
  };
  if (isFixed(sz) && sz.max < K64) {
    readChars(sz.max);
    return out;
  }
  readCounted(r, sz, info.bits, readChars, path);
  return out;
}

function decodeOctets(r: BitReader, sz: SizeRange | undefined, path: string): Uint8Array {
  if (isFixed(sz) && sz.max < K64) {
    if (sz.max > 2) r.align();
    return r.readBytes(sz.max);
  }
  const parts: Uint8Array[] = [];
  readCounted(
    r,
    sz,
    8,
    (count) => {
      if (count > 0) {
        r.align();
        parts.push(r.readBytes(count));
      }
    },
    path,
  );
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function decodeBits(r: BitReader, sz: SizeRange | undefined, path: string): BitString {
  const bits: boolean[] = [];
  const readRange = (count: number): void => {
    for (let i = 0; i < count; i++) bits.push(r.readBit());
  };
  if (isFixed(sz) && sz.max < K64) {
    if (sz.max > 16) r.align();
    r.need(sz.max, 'bit string');
    readRange(sz.max);
  } else {
    readCounted(
      r,
      sz,
      1,
      (count) => {
        if (count > 0) r.align();
        r.need(count, 'bit string');
        readRange(count);
      },
      path,
    );
  }
  const bytes = new Uint8Array((bits.length + 7) >>> 3);
  bits.forEach((b, i) => {
    if (b) bytes[i >>> 3]! |= 0x80 >>> (i & 7);
  });
  return { length: bits.length, bytes };
}

export function bytesToOid(bytes: Uint8Array, path = ''): string {
  const arcs: number[] = [];
  let cur = 0;
  let inArc = false;
  for (const b of bytes) {
    cur = cur * 128 + (b & 0x7f);
    inArc = (b & 0x80) !== 0;
    if (cur > Number.MAX_SAFE_INTEGER / 128) fail(path, 'OID arc too large');
    if (!inArc) {
      arcs.push(cur);
      cur = 0;
    }
  }
  if (inArc || arcs.length === 0) fail(path, 'truncated OID');
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** Reads an open type's octets (10.2); the caller decodes them with a nested reader. */
function readOpenType(r: BitReader, path: string): Uint8Array {
  return decodeOctets(r, undefined, path);
}

function decodeOpen(schema: AnySchema, bytes: Uint8Array, path: string, depth: number): unknown {
  if (schema.kind === 'opaque') return bytes;
  return decodeValue(new BitReader(bytes), schema, path, depth + 1);
}

function decodeSequence(r: BitReader, s: SequenceSchema, path: string, depth: number): Record<string, unknown> {
  const hasExt = s.extensible ? r.readBit() : false;
  const present: boolean[] = [];
  for (const f of s.root) if (f.optional) present.push(r.readBit());
  const out: Record<string, unknown> = {};
  let oi = 0;
  for (const f of s.root) {
    if (f.optional && !present[oi++]) continue;
    out[f.name] = decodeValue(r, f.schema, path ? `${path}.${f.name}` : f.name, depth + 1);
  }
  if (!hasExt) return out;
  let count: number;
  if (!r.readBit()) count = r.readBits(6) + 1;
  else {
    const len = readUnconstrainedLength(r);
    if (len.fragment || len.count === 0) fail(path, 'bad extension bitmap length');
    count = len.count;
  }
  r.need(count, 'extension bitmap');
  const bitmap: boolean[] = [];
  for (let i = 0; i < count; i++) bitmap.push(r.readBit());
  const unknown = new Map<number, Uint8Array>();
  for (let i = 0; i < count; i++) {
    if (!bitmap[i]) continue;
    const known = s.ext[i];
    const fieldPath = path ? `${path}.${known?.name ?? `ext${i}`}` : (known?.name ?? `ext${i}`);
    const bytes = readOpenType(r, fieldPath);
    if (known) out[known.name] = decodeOpen(known.schema, bytes, fieldPath, depth);
    else unknown.set(i, bytes);
  }
  attachExtensionInfo(out, { count, unknown });
  return out;
}

function decodeChoice(r: BitReader, s: ChoiceSchema, path: string, depth: number): unknown {
  const isExt = s.extensible ? r.readBit() : false;
  if (!isExt) {
    if (s.root.length === 0) fail(path, 'empty CHOICE');
    const i = readConstrained(r, 0, s.root.length - 1);
    const alt = s.root[i];
    if (!alt) fail(path, `alternative index ${i} out of range`);
    return { choice: alt.name, value: decodeValue(r, alt.schema, `${path}.${alt.name}`, depth + 1) };
  }
  const i = readNormallySmall(r);
  const bytes = readOpenType(r, path);
  const alt = s.ext[i];
  if (!alt) return { choice: '$unknown', index: i, value: bytes };
  return { choice: alt.name, value: decodeOpen(alt.schema, bytes, `${path}.${alt.name}`, depth) };
}

export function decodeValue(r: BitReader, s: AnySchema, path: string, depth: number): unknown {
  if (depth > MAX_DEPTH) fail(path, 'nesting too deep');
  switch (s.kind) {
    case 'null':
      return null;
    case 'boolean':
      return r.readBit();
    case 'integer':
      return decodeInteger(r, s, path);
    case 'enumerated': {
      const isExt = s.extensible ? r.readBit() : false;
      if (!isExt) {
        const i = readConstrained(r, 0, s.root.length - 1);
        const name = s.root[i];
        if (name === undefined) fail(path, `enumeration index ${i} out of range`);
        return name;
      }
      const i = readNormallySmall(r);
      return s.ext[i] ?? `$ext:${i}`;
    }
    case 'octetString':
      return decodeOctets(r, s.size, path);
    case 'bitString':
      return decodeBits(r, s.size, path);
    case 'charString':
      return decodeCharString(r, s, path);
    case 'oid': {
      const len = readUnconstrainedLength(r);
      if (len.fragment) fail(path, 'OID too long');
      return bytesToOid(r.readBytes(len.count), path);
    }
    case 'sequenceOf': {
      const items: unknown[] = [];
      const unit = minBits(s.item);
      const read = (count: number): void => {
        for (let i = 0; i < count; i++) items.push(decodeValue(r, s.item, `${path}[${items.length}]`, depth + 1));
      };
      if (isFixed(s.size) && s.size.max < K64) {
        if (unit * s.size.max > r.remainingBits) fail(path, 'truncated SEQUENCE OF');
        read(s.size.max);
      } else readCounted(r, s.size, unit, read, path);
      return items;
    }
    case 'sequence':
      return decodeSequence(r, s, path, depth);
    case 'choice':
      return decodeChoice(r, s, path, depth);
    case 'ref':
      return decodeValue(r, s.resolve(), path, depth);
    case 'opaque':
      fail(path, `${s.label} is only supported inside an extension (open type)`);
  }
}
