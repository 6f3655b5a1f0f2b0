/**
 * Audit record shape and its canonical serialisation. The hash covers the canonical form of
 * every field except `hash` itself, so any edit to a stored line changes the recomputed hash, and
 * `prev` links each record to the one before it (across file rotation too).
 */
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditOutcome = 'admit' | 'reject' | 'challenge';

/** PII categories and counts only; the matched text never reaches the audit. */
export type PiiCounts = Record<string, number>;

/** What a caller hands to the log. Raw ids are accepted here and hashed before anything is stored. */
export interface AuditInput {
  gate: string;
  decision: AuditOutcome;
  status: number;
  reason: string;
  method?: string;
  /** Raw Call-ID; stored only as a keyed hash. */
  callId?: string;
  /** Raw identity (registry id or username); stored only as a keyed hash. */
  identity?: string;
  /** Raw source address; stored only as a keyed hash. */
  source?: string;
  pii?: PiiCounts;
  /** Gates that admitted before the deciding one. */
  passed?: string[];
  latencyUs?: number;
}

export interface AuditRecord {
  v: 1;
  seq: number;
  time: string;
  gate: string;
  decision: AuditOutcome;
  status: number;
  reason: string;
  method?: string;
  callId?: string;
  identity?: string;
  source?: string;
  pii?: PiiCounts;
  passed?: string[];
  latencyUs?: number;
  prev: string;
  hash: string;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** JSON with object keys sorted at every level and no whitespace; undefined fields are omitted. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value as Json;
}

export function recordHash(rec: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...body } = rec;
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

// Record fields in sorted order, for the fast path below.
const RECORD_KEYS = ['callId', 'decision', 'gate', 'hash', 'identity', 'latencyUs', 'method', 'passed', 'pii', 'prev', 'reason', 'seq', 'source', 'status', 'time', 'v'] as const;

/**
 * canonicalJson specialised to the record shape (same output, no generic key sorting): the
 * chain writes one record per SIP request, so this sits on the hot path.
 */
export function canonicalRecord(rec: Partial<AuditRecord>): string {
  let out = '{';
  let first = true;
  for (const k of RECORD_KEYS) {
    const v = rec[k];
    if (v === undefined) continue;
    out += `${first ? '' : ','}"${k}":${k === 'pii' ? canonicalJson(v) : JSON.stringify(v)}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * Keyed hash of an identifier. A keyed HMAC rather than a plain hash because call ids, user
 * names and addresses come from small, guessable spaces; without the key nobody can confirm a
 * guess, with it an operator can look a known id up. The kind prefix keeps a user name and an
 * address that happen to be equal from producing the same token.
 */
export function hashId(key: Buffer | string, kind: string, value: string): string {
  return createHmac('sha256', secretKey(key)).update(`${kind}\u0000${value}`).digest('hex').slice(0, 32);
}

// One KeyObject per id key: HMAC setup from a KeyObject skips re-importing the key every call.
const keyCache = new Map<string, KeyObject>();
function secretKey(key: Buffer | string): KeyObject {
  const id = typeof key === 'string' ? `s:${key}` : `b:${key.toString('base64')}`;
  let k = keyCache.get(id);
  if (!k) {
    if (keyCache.size > 16) keyCache.clear();
    k = createSecretKey(typeof key === 'string' ? Buffer.from(key) : key);
    keyCache.set(id, k);
  }
  return k;
}

/** Builds the stored record (minus seq/prev/hash bookkeeping done by the log). */
export function buildRecord(
  input: AuditInput,
  idKey: Buffer | string,
  seq: number,
  prev: string,
  time: Date,
): AuditRecord {
  const body: Omit<AuditRecord, 'hash'> = {
    v: 1,
    seq,
    time: time.toISOString(),
    gate: input.gate,
    decision: input.decision,
    status: input.status,
    reason: input.reason,
    method: input.method,
    callId: input.callId !== undefined ? hashId(idKey, 'call', input.callId) : undefined,
    identity: input.identity !== undefined ? hashId(idKey, 'identity', input.identity) : undefined,
    source: input.source !== undefined ? hashId(idKey, 'source', input.source) : undefined,
    pii: input.pii && Object.keys(input.pii).length > 0 ? { ...input.pii } : undefined,
    passed: input.passed && input.passed.length > 0 ? [...input.passed] : undefined,
    latencyUs: input.latencyUs !== undefined ? Math.round(input.latencyUs) : undefined,
    prev,
  };
  return { ...body, hash: createHash('sha256').update(canonicalRecord(body)).digest('hex') };
}
