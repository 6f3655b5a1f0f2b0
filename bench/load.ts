/**
 * Load steps: SIPp callers at rising call rates through drachtio and the gateway process with the
 * policy chain on (407 digest challenge, then INVITE with credentials and a PASSporT Identity),
 * the gateway a SIP B2BUA to a SIPp UAS. Per step: calls/s achieved, failures, set-up p50/p95/p99
 * and the gateway's CPU and RSS. Stops at the first step whose failures exceed the threshold; the
 * step before it is the knee.
 *
 *   SIPp uac --> drachtio --> gateway (policy chain, B2BUA) --> drachtio --> SIPp uas
 *
 * Set-up time comes from packet timestamps (tcpdump on the caller's port, tshark): the INVITE
 * carrying credentials -> its 200 OK, i.e. the gateway's admission + B2BUA time; the caller-seen
 * time from the first INVITE (through the 407) is in the JSON as totalMs. SIPp's own response
 * times tick in ~4 ms steps here and are not used.
 *
 *   node --import tsx bench/load.ts [--rates=10,25,50,100,150,200] [--step-s=30] [--max-fail-pct=1]
 *       [--hold-ms=0] [--interval-s=5] [--warmup-calls=20] [--keep]
 *
 * Writes reports/load-<UTC stamp>.json and .png. drachtio is the in-process double unless
 * DRACHTIO_HOST/PORT/SECRET/SIP name a real server (which must reach the SIPp UAS on 127.0.0.1);
 * capture interface BENCH_CAPTURE_IF (default lo). With the double, the bench process itself
 * carries drachtio's work: its CPU is reported too, because on a 2-core machine it competes with
 * the gateway.
 */
import './bench-quiet.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startDrachtioTarget } from '../test/lab/drachtio-target.js';
import { startGateway, type GatewayProcess } from '../test/lab/gateway-process.js';
import { freeMediaPort, freePort } from '../test/lab/ports.js';
import { SDP, injectionFile, policyInvite } from '../test/lab/scenarios.js';
import { identityJws, labPerson, writeRegistry } from '../test/lab/policy-lab.js';
import { metricValue } from '../test/lab/wait.js';
import { repoRoot } from '../test/support/paths.js';
import { capture } from './bench-capture.js';
import { runQuietSipp, startQuietUas } from './bench-sipp.js';
import { achievedRate, sipSetupTimes, summary, type Summary } from './bench-wire.js';
import { defer, teardownAll } from './bench-lifecycle.js';
import { ProcSampler, hostConditions, gatewayNodeOptions } from './bench-proc.js';
import { flagBool, flagList, flagNum, reportStamp } from './bench-flags.js';
import { COLORS, renderChart } from './chart.js';

const REALM = 'council.bench';
/**
 * SIPp's default 64 KiB socket buffers overflow in bursts at 200 calls/s on a busy 2-core machine
 * and the lost INVITEs then look like gateway failures (408 after timer B); 4 MiB is this host's
 * rmem_max (larger requests are capped by the kernel, not refused).
 */
const SIPP_BUFFERS = ['-buff_size', String(4 * 1024 * 1024)];

interface Step {
  offeredCps: number;
  durationS: number;
  callsOffered: number;
  /** Calls SIPp completed as scripted (final 200, ACK, BYE answered) / failed; its verdict counts. */
  answered: number;
  failed: number;
  /** Offered calls SIPp neither completed nor failed (it was killed at its time limit). */
  notRun: number;
  failPct: number;
  sippTimedOut: boolean;
  /** What the capture saw: distinct calls, 2xx, final status of calls not answered, no final. */
  packets: { calls: number; answered: number; rejected: Record<string, number>; unanswered: number; droppedByKernel: number };
  achievedCps: number;
  /** INVITE with credentials -> 200 OK, ms (packet timestamps). */
  setupMs: Summary;
  /** First INVITE -> 200 OK (includes the 407 round trip), ms. */
  totalMs: Summary;
  gateway: { cpuPctMean: number; cpuPctMax: number; rssMBMax: number; rssMBEnd: number };
  /** The bench process, which hosts the drachtio double (null against a real server). */
  benchProcessCpuPctMean: number | null;
  loadavg1AtStart: number;
  wallS: number;
}

function line(s: Step): string {
  const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
  return (
    `${String(s.offeredCps).padStart(5)}/s  achieved ${f(s.achievedCps).padStart(6)}/s  answered ${String(s.answered).padStart(6)}/${s.callsOffered}` +
    `  failed ${String(s.failed).padStart(5)} (${f(s.failPct, 2)}%)  set-up p50 ${f(s.setupMs.p50, 2)} p95 ${f(s.setupMs.p95, 2)} p99 ${f(s.setupMs.p99, 2)} ms` +
    `  gw CPU ${f(s.gateway.cpuPctMean, 0)}% (max ${f(s.gateway.cpuPctMax, 0)}%) RSS ${f(s.gateway.rssMBMax, 0)} MB` +
    (s.benchProcessCpuPctMean !== null ? `  double CPU ${f(s.benchProcessCpuPctMean, 0)}%` : '')
  );
}

async function waitHealthy(gw: GatewayProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const h = await gw.health().catch(() => undefined);
    if (h?.body.checks['drachtio']?.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway did not connect to drachtio within ${timeoutMs} ms:\n${gw.output().slice(-3000)}`);
}

/** CPU % of this process between calls (the drachtio double runs here). */
function selfCpuMeter(): () => number {
  let last = process.cpuUsage();
  let at = performance.now();
  return () => {
    const now = process.cpuUsage();
    const t = performance.now();
    const pct = ((now.user - last.user + now.system - last.system) / 1000 / (t - at)) * 100;
    last = now;
    at = t;
    return pct;
  };
}

/** Splits text into lines of at most `width` characters at spaces (chart notes). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const w of text.split(' ')) {
    if (cur && cur.length + 1 + w.length > width) {
      out.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) out.push(cur);
  return out;
}

export async function run(args: string[]): Promise<void> {
  const rates = flagList(args, 'rates', [10, 25, 50, 100, 150, 200]);
  const stepS = flagNum(args, 'step-s', 30);
  const maxFailPct = flagNum(args, 'max-fail-pct', 1);
  const holdMs = flagNum(args, 'hold-ms', 0);
  const intervalS = flagNum(args, 'interval-s', 5);
  const warmupCalls = flagNum(args, 'warmup-calls', 20);
  const keep = flagBool(args, 'keep');
  const startedAt = new Date();
  const conditions = {
    startedAt: startedAt.toISOString(), host: hostConditions(), rates, stepS, maxFailPct, holdMs, warmupCalls,
    drachtio: process.env.DRACHTIO_HOST ? `real ${process.env.DRACHTIO_HOST}:${process.env.DRACHTIO_PORT}` : 'double (in the bench process)',
    path: 'SIPp uac -> drachtio -> gateway (policy chain: digest MD5 challenge, PASSporT EdDSA, codec filter, quota, rates; durable audit) -> drachtio -> SIPp uas',
    setupTime: 'packet timestamps (tcpdump/tshark) on the caller leg: INVITE with credentials -> 200 OK; totalMs = first INVITE -> 200 OK',
    outcome: 'answered/failed = SIPp call verdicts (-trace_stat); achievedCps = answered calls in the capture over first INVITE .. last 200 OK',
    cpu: 'gateway process utime+stime from /proc/<pid>/stat per sample interval; 100% = one core',
  };
  process.stdout.write(
    `load: rates ${rates.join(', ')} calls/s, ${stepS} s per step, stop above ${maxFailPct}% failures, hold ${holdMs} ms; drachtio ${conditions.drachtio}; ` +
      `load average ${conditions.host.loadavg1.toFixed(2)} on ${conditions.host.cpus} cores\n`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
  if (keep) process.stdout.write(`captures kept in ${dir}\n`);
  else defer(() => rmSync(dir, { recursive: true, force: true }));
  const steps: Step[] = [];
  let stopReason = 'all steps run';
  let gwOutputTail = '';
  try {
    const target = await startDrachtioTarget();
    defer(() => target.stop());
    const uas = await startQuietUas(['-mi', '127.0.0.1', '-mp', String(await freeMediaPort()), ...SIPP_BUFFERS]);
    defer(() => uas.stop());
    // One caller: SIPp sends a single -au/-ap, and anti-Sybil ties the Identity to that user.
    // Limits lifted so that only the gateway's capacity, not a policy limit, ends a step.
    const caller = labPerson('Loader', REALM, { maxCalls: 1000, maxBps: 10_000_000_000 });
    const reg = writeRegistry([caller]);
    defer(() => rmSync(reg.dir, { recursive: true, force: true }));
    const auditDir = mkdtempSync(join(tmpdir(), 'bench-load-audit-'));
    defer(() => rmSync(auditDir, { recursive: true, force: true }));
    const gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        log: { level: 'warn' },
        dialPlan: [{ prefix: '', sipTarget: `sip:\${user}@127.0.0.1:${uas.port}` }],
        policy: {
          realm: REALM,
          // SIPp answers MD5 challenges only.
          digestAlgorithms: ['MD5', 'SHA-256'],
          identityWindowSec: 600,
          perCallerBps: 1_000_000_000,
          rates: { invitePerSourceBurst: 1_000_000, invitePerSourcePerSec: 1_000_000, invitePerIdentityBurst: 1_000_000, invitePerIdentityPerSec: 1_000_000 },
          lockout: { sourceThreshold: 1_000_000, userThreshold: 1_000_000 },
        },
        registry: { file: reg.file },
        audit: { dir: auditDir },
      },
      env: { DRACHTIO_SECRET: target.secret, POLICY_NONCE_SECRET: 'bench-nonce-secret', LOG_LEVEL: 'warn', ...gatewayNodeOptions() },
    });
    defer(async () => {
      gwOutputTail = gw.output().slice(-2000);
      await gw.stop('SIGTERM', 5000);
    });
    await waitHealthy(gw);
    const pid = gw.proc.pid;
    if (pid === undefined) throw new Error('gateway has no pid');
    const sampler = new ProcSampler(pid, 1000).start();
    defer(() => sampler.stop());
    const sip = `${target.sipHost}:${target.sipPort}`;
    const scenario = policyInvite(200, SDP.audio);
    defer(() => rmSync(join(scenario, '..'), { recursive: true, force: true }));
    const progressCpu = selfCpuMeter();

    const runStep = async (cps: number, calls: number, measured: boolean): Promise<Step | undefined> => {
      // Signed just before the step: each Identity carries iat = now and a fresh origid (the
      // replay cache refuses a second use), so rows are never reused across steps.
      const rows = Array.from({ length: calls }, () => [
        caller.username, caller.password,
        identityJws({ signer: caller, fromUser: caller.username, fromHost: '127.0.0.1', toUser: 'service', toHost: target.sipHost }),
        caller.kid, 'load step', caller.entry.displayName, 'Identity',
      ]);
      const inf = injectionFile(rows);
      const localPort = await freePort();
      const pcap = join(dir, `step-${cps}${measured ? '' : '-warmup'}.pcap`);
      const cap = await capture(pcap, `udp port ${localPort}`);
      const undoCap = defer(() => cap.stop());
      let dropped = 0;
      const load1 = loadavg()[0] ?? NaN;
      const tStart = sampler.elapsed();
      progressCpu();
      const windowCpu = selfCpuMeter();
      let selfWindowPct: number | undefined;
      const windowTimer = setTimeout(() => (selfWindowPct = windowCpu()), (calls / cps) * 1000 + 1000);
      const selfSamples: number[] = [];
      const t0 = performance.now();
      const before = await gw.metrics().catch(() => '');
      const answeredBefore = metricValue(before, 'gw_calls_total', { outcome: 'answered' }) ?? 0;
      const progress = measured
        ? setInterval(() => {
            selfSamples.push(progressCpu());
            void gw.metrics().then((m) => {
              const s = sampler.since(sampler.elapsed() - intervalS);
              const answered = (metricValue(m, 'gw_calls_total', { outcome: 'answered' }) ?? 0) - answeredBefore;
              const active = metricValue(m, 'gw_calls_active') ?? 0;
              process.stdout.write(
                `  ${String(cps).padStart(5)}/s  t=${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s  gateway answered ${answered}/${calls}  active ${active}` +
                  `  CPU ${s.cpuPctMean.toFixed(0)}%  RSS ${s.rssMBLast.toFixed(0)} MB  ${target.kind === 'double' ? 'double' : 'bench'} CPU ${selfSamples[selfSamples.length - 1]!.toFixed(0)}%\n`,
              );
            }, () => undefined);
          }, intervalS * 1000)
        : undefined;
      let r;
      try {
        r = await runQuietSipp({
          auth: { user: caller.username, password: caller.password },
          target: sip, scenario, service: 'service', calls, rate: cps, localPort,
          timeoutMs: (calls / cps) * 1000 + holdMs + 60_000,
          // SIPp's digest uri defaults to remote_ip:port; the gateway checks it against the Request-URI.
          args: ['-inf', inf, '-auth_uri', `service@${sip}`, '-d', String(holdMs), '-mi', '127.0.0.1', '-mp', String(await freeMediaPort()), ...SIPP_BUFFERS],
        });
      } finally {
        if (progress) clearInterval(progress);
        clearTimeout(windowTimer);
        dropped = await cap.stop();
        await undoCap();
        rmSync(join(inf, '..'), { recursive: true, force: true });
      }
      selfWindowPct ??= windowCpu();
      const wallS = (performance.now() - t0) / 1000;
      // CPU over the offering window only: calls that hang until timer B would otherwise
      // stretch the step and dilute the mean with idle seconds.
      const g = sampler.window(tStart, tStart + calls / cps + 1);
      const t = await sipSetupTimes(pcap, target.sipPort);
      if (!keep) rmSync(pcap, { force: true });
      if (!measured) return undefined;
      // SIPp's verdict decides success: a packet tcpdump missed must not count as a failed call.
      const notRun = Math.max(0, calls - r.successful - r.failed);
      const failed = r.failed + notRun;
      return {
        offeredCps: cps, durationS: calls / cps, callsOffered: calls, answered: r.successful, failed, notRun,
        failPct: (failed / calls) * 100, sippTimedOut: r.timedOut,
        packets: { calls: t.calls, answered: t.answered, rejected: t.rejected, unanswered: t.unanswered, droppedByKernel: dropped },
        achievedCps: achievedRate(t.answered, t.firstInviteAt, t.lastAnswerAt), setupMs: summary(t.setupMs), totalMs: summary(t.totalMs),
        gateway: { cpuPctMean: g.cpuPctMean, cpuPctMax: g.cpuPctMax, rssMBMax: g.rssMBMax, rssMBEnd: g.rssMBLast },
        benchProcessCpuPctMean: target.kind === 'double' ? selfWindowPct : null,
        loadavg1AtStart: load1, wallS,
      };
    };

    if (warmupCalls > 0) {
      process.stdout.write(`  warm-up: ${warmupCalls} calls at 10/s (not counted)\n`);
      await runStep(10, warmupCalls, false);
    }
    for (const cps of rates) {
      const calls = Math.max(1, Math.round(cps * stepS));
      process.stdout.write(`step ${cps} calls/s: ${calls} calls over ${stepS} s ...\n`);
      const s = (await runStep(cps, calls, true))!;
      steps.push(s);
      process.stdout.write(`= ${line(s)}\n`);
      if (s.failPct > maxFailPct) {
        stopReason = `failures ${s.failPct.toFixed(2)}% > ${maxFailPct}% at ${cps} calls/s`;
        break;
      }
      // Let the last calls of the step finish (BYE) before the next one is offered.
      await new Promise((r) => setTimeout(r, Math.max(1000, holdMs + 1000)));
    }
  } finally {
    await teardownAll();
  }

  const failedAt = steps.find((s) => s.failPct > maxFailPct);
  const passing = steps.filter((s) => s.failPct <= maxFailPct);
  const knee = failedAt ? passing[passing.length - 1] : undefined;
  // Below the failure threshold a step can still be saturated: SIPp then falls behind its schedule.
  const saturated = steps.filter((s) => s.failPct <= maxFailPct && Number.isFinite(s.achievedCps) && s.achievedCps < 0.9 * s.offeredCps).map((s) => s.offeredCps);
  const kneeText = failedAt
    ? `knee: ${knee ? `${knee.offeredCps} calls/s (last step within ${maxFailPct}% failures; achieved ${knee.achievedCps.toFixed(1)}/s, p99 ${knee.setupMs.p99.toFixed(1)} ms)` : 'below the first step'}; ${stopReason}`
    : `no knee within the rates offered (${stopReason}); highest step ${steps[steps.length - 1]?.offeredCps ?? '-'} calls/s`;

  process.stdout.write(`\n${'offered'.padStart(7)} ${'achieved'.padStart(8)} ${'failed'.padStart(7)} ${'fail%'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'gwCPU%'.padStart(7)} ${'RSS MB'.padStart(7)}\n`);
  const f = (x: number, d: number, w: number): string => (Number.isFinite(x) ? x.toFixed(d) : '-').padStart(w);
  for (const s of steps) {
    process.stdout.write(`${f(s.offeredCps, 0, 7)} ${f(s.achievedCps, 1, 8)} ${f(s.failed, 0, 7)} ${f(s.failPct, 2, 6)} ${f(s.setupMs.p50, 2, 8)} ${f(s.setupMs.p95, 2, 8)} ${f(s.setupMs.p99, 2, 8)} ${f(s.gateway.cpuPctMean, 0, 7)} ${f(s.gateway.rssMBMax, 0, 7)}\n`);
  }
  process.stdout.write(`${kneeText}\n`);
  if (saturated.length) process.stdout.write(`achieved < 90% of offered (SIPp or the path fell behind) at: ${saturated.join(', ')} calls/s\n`);

  const stamp = reportStamp(startedAt);
  const outDir = join(repoRoot, 'reports');
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, `load-${stamp}.json`);
  const png = join(outDir, `load-${stamp}.png`);
  const report = {
    bench: 'load',
    conditions: { ...conditions, finishedAt: new Date().toISOString(), loadavgAtEnd: loadavg() },
    units: { rates: 'calls/s', times: 'ms', cpu: '% of one core', rss: 'MB (MiB)' },
    result: { stopReason, knee: knee?.offeredCps ?? null, firstFailingStep: failedAt?.offeredCps ?? null, saturatedSteps: saturated },
    steps,
    gatewayOutputTail: steps.some((s) => s.failed > 0) ? gwOutputTail : undefined,
  };
  writeFileSync(json, JSON.stringify(report, null, 2));
  if (steps.length) {
    const h = conditions.host;
    writeFileSync(png, renderChart({
      title: 'GATEWAY LOAD: SIP B2BUA WITH POLICY CHAIN',
      notes: [
        `${conditions.startedAt}  ${h.cpus} CPUS  LOAD AVG AT START ${h.loadavg1.toFixed(2)}  DRACHTIO ${process.env.DRACHTIO_HOST ? 'REAL' : 'DOUBLE'}`,
        `${stepS} S PER STEP, HOLD ${holdMs} MS, STOP ABOVE ${maxFailPct}% FAILED CALLS`,
        'SET-UP: INVITE WITH CREDENTIALS -> 200 OK, FROM PACKET TIMESTAMPS',
        ...wrap(kneeText.toUpperCase(), 82),
      ],
      xLabel: 'OFFERED CALLS/S',
      marker: knee ? { x: knee.offeredCps, label: 'KNEE' } : undefined,
      panels: [
        {
          title: 'ACHIEVED CALLS/S', yLabel: 'CALLS/S',
          series: [
            { name: 'OFFERED', color: COLORS.grey, dashed: true, points: steps.map((s) => [s.offeredCps, s.offeredCps] as const) },
            { name: 'ACHIEVED', color: COLORS.blue, points: steps.map((s) => [s.offeredCps, s.achievedCps] as const) },
            { name: 'FAILED/S', color: COLORS.red, points: steps.map((s) => [s.offeredCps, s.failed / s.durationS] as const) },
          ],
        },
        {
          title: 'SET-UP TIME', yLabel: 'MS',
          series: [
            { name: 'P50', color: COLORS.green, points: steps.map((s) => [s.offeredCps, s.setupMs.p50] as const) },
            { name: 'P99', color: COLORS.orange, points: steps.map((s) => [s.offeredCps, s.setupMs.p99] as const) },
          ],
        },
        {
          title: 'CPU (100% = ONE CORE)', yLabel: '%',
          series: [
            { name: 'GATEWAY', color: COLORS.purple, points: steps.map((s) => [s.offeredCps, s.gateway.cpuPctMean] as const) },
            ...(steps[0]?.benchProcessCpuPctMean !== null
              ? [{ name: 'DRACHTIO DOUBLE', color: COLORS.grey, points: steps.map((s) => [s.offeredCps, s.benchProcessCpuPctMean ?? NaN] as const) }]
              : []),
          ],
        },
      ],
    }));
  }
  process.stdout.write(`\nJSON: ${json}\n${steps.length ? `PNG:  ${png}\n` : ''}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  }).finally(() => {
    // Handles of libraries (srf reconnect timers, sockets) must not keep the bench alive.
    setTimeout(() => process.exit(), 200).unref();
  });
}
