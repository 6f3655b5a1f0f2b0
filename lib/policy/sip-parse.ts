/**
 * Small, defensive parsers for the header shapes the gates read. Each returns a result object and
 * never throws, whatever bytes arrive.
 */
import { isJsSpace } from '../sdp/scan.js';

export const MAX_AUTH_HEADER = 4096;

/** Results may be shared between callers (memoised): read-only. */
export type AuthParse = { ok: true; scheme: string; params: ReadonlyMap<string, string> } | { ok: false; reason: string };

/**
 * Parses `Digest k=v, k="quoted \"v\"", ...` (RFC 7616 / 3261 credentials). Parameter names are
 * lower-cased; duplicate parameters, unterminated quotes and stray bytes are errors.
 */
export function parseAuthParams(header: string): AuthParse {
  // The rate gate (lockout by username) and the digest gate parse the same header back to back.
  if (header === lastAuth.input && lastAuth.result) return lastAuth.result;
  const result = parseAuthParamsUncached(header);
  lastAuth = { input: header, result };
  return result;
}

let lastAuth: { input: unknown; result: AuthParse | undefined } = { input: undefined, result: undefined };

const SCHEME_RE = /^\s*([A-Za-z][A-Za-z0-9-]*)\s+/;
/** A parameter name and its '=' must lie within this many characters of where it starts. */
const NAME_WINDOW = 80;

/** [A-Za-z0-9_-] */
const isNameChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 45;

/** Index after the \s* run starting at `i`. */
function skipSpace(s: string, i: number): number {
  while (i < s.length && isJsSpace(s.charCodeAt(i))) i++;
  return i;
}

// Scanned by hand (a regex per parameter and separator cost more than the rest of the parse):
//   name   ([A-Za-z0-9_-]+)\s*=\s*     token   [^\s,"]*     separator   \s*(,\s*)?
function parseAuthParamsUncached(header: string): AuthParse {
  if (typeof header !== 'string') return { ok: false, reason: 'not a string' };
  if (header.length > MAX_AUTH_HEADER) return { ok: false, reason: 'header too long' };
  const m = SCHEME_RE.exec(header);
  if (!m) return { ok: false, reason: 'no scheme' };
  const scheme = m[1]!;
  const params = new Map<string, string>();
  let i = m[0].length;
  const n = header.length;
  while (i < n) {
    let nameEnd = i;
    while (nameEnd < n && isNameChar(header.charCodeAt(nameEnd))) nameEnd++;
    const eq = skipSpace(header, nameEnd);
    if (nameEnd === i || header.charCodeAt(eq) !== 61 /* = */) return { ok: false, reason: `bad parameter at ${i}` };
    if (eq >= i + NAME_WINDOW) return { ok: false, reason: `bad parameter at ${i}` };
    const key = header.slice(i, nameEnd).toLowerCase();
    i = Math.min(skipSpace(header, eq + 1), i + NAME_WINDOW);
    let value = '';
    if (header.charCodeAt(i) === 34 /* " */) {
      i++;
      const start = i;
      let escaped = false;
      let closed = false;
      while (i < n) {
        const c = header.charCodeAt(i);
        if (c === 92 /* \ */ && i + 1 < n) {
          escaped = true;
          i += 2;
          continue;
        }
        if (c === 34) {
          closed = true;
          break;
        }
        i++;
      }
      if (!closed) return { ok: false, reason: 'unterminated quoted string' };
      value = escaped ? unescapeQuoted(header, start, i) : header.slice(start, i);
      i++;
    } else {
      const start = i;
      while (i < n) {
        const c = header.charCodeAt(i);
        if (c === 44 /* , */ || c === 34 || isJsSpace(c)) break;
        i++;
      }
      value = header.slice(start, i);
    }
    if (params.has(key)) return { ok: false, reason: `duplicate parameter ${key}` };
    if (params.size >= 32) return { ok: false, reason: 'too many parameters' };
    params.set(key, value);
    let next = skipSpace(header, i);
    const comma = header.charCodeAt(next) === 44;
    if (comma) next = skipSpace(header, next + 1);
    if (!comma && next < n) return { ok: false, reason: `expected ',' at ${i}` };
    i = next;
  }
  return { ok: true, scheme, params };
}

/** Content of a quoted-string between start and end (exclusive), backslash escapes resolved. */
function unescapeQuoted(s: string, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) {
    if (s.charCodeAt(i) === 92 && i + 1 < end) i++;
    out += s[i];
  }
  return out;
}

export interface NameAddr {
  /** Display name without quotes, '' when absent. */
  display: string;
  uri: string;
  /** Text before the display name / the part after the URI, to rebuild the header. */
  rest: string;
}

/** Splits `"Display" <sip:u@h>;tag=x` / `Display <sip:u@h>` / `sip:u@h;tag=x`. */
export function parseNameAddr(value: string): NameAddr | undefined {
  if (typeof value !== 'string' || value.length > 2048) return undefined;
  const v = value.trim();
  // A quoted display name may itself contain '<' or '>': skip past it before looking for '<'.
  let from = 0;
  let quoted: string | undefined;
  if (v.startsWith('"')) {
    let i = 1;
    let text = '';
    for (; i < v.length && v[i] !== '"'; i++) {
      if (v[i] === '\\' && i + 1 < v.length) i++;
      text += v[i];
    }
    if (i >= v.length) return undefined;
    quoted = text;
    from = i + 1;
  }
  const lt = v.indexOf('<', from);
  if (lt >= 0) {
    const gt = v.indexOf('>', lt);
    if (gt < 0) return undefined;
    if (quoted !== undefined && v.slice(from, lt).trim() !== '') return undefined;
    const display = quoted ?? v.slice(0, lt).trim();
    return { display, uri: v.slice(lt + 1, gt), rest: v.slice(gt + 1) };
  }
  if (quoted !== undefined) return undefined;
  const semi = v.indexOf(';');
  return { display: '', uri: semi >= 0 ? v.slice(0, semi) : v, rest: semi >= 0 ? v.slice(semi) : '' };
}

export function formatNameAddr(n: NameAddr): string {
  const display = n.display ? `"${n.display.replace(/(["\\])/g, '\\$1')}" ` : '';
  return `${display}<${n.uri}>${n.rest}`;
}

export interface SipUri {
  scheme: string;
  user: string;
  host: string;
}

/** Scheme, user and host of a sip:/sips:/tel: URI, lower-cased host; params and port dropped. */
export function parseSipUri(uri: string): SipUri | undefined {
  if (typeof uri !== 'string' || uri.length > 1024) return undefined;
  const m = /^(sips?|tel):([^;?]*)/i.exec(uri.trim());
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (scheme === 'tel') return { scheme, user: rest, host: '' };
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at) : '';
  let host = at >= 0 ? rest.slice(at + 1) : rest;
  host = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return { scheme, user: decodeSafe(user), host: host.toLowerCase() };
}

function decodeSafe(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Digits of a telephone-number-like user part ('+1 (555) 010-0000' -> '15550100000'). */
export function telDigits(user: string): string {
  return user.replace(/[^0-9]/g, '');
}
