/**
 * Aligned PER encoder (X.691, ALIGNED variant) driven by the schemas in schema.ts.
 * Values come from our own code, so a mismatch with the schema is a programming error and raises
 * PerEncodeError naming the path of the bad field.
 */
import { BitWriter } from './bits.js';
import { charInfo, extensionInfo, octetsFor, bitsFor, K16, K64 } from './common.js';
import { PerEncodeError } from './errors.js';
import type { AnySchema, BitString, CharStringSchema, ChoiceSchema, IntegerSchema, Schema, SequenceSchema, SizeRange } from './schema.js';

export function encode<T>(schema: Schema<T>, value: T): Uint8Array {
  const w = new BitWriter();
  encodeValue(w, schema, value, '');
  return w.toBytes();
}

function fail(path: string, msg: string): never {
  throw new PerEncodeError(msg, path || '<root>');
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

/** Unconstrained length determinant for n < 16K (10.9.3.6/7); callers fragment larger counts. */
function writeUnconstrainedLength(w: BitWriter, n: number): void {
  w.align();
  if (n < 128) w.writeBits(n, 8);
  else if (n < K16) w.writeBits(0x8000 | n, 16);
  else throw new PerEncodeError(`length ${n} needs fragmentation`);
}

/**
 * Writes a length determinant and the items it counts, fragmenting into 16K-multiples when the
 * count is 16K or more and the size is not bounded below 64K (10.9.3.8).
 */
function writeCounted(
  w: BitWriter,
  count: number,
  sz: SizeRange | undefined,
  writeItems: (from: number, to: number) => void,
  path: string,
): void {
  const min = sz?.min ?? 0;
  const max = sz?.max;
  let inRoot = true;
  if (sz) {
    inRoot = count >= min && (max === undefined || count <= max);
    if (sz.extensible) w.writeBit(!inRoot);
    else if (!inRoot) fail(path, `size ${count} outside ${min}..${max ?? 'MAX'}`);
  }
  if (inRoot && max !== undefined && max < K64) {
    writeConstrained(w, count, min, max);
    writeItems(0, count);
    return;
  }
  let done = 0;
  for (;;) {
    const left = count - done;
    if (left >= K16) {
      const m = Math.min(4, Math.floor(left / K16));
      w.align();
      w.writeBits(0xc0 | m, 8);
      writeItems(done, done + m * K16);
      done += m * K16;
      continue;
    }
    writeUnconstrainedLength(w, left);
    writeItems(done, count);
    return;
  }
}

function isFixed(sz: SizeRange | undefined): sz is SizeRange & { max: number } {
  return sz !== undefined && !sz.extensible && sz.max === sz.min;
}

function encodeInteger(w: BitWriter, s: IntegerSchema, v: number, path: string): void {
  if (!Number.isSafeInteger(v)) fail(path, `not a safe integer: ${v}`);
  const inRoot = (s.min === undefined || v >= s.min) && (s.max === undefined || v <= s.max);
  if (s.extensible) w.writeBit(!inRoot);
  else if (!inRoot) fail(path, `integer ${v} outside ${s.min ?? 'MIN'}..${s.max ?? 'MAX'}`);
  if (inRoot && s.min !== undefined && s.max !== undefined) {
    writeConstrained(w, v, s.min, s.max);
  } else if (inRoot && s.min !== undefined) {
    const off = v - s.min;
    const n = octetsFor(off);
    writeUnconstrainedLength(w, n);
    w.writeUnsignedBytes(off, n);
  } else {
    writeTwosComplement(w, v);
  }
}

function writeTwosComplement(w: BitWriter, v: number): void {
  let n = 1;
  while (v < -(2 ** (8 * n - 1)) || v > 2 ** (8 * n - 1) - 1) n++;
  writeUnconstrainedLength(w, n);
  const u = v < 0 ? 2 ** (8 * n) + v : v;
  w.writeUnsignedBytes(u, n);
}

function encodeCharString(w: BitWriter, s: CharStringSchema, v: string, path: string): void {
  const info = charInfo(s);
  const codes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c > info.maxCode || (info.allowed && !info.allowed.has(c))) fail(path, `character code ${c} not in permitted alphabet`);
    codes.push(info.indexed ? info.indexed.indexOf(c) : c);
  }
  const sz = s.size;
  const alignChars = !(sz?.max !== undefined && sz.max * info.bits <= 16);
  const writeChars = (from: number, to: number): void => {
    if (to > from && alignChars) w.align();
    for (let i = from; i < to; i++) w.writeBits(codes[i]!, info.bits);
  };
  if (isFixed(sz) && sz.max < K64) {
    if (codes.length !== sz.max) fail(path, `string length ${codes.length} != ${sz.max}`);
    writeChars(0, codes.length);
    return;
  }
  writeCounted(w, codes.length, sz, writeChars, path);
}

function encodeOctets(w: BitWriter, sz: SizeRange | undefined, v: Uint8Array, path: string): void {
  if (!(v instanceof Uint8Array)) fail(path, 'expected Uint8Array');
  if (isFixed(sz) && sz.max < K64) {
    if (v.length !== sz.max) fail(path, `octet string length ${v.length} != ${sz.max}`);
    if (v.length > 2) w.align();
    w.writeBytes(v);
    return;
  }
  writeCounted(
    w,
    v.length,
    sz,
    (from, to) => {
      if (to > from) {
        w.align();
        w.writeBytes(v.subarray(from, to));
      }
    },
    path,
  );
}

function bitAt(b: BitString, i: number): boolean {
  return ((b.bytes[i >>> 3] ?? 0) & (0x80 >>> (i & 7))) !== 0;
}

function encodeBits(w: BitWriter, sz: SizeRange | undefined, v: BitString, path: string): void {
  if (typeof v !== 'object' || v === null || !(v.bytes instanceof Uint8Array) || v.bytes.length * 8 < v.length) fail(path, 'bad BitString');
  const writeRange = (from: number, to: number): void => {
    for (let i = from; i < to; i++) w.writeBit(bitAt(v, i));
  };
  if (isFixed(sz) && sz.max < K64) {
    if (v.length !== sz.max) fail(path, `bit string length ${v.length} != ${sz.max}`);
    if (v.length > 16) w.align();
    writeRange(0, v.length);
    return;
  }
  writeCounted(
    w,
    v.length,
    sz,
    (from, to) => {
      if (to > from) w.align();
      writeRange(from, to);
    },
    path,
  );
}

export function oidToBytes(oid: string, path = ''): Uint8Array {
  const arcs = oid.split('.').map((a) => Number(a));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) fail(path, `bad OID ${oid}`);
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
  return Uint8Array.from(out);
}

/** An open type: the complete encoding of the value, as an octet string with its length (10.2). */
function writeOpenType(w: BitWriter, bytes: Uint8Array): void {
  writeCounted(
    w,
    bytes.length,
    undefined,
    (from, to) => {
      w.writeBytes(bytes.subarray(from, to));
    },
    '',
  );
}

function encodeOpen(schema: AnySchema, value: unknown, path: string): Uint8Array {
  if (schema.kind === 'opaque') {
    if (!(value instanceof Uint8Array)) fail(path, `opaque ${schema.label} expects Uint8Array`);
    return value;
  }
  const inner = new BitWriter(64);
  encodeValue(inner, schema, value, path);
  return inner.toBytes();
}

function asRecord(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'expected an object');
  return v as Record<string, unknown>;
}

function encodeSequence(w: BitWriter, s: SequenceSchema, value: unknown, path: string): void {
  const obj = asRecord(value, path);
  const info = extensionInfo(obj);
  let lastExt = -1;
  for (let i = 0; i < s.ext.length; i++) if (obj[s.ext[i]!.name] !== undefined) lastExt = i;
  if (info) for (const idx of info.unknown.keys()) if (idx > lastExt) lastExt = idx;
  const hasExt = lastExt >= 0;
  if (s.extensible) w.writeBit(hasExt);
  else if (hasExt) fail(path, 'extension values on a non-extensible SEQUENCE');
  for (const f of s.root) if (f.optional) w.writeBit(obj[f.name] !== undefined);
  for (const f of s.root) {
    const fv = obj[f.name];
    if (fv === undefined) {
      if (!f.optional) fail(path ? `${path}.${f.name}` : f.name, 'missing mandatory field');
      continue;
    }
    encodeValue(w, f.schema, fv, path ? `${path}.${f.name}` : f.name);
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
  const present: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const known = s.ext[i];
    const p = known ? obj[known.name] !== undefined : info?.unknown.has(i) === true;
    present.push(p);
    w.writeBit(p);
  }
  for (let i = 0; i < count; i++) {
    if (!present[i]) continue;
    const known = s.ext[i];
    if (known) writeOpenType(w, encodeOpen(known.schema, obj[known.name], path ? `${path}.${known.name}` : known.name));
    else writeOpenType(w, info!.unknown.get(i)!);
  }
}

function encodeChoice(w: BitWriter, s: ChoiceSchema, value: unknown, path: string): void {
  const obj = asRecord(value, path);
  const name = obj['choice'];
  if (name === '$unknown') {
    if (!s.extensible) fail(path, 'unknown alternative on a non-extensible CHOICE');
    const index = obj['index'];
    const bytes = obj['value'];
    if (typeof index !== 'number' || !(bytes instanceof Uint8Array)) fail(path, 'bad unknown alternative');
    w.writeBit(true);
    writeNormallySmall(w, index);
    writeOpenType(w, bytes);
    return;
  }
  const ri = s.root.findIndex((a) => a.name === name);
  if (ri >= 0) {
    if (s.extensible) w.writeBit(false);
    writeConstrained(w, ri, 0, s.root.length - 1);
    encodeValue(w, s.root[ri]!.schema, obj['value'], `${path}.${String(name)}`);
    return;
  }
  const ei = s.ext.findIndex((a) => a.name === name);
  if (ei < 0) fail(path, `no alternative ${String(name)}`);
  w.writeBit(true);
  writeNormallySmall(w, ei);
  writeOpenType(w, encodeOpen(s.ext[ei]!.schema, obj['value'], `${path}.${String(name)}`));
}

export function encodeValue(w: BitWriter, s: AnySchema, v: unknown, path: string): void {
  switch (s.kind) {
    case 'null':
      return;
    case 'boolean':
      if (typeof v !== 'boolean') fail(path, 'expected boolean');
      w.writeBit(v);
      return;
    case 'integer':
      if (typeof v !== 'number') fail(path, 'expected number');
      encodeInteger(w, s, v, path);
      return;
    case 'enumerated': {
      if (typeof v !== 'string') fail(path, 'expected enumerated name');
      const ri = s.root.indexOf(v);
      if (ri >= 0) {
        if (s.extensible) w.writeBit(false);
        writeConstrained(w, ri, 0, s.root.length - 1);
        return;
      }
      let ei = s.ext.indexOf(v);
      if (ei < 0 && v.startsWith('$ext:')) ei = Number(v.slice(5));
      if (!s.extensible || !(ei >= 0)) fail(path, `no enumeration ${v}`);
      w.writeBit(true);
      writeNormallySmall(w, ei);
      return;
    }
    case 'octetString':
      encodeOctets(w, s.size, v as Uint8Array, path);
      return;
    case 'bitString':
      encodeBits(w, s.size, v as BitString, path);
      return;
    case 'charString':
      if (typeof v !== 'string') fail(path, 'expected string');
      encodeCharString(w, s, v, path);
      return;
    case 'oid': {
      if (typeof v !== 'string') fail(path, 'expected OID string');
      const bytes = oidToBytes(v, path);
      writeUnconstrainedLength(w, bytes.length);
      w.writeBytes(bytes);
      return;
    }
    case 'sequenceOf': {
      if (!Array.isArray(v)) fail(path, 'expected array');
      const items: unknown[] = v;
      const write = (from: number, to: number): void => {
        for (let i = from; i < to; i++) encodeValue(w, s.item, items[i], `${path}[${i}]`);
      };
      if (isFixed(s.size) && s.size.max < K64) {
        if (items.length !== s.size.max) fail(path, `expected ${s.size.max} items`);
        write(0, items.length);
        return;
      }
      writeCounted(w, items.length, s.size, write, path);
      return;
    }
    case 'sequence':
      encodeSequence(w, s, v, path);
      return;
    case 'choice':
      encodeChoice(w, s, v, path);
      return;
    case 'ref':
      encodeValue(w, s.resolve(), v, path);
      return;
    case 'opaque':
      fail(path, `${s.label} is only supported inside an extension (open type)`);
  }
}
