/**
 * Aligned PER encoder (X.691, ALIGNED variant) driven by the schemas in schema.ts.
 * Values come from our own code, so a mismatch with the schema is a programming error and raises
 * PerEncodeError naming the path of the bad field (built only while the error unwinds; the hot
 * path allocates no strings or closures).
 */
import { BitWriter } from './bits.js';
import { altIndex, charInfo, extensionInfo, octetsFor, bitsFor, K16, K64, type CharInfo } from './common.js';
import { PerEncodeError } from './errors.js';
import type { AnySchema, BitString, CharStringSchema, ChoiceSchema, IntegerSchema, Schema, SequenceSchema, SizeRange } from './schema.js';

let topWriter: BitWriter | undefined;

export function encode<T>(schema: Schema<T>, value: T): Uint8Array {
  // Reuse one writer for top-level encodes (re-entrant calls get their own).
  const w = topWriter ?? new BitWriter(256);
  topWriter = undefined;
  try {
    w.reset();
    encodeValue(w, schema, value);
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
  for (let i = from; i < to; i++) {
    const c = v.charCodeAt(i);
    const x = table ? (c < table.length ? table[c]! : -1) : c <= info.maxCode ? c : -1;
    if (x < 0) fail(`character code ${c} not in permitted alphabet`);
    w.writeBits(x, info.bits);
  }
}

function encodeCharString(w: BitWriter, s: CharStringSchema, v: string): void {
  const info = charInfo(s);
  const sz = s.size;
  const align = !(sz?.max !== undefined && sz.max * info.bits <= 16);
  if (isFixed(sz) && sz.max < K64) {
    if (v.length !== sz.max) fail(`string length ${v.length} != ${sz.max}`);
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

/** Scratch writers for open types, one per nesting level, reused across calls. */
const scratch: BitWriter[] = [];
let scratchDepth = 0;

/** Encodes `value` as an open type straight into `w` (length, then the nested complete encoding). */
function writeOpenValue(w: BitWriter, schema: AnySchema, value: unknown): void {
  if (schema.kind === 'opaque') {
    if (!(value instanceof Uint8Array)) fail(`opaque ${schema.label} expects Uint8Array`);
    writeOpenType(w, value);
    return;
  }
  const inner = (scratch[scratchDepth] ??= new BitWriter(256));
  scratchDepth++;
  try {
    inner.reset();
    encodeValue(inner, schema, value);
    const n = inner.byteLength;
    if (n < K16) {
      writeUnconstrainedLength(w, n);
      w.writeWriter(inner);
    } else writeOpenType(w, inner.view());
  } finally {
    scratchDepth--;
    inner.reset();
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('expected an object');
  return v as Record<string, unknown>;
}

function encodeSequence(w: BitWriter, s: SequenceSchema, value: unknown): void {
  const obj = asRecord(value);
  const info = s.extensible ? extensionInfo(obj) : undefined;
  let lastExt = -1;
  const ext = s.ext;
  for (let i = 0; i < ext.length; i++) if (obj[ext[i]!.name] !== undefined) lastExt = i;
  if (info) for (const idx of info.unknown.keys()) if (idx > lastExt) lastExt = idx;
  const hasExt = lastExt >= 0;
  if (s.extensible) w.writeBit(hasExt);
  else if (hasExt) fail('extension values on a non-extensible SEQUENCE');
  const root = s.root;
  for (let i = 0; i < root.length; i++) if (root[i]!.optional) w.writeBit(obj[root[i]!.name] !== undefined);
  for (let i = 0; i < root.length; i++) {
    const f = root[i]!;
    const fv = obj[f.name];
    if (fv === undefined) {
      if (!f.optional) throw new PerEncodeError('missing mandatory field').within(f.name);
      continue;
    }
    try {
      encodeValue(w, f.schema, fv);
    } catch (e) {
      throw e instanceof PerEncodeError ? e.within(f.name) : e;
    }
  }
  if (!hasExt) return;
  // Bitmap width: what the sender used when we re-encode a received value; for our own values,
  // up to the last present addition (what H323Plus/GnuGk send, so our bytes look like theirs).
  const count = Math.max(info?.count ?? 0, lastExt + 1);
  if (count <= 64) {
    w.writeBit(false);
    w.writeBits(count - 1, 6);
  } else {
    w.writeBit(true);
    writeUnconstrainedLength(w, count);
  }
  for (let i = 0; i < count; i++) {
    const known = ext[i];
    w.writeBit(known ? obj[known.name] !== undefined : info?.unknown.has(i) === true);
  }
  for (let i = 0; i < count; i++) {
    const known = ext[i];
    if (known) {
      const fv = obj[known.name];
      if (fv === undefined) continue;
      try {
        writeOpenValue(w, known.schema, fv);
      } catch (e) {
        throw e instanceof PerEncodeError ? e.within(known.name) : e;
      }
    } else {
      const raw = info?.unknown.get(i);
      if (raw) writeOpenType(w, raw);
    }
  }
}

function encodeChoice(w: BitWriter, s: ChoiceSchema, value: unknown): void {
  const obj = asRecord(value);
  const name = obj['choice'];
  if (name === '$unknown') {
    if (!s.extensible) fail('unknown alternative on a non-extensible CHOICE');
    const index = obj['index'];
    const bytes = obj['value'];
    if (typeof index !== 'number' || !(bytes instanceof Uint8Array)) fail('bad unknown alternative');
    w.writeBit(true);
    writeNormallySmall(w, index);
    writeOpenType(w, bytes);
    return;
  }
  if (typeof name !== 'string') fail('CHOICE value needs a "choice" name');
  const ri = altIndex(s.root, s.root).get(name);
  try {
    if (ri !== undefined) {
      if (s.extensible) w.writeBit(false);
      writeConstrained(w, ri, 0, s.root.length - 1);
      encodeValue(w, s.root[ri]!.schema, obj['value']);
      return;
    }
    const ei = altIndex(s.ext, s.ext).get(name);
    if (ei === undefined) fail(`no alternative ${name}`);
    w.writeBit(true);
    writeNormallySmall(w, ei);
    writeOpenValue(w, s.ext[ei]!.schema, obj['value']);
  } catch (e) {
    throw e instanceof PerEncodeError ? e.within(name) : e;
  }
}

export function encodeValue(w: BitWriter, s: AnySchema, v: unknown): void {
  switch (s.kind) {
    case 'null':
      return;
    case 'boolean':
      if (typeof v !== 'boolean') fail('expected boolean');
      w.writeBit(v);
      return;
    case 'integer':
      if (typeof v !== 'number') fail('expected number');
      encodeInteger(w, s, v);
      return;
    case 'enumerated': {
      if (typeof v !== 'string') fail('expected enumerated name');
      const ri = s.root.indexOf(v);
      if (ri >= 0) {
        if (s.extensible) w.writeBit(false);
        writeConstrained(w, ri, 0, s.root.length - 1);
        return;
      }
      let ei = s.ext.indexOf(v);
      if (ei < 0 && v.startsWith('$ext:')) ei = Number(v.slice(5));
      if (!s.extensible || !(ei >= 0)) fail(`no enumeration ${v}`);
      w.writeBit(true);
      writeNormallySmall(w, ei);
      return;
    }
    case 'octetString':
      encodeOctets(w, s.size, v);
      return;
    case 'bitString':
      encodeBits(w, s.size, v);
      return;
    case 'charString':
      if (typeof v !== 'string') fail('expected string');
      encodeCharString(w, s, v);
      return;
    case 'oid': {
      if (typeof v !== 'string') fail('expected OID string');
      const bytes = oidToBytes(v);
      writeUnconstrainedLength(w, bytes.length);
      w.writeBytes(bytes);
      return;
    }
    case 'sequenceOf': {
      if (!Array.isArray(v)) fail('expected array');
      const items: unknown[] = v;
      if (isFixed(s.size) && s.size.max < K64) {
        if (items.length !== s.size.max) fail(`expected ${s.size.max} items`);
        encodeItems(w, s.item, items, 0, items.length);
        return;
      }
      if (!writeSizePrefix(w, items.length, s.size)) {
        encodeItems(w, s.item, items, 0, items.length);
        return;
      }
      let done = 0;
      for (;;) {
        const n = writeLengthPart(w, items.length - done);
        encodeItems(w, s.item, items, done, done + n);
        done += n;
        if (n < K16) return;
      }
    }
    case 'sequence':
      encodeSequence(w, s, v);
      return;
    case 'choice':
      encodeChoice(w, s, v);
      return;
    case 'ref':
      encodeValue(w, s.resolve(), v);
      return;
    case 'opaque':
      fail(`${s.label} is only supported inside an extension (open type)`);
  }
}

function encodeItems(w: BitWriter, item: AnySchema, items: unknown[], from: number, to: number): void {
  for (let i = from; i < to; i++) {
    try {
      encodeValue(w, item, items[i]);
    } catch (e) {
      throw e instanceof PerEncodeError ? e.within(`[${i}]`) : e;
    }
  }
}
