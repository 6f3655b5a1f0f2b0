/**
 * File-backed witness log: append-only JSON lines, hash-chained, rotated into numbered files.
 *
 * Durability (group commit): append() assigns seq/prev/hash synchronously (so chain order is
 * call order), queues the line and resolves only after the line has been written and
 * fdatasync'ed. While one write+fdatasync is in flight, new records queue up and go out together
 * in the next batch, so there is no added delay when idle and one fsync per batch under load.
 * A decision is therefore never reported before its record is on disk. A new file is followed
 * by an fsync of the directory so the rotation itself survives a crash.
 *
 * Recovery: open() continues the chain from the last record of the newest file. A torn last line
 * (a crash mid-write; never acknowledged) is cut off and kept aside as `<file>.torn-<ms>` for
 * inspection. Any other damage in the newest file refuses the open: writing on top of a broken
 * chain would hide it. Run `gatewayctl audit verify` to locate it.
 */
import { open, mkdir, readFile, writeFile, truncate, type FileHandle } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditInput, AuditRecord } from './record.js';
import { GENESIS_HASH, IdHasher, sealRecord } from './record.js';
import type { AuditSink } from './sink.js';
import { AUDIT_FILE_RE, auditFileName, verifyAuditTexts, type ChainHead } from './verify.js';
import type { Clock } from '../state/types.js';
import { systemClock } from '../state/types.js';
import { componentLogger } from '../log/logger.js';
import { Gauge, type Registry } from 'prom-client';

export interface AuditLogOptions {
  dir: string;
  /** Key for hashing call ids / identities / sources (HMAC-SHA256). Keep it secret. */
  idKey: Buffer | string;
  /** Rotate when a file would exceed this size. Default 64 MiB. */
  maxFileBytes?: number;
  clock?: Clock;
  /** false only for tests/benchmarks on tmpfs; production keeps fdatasync per batch. */
  fsync?: boolean;
  /**
   * When given, the durable head's seq is exported as gw_audit_head_seq: scraped by Prometheus
   * it is an outside witness of how long the chain was (see `audit verify --anchor`).
   */
  metrics?: Registry;
}

export class AuditCorruptError extends Error {}

interface Pending {
  line: string;
  fileIndex: number;
  rec: AuditRecord;
  resolve: (r: AuditRecord) => void;
  reject: (e: Error) => void;
}

export class AuditLog implements AuditSink {
  private readonly ids: IdHasher;
  private seq: number;
  private prev: string;
  private durable: ChainHead;
  private fileIndex: number;
  private fileBytes: number;
  private fh: FileHandle | undefined;
  private fhIndex = 0;
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private failed: Error | undefined;
  private closed = false;
  private readonly maxFileBytes: number;
  private readonly clock: Clock;
  private readonly fsync: boolean;
  private readonly log = componentLogger('audit');
  private readonly headGauge: Gauge | undefined;

  private constructor(
    private readonly opts: AuditLogOptions,
    head: ChainHead,
    fileIndex: number,
    fileBytes: number,
  ) {
    this.ids = new IdHasher(opts.idKey);
    this.seq = head.seq;
    this.prev = head.hash;
    this.durable = { seq: head.seq, hash: head.hash };
    this.fileIndex = fileIndex;
    this.fileBytes = fileBytes;
    this.maxFileBytes = opts.maxFileBytes ?? 64 * 1024 * 1024;
    this.clock = opts.clock ?? systemClock;
    this.fsync = opts.fsync ?? true;
    const reg = opts.metrics;
    this.headGauge = reg
      ? ((reg.getSingleMetric('gw_audit_head_seq') as Gauge | undefined) ??
        new Gauge({ name: 'gw_audit_head_seq', help: 'Sequence number of the last durable audit record', registers: [reg] }))
      : undefined;
    this.headGauge?.set(head.seq);
  }

  static async open(opts: AuditLogOptions): Promise<AuditLog> {
    await mkdir(opts.dir, { recursive: true });
    const files = readdirSync(opts.dir)
      .filter((f) => AUDIT_FILE_RE.test(f))
      .sort();
    if (files.length === 0) return new AuditLog(opts, { seq: 0, hash: GENESIS_HASH }, 1, 0);

    // The newest non-empty file holds the head; an empty newest file is a rotation cut short.
    let idx = files.length - 1;
    let text = await readFile(join(opts.dir, files[idx]!), 'utf8');
    while (text.length === 0 && idx > 0) {
      idx--;
      text = await readFile(join(opts.dir, files[idx]!), 'utf8');
    }
    const name = files[idx]!;
    const lastNl = text.lastIndexOf('\n');
    if (lastNl !== text.length - 1) {
      const keep = text.slice(0, lastNl + 1);
      const tornBytes = Buffer.byteLength(text) - Buffer.byteLength(keep);
      const aside = join(opts.dir, `${name}.torn-${Date.now()}`);
      await writeFile(aside, text.slice(lastNl + 1), { mode: 0o600 });
      await truncate(join(opts.dir, name), Buffer.byteLength(keep));
      text = keep;
      componentLogger('audit').warn('torn last audit line cut off on recovery', { file: name, bytes: tornBytes, aside });
    }
    const head = await headOf(opts.dir, files, idx, text);
    const fileIndex = Number(AUDIT_FILE_RE.exec(files[files.length - 1]!)![1]);
    const bytes = idx === files.length - 1 ? Buffer.byteLength(text) : 0;
    const log = new AuditLog(opts, head, fileIndex, bytes);
    log.log.info('audit chain resumed', { seq: head.seq, head: head.hash });
    return log;
  }

  /** Current head of the chain (last assigned record, durable or queued). */
  head(): ChainHead {
    return { seq: this.seq, hash: this.prev };
  }

  /**
   * Head of what is already written: every record up to it is complete in the files (readable by
   * anyone reading them now); records after it may be queued or half-written. Lags the real
   * file contents by at most one batch, never leads them.
   */
  durableHead(): ChainHead {
    return this.durable;
  }

  append(input: AuditInput): Promise<AuditRecord> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('audit log closed'));
    const sealed = sealRecord(input, this.ids, this.seq + 1, this.prev, new Date(this.clock.now()));
    const rec = sealed.record;
    const line = `${sealed.line}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.fileBytes > 0 && this.fileBytes + bytes > this.maxFileBytes) {
      this.fileIndex++;
      this.fileBytes = 0;
    }
    this.fileBytes += bytes;
    this.seq = rec.seq;
    this.prev = rec.hash;
    return new Promise<AuditRecord>((resolve, reject) => {
      this.queue.push({ line, fileIndex: this.fileIndex, rec, resolve, reject });
      if (!this.writing) this.writing = this.drain();
    });
  }

  /** Waits for queued records, then closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.writing;
    if (this.fh) await this.fh.close();
    this.fh = undefined;
    this.log.info('audit chain closed', { seq: this.seq, head: this.prev });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.writeBatch(batch);
          const last = batch[batch.length - 1]!.rec;
          this.durable = { seq: last.seq, hash: last.hash };
          this.headGauge?.set(last.seq);
          for (const p of batch) p.resolve(p.rec);
        } catch (err) {
          // Fail closed: later records would chain onto one that may not exist on disk.
          this.failed = new Error(`audit write failed: ${(err as Error).message}`);
          for (const p of [...batch, ...this.queue]) p.reject(this.failed);
          this.queue = [];
          this.log.error('audit write failed; log refuses further records', { error: (err as Error).message });
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      const idx = batch[i]!.fileIndex;
      let j = i;
      let chunk = '';
      while (j < batch.length && batch[j]!.fileIndex === idx) chunk += batch[j++]!.line;
      const fh = await this.handleFor(idx);
      await fh.write(chunk);
      if (this.fsync) await fh.datasync();
      i = j;
    }
  }

  private async handleFor(index: number): Promise<FileHandle> {
    if (this.fh && this.fhIndex === index) return this.fh;
    if (this.fh) {
      await this.fh.close();
      this.log.info('audit file rotated', { seq: this.seq, head: this.prev, file: auditFileName(index) });
    }
    this.fh = await open(join(this.opts.dir, auditFileName(index)), 'a', 0o600);
    this.fhIndex = index;
    if (this.fsync) await syncDir(this.opts.dir);
    return this.fh;
  }
}

async function syncDir(dir: string): Promise<void> {
  let dh: FileHandle | undefined;
  try {
    dh = await open(dir, 'r');
    await dh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the file data itself is still synced.
  } finally {
    await dh?.close();
  }
}

/** Verifies the newest file (linked to the last record of the file before) and returns its head. */
async function headOf(dir: string, files: string[], idx: number, text: string): Promise<ChainHead> {
  let start: ChainHead | undefined;
  if (idx > 0) {
    const prevText = await readFile(join(dir, files[idx - 1]!), 'utf8');
    const lines = prevText.split('\n').filter((l) => l.length > 0);
    const rec = safeParse(lines[lines.length - 1] ?? '');
    if (!rec) throw new AuditCorruptError(`${files[idx - 1]}: last record unreadable`);
    start = { seq: rec.seq, hash: rec.hash };
  }
  const res = verifyAuditTexts([{ name: files[idx]!, text }], start ? { start } : {});
  if (!res.ok) {
    const b = res.firstBad!;
    throw new AuditCorruptError(`audit chain broken at ${b.file}:${b.line} (seq ${b.seq}): ${b.reason}`);
  }
  return res.head;
}

function safeParse(line: string): { seq: number; hash: string } | undefined {
  try {
    const v: unknown = JSON.parse(line);
    if (v === null || typeof v !== 'object') return undefined;
    const r = v as Record<string, unknown>;
    return typeof r.seq === 'number' && typeof r.hash === 'string' ? { seq: r.seq, hash: r.hash } : undefined;
  } catch {
    return undefined;
  }
}
