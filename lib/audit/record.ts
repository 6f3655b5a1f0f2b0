/**
 * Audit record shape and its canonical serialisation. The hash covers the canonical form of
 * every field except `hash` itself, so any edit to a stored line changes the recomputed hash, and
 * `prev` links each record to the one before it (across file rotation too).
 */
import { createHash, createHmac, hash as oneShotHash } from 'node:crypto';

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
  /**
   * Present on a record that stands for several refusals (lib/audit/aggregate.ts): how many,
   * the first and last of them (ms since the epoch), and whether `source` is one source or the
   * record gathers the sources past the per-window cap ('other-sources', no source field).
   */
  aggregate?: AggregateInput;
}

export type AggregateKind = 'source' | 'other-sources';

export interface AggregateInput {
  kind: AggregateKind;
  count: number;
  firstMs: number;
  lastMs: number;
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
  /** Aggregate records only (see AuditInput.aggregate): kind, count, first and last time (ISO 8601). */
  aggregate?: AggregateKind;
  count?: number;
  firstTime?: string;
  lastTime?: string;
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

/** JSON text of a string (quotes and escapes as JSON.stringify); plain ASCII skips the call. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const str = (v: string): string => (v.length < 128 && PLAIN.test(v) ? `"${v}"` : JSON.stringify(v));

/**
 * canonicalJson specialised to the record shape (same output, no generic key sorting): the
 * chain writes one record per SIP request, so this sits on the hot path. Fields are written in
 * sorted key order: aggregate callId count decision firstTime gate hash identity lastTime
 * latencyUs method passed pii prev reason seq source status time v.
 */
export function canonicalRecord(rec: Partial<AuditRecord>): string {
  const parts: string[] = [];
  if (rec.aggregate !== undefined) parts.push(`"aggregate":${str(rec.aggregate)}`);
  if (rec.callId !== undefined) parts.push(`"callId":${str(rec.callId)}`);
  if (rec.count !== undefined) parts.push(`"count":${JSON.stringify(rec.count)}`);
  if (rec.decision !== undefined) parts.push(`"decision":${str(rec.decision)}`);
  if (rec.firstTime !== undefined) parts.push(`"firstTime":${str(rec.firstTime)}`);
  if (rec.gate !== undefined) parts.push(`"gate":${str(rec.gate)}`);
  if (rec.hash !== undefined) parts.push(`"hash":${str(rec.hash)}`);
  if (rec.identity !== undefined) parts.push(`"identity":${str(rec.identity)}`);
  if (rec.lastTime !== undefined) parts.push(`"lastTime":${str(rec.lastTime)}`);
  if (rec.latencyUs !== undefined) parts.push(`"latencyUs":${JSON.stringify(rec.latencyUs)}`);
  if (rec.method !== undefined) parts.push(`"method":${str(rec.method)}`);
  if (rec.passed !== undefined) parts.push(`"passed":${JSON.stringify(rec.passed)}`);
  if (rec.pii !== undefined) parts.push(`"pii":${canonicalJson(rec.pii)}`);
  if (rec.prev !== undefined) parts.push(`"prev":${str(rec.prev)}`);
  if (rec.reason !== undefined) parts.push(`"reason":${str(rec.reason)}`);
  if (rec.seq !== undefined) parts.push(`"seq":${JSON.stringify(rec.seq)}`);
  if (rec.source !== undefined) parts.push(`"source":${str(rec.source)}`);
  if (rec.status !== undefined) parts.push(`"status":${JSON.stringify(rec.status)}`);
  if (rec.time !== undefined) parts.push(`"time":${str(rec.time)}`);
  if (rec.v !== undefined) parts.push(`"v":${JSON.stringify(rec.v)}`);
  return `{${parts.join(',')}}`;
}

/**
 * Keyed hash of an identifier. A keyed HMAC rather than a plain hash because call ids, user
 * names and addresses come from small, guessable spaces; without the key nobody can confirm a
 * guess, with it an operator can look a known id up. The kind prefix keeps a user name and an
 * address that happen to be equal from producing the same token.
 * (The raw key goes straight to createHmac: measured faster than a cached KeyObject here.)
 */
export function hashId(key: Buffer | string, kind: string, value: string): string {
  return createHmac('sha256', key).update(`${kind}\u0000${value}`).digest('hex').slice(0, 32);
}

/**
 * hashId bound to one key, remembering the tokens of recurring identifiers (identities and
 * source addresses repeat from call to call; Call-IDs do not and are not remembered). The memo
 * is bounded (cleared when full) and decides nothing: it only saves recomputing an HMAC.
 */
export class IdHasher {
  private readonly memo = new Map<string, string>();
  // A string key is UTF-8 encoded by createHmac on every call; encoded once here instead.
  private readonly keyBytes: Buffer;
  constructor(
    readonly key: Buffer | string,
    private readonly maxEntries = 4096,
  ) {
    this.keyBytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  }
  hash(kind: string, value: string): string {
    return hashId(this.keyBytes, kind, value);
  }
  hashRecurring(kind: string, value: string): string {
    if (this.maxEntries <= 0) return hashId(this.keyBytes, kind, value);
    const k = `${kind}\u0000${value}`;
    let h = this.memo.get(k);
    if (h === undefined) {
      h = hashId(this.keyBytes, kind, value);
      if (this.memo.size >= this.maxEntries) this.memo.clear();
      this.memo.set(k, h);
    }
    return h;
  }
}

/** Builds the stored record (minus seq/prev/hash bookkeeping done by the log). */
export function buildRecord(
  input: AuditInput,
  idKey: Buffer | string | IdHasher,
  seq: number,
  prev: string,
  time: Date,
): AuditRecord {
  return sealRecord(input, idKey, seq, prev, time).record;
}

/** A record with its canonical text (the stored line, without the newline). */
export interface SealedRecord {
  record: AuditRecord;
  line: string;
}

const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

function strArray(a: readonly string[]): string {
  let out = '';
  for (const s of a) out += out.length === 0 ? str(s) : `,${str(s)}`;
  return `[${out}]`;
}

/**
 * buildRecord plus the canonical line, serialised once: "hash" sorts between "gate" and
 * "identity", so the text that is hashed (everything but hash) and the stored line are the same
 * two halves with the hash put between them. Equal to canonicalRecord(record) (tested).
 */
export function sealRecord(input: AuditInput, idKey: Buffer | string | IdHasher, seq: number, prev: string, time: Date): SealedRecord {
  const ids = idKey instanceof IdHasher ? idKey : new IdHasher(idKey, 0);
  const record: AuditRecord = {
    v: 1,
    seq,
    time: time.toISOString(),
    gate: input.gate,
    decision: input.decision,
    status: input.status,
    reason: input.reason,
    method: input.method,
    callId: input.callId !== undefined ? ids.hash('call', input.callId) : undefined,
    identity: input.identity !== undefined ? ids.hashRecurring('identity', input.identity) : undefined,
    source: input.source !== undefined ? ids.hashRecurring('source', input.source) : undefined,
    pii: input.pii && Object.keys(input.pii).length > 0 ? { ...input.pii } : undefined,
    passed: input.passed && input.passed.length > 0 ? [...input.passed] : undefined,
    latencyUs: input.latencyUs !== undefined ? Math.round(input.latencyUs) : undefined,
    prev,
    hash: '',
  };
  const agg = input.aggregate;
  if (agg) {
    record.aggregate = agg.kind;
    record.count = agg.count;
    record.firstTime = new Date(agg.firstMs).toISOString();
    record.lastTime = new Date(agg.lastMs).toISOString();
  }
  // Keys in sorted order; decision and gate are always present, so is everything from prev on.
  // The id tokens are hex and the times are ISO 8601: JSON strings as they stand.
  let head = '';
  if (record.aggregate !== undefined) head += `"aggregate":${str(record.aggregate)},`;
  if (record.callId !== undefined) head += `"callId":"${record.callId}",`;
  if (record.count !== undefined) head += `"count":${num(record.count)},`;
  head += `"decision":${str(record.decision)},`;
  if (record.firstTime !== undefined) head += `"firstTime":"${record.firstTime}",`;
  head += `"gate":${str(record.gate)}`;
  let tail = '';
  if (record.identity !== undefined) tail += `"identity":"${record.identity}",`;
  if (record.lastTime !== undefined) tail += `"lastTime":"${record.lastTime}",`;
  if (record.latencyUs !== undefined) tail += `"latencyUs":${num(record.latencyUs)},`;
  if (record.method !== undefined) tail += `"method":${str(record.method)},`;
  if (record.passed !== undefined) tail += `"passed":${strArray(record.passed)},`;
  if (record.pii !== undefined) tail += `"pii":${canonicalJson(record.pii)},`;
  tail += `"prev":${str(record.prev)},"reason":${str(record.reason)},"seq":${num(record.seq)},`;
  if (record.source !== undefined) tail += `"source":"${record.source}",`;
  tail += `"status":${num(record.status)},"time":"${record.time}","v":1`;
  record.hash = oneShotHash('sha256', `{${head},${tail}}`, 'hex');
  return { record, line: `{${head},"hash":"${record.hash}",${tail}}` };
}
