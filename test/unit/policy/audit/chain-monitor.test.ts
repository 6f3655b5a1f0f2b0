/**
 * The gateway's background audit verifier against a directory written by the real AuditLog:
 * tampering turns gw_audit_chain_ok to 0 naming the first bad record; a writer appending (and
 * rotating) while a run reads never raises a false alarm.
 */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import type { Registry } from 'prom-client';
import { AuditLog } from '../../../../lib/audit/log.js';
import { AuditChainMonitor, type AuditChainMonitorOptions } from '../../../../lib/audit/monitor.js';
import { listAuditFiles, verifyAuditDir, type VerifyResult } from '../../../../lib/audit/verify.js';
import type { AuditInput } from '../../../../lib/audit/record.js';
import { isolatedRegistry } from '../../../../lib/metrics/registry.js';
import { validateConfig } from '../../../../lib/config/gateway-config.js';
import { ConfigError } from '../../../../lib/config/errors.js';

const input = (i: number): AuditInput => ({
  gate: i % 2 ? 'digest' : 'chain',
  decision: i % 2 ? 'reject' : 'admit',
  status: i % 2 ? 403 : 0,
  reason: i % 2 ? 'bad-credentials' : 'admitted',
  method: 'INVITE',
  callId: `call-${i}@198.51.100.7`,
  identity: `alice-${i}`,
});

/** A logger whose lines the test can read. */
function memoryLogger(): { log: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] }), lines };
}

async function gauge(reg: Registry, name: string): Promise<number | undefined> {
  const m = reg.getSingleMetric(name);
  if (!m) return undefined;
  return (await m.get()).values[0]?.value;
}

describe('policy/audit: background chain verifier', () => {
  let dir: string;
  let log: AuditLog;
  let reg: Registry;
  let logged: ReturnType<typeof memoryLogger>;
  let monitor: AuditChainMonitor;

  const newMonitor = (extra: Partial<AuditChainMonitorOptions> = {}): AuditChainMonitor =>
    new AuditChainMonitor({ dir, writtenHead: () => log.durableHead(), intervalS: 0, registry: reg, log: logged.log, now: () => 1_700_000_000_000, ...extra });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-auditmon-'));
    reg = isolatedRegistry();
    logged = memoryLogger();
    log = await AuditLog.open({ dir, idKey: 'k', fsync: false, maxFileBytes: 2000 });
    monitor = newMonitor();
  });
  afterEach(async () => {
    await monitor.stop();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function write(from: number, n: number): Promise<void> {
    await Promise.all(Array.from({ length: n }, (_, i) => log.append(input(from + i))));
  }
  const fileLines = (f: string): string[] => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean);
  const rewrite = (f: string, ls: string[]): void => writeFileSync(join(dir, f), ls.map((l) => `${l}\n`).join(''));

  it('reports an intact chain (all rotated files) as 1, with the count and time; nothing before the first run', async () => {
    await write(1, 30);
    expect(listAuditFiles(dir).length).to.be.greaterThan(2);
    expect(reg.getSingleMetric('gw_audit_chain_ok'), 'absent until the first run').to.equal(undefined);
    const res = await monitor.runOnce();
    expect(res).to.include({ ok: true, records: 30 });
    expect(await gauge(reg, 'gw_audit_chain_ok')).to.equal(1);
    expect(await gauge(reg, 'gw_audit_chain_verified_records')).to.equal(30);
    expect(await gauge(reg, 'gw_audit_chain_last_verify_timestamp_seconds')).to.equal(1_700_000_000);
  });

  it('an edited record in the middle: 0, and the log names file:line and reason only', async () => {
    await write(1, 30);
    expect((await monitor.runOnce()).ok).to.equal(true);
    const f = listAuditFiles(dir)[1]!;
    const ls = fileLines(f);
    const seq = (JSON.parse(ls[2]!) as { seq: number }).seq;
    ls[2] = ls[2]!.replace(/"status":\d+/, '"status":200');
    rewrite(f, ls);
    const res = await monitor.runOnce();
    expect(res.firstBad).to.include({ file: f, line: 3, seq });
    expect(res.firstBad!.reason).to.match(/edited/);
    expect(await gauge(reg, 'gw_audit_chain_ok')).to.equal(0);
    expect(await gauge(reg, 'gw_audit_chain_verified_records')).to.equal(seq - 1);
    const line = logged.lines.find((l) => l.includes('audit chain broken'))!;
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(entry).to.include({ level: 'error', at: `${f}:3`, seq });
    expect(entry.reason).to.match(/edited/);
    expect(line).not.to.match(/"hash"|"prev"|"callId"|[0-9a-f]{32}/);
  });

  it('a deleted line and reordered lines are named like `gatewayctl audit verify` names them', async () => {
    await write(1, 30);
    const f = listAuditFiles(dir)[1]!;
    const ls = fileLines(f);
    rewrite(f, ls.filter((_, i) => i !== 1));
    let res = await monitor.runOnce();
    expect(res.firstBad).to.deep.equal(verifyAuditDir(dir).firstBad);
    expect(res.firstBad).to.include({ file: f, line: 2 });
    expect(res.firstBad!.reason).to.match(/missing/);
    expect(await gauge(reg, 'gw_audit_chain_ok')).to.equal(0);

    [ls[1], ls[2]] = [ls[2]!, ls[1]!];
    rewrite(f, ls);
    res = await monitor.runOnce();
    expect(res.firstBad).to.deep.equal(verifyAuditDir(dir).firstBad);
    expect(res.firstBad).to.include({ file: f, line: 2 });
    expect(await gauge(reg, 'gw_audit_chain_ok')).to.equal(0);

    [ls[1], ls[2]] = [ls[2]!, ls[1]!];
    rewrite(f, ls);
    expect((await monitor.runOnce()).ok, 'back to 1 once the files are restored').to.equal(true);
    expect(await gauge(reg, 'gw_audit_chain_ok')).to.equal(1);
  });

  it('the last records removed or rewritten: caught against the writer head', async () => {
    await write(1, 30);
    const files = listAuditFiles(dir);
    const last = files[files.length - 1]!;
    const ls = fileLines(last);
    rewrite(last, ls.slice(0, -1));
    expect(verifyAuditDir(dir).ok, 'the files alone look like a shorter honest log').to.equal(true);
    const res = await monitor.runOnce();
    expect(res.ok).to.equal(false);
    expect(res.firstBad!.reason).to.match(/truncated/);
  });

  it('a torn line after the written head is an append in flight, not a break', async () => {
    await write(1, 10);
    const files = listAuditFiles(dir);
    appendFileSync(join(dir, files[files.length - 1]!), '{"v":1,"seq":11,"ti');
    expect(verifyAuditDir(dir).ok).to.equal(false);
    expect(await monitor.runOnce()).to.include({ ok: true, records: 10 });
    expect(await gauge(reg, 'gw_audit_chain_ok')).to.equal(1);
  });

  it('a writer appending and rotating between every read step: no false alarm', async () => {
    await write(1, 20);
    let next = 21;
    const seen: number[] = [];
    await monitor.stop();
    monitor = newMonitor({
      chunkBytes: 400,
      // Appends land between two reads of the same run, some of them opening a new file.
      afterChunk: async () => {
        await write(next, 1);
        next += 1;
      },
      onRun: (r) => seen.push(r.records),
    });
    const filesBefore = listAuditFiles(dir).length;
    for (let run = 0; run < 3; run++) {
      const headAtStart = log.durableHead().seq;
      const res = await monitor.runOnce();
      expect(res.ok, JSON.stringify(res.firstBad)).to.equal(true);
      expect(res.records).to.equal(headAtStart);
      expect(await gauge(reg, 'gw_audit_chain_ok')).to.equal(1);
    }
    expect(listAuditFiles(dir).length).to.be.greaterThan(filesBefore);
    expect(seen).to.have.length(3);
    expect(verifyAuditDir(dir)).to.include({ ok: true, records: next - 1 });
  });

  it('a writer appending freely (not awaited) while runs read: no false alarm', async () => {
    await write(1, 5);
    await monitor.stop();
    monitor = newMonitor({ chunkBytes: 64 });
    const writes: Array<Promise<unknown>> = [];
    const results: VerifyResult[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 5; i++) writes.push(log.append(input(100 + round * 5 + i)));
      results.push(await monitor.runOnce());
    }
    await Promise.all(writes);
    expect(results.filter((r) => !r.ok).map((r) => r.firstBad)).to.deep.equal([]);
    expect((await monitor.runOnce()).records).to.equal(105);
  });

  it('runs on its timer when intervalS > 0, and not at all when it is 0', async () => {
    await write(1, 4);
    monitor.start();
    expect(monitor.scheduled, 'intervalS 0 = off').to.equal(false);
    expect(reg.getSingleMetric('gw_audit_chain_ok')).to.equal(undefined);

    let first: (r: VerifyResult) => void = () => undefined;
    const ran = new Promise<VerifyResult>((resolve) => (first = resolve));
    await monitor.stop();
    monitor = newMonitor({ intervalS: 300, onRun: (r) => first(r) });
    monitor.start();
    expect(monitor.scheduled).to.equal(true);
    expect(await ran).to.include({ ok: true, records: 4 });
    expect(await gauge(reg, 'gw_audit_chain_ok')).to.equal(1);
    await monitor.stop();
    expect(monitor.scheduled).to.equal(false);
  });
});

describe('policy/audit: audit.verifyIntervalS', () => {
  const env = { DRACHTIO_SECRET: 's', REGISTRY_FILE: '/etc/gw/registry.json', AUDIT_DIR: '/var/lib/gw/audit' };
  const problems = (v: unknown): string[] => {
    try {
      validateConfig({ audit: { verifyIntervalS: v } }, env);
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      return (err as ConfigError).problems.map((p) => `${p.field}: ${p.problem}`);
    }
    return [];
  };

  it('defaults to 300 s, 0 turns it off, anything else out of range is named', () => {
    expect(validateConfig({}, env).audit.verifyIntervalS).to.equal(300);
    expect(validateConfig({ audit: { verifyIntervalS: 0 } }, env).audit.verifyIntervalS).to.equal(0);
    expect(problems(-1)).to.deep.equal(['audit.verifyIntervalS: must be between 0 and 86400, got -1']);
    expect(problems('often')).to.deep.equal(['audit.verifyIntervalS: expected an integer, got "often"']);
    expect(problems(1.5)).to.have.length(1);
  });
});
