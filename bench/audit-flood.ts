/**
 * What a flood of refused requests costs the audit (issue 15, item 2): 100,000 REGISTERs without
 * credentials through the real policy chain (size -> rate-source -> digest, the REGISTER path of
 * the gateway) into the real file audit log with fdatasync on, on this machine's disk. Each
 * scenario runs in a fresh process started with the gateway's V8 flags (and --expose-gc, to read
 * the live heap after a full collection), so its memory figures are its own:
 *
 *   off-1src    audit.aggregateWindowS 0 (before this change: a record per decision), one source
 *   on-1src     aggregation on (10 s windows, 1024 sources), one source
 *   off-2000src / on-2000src   the same 100,000 spread over 2,000 sources, 50 each, so 1,024
 *               sources are aggregated and the other 976 go over the cap into other-sources
 *
 * Per scenario: answers by status, audit records and bytes on disk, wall time, RSS after setup,
 * peak RSS (VmHWM) and RSS at the end, live heap (after a full GC) after setup and at the end. Requests go 64 in flight (a flood
 * does not wait for answers); --rate=N paces them at N/s instead of as fast as the chain answers
 * (the issue saw 1,000/s: `--rate=1000` makes 100 s and ten windows).
 *
 *   npm run bench -- audit-flood [--requests=100000] [--rate=0] [--window=10] [--only=on-1src,...]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildPolicyChain, memoryStores } from '../lib/policy/build.js';
import { plainRequest, type PolicyRequest } from '../lib/policy/types.js';
import { DocumentRegistry } from '../lib/registry/store.js';
import { makeCredentials } from '../lib/registry/credentials.js';
import { AuditLog } from '../lib/audit/log.js';
import { AuditAggregator } from '../lib/audit/aggregate.js';
import { verifyAuditDir } from '../lib/audit/verify.js';
import { GATEWAY_NODE_FLAGS } from '../apps/gateway/node-flags.js';
import { flagNum, flagStr } from './bench-flags.js';

const REALM = 'bench.gw.test';
const SCENARIOS = ['off-1src', 'on-1src', 'off-2000src', 'on-2000src'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface ChildResult {
  scenario: Scenario;
  requests: number;
  statuses: Record<string, number>;
  records: number;
  aggregates: number;
  auditBytes: number;
  verified: boolean;
  wallS: number;
  rssSetupMB: number;
  rssPeakMB: number;
  rssEndMB: number;
  /** Heap in use after a full collection at the end: what the flood left alive. */
  heapEndMB: number;
  heapSetupMB: number;
}

const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10;

function procKb(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function child(scenario: Scenario, requests: number, rate: number, windowS: number): Promise<ChildResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-flood-'));
  try {
    const registry = new DocumentRegistry({
      version: 1,
      entries: [{ id: 'G-001', displayName: 'Guardian', role: 'guardian', status: 'active', sip: makeCredentials('g-001', REALM, 'pw-not-used'), keys: [], limits: { maxConcurrentCalls: 2, maxBandwidthBps: 3_000_000 } }],
    });
    const audit = await AuditLog.open({ dir, idKey: 'bench-id-key', fsync: true });
    const aggregate = scenario.startsWith('on-');
    const aggregator = aggregate ? new AuditAggregator({ sink: audit, windowS, maxOpen: 1024 }) : undefined;
    const { chain } = buildPolicyChain({ digest: { realm: REALM, nonceSecrets: ['bench-secret'] } }, { registry, audit, ...(aggregator ? { aggregator } : {}), stores: memoryStores() });
    const sources = scenario.endsWith('2000src') ? 2000 : 1;
    const req = (i: number): PolicyRequest =>
      plainRequest({
        method: 'REGISTER',
        uri: `sip:${REALM}`,
        headers: { Via: `SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK${i}`, 'Call-ID': `flood-${i}@bench`, CSeq: '1 REGISTER', From: `<sip:g-001@${REALM}>;tag=${i}`, To: `<sip:g-001@${REALM}>`, Contact: '<sip:g-001@198.51.100.7:5060>', 'Max-Forwards': '70' },
        source: { address: sources === 1 ? '198.51.100.7' : `10.${(i % sources) >> 8}.${(i % sources) & 255}.1`, port: 5060 },
      });
    global.gc?.();
    const rssSetup = procKb('VmRSS');
    const heapSetup = process.memoryUsage().heapUsed;
    const statuses: Record<string, number> = {};
    const t0 = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < requests) {
        const i = next++;
        if (rate > 0) {
          const due = t0 + (i * 1000) / rate;
          const wait = due - performance.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        }
        const r = await chain.decide(req(i));
        const k = String(r.decision.status);
        statuses[k] = (statuses[k] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    const wallS = (performance.now() - t0) / 1000;
    // What the gateway's shutdown does: the window's aggregates into the chain, then close.
    await aggregator?.close();
    await audit.close();
    // Memory first: reading the files back below would be counted otherwise.
    const rssPeak = procKb('VmHWM');
    const rssEnd = procKb('VmRSS');
    global.gc?.();
    const heapEnd = process.memoryUsage().heapUsed;
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
    const auditBytes = files.reduce((a, f) => a + statSync(join(dir, f)).size, 0);
    let records = 0;
    let aggregates = 0;
    for (const f of files) {
      const buf = readFileSync(join(dir, f));
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) records++;
      for (let i = buf.indexOf('"aggregate":'); i !== -1; i = buf.indexOf('"aggregate":', i + 1)) aggregates++;
    }
    const res = verifyAuditDir(dir);
    return {
      scenario,
      requests,
      statuses,
      records,
      aggregates,
      auditBytes,
      verified: res.ok && res.records === records,
      wallS: Math.round(wallS * 100) / 100,
      rssSetupMB: mb(rssSetup),
      heapSetupMB: mb(heapSetup),
      rssPeakMB: mb(rssPeak),
      rssEndMB: mb(rssEnd),
      heapEndMB: mb(heapEnd),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(scenario: Scenario, args: string[]): Promise<ChildResult> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    // The gateway's V8 flags, plus --expose-gc so the live heap can be read after a collection.
    const p = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, '--expose-gc', '--import', 'tsx', self, '--child', `--scenario=${scenario}`, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'error' } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('error', reject);
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`scenario ${scenario} exited ${code}: ${out}`));
      else resolve(JSON.parse(line.slice(7)) as ChildResult);
    });
  });
}

export async function run(args: string[]): Promise<void> {
  const requests = flagNum(args, 'requests', 100_000);
  const rate = flagNum(args, 'rate', 0);
  const windowS = flagNum(args, 'window', 10);
  const only = flagStr(args, 'only', '');
  const chosen = SCENARIOS.filter((s) => !only || only.split(',').includes(s));
  process.stdout.write(`audit flood: ${requests} REGISTERs without credentials, ${rate > 0 ? `${rate}/s` : 'as fast as answered (64 in flight)'}, window ${windowS} s, fdatasync on, load ${loadavg()[0]!.toFixed(2)}\n`);
  process.stdout.write('scenario      answers                      records  aggregates  audit bytes  B/request  wall s  RSS setup/peak/end MB  live heap setup/end MB  verify\n');
  for (const s of chosen) {
    const r = await runChild(s, [`--requests=${requests}`, `--rate=${rate}`, `--window=${windowS}`]);
    const answers = Object.entries(r.statuses).map(([k, v]) => `${k}x${v}`).join(' ');
    process.stdout.write(
      `${s.padEnd(13)} ${answers.padEnd(28)} ${String(r.records).padStart(7)}  ${String(r.aggregates).padStart(10)}  ${String(r.auditBytes).padStart(11)}  ${(r.auditBytes / r.requests).toFixed(2).padStart(9)}  ${r.wallS.toFixed(1).padStart(6)}  ${`${r.rssSetupMB}/${r.rssPeakMB}/${r.rssEndMB}`.padStart(21)}  ${`${r.heapSetupMB}/${r.heapEndMB}`.padStart(22)}  ${r.verified ? 'ok' : 'BROKEN'}\n`,
    );
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const args = process.argv.slice(2);
  if (args.includes('--child')) {
    const scenario = flagStr(args, 'scenario', '') as Scenario;
    if (!SCENARIOS.includes(scenario)) throw new Error(`unknown scenario ${scenario}`);
    child(scenario, flagNum(args, 'requests', 100_000), flagNum(args, 'rate', 0), flagNum(args, 'window', 10)).then(
      (r) => process.stdout.write(`RESULT ${JSON.stringify(r)}\n`),
      (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
  } else {
    run(args).catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
  }
}
