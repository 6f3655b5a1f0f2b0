/**
 * Soak: `npx tsx bench/soak.ts --minutes N` (npm run soak -- --minutes N).
 *
 * Runs the gateway process with the drachtio and FreeSWITCH doubles (test/e2e/council/lab.ts):
 * a 12-participant council (7 SIPp callers through the policy chain, 5 H.323 lab endpoints
 * sending RTP the whole time), one H.323 seat churned (leave + rejoin) every interval, and
 * background SIP calls (SIPp -> gateway B2BUA -> SIPp UAS) at a steady rate.
 *
 * Pass criteria (exit 0 only if all hold; the JSON report in reports/soak-<ts>.json says which
 * failed):
 *  - no drop: no council participant loses its call before the end (no BYE / ReleaseComplete
 *    the soak did not ask for), every churned participant is admitted again;
 *  - every background call answered and ended normally (SIPp: failed 0, successful = placed);
 *  - memory flat: after the warm-up (the larger of 30 s and a quarter of the run) the
 *    least-squares slope of the gateway's RSS is at most --max-rss-slope MB/min (default 4;
 *    120 MB over a 30-minute session; runs under ~5 min judge memory only coarsely);
 *  - the audit chain verifies afterwards.
 * Progress: one line per interval (elapsed, participants, background calls, RSS, heap).
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyAuditDir } from '../lib/audit/verify.js';
import type { EndpointCall } from '../test/lab/h323-endpoint/endpoint.js';
import { freePort } from '../test/lab/ports.js';
import { runSipp, stopAllSipp, type SippResult } from '../test/lab/sipp.js';
import { metricValue, waitUntil } from '../test/lab/wait.js';
import { H323_ALIAS, ROOM, admin, members, sipCall, startCouncilLab, type CouncilLab } from '../test/e2e/council/lab.js';
import { repoRoot } from '../test/support/paths.js';

interface Args {
  minutes: number;
  intervalSec: number;
  bgRate: number;
  bgHoldMs: number;
  maxRssSlope: number;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string, dflt: number): number => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return dflt;
    const raw = argv[i]!.includes('=') ? argv[i]!.split('=')[1] : argv[i + 1];
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number, got ${String(raw)}`);
    return n;
  };
  return {
    minutes: get('minutes', 30),
    intervalSec: get('interval', 10),
    bgRate: get('bg-rate', 2),
    bgHoldMs: get('bg-hold-ms', 2000),
    maxRssSlope: get('max-rss-slope', 4),
  };
}

interface Sample {
  t: number;
  rssMb: number;
  heapMb: number | undefined;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Least-squares slope of y over x (per unit of x). */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const durationMs = a.minutes * 60_000;
  const warmupMs = Math.max(30_000, durationMs / 4);
  const log = (s: string): void => void process.stdout.write(`${s}\n`);
  log(`soak: ${a.minutes} min, council of 12 (7 SIP + 5 H.323, one H.323 seat churned every ${a.intervalSec} s), background SIP ${a.bgRate}/s holding ${a.bgHoldMs} ms`);

  const uasPort = await freePort();
  const lab: CouncilLab = await startCouncilLab({
    roles: ['moderator', 'expert', 'guardian', 'guardian', 'guardian', 'guardian', 'guardian', 'operator'],
    backgroundUasPort: uasPort,
    // RTP for the whole run (20 ms packets) plus margin
    h323RtpPackets: Math.ceil((durationMs + 120_000) / 20),
  });
  const failures: string[] = [];
  const samples: Sample[] = [];
  const admissions: Array<{ leg: string; ms: number; phase: 'assembly' | 'churn' }> = [];
  const drops: string[] = [];
  let stopping = false;
  const pid = lab.gw.proc.pid!;
  try {
    // the council assembles, one participant after another
    const sipRuns: Array<Promise<SippResult>> = [];
    let h323: EndpointCall[] = [];
    const watchH323 = (c: EndpointCall): void => {
      void c.done.then((r) => {
        if (!stopping && !(c as { leaving?: boolean }).leaving) drops.push(`h323 participant released (cause ${r.cause}, by ${r.by})`);
      });
    };
    for (let i = 0; i < 12; i++) {
      if (i % 2 === 0 && sipRuns.length < 7) {
        const run = sipCall(lab, lab.people[sipRuns.length]!, { kind: 'wait-bye' }, { timeoutMs: durationMs + 180_000 });
        void run.then((r) => {
          if (!stopping) drops.push(`sip participant's call ended early (sipp exit ${r.exitCode})`);
        });
        sipRuns.push(run);
      } else if (h323.length < 5) {
        const c = await lab.h323.call(lab.callSignal.host, lab.callSignal.port, H323_ALIAS);
        watchH323(c);
        h323.push(c);
      } else {
        sipRuns.push(sipCall(lab, lab.people[sipRuns.length]!, { kind: 'wait-bye' }, { timeoutMs: durationMs + 180_000 }));
      }
      await waitUntil(async () => (await members(lab)).here.length === i + 1 || undefined, `${i + 1} participants`, 15_000);
    }
    for (const p of (await members(lab)).here) admissions.push({ leg: p.leg, ms: p.admissionMs, phase: 'assembly' });
    log(`council assembled: 12 participants, admission p50 ${pct(admissions.map((x) => x.ms), 50).toFixed(1)} ms, max ${Math.max(...admissions.map((x) => x.ms)).toFixed(1)} ms`);

    // background calls for the whole run
    const bgCalls = Math.max(1, Math.floor((durationMs / 1000) * a.bgRate));
    const uas = runSipp({ scenario: 'uas', localPort: uasPort, calls: bgCalls, timeoutMs: durationMs + 120_000 });
    const bg = sipCall(lab, lab.people[7]!, { kind: 'hangup', holdMs: a.bgHoldMs }, { service: '5000', calls: bgCalls, rate: a.bgRate, timeoutMs: durationMs + 120_000 });

    const t0 = Date.now();
    const sample = async (): Promise<Sample> => {
      const m = await lab.gw.metrics().catch(() => '');
      const heap = metricValue(m, 'gw_nodejs_heap_size_used_bytes');
      const s = { t: Date.now() - t0, rssMb: rssMb(pid), heapMb: heap === undefined ? undefined : heap / 2 ** 20 };
      samples.push(s);
      return s;
    };
    await sample();
    let nextLine = t0 + a.intervalSec * 1000;
    const sampler = setInterval(() => void sample(), 2000);
    try {
      while (Date.now() - t0 < durationMs) {
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(nextLine, t0 + durationMs) - Date.now())));
        if (Date.now() - t0 >= durationMs) break;
        nextLine += a.intervalSec * 1000;
        // churn one H.323 seat: the oldest room system leaves, a new one joins
        const leaving = h323.shift()!;
        (leaving as { leaving?: boolean }).leaving = true;
        leaving.call.hangup();
        await leaving.done;
        await waitUntil(async () => (await members(lab)).here.length === 11 || undefined, 'the churned seat freed', 10_000);
        const fresh = await lab.h323.call(lab.callSignal.host, lab.callSignal.port, H323_ALIAS);
        watchH323(fresh);
        h323.push(fresh);
        const joined = await waitUntil(async () => {
          const here = (await members(lab)).here;
          return here.length === 12 ? here : undefined;
        }, 'the churned seat taken again', 10_000).catch(() => undefined);
        if (!joined) failures.push('a churned H.323 participant was not admitted again');
        const newest = joined?.reduce((x, y) => (y.joinedAt > x.joinedAt ? y : x));
        if (newest) admissions.push({ leg: newest.leg, ms: newest.admissionMs, phase: 'churn' });
        const s = await sample();
        const m = await lab.gw.metrics();
        const answered = metricValue(m, 'gw_calls_total', { outcome: 'answered' }) ?? 0;
        log(`[${(s.t / 1000).toFixed(0).padStart(5)} s] participants ${joined?.length ?? '?'}/12, background answered ${answered}, ` +
          `rss ${s.rssMb.toFixed(1)} MB, heap ${s.heapMb?.toFixed(1) ?? '?'} MB, drops ${drops.length}`);
        h323 = h323.filter((c) => c.call.state !== 'released' || c === fresh);
      }
    } finally {
      clearInterval(sampler);
    }

    // the end: background calls finish, the council is dismissed by the operator
    const bgResult = await bg;
    stopping = true;
    if (bgResult.exitCode !== 0 || bgResult.failed !== 0 || bgResult.successful !== bgCalls) {
      failures.push(`background calls: ${bgResult.successful}/${bgCalls} successful, ${bgResult.failed} failed (sipp exit ${bgResult.exitCode})`);
    }
    const here = (await members(lab)).here;
    if (here.length !== 12) failures.push(`${here.length} participants at the end, not 12`);
    for (const p of here.filter((x) => x.leg === 'sip')) await admin(lab, 'POST', `/council/rooms/${ROOM}/members/${p.seatId}/kick`);
    for (const c of h323) c.call.hangup();
    const sipEnds = await Promise.all(sipRuns);
    if (sipEnds.some((r) => r.exitCode !== 0)) failures.push('a SIP participant did not end cleanly on the operator\'s kick');
    await uas.catch(() => undefined);
    if (drops.length) failures.push(`${drops.length} unexpected drops: ${drops.slice(0, 3).join('; ')}`);

    const after = samples.filter((s) => s.t >= warmupMs);
    const rssSlope = slope(after.map((s) => [s.t / 60_000, s.rssMb]));
    const heapPts = after.filter((s) => s.heapMb !== undefined).map((s): [number, number] => [s.t / 60_000, s.heapMb!]);
    const heapSlope = slope(heapPts);
    if (after.length < 5) failures.push(`too few samples after the ${warmupMs / 1000} s warm-up to judge memory (${after.length})`);
    else if (rssSlope > a.maxRssSlope) failures.push(`RSS grows ${rssSlope.toFixed(2)} MB/min after warm-up (limit ${a.maxRssSlope})`);

    await lab.gw.stop('SIGTERM', 10_000);
    const audit = verifyAuditDir(lab.auditDir);
    if (!audit.ok) failures.push(`audit chain does not verify: ${JSON.stringify(audit.firstBad)}`);

    const ms = admissions.map((x) => x.ms);
    const report = {
      startedAt: new Date(t0).toISOString(),
      args: a,
      warmupSec: warmupMs / 1000,
      ok: failures.length === 0,
      failures,
      council: { room: ROOM, participants: 12, churned: admissions.filter((x) => x.phase === 'churn').length, drops },
      admissionMs: { n: ms.length, p50: pct(ms, 50), p90: pct(ms, 90), max: Math.max(...ms), all: admissions },
      background: { placed: bgCalls, successful: bgResult.successful, failed: bgResult.failed },
      memory: { rssSlopeMbPerMin: rssSlope, heapSlopeMbPerMin: heapSlope, limitRssSlopeMbPerMin: a.maxRssSlope, samples },
      audit: { ok: audit.ok, records: audit.records },
    };
    const dir = join(repoRoot, 'reports');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`admission: n=${ms.length} p50 ${report.admissionMs.p50.toFixed(1)} ms, p90 ${report.admissionMs.p90.toFixed(1)} ms, max ${report.admissionMs.max.toFixed(1)} ms`);
    log(`memory after ${warmupMs / 1000} s warm-up: RSS ${rssSlope.toFixed(2)} MB/min (limit ${a.maxRssSlope}), heap ${heapSlope.toFixed(2)} MB/min`);
    log(`background: ${bgResult.successful}/${bgCalls} answered; audit ${audit.ok ? 'verifies' : 'BROKEN'} (${audit.records} records)`);
    log(`${report.ok ? 'PASS' : 'FAIL'}${failures.length ? `: ${failures.join('; ')}` : ''}; report ${file}`);
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    stopping = true;
    stopAllSipp();
    await lab.stop().catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  stopAllSipp();
  process.exit(1);
});
