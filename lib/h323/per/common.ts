/**
 * Pieces shared by the PER encoder and decoder: character-set tables, how extension metadata
 * rides on decoded SEQUENCE values, and minimum encoded sizes (used to refuse lengths that the
 * remaining input cannot possibly hold, before anything is allocated).
 */
import type { AnySchema, CharStringSchema } from './schema.js';

/**
 * Extension bookkeeping for a decoded SEQUENCE value. It lets a received message re-encode byte-exact: PER writes
 * the extension bitmap with as many bits as the *sender's* schema version has additions, and
 * additions we do not know are written back from their open-type bytes.
 */
export interface ExtensionInfo {
  /** Number of bits in the received extension bitmap. */
  readonly count: number;
  /** Open-type bytes of additions beyond our schema, by addition index (sparse). */
  readonly unknown: ReadonlyMap<number, Uint8Array>;
}

/**
 * Kept in a WeakMap rather than on the value: a lookup miss (the common case) is cheap, the
 * value stays a plain object for deep equality and JSON, and a copy ({ ...v }) drops it, as it
 * should once the value is no longer the received one.
 */
const extensionInfos = new WeakMap<object, ExtensionInfo>();

export function extensionInfo(value: object): ExtensionInfo | undefined {
  return extensionInfos.get(value);
}

export function attachExtensionInfo(value: object, info: ExtensionInfo): void {
  extensionInfos.set(value, info);
}

export interface CharInfo {
  /** Bits per character in the ALIGNED variant (rounded up to a power of two). */
  readonly bits: number;
  /** Sorted permitted alphabet when characters are sent as indexes, else undefined (codes sent as is). */
  readonly indexed?: readonly number[];
  /** Code point -> allowed; undefined = every code point below 2^bits. */
  readonly allowed?: ReadonlySet<number>;
  readonly maxCode: number;
  /** Encoder table: code point -> value to send (index or code), -1 when not permitted; undefined = code as is up to maxCode. */
  readonly codeToValue?: Int32Array;
}

const PRINTABLE = " '()+,-./0123456789:=?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function baseAlphabet(charset: CharStringSchema['charset']): number[] | undefined {
  switch (charset) {
    case 'IA5':
      return undefined; // 0..127
    case 'Numeric':
      return [...' 0123456789'].map((c) => c.charCodeAt(0));
    case 'Printable':
      return [...PRINTABLE].map((c) => c.charCodeAt(0));
    case 'Visible': {
      const out: number[] = [];
      for (let c = 0x20; c <= 0x7e; c++) out.push(c);
      return out;
    }
    case 'BMP':
      return undefined; // 0..65535
  }
}

const charInfoCache = new WeakMap<CharStringSchema, CharInfo>();

function alignedBits(count: number): number {
  let b = 0;
  while (2 ** b < count) b++;
  // ALIGNED variant rounds the character width up to a power of two (X.691 27.5.2).
  let p = 1;
  while (p < b) p *= 2;
  return b === 0 ? 0 : p;
}

export function charInfo(s: CharStringSchema): CharInfo {
  const cached = charInfoCache.get(s);
  if (cached) return cached;
  let codes: number[] | undefined = s.alphabet !== undefined ? [...s.alphabet].map((c) => c.charCodeAt(0)) : baseAlphabet(s.charset);
  let info: CharInfo;
  if (codes === undefined) {
    const maxCode = s.charset === 'BMP' ? 0xffff : 0x7f;
    info = { bits: s.charset === 'BMP' ? 16 : 8, maxCode };
  } else {
    codes = [...new Set(codes)].sort((a, b) => a - b);
    const bits = alignedBits(codes.length);
    const maxCode = codes[codes.length - 1] ?? 0;
    const allowed = new Set(codes);
    // Characters go as their own codes when the largest fits in `bits`, else as indexes (27.5.4).
    const codeToValue = new Int32Array(maxCode + 1).fill(-1);
    const direct = maxCode <= 2 ** bits - 1;
    codes.forEach((c, i) => (codeToValue[c] = direct ? c : i));
    info = direct ? { bits, allowed, maxCode, codeToValue } : { bits, indexed: codes, allowed, maxCode, codeToValue };
  }
  charInfoCache.set(s, info);
  return info;
}

export function resolve(s: AnySchema): Exclude<AnySchema, { kind: 'ref' }> {
  let cur: AnySchema = s;
  for (let i = 0; cur.kind === 'ref'; i++) {
    if (i > 16) throw new Error('schema reference loop');
    cur = cur.resolve();
  }
  return cur;
}

const minBitsCache = new WeakMap<AnySchema, number>();

/** A lower bound on the encoded size of one value of `s`, in bits (0 when it can be empty). */
export function minBits(s: AnySchema, seen: Set<AnySchema> = new Set()): number {
  const cached = minBitsCache.get(s);
  if (cached !== undefined) return cached;
  if (seen.has(s)) return 0;
  seen.add(s);
  let bits = 0;
  switch (s.kind) {
    case 'null':
    case 'opaque':
      bits = 0;
      break;
    case 'boolean':
      bits = 1;
      break;
    case 'integer':
    case 'enumerated':
    case 'choice':
      bits = s.kind === 'choice' || s.kind === 'enumerated' ? (s.extensible ? 1 : 0) : 0;
      break;
    case 'octetString':
    case 'bitString':
    case 'charString':
    case 'sequenceOf':
      bits = 0;
      break;
    case 'oid':
      bits = 8;
      break;
    case 'sequence':
      bits = (s.extensible ? 1 : 0) + s.root.filter((f) => f.optional).length;
      for (const f of s.root) if (!f.optional) bits += minBits(f.schema, seen);
      break;
    case 'ref':
      bits = minBits(s.resolve(), seen);
      break;
  }
  minBitsCache.set(s, bits);
  return bits;
}

/** Number of bits needed for values 0..n (n >= 0). */
export function bitsFor(n: number): number {
  if (n < 0x100000000) return 32 - Math.clz32(n);
  let b = 32;
  while (2 ** b <= n) b++;
  return b;
}

/** Number of octets needed for the unsigned value n (at least 1). */
export function octetsFor(n: number): number {
  if (n < 0x100) return 1;
  if (n < 0x10000) return 2;
  if (n < 0x1000000) return 3;
  let k = 4;
  while (n >= 2 ** (8 * k)) k++;
  return k;
}

const altIndexCache = new WeakMap<object, Map<string, number>>();

/** name -> index of a CHOICE's root (or extension) alternatives, built once per schema. */
export function altIndex(key: object, alts: readonly { readonly name: string }[]): Map<string, number> {
  let m = altIndexCache.get(key);
  if (!m) {
    m = new Map(alts.map((a, i) => [a.name, i]));
    altIndexCache.set(key, m);
  }
  return m;
}

export const K64 = 65536;
export const K16 = 16384;
export const MAX_DEPTH = 64;
