/**
 * PASSporT (RFC 8225) with EdDSA (RFC 8037) carried in an RFC 8224 Identity header.
 *
 * Header shape we issue and accept:
 *   Identity: <b64u(hdr)>.<b64u(claims)>.<b64u(sig)>;info=<urn:x-council-gw:kid:KID>;alg=EdDSA
 * with hdr = {"alg":"EdDSA","kid":"KID","typ":"passport"} and
 * claims = {"dest":{"uri":[...]}|{"tn":[...]},"iat":N,"orig":{"uri":"..."}|{"tn":"..."},"origid":"<uuid>"}
 * (origid optional; our signer always sets it so each call's signature is unique).
 * Keys are named by registry key id (JWS `kid`) instead of an x5u certificate URL; `info` repeats
 * the key id as a URN because RFC 8224 requires an info parameter.
 * Hot-path verification uses node:crypto (Ed25519 in OpenSSL); KeyObjects are cached per key.
 */
import { createPrivateKey, createPublicKey, randomUUID, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../audit/record.js';

export const INFO_PREFIX = 'urn:x-council-gw:kid:';
export const MAX_IDENTITY_HEADER = 4096;

export interface PassportClaims {
  iat: number;
  /** Unique per call (as SHAKEN's origid): two calls in the same second must not sign identically. */
  origid?: string;
  orig: { tn?: string; uri?: string };
  dest: { tn?: string[]; uri?: string[] };
}

export interface ParsedIdentity {
  kid: string;
  alg: string;
  claims: PassportClaims;
  signingInput: Buffer;
  signature: Buffer;
  /** The signature segment as sent; the replay cache key. */
  signatureB64: string;
  info: string;
}

export type IdentityParse =
  | { ok: true; value: ParsedIdentity }
  | { ok: false; code: 'malformed' | 'bad-info' | 'unsupported-alg' | 'bad-claims'; detail: string };

const B64U = /^[A-Za-z0-9_-]+$/;

/** JSON of a base64url segment the caller has already checked against B64U. */
function b64json(seg: string): unknown {
  try {
    return JSON.parse(Buffer.from(seg, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

// A signer's JWS header segment is the same on every call it signs; its JSON is read once.
// The cached values are only read, never handed out.
const headerMemo = new Map<string, unknown>();
const HEADER_MEMO_MAX = 1024;

function headerJson(seg: string): unknown {
  // Ours are about 60 characters; longer ones are not remembered (the memo stays small).
  if (seg.length > 256) return b64json(seg);
  if (headerMemo.has(seg)) return headerMemo.get(seg);
  const v = b64json(seg);
  if (headerMemo.size >= HEADER_MEMO_MAX) headerMemo.clear();
  headerMemo.set(seg, v);
  return v;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const isStrArr = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.length <= 16 && v.every((x) => typeof x === 'string' && x.length <= 256);

/** Parses an Identity header value; never throws. */
export function parseIdentityHeader(value: string): IdentityParse {
  if (typeof value !== 'string' || value.length === 0) return { ok: false, code: 'malformed', detail: 'empty' };
  if (value.length > MAX_IDENTITY_HEADER) return { ok: false, code: 'malformed', detail: 'too long' };
  const parts = value.split(';').map((s) => s.trim());
  const token = parts.shift()!;
  const params = new Map<string, string>();
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0) return { ok: false, code: 'malformed', detail: 'bad parameter' };
    params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
  }
  const segs = token.split('.');
  if (segs.length !== 3 || segs.some((s) => s.length === 0 || !B64U.test(s))) {
    return { ok: false, code: 'malformed', detail: 'not a compact JWS' };
  }
  const hdr = headerJson(segs[0]!);
  if (!isObj(hdr)) return { ok: false, code: 'malformed', detail: 'header not JSON' };
  if (hdr.alg !== 'EdDSA' || (params.has('alg') && params.get('alg') !== 'EdDSA')) {
    return { ok: false, code: 'unsupported-alg', detail: `alg ${String(hdr.alg).slice(0, 20)}` };
  }
  if (hdr.typ !== 'passport') return { ok: false, code: 'malformed', detail: 'typ is not passport' };
  if (typeof hdr.kid !== 'string' || hdr.kid.length === 0 || hdr.kid.length > 64) return { ok: false, code: 'bad-info', detail: 'no kid' };
  const info = params.get('info');
  if (info !== `<${INFO_PREFIX}${hdr.kid}>`) return { ok: false, code: 'bad-info', detail: 'info does not name the kid' };
  const claims = b64json(segs[1]!);
  if (!isObj(claims)) return { ok: false, code: 'malformed', detail: 'claims not JSON' };
  const { iat, orig, dest } = claims;
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat)) return { ok: false, code: 'bad-claims', detail: 'iat' };
  if (!isObj(orig) || (typeof orig.tn !== 'string' && typeof orig.uri !== 'string')) return { ok: false, code: 'bad-claims', detail: 'orig' };
  if (!isObj(dest) || (!isStrArr(dest.tn) && !isStrArr(dest.uri))) return { ok: false, code: 'bad-claims', detail: 'dest' };
  const signature = Buffer.from(segs[2]!, 'base64url');
  if (signature.length !== 64) return { ok: false, code: 'malformed', detail: 'signature not 64 bytes' };
  const origOut: PassportClaims['orig'] = {};
  if (typeof orig.tn === 'string') origOut.tn = orig.tn;
  if (typeof orig.uri === 'string') origOut.uri = orig.uri;
  const destOut: PassportClaims['dest'] = {};
  if (isStrArr(dest.tn)) destOut.tn = dest.tn;
  if (isStrArr(dest.uri)) destOut.uri = dest.uri;
  const out: PassportClaims =
    typeof claims.origid === 'string' && claims.origid.length <= 64
      ? { iat, origid: claims.origid, orig: origOut, dest: destOut }
      : { iat, orig: origOut, dest: destOut };
  return {
    ok: true,
    value: {
      kid: hdr.kid,
      alg: 'EdDSA',
      claims: out,
      signingInput: Buffer.from(token.slice(0, segs[0]!.length + 1 + segs[1]!.length), 'latin1'),
      signature,
      signatureB64: segs[2]!,
      info,
    },
  };
}

/** Ed25519 public KeyObject from the registry's raw base64url key. */
export function publicKeyObject(rawB64u: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: rawB64u }, format: 'jwk' });
}

/** Verification with a small cache of KeyObjects (creating one costs more than a verify). */
export class Ed25519Verifier {
  private readonly cache = new Map<string, KeyObject>();
  verify(rawPublicKey: string, data: Buffer, signature: Buffer): boolean {
    let key = this.cache.get(rawPublicKey);
    if (!key) {
      try {
        key = publicKeyObject(rawPublicKey);
      } catch {
        return false;
      }
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(rawPublicKey, key);
    }
    try {
      return edVerify(null, data, key, signature);
    } catch {
      return false;
    }
  }
}

export interface SignInput {
  kid: string;
  privateKey: KeyObject | string;
  orig: { tn?: string; uri?: string };
  dest: { tn?: string[]; uri?: string[] };
  iat: number;
  /** Defaults to a random UUID. */
  origid?: string;
}

/** Makes an Identity header value (for the CLI `sign` command, tests and the benchmark). */
export function signIdentity(input: SignInput): string {
  const key = typeof input.privateKey === 'string' ? createPrivateKey(input.privateKey) : input.privateKey;
  const hdr = Buffer.from(canonicalJson({ alg: 'EdDSA', kid: input.kid, typ: 'passport' })).toString('base64url');
  const body = { dest: input.dest, iat: Math.floor(input.iat), orig: input.orig, origid: input.origid ?? randomUUID() };
  const claims = Buffer.from(canonicalJson(body)).toString('base64url');
  const sig = edSign(null, Buffer.from(`${hdr}.${claims}`, 'ascii'), key).toString('base64url');
  return `${hdr}.${claims}.${sig};info=<${INFO_PREFIX}${input.kid}>;alg=EdDSA`;
}
