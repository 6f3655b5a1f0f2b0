/** Identifiers and timestamps in the shapes drachtio-server puts on the wire. */
import { randomBytes, randomUUID } from 'node:crypto';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function alnum(n: number): string {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[bytes[i]! % ALNUM.length];
  return s;
}

/** Message ids and transaction ids are v4 UUIDs. */
export function uuid(): string {
  return randomUUID();
}

/** sofia-sip style tag: 13 alphanumerics. */
export function newTag(): string {
  return alnum(13);
}

/** RFC 3261 branch with the magic cookie. */
export function newBranch(): string {
  return `z9hG4bK${alnum(13)}`;
}

/** Call-ID for app-originated requests (the real server uses a UUID-like value). */
export function newCallId(): string {
  return randomUUID();
}

/** Random initial CSeq, as sofia picks one. */
export function newCseq(): number {
  return 1 + Math.floor(Math.random() * 200_000_000);
}

/** `HH:MM:SS.uuuuuu` in UTC, the time token on network/application frames. */
export function wireTime(d: Date = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const micro = d.getUTCMilliseconds() * 1000 + Math.floor(Math.random() * 1000);
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(micro, 6)}`;
}
