/**
 * Refusal aggregation under floods (issue 15, item 2), through the real policy chain and the real
 * file log: what a flooding source costs the audit, what stays one record per decision, the cap
 * on sources, the window boundaries driven by hand (no timers), shutdown flushing, and that
 * `gatewayctl audit verify` accepts the result and catches an edited count.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../../lib/audit/log.js';
import { AuditAggregator } from '../../../lib/audit/aggregate.js';
import { checkShape, verifyAuditDir, listAuditFiles } from '../../../lib/audit/verify.js';
import { hashId, type AuditInput, type AuditRecord } from '../../../lib/audit/record.js';
import type { AuditSink } from '../../../lib/audit/sink.js';
import { buildPolicyChain, memoryStores, type PolicyConfig } from '../../../lib/policy/build.js';
import { DocumentRegistry } from '../../../lib/registry/store.js';
import { ManualClock } from '../../../lib/state/types.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { main as cli } from '../../../apps/cli/index.js';
import { startPolicy } from '../../../lib/policy/from-config.js';
import { validateConfig } from '../../../lib/config/gateway-config.js';
import { componentLogger } from '../../../lib/log/logger.js';
import { writeRegistry } from '../../lab/policy-lab.js';
import { makeIdentity, REALM } from '../policy/fixtures.js';
import { authedCall, request } from '../policy/harness.js';

const ID_KEY = 'aggregate-test-key';
const FLOODER = '198.51.100.66';

function captureIo(): { out: (s: string) => void; err: (s: string) => void; env: Record<string, string | undefined>; text: () => string } {
  let buf = '';
  return { out: (s) => { buf += s; }, err: (s) => { buf += s; }, env: {}, text: () => buf };
}

describe('audit: per-source aggregation of repeated refusals', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-audit-agg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function setup(opts: { maxOpen?: number; policy?: Partial<PolicyConfig> } = {}) {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const alice = makeIdentity('T-01');
    const registry = new DocumentRegistry({ version: 1, entries: [alice.entry] });
    const prom = isolatedRegistry();
    const log = await AuditLog.open({ dir, idKey: ID_KEY, clock, fsync: false });
    const aggregator = new AuditAggregator({ sink: log, windowS: 10, maxOpen: opts.maxOpen ?? 1024, clock, metrics: prom, timer: false });
    const { chain } = buildPolicyChain(
      { digest: { realm: REALM, nonceSecrets: ['s3cret'] }, ...opts.policy },
      { registry, audit: log, aggregator, stores: memoryStores(clock), clock },
    );
    // authedCall reads only the chain and the clock of a harness.
    const harness = { chain, clock, alice } as unknown as Parameters<typeof authedCall>[0];
    const records = (): AuditRecord[] =>
      listAuditFiles(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord));
    const register = (source = FLOODER) => chain.decide(request(undefined, { method: 'REGISTER', uri: `sip:${REALM}`, source }));
    return { clock, alice, log, aggregator, chain, prom, records, register, harness };
  }

  it('a REGISTER flood of 5,000 from one source: every refusal answered 503 + Retry-After, two records for them, the chain verifies', async () => {
    const t = await setup();
    const answers = new Map<number, number>();
    let retryAfter = 0;
    let aggregated = 0;
    for (let i = 0; i < 5000; i++) {
      const r = await t.register();
      answers.set(r.decision.status, (answers.get(r.decision.status) ?? 0) + 1);
      if (r.decision.status === 503) {
        retryAfter = Math.max(retryAfter, Number(r.decision.headers['Retry-After']));
        if (r.aggregated) aggregated++;
      }
      if (i % 500 === 0) t.clock.advance(1); // time moves, the bucket hardly refills
    }
    // Burst 20 (challenged), then the bucket is empty: 4,980 refusals.
    expect(Object.fromEntries(answers)).to.deep.equal({ 401: 20, 503: 4980 });
    expect(retryAfter).to.be.greaterThan(0);
    expect(aggregated).to.equal(4979);
    // Before the window ends (every answered decision's record is written): 20 challenges and
    // the first refusal only.
    const before = t.records();
    expect(before.map((r) => r.reason)).to.deep.equal([...Array(20).fill('no-credentials'), 'rate-limit-source']);
    // Shutdown: the gateway closes the aggregator (writing the window) before the log.
    const w = await t.aggregator.close();
    expect(w).to.deep.equal({ records: 1, refusals: 4979, failed: 0 });
    await t.log.close();

    const all = t.records();
    expect(all).to.have.length(22);
    const first = all[20]!;
    const total = all[21]!;
    expect(total).to.include({ gate: 'rate-source', decision: 'reject', status: 503, reason: 'rate-limit-source', method: 'REGISTER', aggregate: 'source', count: 4979 });
    expect(total.source).to.equal(first.source).and.to.equal(hashId(ID_KEY, 'source', FLOODER));
    expect(total.callId).to.equal(undefined);
    expect(Date.parse(total.firstTime!)).to.be.at.most(Date.parse(total.lastTime!));
    // Every refusal accounted for: the one of its own plus the count.
    expect(1 + total.count!).to.equal(answers.get(503));
    const text = listAuditFiles(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    expect(text).not.to.include(FLOODER);
    expect(Buffer.byteLength(text)).to.be.below(22 * 700);
    expect(verifyAuditDir(dir)).to.include({ ok: true, records: 22 });
    const io = captureIo();
    expect(await cli(['audit', 'verify', dir], io)).to.equal(0);
    expect((await t.prom.getSingleMetricAsString('gw_audit_aggregated_total'))).to.include('gw_audit_aggregated_total{reason="rate-limit-source"} 4979');
  });

  it('the running policy (as the gateway starts it) aggregates by default and writes the window into the chain when it closes at shutdown', async () => {
    const reg = writeRegistry([makeIdentity('T-01')]);
    try {
      const cfg = validateConfig(
        { policy: { realm: REALM, rates: { registerPerSourceBurst: 2, registerPerSourcePerSec: 0.001 } }, registry: { file: reg.file }, audit: { dir, fsync: false, verifyIntervalS: 0 } },
        { DRACHTIO_SECRET: 'x', POLICY_NONCE_SECRET: 'n', AUDIT_ID_KEY: ID_KEY },
      );
      const policy = await startPolicy(cfg, isolatedRegistry(), componentLogger('test'));
      expect(policy.aggregator).to.not.equal(undefined);
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) statuses.push((await policy.chain.decide(request(undefined, { method: 'REGISTER', uri: `sip:${REALM}`, source: FLOODER }))).decision.status);
      expect(statuses.filter((s) => s === 503)).to.have.length(198);
      // Reconfigure (SIGHUP) builds a new chain: it counts into the same window.
      expect(policy.reconfigure(cfg)).to.deep.equal([]);
      for (let i = 0; i < 10; i++) expect((await policy.chain.decide(request(undefined, { method: 'REGISTER', uri: `sip:${REALM}`, source: FLOODER }))).aggregated).to.equal(true);
      const seqBefore = policy.audit.durableHead().seq;
      expect(seqBefore).to.equal(3); // 2 challenges + the first refusal
      await policy.close();
      const res = verifyAuditDir(dir);
      expect(res).to.include({ ok: true, records: 4 });
      const last = JSON.parse(readFileSync(join(dir, listAuditFiles(dir).at(-1)!), 'utf8').trim().split('\n').at(-1)!) as AuditRecord;
      expect(last).to.include({ aggregate: 'source', count: 207, reason: 'rate-limit-source' });
    } finally {
      rmSync(reg.dir, { recursive: true, force: true });
    }
  });

  it('a flood that goes on costs one record per window; a quiet window forgets the source; then it starts over', async () => {
    const t = await setup();
    for (let i = 0; i < 25; i++) await t.register(); // 20 challenged, 5 refused: 1 own record + 4 counted
    const w1 = await t.aggregator.flush();
    expect(w1).to.deep.equal({ records: 1, refusals: 4, failed: 0 });
    t.clock.advance(100); // far less than a token
    for (let i = 0; i < 30; i++) expect((await t.register()).aggregated).to.equal(true); // still known: no record of its own
    expect((await t.aggregator.flush()).refusals).to.equal(30);
    expect((await t.aggregator.flush()).records).to.equal(0); // quiet window: nothing written, source forgotten
    const again = await t.register();
    expect(again.decision.status).to.equal(503);
    expect(again.aggregated).to.equal(false);
    expect(again.record?.reason).to.equal('rate-limit-source');
    await t.aggregator.close();
    await t.log.close();
    const recs = t.records().filter((r) => r.reason === 'rate-limit-source');
    expect(recs.map((r) => [r.aggregate ?? 'own', r.count ?? 1])).to.deep.equal([['own', 1], ['source', 4], ['source', 30], ['own', 1]]);
    expect(verifyAuditDir(dir).ok).to.equal(true);
  });

  it('security decisions stay one record each: wrong passwords, the lockout they trigger, admissions; only the locked-out retries aggregate', async () => {
    const t = await setup();
    const src = '203.0.113.5';
    for (let i = 0; i < 10; i++) {
      t.clock.advance(600); // under the INVITE rate
      const r = await authedCall(t.harness, t.alice, { source: src }, { password: 'wrong' });
      expect(r.result.decision.reason).to.equal('bad-credentials');
      expect(r.result.aggregated).to.equal(false);
    }
    const locked: boolean[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await t.chain.decide(request(t.alice, { source: src }));
      expect(r.decision).to.include({ status: 403, reason: 'auth-lockout' });
      locked.push(r.aggregated);
    }
    expect(locked.filter((a) => !a)).to.have.length(1); // the first lockout refusal has its own record
    const ok = await authedCall(t.harness, t.alice, { source: '203.0.113.6' });
    expect(ok.result.decision.outcome).to.equal('admit');
    expect(ok.result.record?.gate).to.equal('chain');
    await t.aggregator.close();
    await t.log.close();
    const recs = t.records();
    expect(recs.filter((r) => r.reason === 'bad-credentials')).to.have.length(10);
    expect(recs.filter((r) => r.reason === 'auth-lockout').map((r) => r.count ?? 1)).to.deep.equal([1, 49]);
    expect(recs.filter((r) => r.decision === 'admit')).to.have.length(1);
    expect(recs.filter((r) => r.decision === 'challenge')).to.have.length(11);
  });

  it('identity failures, anti-Sybil refusals and SDP refusals are never aggregated', async () => {
    const t = await setup({ policy: { identityRates: { INVITE: { capacity: 1000, refillPerSec: 1000 } } } });
    for (let i = 0; i < 5; i++) {
      t.clock.advance(600);
      const r = await authedCall(t.harness, t.alice, { identity: 'garbage', source: '203.0.113.7' });
      expect(r.result.decision.status).to.be.oneOf([436, 438]);
      expect(r.result.aggregated).to.equal(false);
      expect(r.result.record).to.not.equal(undefined);
    }
    for (let i = 0; i < 3; i++) {
      t.clock.advance(600);
      const bad = await authedCall(t.harness, t.alice, { source: '203.0.113.8', body: 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nb=AS:-1\r\n' });
      expect(bad.result.decision).to.include({ status: 400, reason: 'malformed-bandwidth' });
      expect(bad.result.aggregated).to.equal(false);
    }
    await t.aggregator.close();
    await t.log.close();
    expect(t.records().some((r) => r.aggregate !== undefined)).to.equal(false);
  });

  it('the identity rate limit aggregates per identity, and oversized requests per source', async () => {
    const t = await setup({ policy: { identityRates: { INVITE: { capacity: 1, refillPerSec: 0.001 } }, sourceRates: { INVITE: { capacity: 1000, refillPerSec: 1000 } } } });
    const refusals: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await authedCall(t.harness, t.alice, { source: '203.0.113.9' });
      refusals.push(r.result.decision.reason);
      await t.chain.release(r.req.callId);
      t.clock.advance(100);
    }
    expect(refusals).to.deep.equal(['admitted', 'rate-limit-identity', 'rate-limit-identity', 'rate-limit-identity']);
    for (let i = 0; i < 6; i++) {
      const r = await t.chain.decide(request(undefined, { source: '203.0.113.10', headers: { Subject: 'x'.repeat(5000) } }));
      expect(r.decision).to.include({ status: 513, reason: 'header-too-large' });
    }
    await t.aggregator.close();
    await t.log.close();
    const recs = t.records();
    const idAgg = recs.find((r) => r.reason === 'rate-limit-identity' && r.aggregate === 'source')!;
    expect(idAgg).to.include({ count: 2 });
    expect(idAgg.identity).to.equal(hashId(ID_KEY, 'identity', 'T-01'));
    expect(recs.filter((r) => r.reason === 'header-too-large').map((r) => r.count ?? 1)).to.deep.equal([1, 5]);
  });

  it('memory is capped: past aggregateMaxOpen sources, refusals merge into one other-sources record per reason, counted without addresses', async () => {
    const t = await setup({ maxOpen: 3, policy: { sourceRates: { REGISTER: { capacity: 1, refillPerSec: 0.001 } } } });
    const sources = Array.from({ length: 10 }, (_, i) => `192.0.2.${i + 1}`);
    for (let round = 0; round < 5; round++) for (const s of sources) await t.register(s);
    expect(t.aggregator.openCount).to.equal(3);
    const w = await t.aggregator.flush();
    // 3 known sources (1 own record + 3 counted each) and 7 past the cap (4 refusals each, merged).
    expect(w).to.deep.equal({ records: 4, refusals: 3 * 3 + 7 * 4, failed: 0 });
    await t.aggregator.close();
    await t.log.close();
    const other = t.records().filter((r) => r.aggregate === 'other-sources');
    expect(other).to.have.length(1);
    expect(other[0]).to.include({ reason: 'rate-limit-source', count: 28 });
    expect(other[0]!.source).to.equal(undefined);
    const m = await t.prom.getSingleMetricAsString('gw_audit_aggregate_overflow_total');
    expect(m).to.include('gw_audit_aggregate_overflow_total{reason="rate-limit-source"} 28');
    expect(m).not.to.match(/192\.0\.2/);
    expect(verifyAuditDir(dir).ok).to.equal(true);
  });

  it('refusals of two methods from one source share a record, which then names no method', async () => {
    const t = await setup({ policy: { sourceRates: { REGISTER: { capacity: 1, refillPerSec: 0.001 }, INVITE: { capacity: 1, refillPerSec: 0.001 } } } });
    await t.register();
    await t.chain.decide(request(undefined, { source: FLOODER }));
    for (let i = 0; i < 3; i++) {
      await t.register();
      await t.chain.decide(request(undefined, { source: FLOODER }));
    }
    await t.aggregator.close();
    await t.log.close();
    const agg = t.records().find((r) => r.aggregate === 'source')!;
    // 6 refusals: the first REGISTER one has its own record, the other 5 (both methods) are counted.
    expect(agg).to.include({ count: 5 });
    expect(agg.method).to.equal(undefined);
  });

  it('after close() every refusal gets its own record again (nothing is counted that would never be written)', async () => {
    const t = await setup({ policy: { sourceRates: { REGISTER: { capacity: 1, refillPerSec: 0.001 } } } });
    await t.register();
    await t.register();
    await t.register();
    expect(await t.aggregator.close()).to.deep.equal({ records: 1, refusals: 1, failed: 0 });
    const late = await t.register();
    expect(late.aggregated).to.equal(false);
    expect(late.record?.reason).to.equal('rate-limit-source');
    await t.log.close();
    expect(t.records().map((r) => r.count ?? 1)).to.deep.equal([1, 1, 1, 1]);
  });

  it('a log that fails: the first refusal\'s write rejects (the chain answers 503 audit-unavailable) and its source is not taken as known', async () => {
    let fail = false;
    const written: AuditInput[] = [];
    const sink: AuditSink = {
      append: async (input) => {
        if (fail) throw new Error('disk full');
        written.push(input);
        return { ...input, v: 1, seq: written.length, time: '', prev: '', hash: '' } as unknown as AuditRecord;
      },
    };
    const agg = new AuditAggregator({ sink, windowS: 10, maxOpen: 10, timer: false });
    const refusal: AuditInput = { gate: 'rate-source', decision: 'reject', status: 503, reason: 'rate-limit-source', source: FLOODER };
    fail = true;
    let threw = false;
    await agg.submit(refusal).catch(() => { threw = true; });
    expect(threw).to.equal(true);
    expect(agg.openCount).to.equal(0);
    fail = false;
    expect(await agg.submit(refusal)).to.not.equal(undefined);
    expect(await agg.submit(refusal)).to.equal(undefined);
    fail = true;
    expect(await agg.close()).to.deep.equal({ records: 1, refusals: 1, failed: 1 });
  });

  it('audit verify rejects an aggregate whose count was edited, or a count that is not a positive integer', async () => {
    const t = await setup({ policy: { sourceRates: { REGISTER: { capacity: 1, refillPerSec: 0.001 } } } });
    for (let i = 0; i < 10; i++) await t.register();
    await t.aggregator.close();
    await t.log.close();
    const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.jsonl'))!);
    const lines = readFileSync(file, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('"aggregate":"source"'));
    expect(at).to.be.greaterThan(0);
    writeFileSync(file, lines.map((l, i) => (i === at ? l.replace('"count":8', '"count":1') : l)).join('\n'));
    const io = captureIo();
    expect(await cli(['audit', 'verify', dir], io)).to.equal(1);
    expect(io.text()).to.match(/edited/);
    expect(verifyAuditDir(dir).firstBad).to.include({ line: at + 1 });
    const rec = JSON.parse(lines[at]!) as Record<string, unknown>;
    expect(checkShape({ ...rec, count: 0 })).to.equal('field count not a positive integer');
    expect(checkShape({ ...rec, count: 2.5 })).to.equal('field count not a positive integer');
    expect(checkShape({ ...rec, aggregate: 'everyone' })).to.equal('field aggregate not source or other-sources');
    expect(checkShape({ ...rec, lastTime: undefined })).to.equal('aggregate without firstTime/lastTime');
  });
});
