/**
 * Chain verification over a directory of rotated audit files. Names the first bad record: the
 * file, the 1-based line and the sequence number expected there, with the reason.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord } from './record.js';
import { GENESIS_HASH, canonicalJson, recordHash } from './record.js';

export const AUDIT_FILE_RE = /^audit-(\d{6})\.jsonl$/;

export function auditFileName(index: number): string {
  return `audit-${String(index).padStart(6, '0')}.jsonl`;
}

/** Audit files of a directory in chain order. */
export function listAuditFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => AUDIT_FILE_RE.test(f))
    .sort();
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export interface BadRecord {
  file: string;
  line: number;
  /** Sequence number the chain expected at this position. */
  seq: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  files: string[];
  head: ChainHead;
  firstBad?: BadRecord;
}

export interface VerifyOptions {
  /**
   * A head seen earlier outside the log (a metric, a log line, a printed receipt). Without an
   * anchor, removing whole records from the end, or rewriting the tail and every hash after it,
   * cannot be told from a shorter honest log.
   */
  anchor?: ChainHead;
  /** Verify a suffix of the chain: the head of the record just before the first file given. */
  start?: ChainHead;
}

const FIELDS: Array<[keyof AuditRecord, string]> = [
  ['seq', 'number'],
  ['time', 'string'],
  ['gate', 'string'],
  ['decision', 'string'],
  ['status', 'number'],
  ['reason', 'string'],
  ['prev', 'string'],
  ['hash', 'string'],
];

/** Checks one parsed line; returns a reason when it is not a well-formed record. */
export function checkShape(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  if (r.v !== 1) return 'unknown record version';
  for (const [k, t] of FIELDS) if (typeof r[k] !== t) return `field ${k} missing or not a ${t}`;
  return undefined;
}

export function verifyAuditDir(dir: string, opts: VerifyOptions = {}): VerifyResult {
  let files: string[];
  try {
    files = listAuditFiles(dir);
  } catch (err) {
    return {
      ok: false,
      records: 0,
      files: [],
      head: { seq: 0, hash: GENESIS_HASH },
      firstBad: { file: dir, line: 0, seq: 1, reason: `cannot read directory: ${(err as Error).message}` },
    };
  }
  return verifyAuditTexts(
    files.map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') })),
    opts,
  );
}

/** Verification over file contents in chain order (separate from I/O so it is easy to test). */
export function verifyAuditTexts(files: Array<{ name: string; text: string }>, opts: VerifyOptions = {}): VerifyResult {
  let seq = (opts.start?.seq ?? 0) + 1;
  let prev = opts.start?.hash ?? GENESIS_HASH;
  let records = 0;
  const names = files.map((f) => f.name);
  const bad = (file: string, line: number, reason: string): VerifyResult => ({
    ok: false,
    records,
    files: names,
    head: { seq: seq - 1, hash: prev },
    firstBad: { file, line, seq, reason },
  });

  for (let fi = 0; fi < files.length; fi++) {
    const { name, text } = files[fi]!;
    if (text.length === 0) {
      // Only the newest file may be empty (created, then the process stopped before writing).
      if (fi !== files.length - 1) return bad(name, 1, 'empty file inside the chain');
      continue;
    }
    const lines = text.split('\n');
    // The text after the last newline is '' for a whole file, or a torn line checked after the rest.
    const torn = lines.pop();
    for (let li = 0; li < lines.length; li++) {
      const line = lines[li]!;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return bad(name, li + 1, 'not valid JSON');
      }
      const shape = checkShape(parsed);
      if (shape) return bad(name, li + 1, shape);
      const rec = parsed as AuditRecord;
      if (rec.seq !== seq) {
        const why = rec.seq > seq ? 'record(s) missing before it' : 'duplicate, inserted or reordered record';
        return bad(name, li + 1, `seq ${rec.seq} where ${seq} expected: ${why}`);
      }
      if (rec.prev !== prev) return bad(name, li + 1, 'prev does not match the hash of the record before it');
      if (recordHash(rec) !== rec.hash) return bad(name, li + 1, 'content does not match its hash (edited)');
      if (canonicalJson(rec) !== line) return bad(name, li + 1, 'line is not in canonical form');
      if (opts.anchor && rec.seq === opts.anchor.seq && rec.hash !== opts.anchor.hash) {
        return bad(name, li + 1, 'hash differs from the anchor (chain rewritten)');
      }
      prev = rec.hash;
      seq++;
      records++;
    }
    if (torn !== '') return bad(name, lines.length + 1, 'torn last line (no newline terminator)');
  }
  if (opts.anchor && seq - 1 < opts.anchor.seq) {
    const last = names[names.length - 1] ?? '(none)';
    return bad(last, 0, `chain ends at seq ${seq - 1} but the anchor names seq ${opts.anchor.seq}: truncated`);
  }
  return { ok: true, records, files: names, head: { seq: seq - 1, hash: prev } };
}
