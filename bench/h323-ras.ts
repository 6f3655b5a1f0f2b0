/**
 * RAS benchmarks: PER encode+decode throughput for GnuGk's real neighbour LRQ and our LCF, and
 * LRQ->LCF latency through the NeighbourResponder on loopback at 1k and 5k LRQ/s, with the load
 * generator in a separate process and latency from packet timestamps (tcpdump on lo).
 * Targets (issue 4): >= 200k msgs/s encode+decode; p99 <= 1 ms. Ends with a summary of both.
 */
import { fork, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { decodeRas, encodeRas, ipAddress, ras } from '../lib/h323/ras/messages.js';
import { NeighbourResponder } from '../lib/h323/ras/neighbour.js';
import { StaticPrefixResolver } from '../lib/h323/ras/resolver.js';
import { fixture } from '../test/support/paths.js';
import { startCapture, type Capture } from './packet-latency.js';
import type { SenderJob, SenderMeasuring, SenderReport } from './ras-load-sender.js';

function gnugkLrq(): Buffer {
  const dir = fixture('h323', 'ras', 's1a-ep-ras-and-neighbour-lrq-noreply');
  const f = readdirSync(dir).find((n) => n.startsWith('0006-') && n.endsWith('.hex'))!;
  return Buffer.from(readFileSync(join(dir, f), 'utf8').trim(), 'hex');
}

interface Spread {
  best: number;
  worst: number;
  /** Best rate by this thread's CPU time: what a quiet machine's wall clock would show. */
  bestCpu: number;
}

function throughputOnce(bytes: Uint8Array, ms: number): { wall: number; cpu: number } {
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 1000; i++) encodeRas(decodeRas(bytes));
    n += 1000;
    t = performance.now();
  }
  const c = process.cpuUsage(c0);
  return { wall: (n / (t - t0)) * 1000, cpu: n / ((c.user + c.system) / 1e6) };
}

/** Three timed rounds after a warm-up; prints the best and the spread (the machine is shared). */
function throughput(label: string, bytes: Uint8Array, ms = 1500): Spread {
  // Warm up (compiles the schema codecs and lets the JIT settle), then measure.
  for (let i = 0; i < 20000; i++) encodeRas(decodeRas(bytes));
  const rounds = [throughputOnce(bytes, ms), throughputOnce(bytes, ms), throughputOnce(bytes, ms)];
  const best = Math.max(...rounds.map((r) => r.wall));
  const worst = Math.min(...rounds.map((r) => r.wall));
  const bestCpu = Math.max(...rounds.map((r) => r.cpu));
  const f = (x: number): string => Math.round(x).toLocaleString('en');
  process.stdout.write(
    `PER decode+encode ${label} (${bytes.length} bytes): ${f(best)} msgs/s best of 3 (spread ${f(worst)}..${f(best)}; ` +
      `by CPU time ${f(bestCpu)}/s; target >= 200,000: ${best >= 200000 ? 'met' : 'NOT met'}) ${load()}\n`,
  );
  return { best, worst, bestCpu };
}

function load(): string {
  return `[load ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} cores]`;
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** UDP datagrams of a pcap file: capture time (ms), ports, payload. Handles the link types tcpdump uses on lo. */
function* udpPackets(file: string): Generator<{ t: number; src: number; dst: number; payload: Uint8Array }> {
  const buf = readFileSync(file);
  if (buf.length < 24) return;
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const link = u32(20);
  const linkLen = link === 1 ? 14 : link === 113 ? 16 : link === 276 ? 20 : link === 0 ? 4 : -1;
  if (linkLen < 0) throw new Error(`pcap link type ${link} not handled`);
  let off = 24;
  while (off + 16 <= buf.length) {
    const t = u32(off) * 1000 + u32(off + 4) / (nano ? 1e6 : 1e3);
    const incl = u32(off + 8);
    const pkt = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    const ip = linkLen;
    if (pkt.length < ip + 28 || pkt[ip]! >> 4 !== 4 || pkt[ip + 9] !== 17) continue;
    const udp = ip + (pkt[ip]! & 0x0f) * 4;
    yield { t, src: pkt.readUInt16BE(udp), dst: pkt.readUInt16BE(udp + 2), payload: pkt.subarray(udp + 8) };
  }
}

/** LRQ (sender -> responder) to LCF (responder -> sender) per requestSeqNum, from packet timestamps. */
function wireLatencies(file: string, senderPort: number, responderPort: number): { samples: number[]; requests: number } {
  const lrqAt = new Map<number, number>();
  const samples: number[] = [];
  for (const p of udpPackets(file)) {
    let msg;
    try {
      msg = decodeRas(p.payload);
    } catch {
      continue;
    }
    if (p.src === senderPort && p.dst === responderPort && msg.choice === 'locationRequest') {
      if (!lrqAt.has(msg.value.requestSeqNum)) lrqAt.set(msg.value.requestSeqNum, p.t);
    } else if (p.src === responderPort && p.dst === senderPort && msg.choice === 'locationConfirm') {
      const t0 = lrqAt.get(msg.value.requestSeqNum);
      if (t0 !== undefined) {
        samples.push(p.t - t0);
        lrqAt.set(msg.value.requestSeqNum, Infinity); // count each LRQ once
      }
    }
  }
  return { samples, requests: lrqAt.size };
}

interface Answerer {
  start(): Promise<{ host: string; port: number }>;
  stop(): Promise<void>;
}

function neighbourResponder(): Answerer {
  return new NeighbourResponder({
    bind: { host: '127.0.0.1', port: 0 },
    callSignalAddress: { host: '127.0.0.1', port: 1720 },
    neighbours: [{ name: 'bench', host: '127.0.0.1' }],
    resolver: new StaticPrefixResolver(['9']),
    rateLimit: { perSecond: 1e9, burst: 1e9 },
    ripAfterMs: 60000,
    lookupTimeoutMs: 65000,
    registry: new Registry(),
  });
}

/**
 * The floor under the responder's figures: Node's UDP receive and send on this machine, with the
 * same sender and capture, answering each LRQ with a canned LCF whose requestSeqNum is copied
 * from fixed offsets of the bench's LRQ (valid for that LRQ only).
 */
function echoFloor(): Answerer {
  const lcf = Buffer.from(
    encodeRas(
      ras('locationConfirm', {
        requestSeqNum: 1,
        callSignalAddress: ipAddress('127.0.0.1', 1720),
        rasAddress: ipAddress('127.0.0.1', 1721),
        destinationInfo: [{ choice: 'dialledDigits', value: '9123' }],
        destinationType: { gateway: {}, mc: false, undefinedNode: false },
      }),
    ),
  );
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  socket.on('message', (b, rinfo) => {
    const reply = Buffer.from(lcf);
    // requestSeqNum - 1: octets 2-3 of the bench LRQ, octets 1-2 of an LCF.
    reply[1] = b[2]!;
    reply[2] = b[3]!;
    socket.send(reply, rinfo.port, rinfo.address);
  });
  return {
    start: () =>
      new Promise((resolve) =>
        socket.bind(0, '127.0.0.1', () => {
          const a = socket.address();
          resolve({ host: a.address, port: a.port });
        }),
      ),
    stop: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** GC in this (the responder's) process while the measured LRQs run. */
interface GcTally {
  scavenges: number;
  markCompacts: number;
  maxPauseMs: number;
  totalPauseMs: number;
}

function watchGc(): { tally: GcTally; stop(): void } {
  const tally: GcTally = { scavenges: 0, markCompacts: 0, maxPauseMs: 0, totalPauseMs: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) tally.scavenges++;
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) tally.markCompacts++;
      tally.maxPauseMs = Math.max(tally.maxPauseMs, e.duration);
      tally.totalPauseMs += e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return { tally, stop: () => obs.disconnect() };
}

export interface LatencyResult {
  readonly rate: number;
  readonly sent: number;
  readonly answered: number;
  /** From packet timestamps when a capture ran, else from the sender's clocks. */
  readonly source: 'packets' | 'sender';
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly gc: GcTally;
}

/**
 * LRQ->LCF latency through the NeighbourResponder at `rate` LRQ/s. The responder runs in this
 * process; the LRQs come from a separate process (bench/ras-load-sender.ts). Latency is read
 * from packet timestamps of a loopback capture (LRQ on the wire to LCF on the wire, paired by
 * requestSeqNum) and, as a cross-check, from the sender's own clocks (which add the sender's
 * scheduling delays). CPU and GC are the responder process's own, over the measured LRQs only
 * (the sender's warm-up LRQs come first, from another port, and are not counted anywhere).
 */
export async function latency(rate: number, seconds: number, mode: 'responder' | 'echo' = 'responder'): Promise<LatencyResult> {
  const responder = mode === 'responder' ? neighbourResponder() : echoFloor();
  const addr = await responder.start();
  const dir = mkdtempSync(join(tmpdir(), 'ras-bench-'));
  const pcap = join(dir, 'lrq.pcap');
  let capture: Capture | undefined;
  try {
    // startCapture has no handler for a missing binary, so look first.
    if (spawnSync('tcpdump', ['--version']).error) throw new Error('tcpdump not found');
    capture = await startCapture(pcap, [addr.port], { bufferKiB: 16384, packetBuffered: false });
  } catch (err) {
    process.stdout.write(`(no packet capture: ${(err as Error).message}; sender timestamps only)\n`);
  }
  const total = Math.min(60000, Math.round(rate * seconds));
  const child = fork(fileURLToPath(new URL('./ras-load-sender.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const loadBefore = load();
  const job: SenderJob = { host: addr.host, port: addr.port, rate, total, drainMs: 3000, warmup: 5000, warmupRate: Math.max(rate, 5000) };
  let cpu0: NodeJS.CpuUsage | undefined;
  let gc: ReturnType<typeof watchGc> | undefined;
  const report = await new Promise<SenderReport>((resolve, reject) => {
    child.on('message', (m: SenderMeasuring | SenderReport) => {
      if (m.kind === 'measuring') {
        cpu0 = process.cpuUsage();
        gc = watchGc();
      } else resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`load sender exited ${code}`)));
    child.send(job);
  });
  const cpu = process.cpuUsage(cpu0);
  // GC entries are delivered asynchronously; let the last ones arrive before counting.
  await new Promise((r) => setImmediate(r));
  gc?.stop();
  const gcTally = gc?.tally ?? { scavenges: 0, markCompacts: 0, maxPauseMs: 0, totalPauseMs: 0 };
  // tcpdump reads the kernel ring a block at a time (pcap timeout 1 s); stopping at once lost the
  // packets of the last partly filled block from the pairing.
  if (capture) await new Promise((r) => setTimeout(r, 1200));
  await capture?.stop();
  await responder.stop();
  const rtts = report.rtts.sort((a, b) => a - b);
  const n = Math.max(1, report.answered);
  const f3 = (x: number): string => x.toFixed(3);
  let wire = '';
  let result: LatencyResult = {
    rate, sent: report.sent, answered: report.answered, source: 'sender',
    p50: pct(rtts, 50), p99: pct(rtts, 99), max: rtts[rtts.length - 1] ?? NaN,
    cpuUserUs: cpu.user / n, cpuSystemUs: cpu.system / n, gc: gcTally,
  };
  if (capture) {
    const w = wireLatencies(pcap, report.port, addr.port);
    const s = w.samples.sort((a, b) => a - b);
    result = { ...result, source: 'packets', p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] ?? NaN };
    wire =
      `  packet timestamps, LRQ on lo -> its LCF on lo (${s.length} pairs of ${w.requests} LRQs captured): ` +
      `p50 ${f3(result.p50)} ms, p99 ${f3(result.p99)} ms, max ${f3(result.max)} ms (target p99 <= 1 ms: ${result.p99 <= 1 ? 'met' : 'NOT met'})\n`;
  }
  rmSync(dir, { recursive: true, force: true });
  const what = mode === 'responder' ? 'LRQ->LCF' : 'Baseline, a bare UDP echo in place of the responder (no decode, no checks): LRQ->canned LCF';
  process.stdout.write(
    `${what} on loopback at ${rate} LRQ/s for ${seconds} s (sender in its own process, after ${job.warmup} warm-up LRQs at ${job.warmupRate}/s): ` +
      `${report.answered}/${report.sent} answered ${loadBefore}\n` +
      wire +
      `  sender timestamps, send -> receive (adds the sender's scheduling): p50 ${f3(pct(rtts, 50))} ms, p99 ${f3(pct(rtts, 99))} ms, max ${f3(rtts[rtts.length - 1] ?? NaN)} ms\n` +
      `  responder process per answered LRQ: ${result.cpuUserUs.toFixed(1)} us user + ${result.cpuSystemUs.toFixed(1)} us system CPU; ` +
      `GC: ${gcTally.scavenges} scavenges, ${gcTally.markCompacts} mark-compacts, max pause ${gcTally.maxPauseMs.toFixed(2)} ms, total ${gcTally.totalPauseMs.toFixed(1)} ms\n`,
  );
  return result;
}

export async function run(args: string[] = []): Promise<void> {
  const quick = args.includes('--quick');
  const lrqRate = throughput('GnuGk LRQ', gnugkLrq(), quick ? 300 : 1000);
  const lcf = encodeRas(
    ras('locationConfirm', {
      requestSeqNum: 1,
      callSignalAddress: ipAddress('192.0.2.10', 1720),
      rasAddress: ipAddress('192.0.2.10', 1721),
      destinationInfo: [{ choice: 'dialledDigits', value: '9123' }],
      destinationType: { gateway: {}, mc: false, undefinedNode: false },
    }),
  );
  const lcfRate = throughput('our LCF', lcf, quick ? 300 : 1000);
  const secs = quick ? 1 : 5;
  const slow = await latency(1000, secs);
  const fast = await latency(5000, secs);
  const floorSlow = args.includes('--no-baseline') ? undefined : await latency(1000, secs, 'echo');
  const floorFast = args.includes('--no-baseline') ? undefined : await latency(5000, secs, 'echo');
  const f = (x: number): string => Math.round(x).toLocaleString('en');
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  const line = (r: LatencyResult): string =>
    `  LRQ->LCF at ${r.rate}/s (${r.source} timestamps): p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, max ${r.max.toFixed(3)} ms, ` +
    `${r.answered}/${r.sent} answered, ${(r.cpuUserUs + r.cpuSystemUs).toFixed(1)} us CPU/LRQ, ${r.gc.scavenges} scavenges: p99 <= 1 ms ${verdict(r.p99 <= 1)}\n`;
  // Three processes (sender, responder, tcpdump) share the cores; anything else running shows up
  // in the tails first.
  const busy = loadavg()[0]! > cpus().length / 2;
  process.stdout.write(
    `Summary h323-ras ${load()}${busy ? ' - machine busy: latency tails are not comparable with a quiet run; compare CPU/LRQ and GC counts' : ''}\n` +
      `  PER decode+encode LRQ ${f(lrqRate.best)} msgs/s, LCF ${f(lcfRate.best)} msgs/s (by CPU time ${f(lrqRate.bestCpu)}/s, ${f(lcfRate.bestCpu)}/s): ` +
      `>= 200,000 ${verdict(lrqRate.best >= 200000 && lcfRate.best >= 200000)}\n` +
      line(slow) +
      line(fast) +
      (floorSlow && floorFast
        ? `  baseline, bare UDP echo: ${[floorSlow, floorFast].map((r) => `${r.rate}/s p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, max ${r.max.toFixed(3)} ms, ${(r.cpuUserUs + r.cpuSystemUs).toFixed(1)} us CPU/LRQ`).join('; ')}\n`
        : ''),
  );
}

const invokedDirectly = process.argv[1]?.endsWith('h323-ras.ts');
if (invokedDirectly) run(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
