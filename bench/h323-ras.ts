/**
 * RAS benchmarks: PER encode+decode throughput for GnuGk's real neighbour LRQ and our LCF, and
 * LRQ->LCF latency through the NeighbourResponder on loopback at 1k and 5k LRQ/s, with the load
 * generator and the responder each in a process of their own and latency from packet timestamps
 * (tcpdump on lo).
 * Targets (issue 4): >= 200k msgs/s encode+decode; p99 <= 1 ms. Ends with a summary of both.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeRas, encodeRas } from '../lib/h323/ras/messages.js';
import { GATEWAY_NODE_FLAGS } from '../apps/gateway/node-flags.js';
import { fixture } from '../test/support/paths.js';
import { startCapture, type Capture } from './packet-latency.js';
import type { SenderGo, SenderJob, SenderReady, SenderReport } from './ras-load-sender.js';
import { benchLcf, type GcTally, type ParentToResponder, type ResponderMode, type ResponderToParent } from './ras-responder-proc.js';

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
 * LRQ->LCF latency through the NeighbourResponder at `rate` LRQ/s. The responder runs in its own
 * process with the gateway's V8 flags (bench/ras-responder-proc.ts); the LRQs come from another
 * (bench/ras-load-sender.ts). Latency is read
 * from packet timestamps of a loopback capture (LRQ on the wire to LCF on the wire, paired by
 * requestSeqNum) and, as a cross-check, from the sender's own clocks (which add the sender's
 * scheduling delays). CPU and GC are the responder process's own, over the measured LRQs only
 * (the sender's warm-up LRQs come first, from another port, and are not counted anywhere).
 */
export async function latency(rate: number, seconds: number, mode: ResponderMode = 'responder'): Promise<LatencyResult> {
  const responder = fork(fileURLToPath(new URL('./ras-responder-proc.ts', import.meta.url)), [], {
    // The gateway's own V8 flags, so its young-generation GCs are the ones measured.
    execArgv: ['--import', 'tsx', '--expose-gc', ...GATEWAY_NODE_FLAGS],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const fromResponder = <K extends ResponderToParent['kind']>(kind: K): Promise<Extract<ResponderToParent, { kind: K }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: ResponderToParent): void => {
        if (m.kind !== kind) return;
        responder.off('message', onMessage);
        responder.off('exit', onExit);
        resolve(m as Extract<ResponderToParent, { kind: K }>);
      };
      const onExit = (code: number | null): void => reject(new Error(`responder exited ${code}`));
      responder.on('message', onMessage);
      responder.once('exit', onExit);
    });
  const toResponder = (m: ParentToResponder): void => {
    responder.send(m);
  };
  const listening = fromResponder('listening');
  toResponder({ kind: 'start', mode });
  const addr = { host: '127.0.0.1', port: (await listening).port };
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
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const loadBefore = load();
  const job: SenderJob = { host: addr.host, port: addr.port, rate, total, drainMs: 3000, warmup: 5000, warmupRate: Math.max(rate, 5000) };
  const report = await new Promise<SenderReport>((resolve, reject) => {
    child.on('message', (m: SenderReady | SenderReport) => {
      if (m.kind === 'ready') {
        // The responder collects the warm-up's garbage and starts counting before the first
        // measured LRQ leaves, so neither lands among them.
        const measuring = fromResponder('measuring');
        toResponder({ kind: 'measure' });
        measuring.then(() => child.send({ kind: 'go' } satisfies SenderGo), reject);
      } else resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`load sender exited ${code}`)));
    child.send(job);
  });
  const stats = fromResponder('report');
  toResponder({ kind: 'report' });
  const { cpuUserUs, cpuSystemUs, gc: gcTally } = await stats;
  // tcpdump reads the kernel ring a block at a time (pcap timeout 1 s); stopping at once lost the
  // packets of the last partly filled block from the pairing.
  if (capture) await new Promise((r) => setTimeout(r, 1200));
  await capture?.stop();
  const exited = new Promise((r) => responder.once('exit', r));
  toResponder({ kind: 'stop' });
  await exited;
  const rtts = report.rtts.sort((a, b) => a - b);
  const n = Math.max(1, report.answered);
  const f3 = (x: number): string => x.toFixed(3);
  let wire = '';
  let result: LatencyResult = {
    rate, sent: report.sent, answered: report.answered, source: 'sender',
    p50: pct(rtts, 50), p99: pct(rtts, 99), max: rtts[rtts.length - 1] ?? NaN,
    cpuUserUs: cpuUserUs / n, cpuSystemUs: cpuSystemUs / n, gc: gcTally,
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
  const lcf = benchLcf('192.0.2.10');
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
