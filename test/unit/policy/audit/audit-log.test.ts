import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, AuditCorruptError } from '../../../../lib/audit/log.js';
import { verifyAuditDir, listAuditFiles } from '../../../../lib/audit/verify.js';
import { GENESIS_HASH, hashId, type AuditInput } from '../../../../lib/audit/record.js';
import { ManualClock } from '../../../../lib/state/types.js';
import { isolatedRegistry } from '../../../../lib/metrics/registry.js';

const input = (i: number): AuditInput => ({
  gate: i % 2 ? 'digest' : 'chain',
  decision: i % 2 ? 'reject' : 'admit',
  status: i % 2 ? 403 : 200,
  reason: i % 2 ? 'bad-credentials' : 'admitted',
  method: 'INVITE',
  callId: `call-${i}@198.51.100.7`,
  identity: `alice-${i}`,
  source: '198.51.100.7',
  pii: i % 3 === 0 ? { email: 2, phone: 1 } : undefined,
});

describe('policy/audit: file log', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-audit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function write(n: number, maxFileBytes?: number): Promise<void> {
    const log = await AuditLog.open({ dir, idKey: 'k', clock: new ManualClock(), maxFileBytes });
    await Promise.all(Array.from({ length: n }, (_, i) => log.append(input(i + 1))));
    await log.close();
  }
  function lines(file = listAuditFiles(dir)[0]!): string[] {
    return readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean);
  }
  function rewrite(ls: string[], file = listAuditFiles(dir)[0]!): void {
    writeFileSync(join(dir, file), ls.map((l) => `${l}\n`).join(''));
  }

  it('writes a chain that verifies, with raw ids never stored', async () => {
    await write(10);
    const res = verifyAuditDir(dir);
    expect(res.ok).to.equal(true);
    expect(res.records).to.equal(10);
    const text = readFileSync(join(dir, listAuditFiles(dir)[0]!), 'utf8');
    expect(text).not.to.include('call-1@');
    expect(text).not.to.include('alice');
    expect(text).not.to.include('198.51.100.7');
    const first = JSON.parse(lines()[0]!);
    expect(first.prev).to.equal(GENESIS_HASH);
    expect(first.callId).to.equal(hashId('k', 'call', 'call-1@198.51.100.7'));
    expect(JSON.parse(lines()[2]!).pii).to.deep.equal({ email: 2, phone: 1 });
  });

  it('append resolves only after the line is on disk; the durable head is exported as a gauge', async () => {
    const reg = isolatedRegistry();
    const log = await AuditLog.open({ dir, idKey: 'k', metrics: reg });
    const rec = await log.append(input(1));
    expect(lines()[0]).to.include(rec.hash);
    await Promise.all([log.append(input(2)), log.append(input(3))]);
    expect(await reg.getSingleMetricAsString('gw_audit_head_seq')).to.match(/gw_audit_head_seq 3$/m);
    await log.close();
  });

  it('names the edited record', async () => {
    await write(6);
    const ls = lines();
    ls[3] = ls[3]!.replace(/"status":\d+/, '"status":299');
    rewrite(ls);
    const res = verifyAuditDir(dir);
    expect(res.ok).to.equal(false);
    expect(res.firstBad).to.include({ line: 4, seq: 4 });
    expect(res.firstBad!.reason).to.match(/edited/);
  });

  it('names the position of a deleted record', async () => {
    await write(6);
    const ls = lines();
    ls.splice(2, 1);
    rewrite(ls);
    const res = verifyAuditDir(dir);
    expect(res.firstBad).to.include({ line: 3, seq: 3 });
    expect(res.firstBad!.reason).to.match(/missing/);
  });

  it('names an inserted record even when its own hash is recomputed', async () => {
    await write(6);
    const ls = lines();
    ls.splice(2, 0, ls[1]!); // a valid record, duplicated
    rewrite(ls);
    const res = verifyAuditDir(dir);
    expect(res.firstBad).to.include({ line: 3, seq: 3 });
  });

  it('names the first of two reordered records', async () => {
    await write(6);
    const ls = lines();
    [ls[3], ls[4]] = [ls[4]!, ls[3]!];
    rewrite(ls);
    expect(verifyAuditDir(dir).firstBad).to.include({ line: 4, seq: 4 });
  });

  it('detects a torn last line and tail truncation against an anchor', async () => {
    await write(5);
    const full = verifyAuditDir(dir);
    const file = join(dir, listAuditFiles(dir)[0]!);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.length - 20));
    expect(verifyAuditDir(dir).firstBad).to.include({ line: 5, seq: 5 });
    const ls = lines();
    rewrite(ls.slice(0, 3));
    expect(verifyAuditDir(dir).ok).to.equal(true); // honest-looking shorter log ...
    const res = verifyAuditDir(dir, { anchor: full.head }); // ... but not against the anchor
    expect(res.ok).to.equal(false);
    expect(res.firstBad!.reason).to.match(/truncated/);
  });

  it('rotates files and keeps the chain across them; deleting a middle file is named', async () => {
    await write(30, 1200);
    const files = listAuditFiles(dir);
    expect(files.length).to.be.greaterThan(2);
    const res = verifyAuditDir(dir);
    expect(res.ok).to.equal(true);
    expect(res.records).to.equal(30);
    const firstOfSecond = JSON.parse(lines(files[1])[0]!);
    const lastOfFirst = JSON.parse(lines(files[0]).at(-1)!);
    expect(firstOfSecond.prev).to.equal(lastOfFirst.hash);
    rmSync(join(dir, files[1]!));
    const bad = verifyAuditDir(dir);
    expect(bad.firstBad!.file).to.equal(files[2]);
    expect(bad.firstBad!.seq).to.equal(firstOfSecond.seq);
  });

  it('continues the chain after restart, across rotation', async () => {
    await write(7, 1200);
    await write(7, 1200);
    const res = verifyAuditDir(dir);
    expect(res.ok).to.equal(true);
    expect(res.records).to.equal(14);
  });

  it('recovers from a torn last line: cuts it, keeps it aside, continues', async () => {
    await write(3);
    const file = join(dir, listAuditFiles(dir)[0]!);
    appendFileSync(file, '{"v":1,"seq":4,"ti');
    await write(2);
    const res = verifyAuditDir(dir);
    expect(res.ok).to.equal(true);
    expect(res.records).to.equal(5);
    expect(readdirSync(dir).some((f) => f.includes('.torn-'))).to.equal(true);
  });

  it('refuses to continue on a chain damaged inside the newest file', async () => {
    await write(4);
    const ls = lines();
    ls[1] = ls[1]!.replace('"reason":"admitted"', '"reason":"x"').replace('"reason":"bad-credentials"', '"reason":"x"');
    rewrite(ls);
    let err: unknown;
    try {
      await AuditLog.open({ dir, idKey: 'k' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(AuditCorruptError);
    expect(String(err)).to.match(/seq 2/);
  });

  it('reports a missing directory as a failure, not a throw', () => {
    const res = verifyAuditDir(join(dir, 'nope'));
    expect(res.ok).to.equal(false);
    expect(res.firstBad!.reason).to.match(/cannot read/);
  });

  it('fails closed when the directory disappears mid-run', async () => {
    const log = await AuditLog.open({ dir, idKey: 'k', maxFileBytes: 300 });
    await log.append(input(1));
    rmSync(dir, { recursive: true, force: true });
    let err: unknown;
    try {
      await log.append(input(2)); // rotation needs a new file in the removed directory
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/audit write failed/);
    let again: unknown;
    try {
      await log.append(input(3));
    } catch (e) {
      again = e;
    }
    expect(again).to.equal(err);
    await log.close().catch(() => undefined);
  });
});

describe('policy/audit: canonical form', () => {
  it('the record fast path equals the generic canonical JSON (fuzzed)', async () => {
    const { canonicalRecord, canonicalJson, buildRecord, recordHash, sealRecord } = await import('../../../../lib/audit/record.js');
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(
        fc.record(
          {
            gate: fc.string(),
            decision: fc.constantFrom('admit', 'reject', 'challenge'),
            status: fc.integer({ min: 0, max: 699 }),
            reason: fc.string(),
            method: fc.option(fc.string(), { nil: undefined }),
            callId: fc.option(fc.string(), { nil: undefined }),
            identity: fc.option(fc.string(), { nil: undefined }),
            source: fc.option(fc.string(), { nil: undefined }),
            pii: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.nat()), { nil: undefined }),
            passed: fc.option(fc.array(fc.string()), { nil: undefined }),
            latencyUs: fc.option(fc.nat(), { nil: undefined }),
            aggregate: fc.option(
              fc.record({ kind: fc.constantFrom('source', 'other-sources'), count: fc.integer({ min: 1, max: 1e9 }), firstMs: fc.integer({ min: 0, max: 4e12 }), lastMs: fc.integer({ min: 0, max: 4e12 }) }),
              { nil: undefined },
            ),
          },
          { requiredKeys: ['gate', 'decision', 'status', 'reason'] },
        ),
        fc.nat(),
        (input, seq) => {
          const rec = buildRecord(input as AuditInput, 'k', seq + 1, GENESIS_HASH, new Date(0));
          expect(canonicalRecord(rec)).to.equal(canonicalJson(rec));
          expect(recordHash(rec)).to.equal(rec.hash);
          const sealed = sealRecord(input as AuditInput, 'k', seq + 1, GENESIS_HASH, new Date(0));
          expect(sealed.record).to.deep.equal(rec);
          expect(sealed.line).to.equal(canonicalRecord(rec));
        },
      ),
      { numRuns: 300 },
    );
  });
});
