/**
 * Q.850 cause <-> SIP status mapping (RFC 3398 sections 7.2.4.1 and 8.2.6.1) and the Reason
 * header (RFC 3326, text escaping per RFC 6432: `Reason: Q.850;cause=17;text="User busy"`).
 */

/** Q.850 cause texts for the common causes. */
export const Q850_TEXT: Readonly<Record<number, string>> = {
  1: 'Unallocated (unassigned) number',
  2: 'No route to specified transit network',
  3: 'No route to destination',
  16: 'Normal call clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'No answer from user (user alerted)',
  20: 'Subscriber absent',
  21: 'Call rejected',
  22: 'Number changed',
  23: 'Redirection to new destination',
  26: 'Non-selected user clearing',
  27: 'Destination out of order',
  28: 'Invalid number format (address incomplete)',
  29: 'Facility rejected',
  31: 'Normal, unspecified',
  34: 'No circuit/channel available',
  38: 'Network out of order',
  41: 'Temporary failure',
  42: 'Switching equipment congestion',
  47: 'Resource unavailable, unspecified',
  55: 'Incoming calls barred within the CUG',
  57: 'Bearer capability not authorized',
  58: 'Bearer capability not presently available',
  63: 'Service or option not available, unspecified',
  65: 'Bearer capability not implemented',
  79: 'Service or option not implemented, unspecified',
  87: 'User not member of CUG',
  88: 'Incompatible destination',
  102: 'Recovery on timer expiry',
  111: 'Protocol error, unspecified',
  127: 'Interworking, unspecified',
};

/** RFC 3398 section 8.2.6.1: Q.850 cause (from H.323 ReleaseComplete) -> SIP final status. */
const Q850_TO_SIP: Readonly<Record<number, number>> = {
  1: 404, 2: 404, 3: 404,
  17: 486, 18: 408, 19: 480, 20: 480, 21: 403, 22: 410, 23: 410, 26: 404, 27: 502, 28: 484, 29: 501,
  31: 480,
  34: 503, 38: 503, 41: 503, 42: 503, 47: 503,
  55: 403, 57: 403, 58: 503, 65: 488, 70: 488, 79: 501, 87: 403, 88: 488,
  102: 504, 111: 500, 127: 500,
};

/**
 * Q.850 cause -> SIP status. Causes without an entry map by class (RFC 3398: 1-31 normal
 * event -> 480, 32-47 resource unavailable -> 503, 48-79 service -> 501... others 500).
 * Cause 16 (normal clearing) before an answer means the far end cleared without answering: 480.
 */
export function q850ToSip(cause: number): number {
  const s = Q850_TO_SIP[cause];
  if (s !== undefined) return s;
  if (cause >= 1 && cause <= 31) return 480;
  if (cause >= 32 && cause <= 47) return 503;
  if (cause >= 48 && cause <= 79) return 501;
  return 500;
}

/** RFC 3398 section 7.2.4.1: SIP final status -> Q.850 cause (toward H.323). */
const SIP_TO_Q850: Readonly<Record<number, number>> = {
  400: 41, 401: 21, 402: 21, 403: 21, 404: 1, 405: 63, 406: 79, 407: 21, 408: 102, 410: 22,
  413: 127, 414: 127, 415: 79, 416: 127, 420: 127, 480: 18, 481: 41, 482: 25, 483: 25, 484: 28,
  485: 1, 486: 17, 487: 127, 488: 127, 500: 41, 501: 79, 502: 38, 503: 41, 504: 102, 505: 127,
  513: 127, 600: 17, 603: 21, 604: 1, 606: 58,
};

/** SIP final status -> Q.850 cause; unknown statuses map by class (4xx/5xx/6xx -> 31/41/31). */
export function sipToQ850(status: number): number {
  const c = SIP_TO_Q850[status];
  if (c !== undefined) return c;
  if (status >= 500 && status < 600) return 41;
  return 31;
}

export interface ReasonValue {
  readonly protocol: 'Q.850' | 'SIP' | string;
  readonly cause: number;
  readonly text?: string;
}

/** RFC 6432 quoted-string: escape `"` and `\`, drop control characters. */
function quote(text: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${text.replace(/[\u0000-\u001f\u007f]/g, '').replace(/(["\\])/g, '\\$1')}"`;
}

/** The value of a Reason header: `Q.850;cause=17;text="User busy"`. */
export function formatReason(r: ReasonValue): string {
  const text = r.text ?? (r.protocol === 'Q.850' ? Q850_TEXT[r.cause] : undefined);
  return `${r.protocol};cause=${r.cause}${text !== undefined ? `;text=${quote(text)}` : ''}`;
}

/** Reason header value for a Q.850 cause. */
export function q850Reason(cause: number): string {
  return formatReason({ protocol: 'Q.850', cause });
}

/** Split on `sep` outside quoted strings. */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQ = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (inQ && ch === '\\' && i + 1 < s.length) {
      cur += ch + s[++i]!;
      continue;
    }
    if (ch === '"') inQ = !inQ;
    if (!inQ && ch === sep) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * Parse a Reason header (possibly several comma-separated values). Values without a valid
 * numeric cause are skipped; never throws.
 */
export function parseReason(header: string | undefined): ReasonValue[] {
  if (!header) return [];
  const out: ReasonValue[] = [];
  for (const value of splitOutsideQuotes(header, ',')) {
    const parts = splitOutsideQuotes(value, ';').map((p) => p.trim());
    const protocol = parts[0];
    if (!protocol) continue;
    let cause: number | undefined;
    let text: string | undefined;
    for (const p of parts.slice(1)) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const name = p.slice(0, eq).trim().toLowerCase();
      const v = p.slice(eq + 1).trim();
      if (name === 'cause' && /^\d{1,5}$/.test(v)) cause = Number(v);
      else if (name === 'text') {
        text = v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
      }
    }
    if (cause === undefined) continue;
    out.push({ protocol: protocol.toUpperCase() === 'Q.850' ? 'Q.850' : protocol.toUpperCase() === 'SIP' ? 'SIP' : protocol, cause, ...(text !== undefined ? { text } : {}) });
  }
  return out;
}

/** The Q.850 cause of a Reason header, if any. */
export function q850FromReason(header: string | undefined): number | undefined {
  return parseReason(header).find((r) => r.protocol === 'Q.850')?.cause;
}
