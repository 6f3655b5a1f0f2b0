/**
 * Chain verification over a directory of rotated audit files. Names the first bad record: the
 * file, the 1-based line and the sequence number expected there, with the reason.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
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
  /**
   * Verify the chain up to and including the record with this seq and look at nothing after it:
   * a live writer may be appending there (see AuditChainMonitor). With an anchor at the same seq
   * the prefix must also end exactly at that head.
   */
  until?: number;
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
  // An aggregate record (one line for many refusals) must say how many and when.
  if (r.aggregate !== undefined || r.count !== undefined) {
    if (r.aggregate !== 'source' && r.aggregate !== 'other-sources') return 'field aggregate not source or other-sources';
    if (typeof r.count !== 'number' || !Number.isInteger(r.count) || r.count < 1) return 'field count not a positive integer';
    if (typeof r.firstTime !== 'string' || typeof r.lastTime !== 'string') return 'aggregate without firstTime/lastTime';
  }
  return undefined;
}

export function verifyAuditDir(dir: string, opts: VerifyOptions = {}): VerifyResult {
  let files: string[];
  try {
    files = listAuditFiles(dir);
  } catch (err) {
    return unreadableDir(dir, err);
  }
  return verifyAuditTexts(
    files.map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') })),
    opts,
  );
}

function unreadableDir(dir: string, err: unknown): VerifyResult {
  return {
    ok: false,
    records: 0,
    files: [],
    head: { seq: 0, hash: GENESIS_HASH },
    firstBad: { file: dir, line: 0, seq: 1, reason: `cannot read directory: ${(err as Error).message}` },
  };
}

/** Verification over file contents in chain order (separate from I/O so it is easy to test). */
export function verifyAuditTexts(files: Array<{ name: string; text: string }>, opts: VerifyOptions = {}): VerifyResult {
  const v = new ChainVerifier(opts);
  for (const { name, text } of files) {
    if (!v.beginFile(name)) break;
    let from = 0;
    let nl = text.indexOf('\n');
    let going = true;
    while (going && nl !== -1) {
      going = v.line(text.slice(from, nl));
      from = nl + 1;
      nl = text.indexOf('\n', from);
    }
    if (going) v.endFile(text.slice(from));
  }
  return v.result(files.map((f) => f.name));
}

/**
 * The chain checks, fed one line at a time, so a caller can read files in pieces and yield
 * between them (the gateway's background verifier) or hand over whole texts (the CLI). Usage:
 * per file in chain order beginFile(name), line(text) for each newline-terminated line (without
 * the newline), endFile(rest after the last newline); then result(). Each call returns false once
 * the verdict is settled (a bad record, or the `until` record reached): feeding more is pointless.
 */
export class ChainVerifier {
  private seq: number;
  private prev: string;
  private records = 0;
  private file = '';
  private lineNo = 0;
  /** An empty file is only bad when another file follows it: known at the next beginFile. */
  private emptyFile: string | undefined;
  private bad: BadRecord | undefined;
  private reachedUntil: boolean;

  constructor(private readonly opts: VerifyOptions = {}) {
    this.seq = (opts.start?.seq ?? 0) + 1;
    this.prev = opts.start?.hash ?? GENESIS_HASH;
    this.reachedUntil = opts.until !== undefined && opts.until < this.seq;
  }

  /** Records verified so far (up to the first bad one). */
  get verified(): number {
    return this.records;
  }

  get settled(): boolean {
    return this.bad !== undefined || this.reachedUntil;
  }

  beginFile(name: string): boolean {
    if (this.settled) return false;
    if (this.emptyFile !== undefined) return this.fail(this.emptyFile, 1, 'empty file inside the chain');
    this.file = name;
    this.lineNo = 0;
    return true;
  }

  line(text: string): boolean {
    if (this.settled) return false;
    this.lineNo++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.fail(this.file, this.lineNo, 'not valid JSON');
    }
    const shape = checkShape(parsed);
    if (shape) return this.fail(this.file, this.lineNo, shape);
    const rec = parsed as AuditRecord;
    if (rec.seq !== this.seq) {
      const why = rec.seq > this.seq ? 'record(s) missing before it' : 'duplicate, inserted or reordered record';
      return this.fail(this.file, this.lineNo, `seq ${rec.seq} where ${this.seq} expected: ${why}`);
    }
    if (rec.prev !== this.prev) return this.fail(this.file, this.lineNo, 'prev does not match the hash of the record before it');
    if (recordHash(rec) !== rec.hash) return this.fail(this.file, this.lineNo, 'content does not match its hash (edited)');
    if (canonicalJson(rec) !== text) return this.fail(this.file, this.lineNo, 'line is not in canonical form');
    const anchor = this.opts.anchor;
    if (anchor && rec.seq === anchor.seq && rec.hash !== anchor.hash) {
      return this.fail(this.file, this.lineNo, 'hash differs from the anchor (chain rewritten)');
    }
    this.prev = rec.hash;
    this.seq++;
    this.records++;
    if (this.opts.until !== undefined && rec.seq >= this.opts.until) this.reachedUntil = true;
    return !this.settled;
  }

  /** `rest` is what follows the file's last newline: '' for a whole file, else a torn line. */
  endFile(rest: string): boolean {
    if (this.settled) return false;
    if (rest !== '') return this.fail(this.file, this.lineNo + 1, 'torn last line (no newline terminator)');
    if (this.lineNo === 0) this.emptyFile = this.file;
    return true;
  }

  /** The verdict; `files` is the chain's file list as the caller found it. */
  result(files: string[]): VerifyResult {
    const anchor = this.opts.anchor;
    if (!this.bad && anchor && this.seq - 1 < anchor.seq) {
      this.fail(files[files.length - 1] ?? '(none)', 0, `chain ends at seq ${this.seq - 1} but the anchor names seq ${anchor.seq}: truncated`);
    }
    const head = { seq: this.seq - 1, hash: this.prev };
    if (this.bad) return { ok: false, records: this.records, files, head, firstBad: this.bad };
    return { ok: true, records: this.records, files, head };
  }

  private fail(file: string, line: number, reason: string): false {
    this.bad = { file, line, seq: this.seq, reason };
    return false;
  }
}

/** How verifyAuditDirAsync reads. */
export interface AsyncVerifyOptions extends VerifyOptions {
  /** Bytes read (and verified) per step; each step ends by giving the event loop back. Default 32 KiB. */
  chunkBytes?: number;
  /** Awaited after each piece is verified: lets tests put a writer's appends between two reads. */
  afterChunk?: () => Promise<void>;
}

/**
 * verifyAuditDir for a process that carries calls: files are read a piece at a time and each
 * piece is verified before the next read is awaited, so no single step holds the event loop for
 * longer than one piece takes (a few milliseconds at the default size). Same checks, same verdict.
 */
export async function verifyAuditDirAsync(dir: string, opts: AsyncVerifyOptions = {}): Promise<VerifyResult> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => AUDIT_FILE_RE.test(f)).sort();
  } catch (err) {
    return unreadableDir(dir, err);
  }
  const v = new ChainVerifier(opts);
  const buf = Buffer.allocUnsafe(opts.chunkBytes ?? 32 * 1024);
  for (const name of files) {
    if (!v.beginFile(name)) break;
    let fh: FileHandle;
    try {
      fh = await open(join(dir, name), 'r');
    } catch (err) {
      // Listed a moment ago and gone now (or unreadable): the chain has a hole either way.
      return failedRead(v, files, name, err);
    }
    try {
      if (!(await feedFile(v, fh, buf, opts.afterChunk))) break;
    } catch (err) {
      return failedRead(v, files, name, err);
    } finally {
      await fh.close();
    }
  }
  return v.result(files);
}

function failedRead(v: ChainVerifier, files: string[], name: string, err: unknown): VerifyResult {
  const r = v.result(files);
  return { ...r, ok: false, firstBad: { file: name, line: 0, seq: r.head.seq + 1, reason: `cannot read file: ${(err as Error).message}` } };
}

/** Feeds one file's lines to the verifier; false once the verdict is settled. */
async function feedFile(v: ChainVerifier, fh: FileHandle, buf: Buffer, afterChunk?: () => Promise<void>): Promise<boolean> {
  const decoder = new StringDecoder('utf8');
  // The start of a line split over reads, kept as pieces: joining on every read would be
  // quadratic on a long line.
  let partial: string[] = [];
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    const text = decoder.write(buf.subarray(0, bytesRead));
    let from = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      const piece = text.slice(from, nl);
      const line = partial.length > 0 ? partial.join('') + piece : piece;
      partial = [];
      if (!v.line(line)) return false;
      from = nl + 1;
      nl = text.indexOf('\n', from);
    }
    if (from < text.length) partial.push(text.slice(from));
    if (afterChunk) await afterChunk();
  }
  partial.push(decoder.end());
  return v.endFile(partial.join(''));
}
