/**
 * Header parsers as they were before the hot-path rewrite (regex-driven), kept as the oracle the
 * differential tests hold the current ones to; not used by the gateway.
 */
import type { AuthParse } from '../../../../lib/policy/sip-parse.js';

const MAX_AUTH_HEADER = 4096;

// Sticky patterns: matched in place (lastIndex) instead of on sliced copies of the header.
const SCHEME_RE = /^\s*([A-Za-z][A-Za-z0-9-]*)\s+/;
const NAME_RE = /([A-Za-z0-9_-]+)\s*=\s*/y;
const TOKEN_RE = /[^\s,"]*/y;
const SEP_RE = /\s*(,\s*)?/y;
/** A parameter name and its '=' must lie within this many characters of where it starts. */
const NAME_WINDOW = 80;

export function referenceParseAuthParams(header: string): AuthParse {
  if (typeof header !== 'string') return { ok: false, reason: 'not a string' };
  if (header.length > MAX_AUTH_HEADER) return { ok: false, reason: 'header too long' };
  const m = SCHEME_RE.exec(header);
  if (!m) return { ok: false, reason: 'no scheme' };
  const scheme = m[1]!;
  const params = new Map<string, string>();
  let i = m[0].length;
  const n = header.length;
  while (i < n) {
    NAME_RE.lastIndex = i;
    const name = NAME_RE.exec(header);
    if (!name) return { ok: false, reason: `bad parameter at ${i}` };
    const eq = header.indexOf('=', i + name[1]!.length);
    if (eq >= i + NAME_WINDOW) return { ok: false, reason: `bad parameter at ${i}` };
    const key = name[1]!.toLowerCase();
    i = Math.min(i + name[0].length, i + NAME_WINDOW);
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
      TOKEN_RE.lastIndex = i;
      const tok = TOKEN_RE.exec(header)![0];
      value = tok;
      i += tok.length;
    }
    if (params.has(key)) return { ok: false, reason: `duplicate parameter ${key}` };
    if (params.size >= 32) return { ok: false, reason: 'too many parameters' };
    params.set(key, value);
    SEP_RE.lastIndex = i;
    const sep = SEP_RE.exec(header)!;
    if (!sep[1] && i + sep[0].length < n) return { ok: false, reason: `expected ',' at ${i}` };
    i += sep[0].length;
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

