/**
 * Aligned PER decoder (X.691, ALIGNED variant) driven by the schemas in schema.ts.
 * Input is untrusted: every length is checked against the remaining input before anything is
 * allocated, nesting depth is bounded, and every failure is a PerDecodeError (whose path is
 * filled in while it unwinds, so the hot path builds no strings and no closures).
 */
import { BitReader } from './bits.js';
import { attachExtensionInfo as shared_attachExtensionInfo, bitsFor as shared_bitsFor, charInfo as shared_charInfo, minBits as shared_minBits, octetsFor as shared_octetsFor, K16 as shared_K16, K64 as shared_K64, MAX_DEPTH as shared_MAX_DEPTH } from './common.js';
import { PerDecodeError } from './errors.js';
import type { AnySchema, BitString, CharStringSchema, ChoiceSchema, IntegerSchema, Schema, SequenceOfSchema, SequenceSchema, SizeRange } from './schema.js';

// Module-local bindings: under the tsx loader an imported binding is a getter call on every
// use, which showed up at ~10% of the codec's profile.
const attachExtensionInfo = shared_attachExtensionInfo;
const bitsFor = shared_bitsFor;
const charInfo = shared_charInfo;
const minBits = shared_minBits;
const octetsFor = shared_octetsFor;
const K16 = shared_K16;
const K64 = shared_K64;
const MAX_DEPTH = shared_MAX_DEPTH;

export interface DecodeOptions {
  /** Fail if octets remain after the value (default false: trailing padding is tolerated). */
  readonly strict?: boolean;
}

/** One reader reused by top-level decodes (decoders never call decode() themselves). */
let spareReader: BitReader | undefined = new BitReader(new Uint8Array(0));

export function decode<T>(schema: Schema<T>, bytes: Uint8Array, opts?: DecodeOptions): T {
  const d = compileDecoder(schema);
  let r = spareReader;
  spareReader = undefined;
  if (r) r.reset(bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  else r = new BitReader(bytes);
  try {
    const v = d(r, 0) as T;
    if (opts?.strict && r.remainingBits >= 8) throw new PerDecodeError(`${r.remainingBits >>> 3} trailing octets`);
    return v;
  } catch (e) {
    if (e instanceof PerDecodeError) throw e;
    // Anything else is a decoder bug on hostile input; still report it as malformed input.
    throw new PerDecodeError(`internal decoder error: ${(e as Error).message}`);
  } finally {
    r.release();
    spareReader = r;
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

function readChars(r: BitReader, count: number, bits: number, indexed: readonly number[] | undefined, table: Int32Array | undefined, maxCode: number, align: boolean): string {
  if (count > 0 && align) r.align();
  if ((bits === 8 || bits === 16) && indexed === undefined && r.octetAligned) return readOctetChars(r, count, bits === 16, table, maxCode);
  r.need(count * bits, 'characters');
  let out = '';
  for (let i = 0; i < count; i++) {
    const raw = r.readBits(bits);
    let code = raw;
    if (indexed) {
      const c = indexed[raw];
      if (c === undefined) fail(`character index ${raw} outside alphabet`);
      code = c;
    } else if (code > maxCode || (table !== undefined && table[code]! < 0)) {
      fail(`character code ${code} not permitted`);
    }
    out += String.fromCharCode(code);
  }
  return out;
}

/** Characters of one or two whole octets each (IA5, Visible, BMP), read in place. */
function readOctetChars(r: BitReader, count: number, wide: boolean, table: Int32Array | undefined, maxCode: number): string {
  const at = r.takeOctets(wide ? count * 2 : count, 'characters');
  const b = r.buffer;
  for (let i = 0; i < count; i++) {
    const code = charAt(b, at, i, wide);
    if (code > maxCode || (table !== undefined && table[code]! < 0)) fail(`character code ${code} not permitted`);
  }
  // Up to eight characters per fromCharCode call: appending one at a time made a new string
  // per character, a fifth of what decoding an LRQ allocated.
  let out = '';
  for (let i = 0; i < count; i += 8) {
    const k = at + (wide ? 2 * i : i);
    let piece: string;
    switch (count - i) {
      case 1:
        piece = String.fromCharCode(charAt(b, k, 0, wide));
        break;
      case 2:
        piece = String.fromCharCode(charAt(b, k, 0, wide), charAt(b, k, 1, wide));
        break;
      case 3:
        piece = String.fromCharCode(charAt(b, k, 0, wide), charAt(b, k, 1, wide), charAt(b, k, 2, wide));
        break;
      case 4:
        piece = String.fromCharCode(charAt(b, k, 0, wide), charAt(b, k, 1, wide), charAt(b, k, 2, wide), charAt(b, k, 3, wide));
        break;
      case 5:
        piece = String.fromCharCode(charAt(b, k, 0, wide), charAt(b, k, 1, wide), charAt(b, k, 2, wide), charAt(b, k, 3, wide), charAt(b, k, 4, wide));
        break;
      case 6:
        piece = String.fromCharCode(charAt(b, k, 0, wide), charAt(b, k, 1, wide), charAt(b, k, 2, wide), charAt(b, k, 3, wide), charAt(b, k, 4, wide), charAt(b, k, 5, wide));
        break;
      case 7:
        piece = String.fromCharCode(charAt(b, k, 0, wide), charAt(b, k, 1, wide), charAt(b, k, 2, wide), charAt(b, k, 3, wide), charAt(b, k, 4, wide), charAt(b, k, 5, wide), charAt(b, k, 6, wide));
        break;
      default:
        piece = String.fromCharCode(charAt(b, k, 0, wide), charAt(b, k, 1, wide), charAt(b, k, 2, wide), charAt(b, k, 3, wide), charAt(b, k, 4, wide), charAt(b, k, 5, wide), charAt(b, k, 6, wide), charAt(b, k, 7, wide));
    }
    out = i === 0 ? piece : out + piece;
  }
  return out;
}

function charAt(b: Uint8Array, at: number, i: number, wide: boolean): number {
  return wide ? (b[at + 2 * i]! << 8) | b[at + 2 * i + 1]! : b[at + i]!;
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

const OID_MEMORY = 8;

/** A schema compiled into a decoding function, built once per schema object. */
type Dec = (r: BitReader, depth: number) => unknown;

const compiled = new WeakMap<AnySchema, Dec>();

/** Decodes one value of `s` (compiles the schema on first use). */
export function decodeValue(r: BitReader, s: AnySchema, depth: number): unknown {
  return compileDecoder(s)(r, depth);
}

/**
 * Turns a schema into a closure: constraint arithmetic, character tables, child decoders and
 * field names are worked out once here instead of on every value. References stay lazy, so
 * recursive types compile.
 */
export function compileDecoder(s: AnySchema): Dec {
  let d = compiled.get(s);
  if (!d) {
    d = buildDecoder(s);
    compiled.set(s, d);
  }
  return d;
}

function tooDeep(): never {
  fail('nesting too deep');
}

function buildDecoder(s: AnySchema): Dec {
  switch (s.kind) {
    case 'null':
      return (_r, depth) => {
        if (depth > MAX_DEPTH) tooDeep();
        return null;
      };
    case 'boolean':
      return (r, depth) => {
        if (depth > MAX_DEPTH) tooDeep();
        return r.readBit();
      };
    case 'integer':
      return buildInteger(s);
    case 'enumerated': {
      const root = s.root;
      const ext = s.ext;
      const extensible = s.extensible;
      const ub = root.length - 1;
      return (r, depth) => {
        if (depth > MAX_DEPTH) tooDeep();
        const isExt = extensible ? r.readBit() : false;
        if (!isExt) return root[readConstrained(r, 0, ub)]!;
        const i = readNormallySmall(r);
        return ext[i] ?? `$ext:${i}`;
      };
    }
    case 'octetString': {
      const sz = s.size;
      return (r, depth) => {
        if (depth > MAX_DEPTH) tooDeep();
        return decodeOctets(r, sz);
      };
    }
    case 'bitString': {
      const sz = s.size;
      return (r, depth) => {
        if (depth > MAX_DEPTH) tooDeep();
        return decodeBits(r, sz);
      };
    }
    case 'charString':
      return buildCharString(s);
    case 'oid': {
      // A message carries the same few OIDs again and again (protocol and generic-data ids):
      // recently seen encodings map straight to the string made for them before.
      const seenBytes: Uint8Array[] = [];
      const seenStrings: string[] = [];
      let next = 0;
      return (r, depth) => {
        if (depth > MAX_DEPTH) tooDeep();
        const len = readLengthPart(r);
        if (len >= K16) fail('OID too long');
        for (let i = 0; i < seenBytes.length; i++) {
          const b = seenBytes[i]!;
          if (b.length === len && r.nextOctetsEqual(b)) {
            r.takeOctets(len, 'OID');
            return seenStrings[i]!;
          }
        }
        const bytes = r.readBytes(len);
        const oid = bytesToOid(bytes);
        if (len <= 32) {
          seenBytes[next] = bytes;
          seenStrings[next] = oid;
          next = (next + 1) % OID_MEMORY;
        }
        return oid;
      };
    }
    case 'sequenceOf':
      return buildSequenceOf(s);
    case 'sequence':
      return buildSequence(s);
    case 'choice':
      return buildChoice(s);
    case 'ref': {
      let target: Dec | undefined;
      return (r, depth) => (target ??= compileDecoder(s.resolve()))(r, depth);
    }
    case 'opaque': {
      const label = s.label;
      return () => fail(`${label} is only supported inside an extension (open type)`);
    }
  }
}

function buildInteger(s: IntegerSchema): Dec {
  const { min, max } = s;
  const extensible = s.extensible === true;
  if (!extensible && min !== undefined && max !== undefined) {
    const range = max - min + 1;
    if (range > 1 && range <= 255) {
      const bits = bitsFor(range - 1);
      return (r, depth) => {
        if (depth > MAX_DEPTH) tooDeep();
        const v = min + r.readBits(bits);
        if (v > max) fail(`value ${v} above upper bound ${max}`);
        return v;
      };
    }
    return (r, depth) => {
      if (depth > MAX_DEPTH) tooDeep();
      return readConstrained(r, min, max);
    };
  }
  return (r, depth) => {
    if (depth > MAX_DEPTH) tooDeep();
    return decodeInteger(r, s);
  };
}

function buildCharString(s: CharStringSchema): Dec {
  const info = charInfo(s);
  const sz = s.size;
  const align = !(sz?.max !== undefined && sz.max * info.bits <= 16);
  const { bits, indexed, maxCode } = info;
  // Direct codes with a permitted alphabet: code -> value table, -1 where not permitted.
  const table = info.allowed !== undefined && indexed === undefined ? info.codeToValue : undefined;
  if (isFixed(sz) && sz.max < K64) {
    const n = sz.max;
    return (r, depth) => {
      if (depth > MAX_DEPTH) tooDeep();
      return readChars(r, n, bits, indexed, table, maxCode, align);
    };
  }
  return (r, depth) => {
    if (depth > MAX_DEPTH) tooDeep();
    const count = readSizePrefix(r, sz, bits);
    if (count >= 0) return readChars(r, count, bits, indexed, table, maxCode, align);
    let out = '';
    for (;;) {
      const n = readLengthPart(r);
      checkCount(r, n, bits, out.length + n);
      out += readChars(r, n, bits, indexed, table, maxCode, align);
      if (n < K16) break;
    }
    checkTotal(sz, out.length);
    return out;
  };
}

function buildSequenceOf(s: SequenceOfSchema): Dec {
  const item = s.item;
  const sz = s.size;
  let unit = -1;
  let itemDec: Dec | undefined;
  // Items go into an array of the announced size (the count is checked against the input
  // first): growing one from [] allocates a 17-slot store for the usual one or two aliases.
  const items = (r: BitReader, count: number, into: unknown[], from: number, depth: number): void => {
    const d = (itemDec ??= compileDecoder(item));
    let i = 0;
    try {
      for (; i < count; i++) into[from + i] = d(r, depth + 1);
    } catch (e) {
      throw e instanceof PerDecodeError ? e.within(`[${from + i}]`) : e;
    }
  };
  return (r, depth) => {
    if (depth > MAX_DEPTH) tooDeep();
    if (unit < 0) unit = minBits(item);
    if (isFixed(sz) && sz.max < K64) {
      checkCount(r, sz.max, unit, sz.max);
      const out = new Array<unknown>(sz.max);
      items(r, sz.max, out, 0, depth);
      return out;
    }
    const count = readSizePrefix(r, sz, unit);
    if (count >= 0) {
      const out = new Array<unknown>(count);
      items(r, count, out, 0, depth);
      return out;
    }
    const first = readLengthPart(r);
    checkCount(r, first, unit, first);
    if (first < K16) {
      checkTotal(sz, first);
      const out = new Array<unknown>(first);
      items(r, first, out, 0, depth);
      return out;
    }
    const out: unknown[] = [];
    items(r, first, out, 0, depth);
    for (;;) {
      const n = readLengthPart(r);
      checkCount(r, n, unit, out.length + n);
      items(r, n, out, out.length, depth);
      if (n < K16) break;
    }
    checkTotal(sz, out.length);
    return out;
  };
}

/** An open type (10.2) holding a value of `schema`, decoded in place within its octets. */
function buildOpenType(schema: AnySchema): Dec {
  if (schema.kind === 'opaque') return (r) => decodeOctets(r, undefined);
  let inner: Dec | undefined;
  return (r, depth) => {
    const d = (inner ??= compileDecoder(schema));
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
      return d(new BitReader(all), depth + 1);
    }
    checkCount(r, len, 8, len);
    const endBit = r.bitPosition + len * 8;
    const prevEnd = r.narrow(endBit);
    try {
      return d(r, depth + 1);
    } finally {
      r.restore(prevEnd, endBit);
    }
  };
}

function buildSequence(s: SequenceSchema): Dec {
  const root = s.root;
  const n = root.length;
  const names = root.map((f) => f.name);
  const optional = root.map((f) => f.optional);
  const optCount = optional.filter(Boolean).length;
  const wide = optCount > 30;
  const decs: (Dec | undefined)[] = new Array<Dec | undefined>(n).fill(undefined);
  const extensible = s.extensible;
  const ext = s.ext;
  const extNames = ext.map((f) => f.name);
  const extDecs: (Dec | undefined)[] = new Array<Dec | undefined>(ext.length).fill(undefined);
  const rootDec = (i: number): Dec => (decs[i] = compileDecoder(root[i]!.schema));
  const extDec = (k: number): Dec => (extDecs[k] = buildOpenType(ext[k]!.schema));

  /** Extension additions after the root (bitmap length, bitmap, open types), into `out`. */
  const decodeExtensions = (r: BitReader, depth: number, out: Record<string, unknown>, count: number): Record<string, unknown> => {
    // The bitmap as one number when it fits (the usual case), else as a list.
    let bitmapWord = 0;
    let bitmap: boolean[] | undefined;
    if (count <= 30) bitmapWord = r.readBits(count);
    else {
      bitmap = new Array<boolean>(count);
      for (let k = 0; k < count; k++) bitmap[k] = r.readBit();
    }
    let unknown: Map<number, Uint8Array> | undefined;
    let lastPresent = -1;
    for (let k = 0; k < count; k++) {
      if (bitmap ? !bitmap[k] : ((bitmapWord >>> (count - 1 - k)) & 1) === 0) continue;
      lastPresent = k;
      try {
        if (k < ext.length) out[extNames[k]!] = (extDecs[k] ?? extDec(k))(r, depth);
        else (unknown ??= new Map()).set(k, decodeOctets(r, undefined));
      } catch (e) {
        throw e instanceof PerDecodeError ? e.within(extNames[k] ?? `ext${k}`) : e;
      }
    }
    rememberExtensions(out, count, lastPresent, unknown);
    return out;
  };

  const generated = wide ? undefined : generateSequenceDecoder(names, optional, optCount, extensible, extNames, decs, rootDec, extDecs, extDec, decodeExtensions);
  if (generated) return generated;

  return (r, depth) => {
    if (depth > MAX_DEPTH) tooDeep();
    const hasExt = extensible ? r.readBit() : false;
    // Presence bits of the OPTIONAL root components, first one most significant.
    let present = 0;
    let presentList: boolean[] | undefined;
    if (!wide) present = r.readBits(optCount);
    else {
      presentList = [];
      for (let i = 0; i < optCount; i++) presentList.push(r.readBit());
    }
    const out: Record<string, unknown> = {};
    let oi = 0;
    let i = 0;
    try {
      for (; i < n; i++) {
        if (optional[i]) {
          const bit = presentList ? presentList[oi] : ((present >>> (optCount - 1 - oi)) & 1) === 1;
          oi++;
          if (!bit) continue;
        }
        out[names[i]!] = (decs[i] ?? rootDec(i))(r, depth + 1);
      }
    } catch (e) {
      throw e instanceof PerDecodeError ? e.within(names[i]!) : e;
    }
    if (!hasExt) return out;
    return decodeExtensions(r, depth, out, readExtensionCount(r));
  };
}

function readExtensionCount(r: BitReader): number {
  let count: number;
  if (!r.readBit()) count = r.readBits(6) + 1;
  else {
    count = readLengthPart(r);
    if (count === 0 || count >= K16) fail('bad extension bitmap length');
  }
  r.need(count, 'extension bitmap');
  return count;
}

/**
 * Only what a default re-encode would not reproduce needs remembering: a bitmap wider than the
 * last present addition, or additions our schema does not know.
 */
function rememberExtensions(out: object, count: number, lastPresent: number, unknown: Map<number, Uint8Array> | undefined): void {
  if (count !== lastPresent + 1 || unknown) attachExtensionInfo(out, { count, unknown: unknown ?? new Map() });
}

/** Additions beyond the ones our schema knows (bits k >= known of a bitmap of <= 30), kept as bytes. */
function unknownExtensions(r: BitReader, out: object, word: number, count: number, known: number, lastPresent: number): object {
  let unknown: Map<number, Uint8Array> | undefined;
  for (let k = known; k < count; k++) {
    if (((word >>> (count - 1 - k)) & 1) === 0) continue;
    lastPresent = k;
    try {
      (unknown ??= new Map()).set(k, decodeOctets(r, undefined));
    } catch (e) {
      throw e instanceof PerDecodeError ? e.within(`ext${k}`) : e;
    }
  }
  rememberExtensions(out, count, lastPresent, unknown);
  return out;
}

/** Field names we are willing to put in generated source (as string literals; never __proto__). */
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_$-]*$/;
let codegenAvailable = true;

/**
 * A SEQUENCE decoder generated as source: the field stores become named stores of fixed keys,
 * each with its own inline cache, where the shared closure above made every store in every
 * SEQUENCE one megamorphic keyed store (it was the decoder's largest cost). Same steps and checks
 * as the closure; undefined when a name is unsuitable or code generation is disallowed.
 */
function generateSequenceDecoder(
  names: readonly string[],
  optional: readonly boolean[],
  optCount: number,
  extensible: boolean,
  extNames: readonly string[],
  decs: (Dec | undefined)[],
  rootDec: (i: number) => Dec,
  extDecs: (Dec | undefined)[],
  extDec: (k: number) => Dec,
  decodeExtensions: (r: BitReader, depth: number, out: Record<string, unknown>, count: number) => Record<string, unknown>,
): Dec | undefined {
  if (!codegenAvailable || !names.every((x) => SAFE_NAME.test(x)) || !extNames.every((x) => SAFE_NAME.test(x))) return undefined;
  const lit = (x: string): string => JSON.stringify(x);
  const src: string[] = [];
  src.push('return function decodeSequence(r, depth) {');
  src.push('if (depth > MAX_DEPTH) tooDeep();');
  if (extensible) src.push('const hasExt = r.readBit();');
  if (optCount > 0) src.push(`const present = r.readBits(${optCount});`);
  src.push('const out = {};', 'const dd = depth + 1;', 'let i = 0;', 'try {');
  let oi = 0;
  names.forEach((name, i) => {
    const store = `i = ${i}; out[${lit(name)}] = (decs[${i}] ?? rootDec(${i}))(r, dd);`;
    if (optional[i]) src.push(`if ((present & ${2 ** (optCount - 1 - oi++)}) !== 0) { ${store} }`);
    else src.push(store);
  });
  src.push('} catch (e) { throw e instanceof PerDecodeError ? e.within(names[i]) : e; }');
  if (!extensible) src.push('return out;');
  else {
    src.push('if (!hasExt) return out;');
    // Bitmaps over 30 bits (never seen in H.225/H.245) take the closure's path.
    src.push('const count = readExtensionCount(r);');
    src.push('if (count > 30) return decodeExtensions(r, depth, out, count);');
    src.push('const word = r.readBits(count);');
    src.push('let lastPresent = -1;', 'try {');
    extNames.forEach((name, k) => {
      src.push(`if (count > ${k} && ((word >>> (count - ${k + 1})) & 1) !== 0) { i = ${k}; lastPresent = ${k}; out[${lit(name)}] = (extDecs[${k}] ?? extDec(${k}))(r, depth); }`);
    });
    src.push('} catch (e) { throw e instanceof PerDecodeError ? e.within(extNames[i]) : e; }');
    src.push(`if (count > ${extNames.length}) return unknownExtensions(r, out, word, count, ${extNames.length}, lastPresent);`);
    src.push('if (count !== lastPresent + 1) rememberExtensions(out, count, lastPresent, undefined);');
    src.push('return out;');
  }
  src.push('};');
  try {
    const make = new Function(
      'MAX_DEPTH', 'tooDeep', 'PerDecodeError', 'names', 'extNames', 'decs', 'rootDec', 'extDecs', 'extDec',
      'decodeExtensions', 'readExtensionCount', 'unknownExtensions', 'rememberExtensions',
      src.join('\n'),
    ) as (...args: unknown[]) => Dec;
    return make(MAX_DEPTH, tooDeep, PerDecodeError, names, extNames, decs, rootDec, extDecs, extDec, decodeExtensions, readExtensionCount, unknownExtensions, rememberExtensions);
  } catch {
    codegenAvailable = false; // e.g. node --disallow-code-generation-from-strings
    return undefined;
  }
}

function buildChoice(s: ChoiceSchema): Dec {
  const root = s.root;
  const rootNames = root.map((a) => a.name);
  const rootDecs: (Dec | undefined)[] = new Array<Dec | undefined>(root.length).fill(undefined);
  const ext = s.ext;
  const extNames = ext.map((a) => a.name);
  const extDecs: (Dec | undefined)[] = new Array<Dec | undefined>(ext.length).fill(undefined);
  const extensible = s.extensible;
  const ub = root.length - 1;
  const range = root.length;
  const bits = range > 1 && range <= 255 ? bitsFor(range - 1) : -1;
  return (r, depth) => {
    if (depth > MAX_DEPTH) tooDeep();
    const isExt = extensible ? r.readBit() : false;
    if (!isExt) {
      if (range === 0) fail('empty CHOICE');
      let i: number;
      if (bits >= 0) {
        i = r.readBits(bits);
        if (i > ub) fail(`value ${i} above upper bound ${ub}`);
      } else i = readConstrained(r, 0, ub);
      const d = rootDecs[i] ?? (rootDecs[i] = compileDecoder(root[i]!.schema));
      try {
        return { choice: rootNames[i]!, value: d(r, depth + 1) };
      } catch (e) {
        throw e instanceof PerDecodeError ? e.within(rootNames[i]!) : e;
      }
    }
    const i = readNormallySmall(r);
    if (i >= ext.length) return { choice: '$unknown', index: i, value: decodeOctets(r, undefined) };
    const d = extDecs[i] ?? (extDecs[i] = buildOpenType(ext[i]!.schema));
    try {
      return { choice: extNames[i]!, value: d(r, depth) };
    } catch (e) {
      throw e instanceof PerDecodeError ? e.within(extNames[i]!) : e;
    }
  };
}
