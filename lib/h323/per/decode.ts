/**
 * Aligned PER decoder (X.691, ALIGNED variant) driven by the schemas in schema.ts.
 * Input is untrusted: every length is checked against the remaining input before anything is
 * allocated, nesting depth is bounded, and every failure is a PerDecodeError (whose path is
 * filled in while it unwinds, so the hot path builds no strings and no closures).
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
    const v = decodeValue(r, schema, 0) as T;
    if (opts.strict && r.remainingBits >= 8) throw new PerDecodeError(`${r.remainingBits >>> 3} trailing octets`);
    return v;
  } catch (e) {
    if (e instanceof PerDecodeError) throw e;
    // Anything else is a decoder bug on hostile input; still report it as malformed input.
    throw new PerDecodeError(`internal decoder error: ${(e as Error).message}`);
  }
}

function fail(msg: string): never {
  throw new PerDecodeError(msg);
}

/** Constrained whole number lb..ub; a bit pattern beyond ub (ranges not a power of two) is malformed. */
export function readConstrained(r: BitReader, lb: number, ub: number): number {
  const v = lb + readConstrainedOffset(r, ub - lb + 1);
  if (v > ub) fail(`value ${v} above upper bound ${ub}`);
  return v;
}

function readConstrainedOffset(r: BitReader, range: number): number {
  if (range <= 1) return 0;
  if (range <= 255) return r.readBits(bitsFor(range - 1));
  if (range === 256) {
    r.align();
    return r.readBits(8);
  }
  if (range <= K64) {
    r.align();
    return r.readBits(16);
  }
  const n = readConstrained(r, 1, octetsFor(range - 1));
  r.align();
  return r.readUnsignedBytes(n);
}

/**
 * One length part (10.9.3.6-8): the final count (< 16K), or a 16K-multiple fragment count
 * (>= 16K) after whose items another length part follows.
 */
function readLengthPart(r: BitReader): number {
  r.align();
  const b = r.readBits(8);
  if ((b & 0x80) === 0) return b;
  if ((b & 0xc0) === 0x80) return ((b & 0x3f) << 8) | r.readBits(8);
  const m = b & 0x3f;
  if (m < 1 || m > 4) fail(`bad fragment multiplier ${m}`);
  return m * K16;
}

function readNormallySmall(r: BitReader): number {
  if (!r.readBit()) return r.readBits(6);
  const n = readLengthPart(r);
  if (n === 0 || n > 6) fail('normally small number too large');
  return r.readUnsignedBytes(n);
}

/** Refuses a count whose items cannot fit in the remaining input (before allocating). */
function checkCount(r: BitReader, count: number, unitBits: number, total: number): void {
  if (unitBits > 0 ? count * unitBits > r.remainingBits : total > K64) fail(`length ${count} exceeds remaining input`);
}

/**
 * Size prefix shared by strings and SEQUENCE OF: reads the extension bit and, for bounded sizes
 * below 64K, the constrained count. Returns that count, or -1 when the unconstrained
 * (fragmentable) length form follows.
 */
function readSizePrefix(r: BitReader, sz: SizeRange | undefined, unitBits: number): number {
  if (!sz) return -1;
  const inRoot = sz.extensible ? !r.readBit() : true;
  if (inRoot && sz.max !== undefined && sz.max < K64) {
    const count = readConstrained(r, sz.min, sz.max);
    checkCount(r, count, unitBits, count);
    return count;
  }
  return -1;
}

function checkTotal(sz: SizeRange | undefined, total: number): void {
  if (sz && !sz.extensible && (total < sz.min || (sz.max !== undefined && total > sz.max))) fail(`size ${total} outside constraint`);
}

function isFixed(sz: SizeRange | undefined): sz is SizeRange & { max: number } {
  return sz !== undefined && !sz.extensible && sz.max === sz.min;
}

function decodeInteger(r: BitReader, s: IntegerSchema): number {
  const inRoot = s.extensible ? !r.readBit() : true;
  if (inRoot && s.min !== undefined && s.max !== undefined) return readConstrained(r, s.min, s.max);
  const len = readLengthPart(r);
  if (len === 0 || len > 6) fail(`integer of ${len} octets unsupported`);
  r.need(len * 8, 'integer');
  if (inRoot && s.min !== undefined) return s.min + r.readUnsignedBytes(len);
  const u = r.readUnsignedBytes(len);
  const half = 2 ** (8 * len - 1);
  return u >= half ? u - 2 * half : u;
}

function readChars(r: BitReader, count: number, bits: number, indexed: readonly number[] | undefined, allowed: ReadonlySet<number> | undefined, maxCode: number, align: boolean): string {
  if (count > 0 && align) r.align();
  r.need(count * bits, 'characters');
  let out = '';
  for (let i = 0; i < count; i++) {
    const raw = r.readBits(bits);
    let code = raw;
    if (indexed) {
      const c = indexed[raw];
      if (c === undefined) fail(`character index ${raw} outside alphabet`);
      code = c;
    } else if (code > maxCode || (allowed !== undefined && !allowed.has(code))) {
      fail(`character code ${code} not permitted`);
    }
    out += String.fromCharCode(code);
  }
  return out;
}

function decodeCharString(r: BitReader, s: CharStringSchema): string {
  const info = charInfo(s);
  const sz = s.size;
  const align = !(sz?.max !== undefined && sz.max * info.bits <= 16);
  if (isFixed(sz) && sz.max < K64) return readChars(r, sz.max, info.bits, info.indexed, info.allowed, info.maxCode, align);
  const count = readSizePrefix(r, sz, info.bits);
  if (count >= 0) return readChars(r, count, info.bits, info.indexed, info.allowed, info.maxCode, align);
  let out = '';
  for (;;) {
    const n = readLengthPart(r);
    checkCount(r, n, info.bits, out.length + n);
    out += readChars(r, n, info.bits, info.indexed, info.allowed, info.maxCode, align);
    if (n < K16) break;
  }
  checkTotal(sz, out.length);
  return out;
}

function decodeOctets(r: BitReader, sz: SizeRange | undefined): Uint8Array {
  if (isFixed(sz) && sz.max < K64) {
    if (sz.max > 2) r.align();
    return r.readBytes(sz.max);
  }
  const count = readSizePrefix(r, sz, 8);
  if (count >= 0) {
    if (count > 0) r.align();
    return r.readBytes(count);
  }
  const first = readLengthPart(r);
  checkCount(r, first, 8, first);
  const head = r.readBytes(first);
  if (first < K16) {
    checkTotal(sz, first);
    return head;
  }
  const parts: Uint8Array[] = [head];
  let total = first;
  for (;;) {
    const n = readLengthPart(r);
    checkCount(r, n, 8, total + n);
    parts.push(r.readBytes(n));
    total += n;
    if (n < K16) break;
  }
  checkTotal(sz, total);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function readBitRange(r: BitReader, count: number, into: number[]): void {
  r.need(count, 'bit string');
  for (let i = 0; i < count; i++) into.push(r.readBit() ? 1 : 0);
}

function decodeBits(r: BitReader, sz: SizeRange | undefined): BitString {
  const bits: number[] = [];
  if (isFixed(sz) && sz.max < K64) {
    if (sz.max > 16) r.align();
    readBitRange(r, sz.max, bits);
  } else {
    const count = readSizePrefix(r, sz, 1);
    if (count >= 0) {
      if (count > 0) r.align();
      readBitRange(r, count, bits);
    } else {
      for (;;) {
        const n = readLengthPart(r);
        checkCount(r, n, 1, bits.length + n);
        readBitRange(r, n, bits);
        if (n < K16) break;
      }
      checkTotal(sz, bits.length);
    }
  }
  const bytes = new Uint8Array((bits.length + 7) >>> 3);
  for (let i = 0; i < bits.length; i++) if (bits[i]) bytes[i >>> 3]! |= 0x80 >>> (i & 7);
  return { length: bits.length, bytes };
}

export function bytesToOid(bytes: Uint8Array): string {
  const arcs: number[] = [];
  let cur = 0;
  let inArc = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    cur = cur * 128 + (b & 0x7f);
    inArc = (b & 0x80) !== 0;
    if (cur > Number.MAX_SAFE_INTEGER / 128) fail('OID arc too large');
    if (!inArc) {
      arcs.push(cur);
      cur = 0;
    }
  }
  if (inArc || arcs.length === 0) fail('truncated OID');
  const first = arcs[0]!;
  let s = first < 40 ? `0.${first}` : first < 80 ? `1.${first - 40}` : `2.${first - 80}`;
  for (let i = 1; i < arcs.length; i++) s += `.${arcs[i]}`;
  return s;
}

/**
 * Decodes an open type (10.2): its length, then the value decoded in place within exactly that
 * many octets (no copy). Opaque schemas keep the octets; fragmented open types are copied first.
 */
function decodeOpenType(r: BitReader, schema: AnySchema, depth: number): unknown {
  if (schema.kind === 'opaque') return decodeOctets(r, undefined);
  const len = readLengthPart(r);
  if (len >= K16) {
    // Rare (an open type of 16K or more): gather the fragments, then decode the copy.
    const rest: Uint8Array[] = [r.readBytes(len)];
    let total = len;
    for (;;) {
      const n = readLengthPart(r);
      checkCount(r, n, 8, total + n);
      rest.push(r.readBytes(n));
      total += n;
      if (n < K16) break;
    }
    const all = new Uint8Array(total);
    let off = 0;
    for (const p of rest) {
      all.set(p, off);
      off += p.length;
    }
    return decodeValue(new BitReader(all), schema, depth + 1);
  }
  checkCount(r, len, 8, len);
  const start = r.bitPosition;
  const endBit = start + len * 8;
  const prevEnd = r.narrow(endBit);
  try {
    return decodeValue(r, schema, depth + 1);
  } finally {
    r.restore(prevEnd, endBit);
  }
}

function decodeSequence(r: BitReader, s: SequenceSchema, depth: number): Record<string, unknown> {
  const hasExt = s.extensible ? r.readBit() : false;
  const root = s.root;
  // Presence bits of the OPTIONAL root components, at most 32 per word (H.225 has < 32).
  let present = 0;
  let optCount = 0;
  const presentList: boolean[] | undefined = root.length > 30 ? [] : undefined;
  for (let i = 0; i < root.length; i++) {
    if (!root[i]!.optional) continue;
    const bit = r.readBit();
    if (presentList) presentList.push(bit);
    else if (bit) present |= 1 << optCount;
    optCount++;
  }
  const out: Record<string, unknown> = {};
  let oi = 0;
  for (let i = 0; i < root.length; i++) {
    const f = root[i]!;
    if (f.optional) {
      const bit = presentList ? presentList[oi] : (present & (1 << oi)) !== 0;
      oi++;
      if (!bit) continue;
    }
    try {
      out[f.name] = decodeValue(r, f.schema, depth + 1);
    } catch (e) {
      throw e instanceof PerDecodeError ? e.within(f.name) : e;
    }
  }
  if (!hasExt) return out;
  let count: number;
  if (!r.readBit()) count = r.readBits(6) + 1;
  else {
    count = readLengthPart(r);
    if (count === 0 || count >= K16) fail('bad extension bitmap length');
  }
  r.need(count, 'extension bitmap');
  const bitmap: boolean[] = new Array<boolean>(count);
  for (let i = 0; i < count; i++) bitmap[i] = r.readBit();
  let unknown: Map<number, Uint8Array> | undefined;
  let lastPresent = -1;
  const ext = s.ext;
  for (let i = 0; i < count; i++) {
    if (!bitmap[i]) continue;
    lastPresent = i;
    const known = ext[i];
    try {
      if (known) out[known.name] = decodeOpenType(r, known.schema, depth);
      else (unknown ??= new Map()).set(i, decodeOctets(r, undefined));
    } catch (e) {
      throw e instanceof PerDecodeError ? e.within(known?.name ?? `ext${i}`) : e;
    }
  }
  // Only what a default re-encode would not reproduce needs remembering: a bitmap wider than
  // the last present addition, or additions our schema does not know.
  if (count !== lastPresent + 1 || unknown) attachExtensionInfo(out, { count, unknown: unknown ?? new Map() });
  return out;
}

function decodeChoice(r: BitReader, s: ChoiceSchema, depth: number): unknown {
  const isExt = s.extensible ? r.readBit() : false;
  if (!isExt) {
    if (s.root.length === 0) fail('empty CHOICE');
    const i = readConstrained(r, 0, s.root.length - 1);
    const alt = s.root[i]!;
    try {
      return { choice: alt.name, value: decodeValue(r, alt.schema, depth + 1) };
    } catch (e) {
      throw e instanceof PerDecodeError ? e.within(alt.name) : e;
    }
  }
  const i = readNormallySmall(r);
  const alt = s.ext[i];
  if (!alt) return { choice: '$unknown', index: i, value: decodeOctets(r, undefined) };
  try {
    return { choice: alt.name, value: decodeOpenType(r, alt.schema, depth) };
  } catch (e) {
    throw e instanceof PerDecodeError ? e.within(alt.name) : e;
  }
}

function decodeItems(r: BitReader, item: AnySchema, count: number, into: unknown[], depth: number): void {
  for (let i = 0; i < count; i++) {
    try {
      into.push(decodeValue(r, item, depth + 1));
    } catch (e) {
      throw e instanceof PerDecodeError ? e.within(`[${into.length}]`) : e;
    }
  }
}

export function decodeValue(r: BitReader, s: AnySchema, depth: number): unknown {
  if (depth > MAX_DEPTH) fail('nesting too deep');
  switch (s.kind) {
    case 'null':
      return null;
    case 'boolean':
      return r.readBit();
    case 'integer':
      return decodeInteger(r, s);
    case 'enumerated': {
      const isExt = s.extensible ? r.readBit() : false;
      if (!isExt) {
        const i = readConstrained(r, 0, s.root.length - 1);
        return s.root[i]!;
      }
      const i = readNormallySmall(r);
      return s.ext[i] ?? `$ext:${i}`;
    }
    case 'octetString':
      return decodeOctets(r, s.size);
    case 'bitString':
      return decodeBits(r, s.size);
    case 'charString':
      return decodeCharString(r, s);
    case 'oid': {
      const len = readLengthPart(r);
      if (len >= K16) fail('OID too long');
      return bytesToOid(r.readBytes(len));
    }
    case 'sequenceOf': {
      const items: unknown[] = [];
      const unit = minBits(s.item);
      if (isFixed(s.size) && s.size.max < K64) {
        checkCount(r, s.size.max, unit, s.size.max);
        decodeItems(r, s.item, s.size.max, items, depth);
        return items;
      }
      const count = readSizePrefix(r, s.size, unit);
      if (count >= 0) {
        decodeItems(r, s.item, count, items, depth);
        return items;
      }
      for (;;) {
        const n = readLengthPart(r);
        checkCount(r, n, unit, items.length + n);
        decodeItems(r, s.item, n, items, depth);
        if (n < K16) break;
      }
      checkTotal(s.size, items.length);
      return items;
    }
    case 'sequence':
      return decodeSequence(r, s, depth);
    case 'choice':
      return decodeChoice(r, s, depth);
    case 'ref':
      return decodeValue(r, s.resolve(), depth);
    case 'opaque':
      fail(`${s.label} is only supported inside an extension (open type)`);
  }
}
