/**
 * Aligned PER encoder (X.691, ALIGNED variant) driven by the schemas in schema.ts.
 * Values come from our own code, so a mismatch with the schema is a programming error and raises
 * PerEncodeError naming the path of the bad field (built only while the error unwinds; the hot
 * path allocates no strings or closures).
 */
import { BitWriter } from './bits.js';
import { charInfo as shared_charInfo, extensionInfo as shared_extensionInfo, octetsFor as shared_octetsFor, bitsFor as shared_bitsFor, K16 as shared_K16, K64 as shared_K64, type CharInfo, type ExtensionInfo } from './common.js';
import { PerEncodeError } from './errors.js';
import type { AnySchema, BitString, CharStringSchema, ChoiceSchema, IntegerSchema, Schema, SequenceOfSchema, SequenceSchema, SizeRange } from './schema.js';

// Module-local bindings: under the tsx loader an imported binding is a getter call on every
// use, which showed up at ~10% of the codec's profile.
const charInfo = shared_charInfo;
const extensionInfo = shared_extensionInfo;
const octetsFor = shared_octetsFor;
const bitsFor = shared_bitsFor;
const K16 = shared_K16;
const K64 = shared_K64;

let topWriter: BitWriter | undefined;

export function encode<T>(schema: Schema<T>, value: T): Uint8Array {
  // Reuse one writer for top-level encodes (re-entrant calls get their own).
  const w = topWriter ?? new BitWriter(256);
  topWriter = undefined;
  try {
    w.reset();
    compileEncoder(schema)(w, value);
    return w.toBytes();
  } finally {
    w.reset();
    topWriter = w;
  }
}

function fail(msg: string): never {
  throw new PerEncodeError(msg);
}

/** Constrained whole number lb..ub (10.5, aligned). */
export function writeConstrained(w: BitWriter, v: number, lb: number, ub: number): void {
  const range = ub - lb + 1;
  const off = v - lb;
  if (range <= 1) return;
  if (range <= 255) {
    w.writeBits(off, bitsFor(range - 1));
  } else if (range === 256) {
    w.align();
    w.writeBits(off, 8);
  } else if (range <= K64) {
    w.align();
    w.writeBits(off, 16);
  } else {
    // "Indefinite length" case: octet count as a constrained number, then the octets (10.5.7.4).
    const n = octetsFor(off);
    writeConstrained(w, n, 1, octetsFor(range - 1));
    w.align();
    w.writeUnsignedBytes(off, n);
  }
}

/** Normally small non-negative whole number (10.6): CHOICE/ENUMERATED extension indexes. */
function writeNormallySmall(w: BitWriter, n: number): void {
  if (n <= 63) {
    w.writeBit(false);
    w.writeBits(n, 6);
  } else {
    w.writeBit(true);
    const k = octetsFor(n);
    writeUnconstrainedLength(w, k);
    w.writeUnsignedBytes(n, k);
  }
}

/** Unconstrained length determinant for n < 16K (10.9.3.6/7). */
function writeUnconstrainedLength(w: BitWriter, n: number): void {
  w.align();
  if (n < 128) w.writeBits(n, 8);
  else if (n < K16) w.writeBits(0x8000 | n, 16);
  else fail(`length ${n} needs fragmentation`);
}

/**
 * Writes the length part for the items from `done` on (10.9.3.8): a 16K-multiple fragment
 * header when 16K or more remain, else the final length. Returns how many items it covers;
 * a result >= 16K means another length part must follow the items.
 */
function writeLengthPart(w: BitWriter, remaining: number): number {
  if (remaining >= K16) {
    const m = Math.min(4, Math.floor(remaining / K16));
    w.align();
    w.writeBits(0xc0 | m, 8);
    return m * K16;
  }
  writeUnconstrainedLength(w, remaining);
  return remaining;
}

/**
 * Size constraint handling shared by strings and SEQUENCE OF: writes the extension bit and, for
 * bounded sizes below 64K, the constrained length. Returns true when the caller must use the
 * unconstrained (fragmentable) length form instead.
 */
function writeSizePrefix(w: BitWriter, count: number, sz: SizeRange | undefined): boolean {
  if (!sz) return true;
  const inRoot = count >= sz.min && (sz.max === undefined || count <= sz.max);
  if (sz.extensible) w.writeBit(!inRoot);
  else if (!inRoot) fail(`size ${count} outside ${sz.min}..${sz.max ?? 'MAX'}`);
  if (inRoot && sz.max !== undefined && sz.max < K64) {
    writeConstrained(w, count, sz.min, sz.max);
    return false;
  }
  return true;
}

function isFixed(sz: SizeRange | undefined): sz is SizeRange & { max: number } {
  return sz !== undefined && !sz.extensible && sz.max === sz.min;
}

function encodeInteger(w: BitWriter, s: IntegerSchema, v: number): void {
  if (!Number.isSafeInteger(v)) fail(`not a safe integer: ${v}`);
  const inRoot = (s.min === undefined || v >= s.min) && (s.max === undefined || v <= s.max);
  if (s.extensible) w.writeBit(!inRoot);
  else if (!inRoot) fail(`integer ${v} outside ${s.min ?? 'MIN'}..${s.max ?? 'MAX'}`);
  if (inRoot && s.min !== undefined && s.max !== undefined) {
    writeConstrained(w, v, s.min, s.max);
  } else if (inRoot && s.min !== undefined) {
    const off = v - s.min;
    const n = octetsFor(off);
    writeUnconstrainedLength(w, n);
    w.writeUnsignedBytes(off, n);
  } else {
    let n = 1;
    while (v < -(2 ** (8 * n - 1)) || v > 2 ** (8 * n - 1) - 1) n++;
    writeUnconstrainedLength(w, n);
    w.writeUnsignedBytes(v < 0 ? 2 ** (8 * n) + v : v, n);
  }
}

function writeChars(w: BitWriter, v: string, from: number, to: number, info: CharInfo, align: boolean): void {
  if (to > from && align) w.align();
  const table = info.codeToValue;
  if ((info.bits === 8 || info.bits === 16) && w.octetAligned) {
    writeOctetChars(w, v, from, to, table, info.maxCode, info.bits === 16);
    return;
  }
  for (let i = from; i < to; i++) {
    const c = v.charCodeAt(i);
    const x = table ? (c < table.length ? table[c]! : -1) : c <= info.maxCode ? c : -1;
    if (x < 0) fail(`character code ${c} not in permitted alphabet`);
    w.writeBits(x, info.bits);
  }
}

/** Characters of one or two whole octets each (IA5, Visible, BMP), stored straight into the writer. */
function writeOctetChars(w: BitWriter, v: string, from: number, to: number, table: Int32Array | undefined, maxCode: number, wide: boolean): void {
  const n = to - from;
  const at = w.claimOctets(wide ? n * 2 : n);
  const b = w.buffer;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(from + i);
    const x = table ? (c < table.length ? table[c]! : -1) : c <= maxCode ? c : -1;
    if (x < 0) fail(`character code ${c} not in permitted alphabet`);
    if (wide) {
      b[at + 2 * i] = x >>> 8;
      b[at + 2 * i + 1] = x & 0xff;
    } else b[at + i] = x;
  }
}

function encodeOctets(w: BitWriter, sz: SizeRange | undefined, v: unknown): void {
  if (!(v instanceof Uint8Array)) fail('expected Uint8Array');
  if (isFixed(sz) && sz.max < K64) {
    if (v.length !== sz.max) fail(`octet string length ${v.length} != ${sz.max}`);
    if (v.length > 2) w.align();
    w.writeBytes(v);
    return;
  }
  if (!writeSizePrefix(w, v.length, sz)) {
    if (v.length > 0) {
      w.align();
      w.writeBytes(v);
    }
    return;
  }
  let done = 0;
  for (;;) {
    const n = writeLengthPart(w, v.length - done);
    if (n > 0) w.writeBytes(n === v.length ? v : v.subarray(done, done + n));
    done += n;
    if (n < K16) return;
  }
}

function writeBitRange(w: BitWriter, b: BitString, from: number, to: number): void {
  for (let i = from; i < to; i++) w.writeBit(((b.bytes[i >>> 3] ?? 0) & (0x80 >>> (i & 7))) !== 0);
}

function encodeBits(w: BitWriter, sz: SizeRange | undefined, v: unknown): void {
  const b = v as BitString;
  if (typeof v !== 'object' || v === null || !(b.bytes instanceof Uint8Array) || b.bytes.length * 8 < b.length) fail('bad BitString');
  if (isFixed(sz) && sz.max < K64) {
    if (b.length !== sz.max) fail(`bit string length ${b.length} != ${sz.max}`);
    if (b.length > 16) w.align();
    writeBitRange(w, b, 0, b.length);
    return;
  }
  if (!writeSizePrefix(w, b.length, sz)) {
    if (b.length > 0) w.align();
    writeBitRange(w, b, 0, b.length);
    return;
  }
  let done = 0;
  for (;;) {
    const n = writeLengthPart(w, b.length - done);
    writeBitRange(w, b, done, done + n);
    done += n;
    if (n < K16) return;
  }
}

const oidCache = new Map<string, Uint8Array>();

export function oidToBytes(oid: string): Uint8Array {
  const cached = oidCache.get(oid);
  if (cached) return cached;
  const arcs = oid.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) fail(`bad OID ${oid}`);
  const out: number[] = [];
  const first = arcs[0]! * 40 + arcs[1]!;
  for (const arc of [first, ...arcs.slice(2)]) {
    const septets: number[] = [];
    let x = arc;
    do {
      septets.unshift(x % 128);
      x = Math.floor(x / 128);
    } while (x > 0);
    for (let i = 0; i < septets.length; i++) out.push(septets[i]! | (i < septets.length - 1 ? 0x80 : 0));
  }
  const bytes = Uint8Array.from(out);
  if (oidCache.size < 1024) oidCache.set(oid, bytes);
  return bytes;
}

/** An open type: the complete encoding of the value, as an octet string with its length (10.2). */
function writeOpenType(w: BitWriter, bytes: Uint8Array): void {
  encodeOctets(w, undefined, bytes);
}

function asRecord(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('expected an object');
  return v as Record<string, unknown>;
}

/** A schema compiled into an encoding function, built once per schema object. */
type Enc = (w: BitWriter, v: unknown) => void;

const compiled = new WeakMap<AnySchema, Enc>();

/** Encodes one value of `s` (compiles the schema on first use). */
export function encodeValue(w: BitWriter, s: AnySchema, v: unknown): void {
  compileEncoder(s)(w, v);
}

/**
 * Turns a schema into a closure: constraint arithmetic, name -> index maps, character tables
 * and child encoders are worked out once here instead of on every value. References stay lazy,
 * so recursive types compile.
 */
export function compileEncoder(s: AnySchema): Enc {
  let e = compiled.get(s);
  if (!e) {
    e = buildEncoder(s);
    compiled.set(s, e);
  }
  return e;
}

function buildEncoder(s: AnySchema): Enc {
  switch (s.kind) {
    case 'null':
      return () => undefined;
    case 'boolean':
      return (w, v) => {
        if (typeof v !== 'boolean') fail('expected boolean');
        w.writeBit(v);
      };
    case 'integer':
      return buildInteger(s);
    case 'enumerated': {
      const rootIndex = new Map(s.root.map((n, i) => [n, i]));
      const extIndex = new Map(s.ext.map((n, i) => [n, i]));
      const extensible = s.extensible;
      const ub = s.root.length - 1;
      return (w, v) => {
        if (typeof v !== 'string') fail('expected enumerated name');
        const ri = rootIndex.get(v);
        if (ri !== undefined) {
          if (extensible) w.writeBit(false);
          writeConstrained(w, ri, 0, ub);
          return;
        }
        let ei = extIndex.get(v) ?? -1;
        if (ei < 0 && v.startsWith('$ext:')) ei = Number(v.slice(5));
        if (!extensible || !(ei >= 0)) fail(`no enumeration ${v}`);
        w.writeBit(true);
        writeNormallySmall(w, ei);
      };
    }
    case 'octetString': {
      const sz = s.size;
      return (w, v) => encodeOctets(w, sz, v);
    }
    case 'bitString': {
      const sz = s.size;
      return (w, v) => encodeBits(w, sz, v);
    }
    case 'charString':
      return buildCharString(s);
    case 'oid':
      return (w, v) => {
        if (typeof v !== 'string') fail('expected OID string');
        const bytes = oidToBytes(v);
        writeUnconstrainedLength(w, bytes.length);
        w.writeBytes(bytes);
      };
    case 'sequenceOf':
      return buildSequenceOf(s);
    case 'sequence':
      return buildSequence(s);
    case 'choice':
      return buildChoice(s);
    case 'ref': {
      let target: Enc | undefined;
      return (w, v) => (target ??= compileEncoder(s.resolve()))(w, v);
    }
    case 'opaque': {
      const label = s.label;
      return () => fail(`${label} is only supported inside an extension (open type)`);
    }
  }
}

function buildInteger(s: IntegerSchema): Enc {
  const { min, max } = s;
  if (!s.extensible && min !== undefined && max !== undefined) {
    const range = max - min + 1;
    const bits = range > 1 && range <= 255 ? bitsFor(range - 1) : -1;
    return (w, v) => {
      if (typeof v !== 'number') fail('expected number');
      if (!Number.isSafeInteger(v)) fail(`not a safe integer: ${v}`);
      if (v < min || v > max) fail(`integer ${v} outside ${min}..${max}`);
      if (bits >= 0) w.writeBits(v - min, bits);
      else writeConstrained(w, v, min, max);
    };
  }
  return (w, v) => {
    if (typeof v !== 'number') fail('expected number');
    encodeInteger(w, s, v);
  };
}

function buildCharString(s: CharStringSchema): Enc {
  const info = charInfo(s);
  const sz = s.size;
  const align = !(sz?.max !== undefined && sz.max * info.bits <= 16);
  const fixed = isFixed(sz) && sz.max < K64 ? sz.max : -1;
  return (w, v) => {
    if (typeof v !== 'string') fail('expected string');
    if (fixed >= 0) {
      if (v.length !== fixed) fail(`string length ${v.length} != ${fixed}`);
      writeChars(w, v, 0, v.length, info, align);
      return;
    }
    if (!writeSizePrefix(w, v.length, sz)) {
      writeChars(w, v, 0, v.length, info, align);
      return;
    }
    let done = 0;
    for (;;) {
      const n = writeLengthPart(w, v.length - done);
      writeChars(w, v, done, done + n, info, align);
      done += n;
      if (n < K16) return;
    }
  };
}

function buildSequenceOf(s: SequenceOfSchema): Enc {
  const sz = s.size;
  const item = s.item;
  let itemEnc: Enc | undefined;
  const fixed = isFixed(sz) && sz.max < K64 ? sz.max : -1;
  const encodeItems = (w: BitWriter, items: unknown[], from: number, to: number): void => {
    const e = (itemEnc ??= compileEncoder(item));
    let i = from;
    try {
      for (; i < to; i++) e(w, items[i]);
    } catch (err) {
      throw err instanceof PerEncodeError ? err.within(`[${i}]`) : err;
    }
  };
  return (w, v) => {
    if (!Array.isArray(v)) fail('expected array');
    const items: unknown[] = v;
    if (fixed >= 0) {
      if (items.length !== fixed) fail(`expected ${fixed} items`);
      encodeItems(w, items, 0, items.length);
      return;
    }
    if (!writeSizePrefix(w, items.length, sz)) {
      encodeItems(w, items, 0, items.length);
      return;
    }
    let done = 0;
    for (;;) {
      const n = writeLengthPart(w, items.length - done);
      encodeItems(w, items, done, done + n);
      done += n;
      if (n < K16) return;
    }
  };
}

/** Scratch writers for open types, one per nesting level, reused across calls. */
const scratch: BitWriter[] = [];
let scratchDepth = 0;

/** An open type holding a value of `schema`: length, then the nested complete encoding. */
function buildOpenType(schema: AnySchema): Enc {
  if (schema.kind === 'opaque') {
    const label = schema.label;
    return (w, value) => {
      if (!(value instanceof Uint8Array)) fail(`opaque ${label} expects Uint8Array`);
      writeOpenType(w, value);
    };
  }
  let innerEnc: Enc | undefined;
  return (w, value) => {
    const e = (innerEnc ??= compileEncoder(schema));
    const inner = (scratch[scratchDepth] ??= new BitWriter(256));
    scratchDepth++;
    try {
      inner.reset();
      e(inner, value);
      const n = inner.byteLength;
      if (n < K16) {
        writeUnconstrainedLength(w, n);
        w.writeWriter(inner);
      } else writeOpenType(w, inner.view());
    } finally {
      scratchDepth--;
      inner.reset();
    }
  };
}

function buildSequence(s: SequenceSchema): Enc {
  const root = s.root;
  const n = root.length;
  const names = root.map((f) => f.name);
  const optional = root.map((f) => f.optional);
  const optNames = root.filter((f) => f.optional).map((f) => f.name);
  const optCount = optNames.length;
  const encs: (Enc | undefined)[] = new Array<Enc | undefined>(n).fill(undefined);
  const extensible = s.extensible;
  const ext = s.ext;
  const extNames = ext.map((f) => f.name);
  const extEncs: (Enc | undefined)[] = new Array<Enc | undefined>(ext.length).fill(undefined);
  const rootEnc = (i: number): Enc => (encs[i] = compileEncoder(root[i]!.schema));
  const extEnc = (k: number): Enc => (extEncs[k] = buildOpenType(ext[k]!.schema));
  const generated = generateSequenceEncoder(names, optional, extensible, extNames, encs, rootEnc, extEncs, extEnc);
  if (generated) return generated;
  return (w, value) => {
    const obj = asRecord(value);
    const info = extensible ? extensionInfo(obj) : undefined;
    let lastExt = -1;
    for (let i = extNames.length - 1; i >= 0; i--) {
      if (obj[extNames[i]!] !== undefined) {
        lastExt = i;
        break;
      }
    }
    if (info) lastExt = lastUnknownExtension(info, lastExt);
    const hasExt = lastExt >= 0;
    if (extensible) w.writeBit(hasExt);
    else if (hasExt) fail('extension values on a non-extensible SEQUENCE');
    // Presence bitmap of the OPTIONAL root components, written in word-sized pieces.
    let bits = 0;
    let pending = 0;
    for (let k = 0; k < optCount; k++) {
      bits = (bits << 1) | (obj[optNames[k]!] !== undefined ? 1 : 0);
      if (++pending === 30) {
        w.writeBits(bits, 30);
        bits = 0;
        pending = 0;
      }
    }
    if (pending > 0) w.writeBits(bits, pending);
    let i = 0;
    try {
      for (; i < n; i++) {
        const fv = obj[names[i]!];
        if (fv === undefined) {
          if (!optional[i]) fail('missing mandatory field');
          continue;
        }
        (encs[i] ?? rootEnc(i))(w, fv);
      }
    } catch (err) {
      throw err instanceof PerEncodeError ? err.within(names[i]!) : err;
    }
    if (!hasExt) return;
    const count = extensionCount(w, info, lastExt);
    for (let k = 0; k < count; k++) {
      w.writeBit(k < extNames.length ? obj[extNames[k]!] !== undefined : info?.unknown.has(k) === true);
    }
    for (let k = 0; k < count; k++) {
      if (k < extNames.length) {
        const fv = obj[extNames[k]!];
        if (fv === undefined) continue;
        try {
          (extEncs[k] ?? extEnc(k))(w, fv);
        } catch (err) {
          throw err instanceof PerEncodeError ? err.within(extNames[k]!) : err;
        }
      } else {
        const raw = info?.unknown.get(k);
        if (raw) writeOpenType(w, raw);
      }
    }
  };
}

function lastUnknownExtension(info: ExtensionInfo, lastExt: number): number {
  for (const idx of info.unknown.keys()) if (idx > lastExt) lastExt = idx;
  return lastExt;
}

/**
 * Writes the extension bitmap's length and returns it: what the sender used when we re-encode a
 * received value; for our own values, up to the last present addition (what H323Plus/GnuGk send,
 * so our bytes look like theirs).
 */
function extensionCount(w: BitWriter, info: ExtensionInfo | undefined, lastExt: number): number {
  const count = Math.max(info?.count ?? 0, lastExt + 1);
  if (count <= 64) {
    w.writeBit(false);
    w.writeBits(count - 1, 6);
  } else {
    w.writeBit(true);
    writeUnconstrainedLength(w, count);
  }
  return count;
}

/** Bitmap bits and open types of additions our schema does not know (indexes from `known` on). */
function unknownExtensions(w: BitWriter, info: ExtensionInfo | undefined, known: number, count: number, bitmap: boolean): void {
  for (let k = known; k < count; k++) {
    if (bitmap) w.writeBit(info?.unknown.has(k) === true);
    else {
      const raw = info?.unknown.get(k);
      if (raw) writeOpenType(w, raw);
    }
  }
}

/** Field names we are willing to put in generated source (as string literals; never __proto__). */
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_$-]*$/;
let codegenAvailable = true;

/**
 * A SEQUENCE encoder generated as source: each field is read once by a named load of a fixed key
 * with its own inline cache, where the shared closure above read every field two or three times
 * through megamorphic keyed loads (the encoder's largest cost). Same output and checks as the
 * closure; undefined when a name is unsuitable or code generation is disallowed.
 */
function generateSequenceEncoder(
  names: readonly string[],
  optional: readonly boolean[],
  extensible: boolean,
  extNames: readonly string[],
  encs: (Enc | undefined)[],
  rootEnc: (i: number) => Enc,
  extEncs: (Enc | undefined)[],
  extEnc: (k: number) => Enc,
): Enc | undefined {
  if (!codegenAvailable || !names.every((x) => SAFE_NAME.test(x)) || !extNames.every((x) => SAFE_NAME.test(x))) return undefined;
  const lit = (x: string): string => JSON.stringify(x);
  const K = extNames.length;
  const src: string[] = [];
  src.push('return function encodeSequence(w, value) {');
  src.push('const obj = asRecord(value);');
  names.forEach((name, i) => src.push(`const f${i} = obj[${lit(name)}];`));
  extNames.forEach((name, k) => src.push(`const x${k} = obj[${lit(name)}];`));
  let last = '-1';
  for (let k = 0; k < K; k++) last = `x${k} !== undefined ? ${k} : ${last}`;
  src.push(`let lastExt = ${last};`);
  if (extensible) {
    src.push('const info = extensionInfo(obj);');
    src.push('if (info !== undefined) lastExt = lastUnknownExtension(info, lastExt);');
    src.push('w.writeBit(lastExt >= 0);');
  } else if (K > 0) src.push(`if (lastExt >= 0) fail('extension values on a non-extensible SEQUENCE');`);
  // Presence bitmap of the OPTIONAL root components, in pieces of up to 30 bits.
  const opt = names.map((_, i) => i).filter((i) => optional[i]);
  for (let at = 0; at < opt.length; at += 30) {
    const piece = opt.slice(at, at + 30);
    const terms = piece.map((i, j) => `(f${i} !== undefined ? ${2 ** (piece.length - 1 - j)} : 0)`);
    src.push(`w.writeBits(${terms.join(' | ')}, ${piece.length});`);
  }
  src.push('let i = 0;', 'try {');
  names.forEach((_, i) => {
    const call = `(encs[${i}] ?? rootEnc(${i}))(w, f${i});`;
    if (optional[i]) src.push(`if (f${i} !== undefined) { i = ${i}; ${call} }`);
    else src.push(`i = ${i}; if (f${i} === undefined) fail('missing mandatory field'); ${call}`);
  });
  src.push('} catch (err) { throw err instanceof PerEncodeError ? err.within(names[i]) : err; }');
  if (extensible) {
    src.push('if (lastExt < 0) return;');
    src.push('const count = extensionCount(w, info, lastExt);');
    for (let k = 0; k < K; k++) src.push(`if (count > ${k}) w.writeBit(x${k} !== undefined);`);
    src.push(`if (count > ${K}) unknownExtensions(w, info, ${K}, count, true);`);
    src.push('try {');
    // A present addition always lies below count (count > lastExt).
    for (let k = 0; k < K; k++) src.push(`if (x${k} !== undefined) { i = ${k}; (extEncs[${k}] ?? extEnc(${k}))(w, x${k}); }`);
    src.push('} catch (err) { throw err instanceof PerEncodeError ? err.within(extNames[i]) : err; }');
    src.push(`if (count > ${K}) unknownExtensions(w, info, ${K}, count, false);`);
  }
  src.push('};');
  try {
    const make = new Function(
      'asRecord', 'extensionInfo', 'fail', 'PerEncodeError', 'names', 'extNames', 'encs', 'rootEnc', 'extEncs', 'extEnc',
      'lastUnknownExtension', 'extensionCount', 'unknownExtensions',
      src.join('\n'),
    ) as (...args: unknown[]) => Enc;
    return make(asRecord, extensionInfo, fail, PerEncodeError, names, extNames, encs, rootEnc, extEncs, extEnc, lastUnknownExtension, extensionCount, unknownExtensions);
  } catch {
    codegenAvailable = false; // e.g. node --disallow-code-generation-from-strings
    return undefined;
  }
}

function buildChoice(s: ChoiceSchema): Enc {
  const root = s.root;
  const ext = s.ext;
  const rootIndex = new Map(root.map((a, i) => [a.name, i]));
  const extIndex = new Map(ext.map((a, i) => [a.name, i]));
  const rootEncs: (Enc | undefined)[] = new Array<Enc | undefined>(root.length).fill(undefined);
  const extEncs: (Enc | undefined)[] = new Array<Enc | undefined>(ext.length).fill(undefined);
  const extensible = s.extensible;
  const ub = root.length - 1;
  return (w, value) => {
    const obj = asRecord(value);
    const name = obj['choice'];
    if (name === '$unknown') {
      if (!extensible) fail('unknown alternative on a non-extensible CHOICE');
      const index = obj['index'];
      const bytes = obj['value'];
      if (typeof index !== 'number' || !(bytes instanceof Uint8Array)) fail('bad unknown alternative');
      w.writeBit(true);
      writeNormallySmall(w, index);
      writeOpenType(w, bytes);
      return;
    }
    if (typeof name !== 'string') fail('CHOICE value needs a "choice" name');
    const ri = rootIndex.get(name);
    try {
      if (ri !== undefined) {
        if (extensible) w.writeBit(false);
        writeConstrained(w, ri, 0, ub);
        (rootEncs[ri] ?? (rootEncs[ri] = compileEncoder(root[ri]!.schema)))(w, obj['value']);
        return;
      }
      const ei = extIndex.get(name);
      if (ei === undefined) fail(`no alternative ${name}`);
      w.writeBit(true);
      writeNormallySmall(w, ei);
      (extEncs[ei] ?? (extEncs[ei] = buildOpenType(ext[ei]!.schema)))(w, obj['value']);
    } catch (err) {
      throw err instanceof PerEncodeError ? err.within(name) : err;
    }
  };
}
