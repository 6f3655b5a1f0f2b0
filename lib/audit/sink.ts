import type { AuditInput, AuditRecord } from './record.js';
import { GENESIS_HASH, IdHasher, buildRecord } from './record.js';
import type { Clock } from '../state/types.js';
import { systemClock } from '../state/types.js';

/** Where the chain runner writes decisions. append() resolves only once the record is durable. */
export interface AuditSink {
  append(input: AuditInput): Promise<AuditRecord>;
}

/** Keeps the chain in memory: for tests and the in-process benchmark (no I/O). */
export class MemoryAuditSink implements AuditSink {
  readonly records: AuditRecord[] = [];
  private readonly ids: IdHasher;
  constructor(
    idKey: Buffer | string = 'memory-audit-key',
    private readonly clock: Clock = systemClock,
  ) {
    this.ids = new IdHasher(idKey);
  }
  async append(input: AuditInput): Promise<AuditRecord> {
    const last = this.records[this.records.length - 1];
    const rec = buildRecord(input, this.ids, (last?.seq ?? 0) + 1, last?.hash ?? GENESIS_HASH, new Date(this.clock.now()));
    this.records.push(rec);
    return rec;
  }
}
