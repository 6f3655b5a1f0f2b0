/**
 * PII detection and redaction: e-mail, IPv4/IPv6 addresses, US SSNs, payment card numbers
 * (Luhn-checked, so order numbers and the like are not mistaken for cards) and phone numbers.
 * Matches are resolved by priority (a card number is not also reported as a phone number) and
 * replaced by `[REDACTED:<category>]`. Only categories and counts leave this module.
 * All patterns are linear-time; input length is bounded by the size gate before this runs.
 */
import { isIPv6 } from 'node:net';

export type PiiCategory = 'email' | 'ipv6' | 'ipv4' | 'ssn' | 'card' | 'phone';

interface Span {
  start: number;
  end: number;
  cat: PiiCategory;
}

// The lookbehinds make each pattern start only where a token starts, which keeps a long run of
// letters or digits linear instead of retrying the bounded repeat from every position.
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,256}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}/g;
const IPV4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.]*\d)/g;
const IPV6_CANDIDATE = /(?<![0-9A-Fa-f:.])[0-9A-Fa-f:.]{2,45}(?![0-9A-Fa-f:])/g;
const SSN = /(?<!\d)(?!000|666|9\d\d)\d{3}[- ](?!00)\d{2}[- ](?!0000)\d{4}(?!\d)/g;
const CARD = /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g;
// Dates look like short digit groups with separators; they are not phone numbers.
const DATE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$/;
const PHONE = /(?<![\w+])\+?\(?\d[\d ().-]{5,22}\d(?!\d)/g;

/** Luhn check over the digits of `digits` (other characters, e.g. separators, are skipped). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  let n = 0;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    n++;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return n > 0 && sum % 10 === 0;
}

function collect(text: string, re: RegExp, cat: PiiCategory, accept: (m: string) => boolean, out: Span[]): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (accept(m[0])) out.push({ start: m.index, end: m.index + m[0].length, cat });
    else {
      // A rejected match (failed Luhn, bad digit count) may hide a real one starting inside it:
      // retry from its next digit group (numbers start at group boundaries), not every char.
      const sep = m[0].slice(1).search(/[^0-9]/);
      re.lastIndex = m.index + (sep >= 0 ? sep + 2 : 1);
    }
  }
}

const always = (): boolean => true;
const ipv6Ok = (s: string): boolean => s.includes(':') && s.split(':').length >= 3 && isIPv6(s);
const phoneOk = (s: string): boolean => {
  const d = s.replace(/\D/g, '').length;
  return d >= 7 && d <= 15 && !DATE.test(s.trim());
};

/** Runs one detector over the masked text, records its finds and masks them with NUL. */
function detect(masked: string, found: Span[], re: RegExp, cat: PiiCategory, accept: (m: string) => boolean): string {
  const spans: Span[] = [];
  collect(masked, re, cat, accept, spans);
  if (spans.length === 0) return masked;
  // One pass per category (spans are in order and disjoint), not one copy per span.
  const parts: string[] = [];
  let at = 0;
  for (const sp of spans) {
    parts.push(masked.slice(at, sp.start), '\u0000'.repeat(sp.end - sp.start));
    at = sp.end;
    found.push(sp);
  }
  parts.push(masked.slice(at));
  return parts.join('');
}

export function findPii(text: string): Array<{ start: number; end: number; category: PiiCategory }> {
  // Detectors run in priority order over a copy in which earlier finds are masked with NUL
  // (which no pattern accepts), so an e-mail or address is never half-eaten by the phone
  // pattern, and a phone number next to an address is still found.
  let masked = text;
  const found: Span[] = [];
  masked = detect(masked, found, EMAIL, 'email', always);
  masked = detect(masked, found, IPV6_CANDIDATE, 'ipv6', ipv6Ok);
  masked = detect(masked, found, IPV4, 'ipv4', always);
  masked = detect(masked, found, SSN, 'ssn', always);
  masked = detect(masked, found, CARD, 'card', luhnValid);
  detect(masked, found, PHONE, 'phone', phoneOk);
  found.sort((a, b) => a.start - b.start);
  return found.map((t) => ({ start: t.start, end: t.end, category: t.cat }));
}

export interface Redaction {
  text: string;
  counts: Partial<Record<PiiCategory, number>>;
  found: number;
}

export function redactPii(text: string): Redaction {
  const spans = findPii(text);
  const counts: Partial<Record<PiiCategory, number>> = {};
  let out = '';
  let at = 0;
  for (const s of spans) {
    out += text.slice(at, s.start) + `[REDACTED:${s.category}]`;
    at = s.end;
    counts[s.category] = (counts[s.category] ?? 0) + 1;
  }
  out += text.slice(at);
  return { text: out, counts, found: spans.length };
}
