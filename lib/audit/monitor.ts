/**
 * Background re-verification of the audit directory the running gateway writes, so an edit,
 * deletion, insertion or reordering in the files pages someone (AuditChainBroken) instead of
 * waiting for the next manual `gatewayctl audit verify`.
 *
 * The race with the writer: the log appends while this reads. Each run first takes the writer's
 * written head W (AuditLog.durableHead: every record up to W is complete in the files), then
 * lists the directory, then verifies the chain from genesis up to W's seq and no further, with W
 * as the anchor. Taking W before listing means every file holding a record <= W is listed (a
 * rotation after that only adds files past W). Lines after W - queued, half-written, or in a file
 * just created - are never looked at, so an append in flight cannot look like a torn line; they
 * are checked by the next run. Because W is the writer's own in-memory head, the check also
 * catches the tail being cut off or rewritten (the files must end exactly at W's hash), which
 * a verification of the files alone cannot tell from a shorter honest log.
 */
import { Gauge, type Registry } from 'prom-client';
import type { ChainHead, VerifyResult } from './verify.js';
import { verifyAuditDirAsync } from './verify.js';
import { componentLogger, type Logger } from '../log/logger.js';

export interface AuditChainMonitorOptions {
  dir: string;
  /** The writer's head of completely written records (AuditLog.durableHead). */
  writtenHead: () => ChainHead;
  /** Seconds between the end of one run and the start of the next; 0 = never run on a timer. */
  intervalS: number;
  registry: Registry;
  log?: Logger;
  /** Read size per step (see verifyAuditDirAsync). */
  chunkBytes?: number;
  /** Awaited between read steps; for tests that interleave a writer. */
  afterChunk?: () => Promise<void>;
  now?: () => number;
  /** Called with every run's verdict, after the gauges are set. */
  onRun?: (res: VerifyResult) => void;
}

interface ChainGauges {
  ok: Gauge;
  records: Gauge;
  lastRun: Gauge;
}

export class AuditChainMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<VerifyResult> | undefined;
  private stopped = false;
  private gauges: ChainGauges | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: AuditChainMonitorOptions) {
    this.log = opts.log ?? componentLogger('audit');
  }

  /** Runs once now, then every intervalS after each run ends; does nothing when intervalS is 0. */
  start(): void {
    if (this.opts.intervalS <= 0 || this.stopped || this.timer) return;
    this.schedule(0);
  }

  /** Whether a timed run is pending (false when off, stopped, or while a run is going). */
  get scheduled(): boolean {
    return this.timer !== undefined;
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One verification; a call while one is in progress joins it rather than reading twice. */
  runOnce(): Promise<VerifyResult> {
    this.running ??= this.verify().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runOnce()
        .catch((err: unknown) => this.log.error('audit chain verification failed to run', { error: (err as Error).message }))
        .finally(() => {
          if (!this.stopped) this.schedule(this.opts.intervalS * 1000);
        });
    }, delayMs);
    // Verification is housekeeping: it must never keep the process alive on its own.
    this.timer.unref();
  }

  private async verify(): Promise<VerifyResult> {
    const head = this.opts.writtenHead();
    const res = await verifyAuditDirAsync(this.opts.dir, {
      until: head.seq,
      anchor: head,
      ...(this.opts.chunkBytes !== undefined ? { chunkBytes: this.opts.chunkBytes } : {}),
      ...(this.opts.afterChunk ? { afterChunk: this.opts.afterChunk } : {}),
    });
    const g = this.metrics();
    g.ok.set(res.ok ? 1 : 0);
    g.records.set(res.records);
    g.lastRun.set((this.opts.now ?? Date.now)() / 1000);
    if (res.ok) {
      this.log.debug('audit chain verified', { records: res.records, seq: res.head.seq });
    } else {
      const b = res.firstBad!;
      // Where and why only: enough to start `gatewayctl audit verify`, nothing from the record.
      this.log.error('audit chain broken', { at: `${b.file}:${b.line}`, seq: b.seq, reason: b.reason });
    }
    this.opts.onRun?.(res);
    return res;
  }

  /**
   * Registered on the first run, not before: an unlabelled prom-client gauge reads 0 until set,
   * and gw_audit_chain_ok 0 pages.
   */
  private metrics(): ChainGauges {
    if (this.gauges) return this.gauges;
    const reg = this.opts.registry;
    this.gauges = {
      ok:
        (reg.getSingleMetric('gw_audit_chain_ok') as Gauge | undefined) ??
        new Gauge({ name: 'gw_audit_chain_ok', help: 'Last background audit chain verification: 1 intact, 0 broken (absent before the first run)', registers: [reg] }),
      records:
        (reg.getSingleMetric('gw_audit_chain_verified_records') as Gauge | undefined) ??
        new Gauge({ name: 'gw_audit_chain_verified_records', help: 'Audit records the last background verification found intact', registers: [reg] }),
      lastRun:
        (reg.getSingleMetric('gw_audit_chain_last_verify_timestamp_seconds') as Gauge | undefined) ??
        new Gauge({ name: 'gw_audit_chain_last_verify_timestamp_seconds', help: 'Unix time the last background audit chain verification finished', registers: [reg] }),
    };
    return this.gauges;
  }
}
