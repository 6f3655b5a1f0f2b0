/**
 * Validation of a registry document. Errors name the exact field, e.g.
 * `entries[3].keys[0].publicKey: not 32 bytes base64url`, so an operator can fix the file.
 */
import type { EntryLimits, PublicKeyEntry, RegistryDocument, RegistryEntry, Role, SipCredentials } from './types.js';
import { ROLES } from './types.js';

export type ParseResult = { ok: true; doc: RegistryDocument } | { ok: false; errors: string[] };

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// SIP user part characters we accept: unreserved plus a few safe marks; no ':' '@' ';' or spaces.
const USER_RE = /^[A-Za-z0-9._~!$&'()*+,=-]{1,64}$/;
const REALM_RE = /^[A-Za-z0-9.-]{1,253}$/;
const HEX = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);
const B64URL_RE = /^[A-Za-z0-9_-]+$/;

/** Decodes a 32-byte base64url (no padding) public key, or undefined. */
export function decodePublicKey(s: unknown): Buffer | undefined {
  if (typeof s !== 'string' || s.length !== 43 || !B64URL_RE.test(s)) return undefined;
  const b = Buffer.from(s, 'base64url');
  return b.length === 32 && b.toString('base64url') === s ? b : undefined;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function parseRegistryDocument(value: unknown): ParseResult {
  const errors: string[] = [];
  if (!isObj(value)) return { ok: false, errors: ['(root): not a JSON object'] };
  if (value.version !== 1) errors.push('version: must be 1');
  if (!Array.isArray(value.entries)) return { ok: false, errors: [...errors, 'entries: not an array'] };
  const entries: RegistryEntry[] = [];
  value.entries.forEach((raw, i) => {
    const e = parseEntry(raw, `entries[${i}]`, errors);
    if (e) entries.push(e);
  });
  checkUnique(entries, errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, doc: { version: 1, entries } };
}

/**
 * Registry invariants: ids and SIP usernames unique; every key id and every public key
 * registered once across all entries (one key, one identity: the anti-Sybil rule).
 */
function checkUnique(entries: RegistryEntry[], errors: string[]): void {
  const ids = new Map<string, number>();
  const users = new Map<string, number>();
  const kids = new Map<string, string>();
  const pubs = new Map<string, string>();
  entries.forEach((e, i) => {
    const at = `entries[${i}]`;
    if (ids.has(e.id)) errors.push(`${at}.id: duplicate of entries[${ids.get(e.id)}].id`);
    else ids.set(e.id, i);
    const u = e.sip.username.toLowerCase();
    if (users.has(u)) errors.push(`${at}.sip.username: duplicate of entries[${users.get(u)}].sip.username`);
    else users.set(u, i);
    e.keys.forEach((k, j) => {
      const kat = `${at}.keys[${j}]`;
      if (kids.has(k.kid)) errors.push(`${kat}.kid: already registered at ${kids.get(k.kid)}`);
      else kids.set(k.kid, kat);
      if (pubs.has(k.publicKey)) errors.push(`${kat}.publicKey: already registered at ${pubs.get(k.publicKey)}`);
      else pubs.set(k.publicKey, kat);
    });
  });
}

function parseEntry(raw: unknown, at: string, errors: string[]): RegistryEntry | undefined {
  if (!isObj(raw)) {
    errors.push(`${at}: not an object`);
    return undefined;
  }
  const before = errors.length;
  const str = (k: string, re?: RegExp, what = 'invalid'): string => {
    const v = raw[k];
    if (typeof v !== 'string' || v.length === 0) errors.push(`${at}.${k}: missing or not a string`);
    else if (re && !re.test(v)) errors.push(`${at}.${k}: ${what}`);
    return typeof v === 'string' ? v : '';
  };
  const id = str('id', ID_RE, 'must be 1-64 of [A-Za-z0-9._-]');
  const displayName = str('displayName');
  if (displayName.length > 128) errors.push(`${at}.displayName: longer than 128 characters`);
  const role = raw.role;
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
    errors.push(`${at}.role: must be one of ${ROLES.join(', ')}`);
  }
  const status = raw.status;
  if (status !== 'active' && status !== 'suspended') errors.push(`${at}.status: must be active or suspended`);
  const sip = parseSip(raw.sip, `${at}.sip`, errors);
  const keys = parseKeys(raw.keys, `${at}.keys`, errors);
  const limits = parseLimits(raw.limits, `${at}.limits`, errors);
  if (errors.length > before || !sip || !keys || !limits) return undefined;
  return { id, displayName, role: role as Role, status: status as 'active' | 'suspended', sip, keys, limits };
}

function parseSip(raw: unknown, at: string, errors: string[]): SipCredentials | undefined {
  if (!isObj(raw)) {
    errors.push(`${at}: not an object`);
    return undefined;
  }
  const before = errors.length;
  const f = (k: string, re: RegExp, what: string, optional = false): string | undefined => {
    const v = raw[k];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || !re.test(v)) errors.push(`${at}.${k}: ${what}`);
    return typeof v === 'string' ? v : undefined;
  };
  const username = f('username', USER_RE, 'not a valid SIP user name (1-64 unreserved characters)');
  const realm = f('realm', REALM_RE, 'not a valid realm');
  const ha1Md5 = f('ha1Md5', HEX(32), 'not 32 lowercase hex digits');
  const ha1Sha256 = f('ha1Sha256', HEX(64), 'not 64 lowercase hex digits');
  const userhashSha256 = f('userhashSha256', HEX(64), 'not 64 lowercase hex digits', true);
  if (raw.password !== undefined) errors.push(`${at}.password: clear passwords are not stored; use HA1 values`);
  if (errors.length > before) return undefined;
  return { username: username!, realm: realm!, ha1Md5: ha1Md5!, ha1Sha256: ha1Sha256!, ...(userhashSha256 ? { userhashSha256 } : {}) };
}

function parseKeys(raw: unknown, at: string, errors: string[]): PublicKeyEntry[] | undefined {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    errors.push(`${at}: not an array`);
    return undefined;
  }
  const before = errors.length;
  const keys: PublicKeyEntry[] = [];
  raw.forEach((k, j) => {
    const kat = `${at}[${j}]`;
    if (!isObj(k)) {
      errors.push(`${kat}: not an object`);
      return;
    }
    if (typeof k.kid !== 'string' || !ID_RE.test(k.kid)) errors.push(`${kat}.kid: must be 1-64 of [A-Za-z0-9._-]`);
    if (!decodePublicKey(k.publicKey)) errors.push(`${kat}.publicKey: not 32 bytes base64url`);
    if (k.createdAt !== undefined && (typeof k.createdAt !== 'string' || Number.isNaN(Date.parse(k.createdAt)))) {
      errors.push(`${kat}.createdAt: not a date`);
    }
    keys.push({
      kid: String(k.kid),
      publicKey: String(k.publicKey),
      ...(typeof k.createdAt === 'string' ? { createdAt: k.createdAt } : {}),
    });
  });
  return errors.length > before ? undefined : keys;
}

function parseLimits(raw: unknown, at: string, errors: string[]): EntryLimits | undefined {
  if (!isObj(raw)) {
    errors.push(`${at}: not an object`);
    return undefined;
  }
  const before = errors.length;
  const n = (k: string, max: number): number => {
    const v = raw[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) errors.push(`${at}.${k}: not an integer 0..${max}`);
    return typeof v === 'number' ? v : 0;
  };
  const maxConcurrentCalls = n('maxConcurrentCalls', 1000);
  const maxBandwidthBps = n('maxBandwidthBps', 10_000_000_000);
  return errors.length > before ? undefined : { maxConcurrentCalls, maxBandwidthBps };
}
