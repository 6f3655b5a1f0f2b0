/**
 * RAS benchmarks: PER encode+decode throughput for GnuGk's real neighbour LRQ and our LCF, and
 * LRQ->LCF latency through the NeighbourResponder on loopback at 1k and 5k LRQ/s, with the load
 * generator in a separate process and latency from packet timestamps (tcpdump on lo).
 * Targets (issue 4): >= 200k msgs/s encode+decode; p99 <= 1 ms.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { decodeRas, encodeRas, ipAddress, ras } from '../lib/h323/ras/messages.js';
import { NeighbourResponder } from '../lib/h323/ras/neighbour.js';
import { StaticPrefixResolver } from '../lib/h323/ras/resolver.js';
import { fixture } from '../test/support/paths.js';
import { startCapture, type Capture } from './packet-latency.js';
import type { SenderJob, SenderReport } from './ras-load-sender.js';

function gnugkLrq(): Buffer {
  const dir = fixture('h323', 'ras', 's1a-ep-ras-and-neighbour-lrq-noreply');
  const f = readdirSync(dir).find((n) => n.startsWith('0006-') && n.endsWith('.hex'))!;
  return Buffer.from(readFileSync(join(dir, f), 'utf8').trim(), 'hex');
}

interface Spread {
  best: number;
  worst: number;
}

function throughputOnce(bytes: Uint8Array, ms: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 1000; i++) encodeRas(decodeRas(bytes));
    n += 1000;
    t = performance.now();
  }
  return (n / (t - t0)) * 1000;
}

/** Three timed rounds after a warm-up; prints the best and the spread (the machine is shared). */
function throughput(label: string, bytes: Uint8Array, ms = 1500): Spread {
  // Warm up (compiles the schema codecs and lets the JIT settle), then measure.
  for (let i = 0; i < 20000; i++) encodeRas(decodeRas(bytes));
  const rates = [throughputOnce(bytes, ms), throughputOnce(bytes, ms), throughputOnce(bytes, ms)];
  const best = Math.max(...rates);
  const worst = Math.min(...rates);
  const f = (x: number): string => Math.round(x).toLocaleString('en');
  process.stdout.write(
    `PER decode+encode ${label} (${bytes.length} bytes): ${f(best)} msgs/s best of 3 (spread ${f(worst)}..${f(best)}; target >= 200,000: ${best >= 200000 ? 'met' : 'NOT met'}) ${load()}\n`,
  );
  return { best, worst };
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

/**
 * LRQ->LCF latency through the NeighbourResponder at `rate` LRQ/s. The responder runs in this
 * process; the LRQs come from a separate process (bench/ras-load-sender.ts). Latency is read
 * from packet timestamps of a loopback capture (LRQ on the wire to LCF on the wire) and, as a
 * cross-check, from the sender's own clocks (which add the sender's scheduling delays).
 */
export async function latency(rate: number, seconds: number): Promise<void> {
  const responder = new NeighbourResponder({
    bind: { host: '127.0.0.1', port: 0 },
    callSignalAddress: { host: '127.0.0.1', port: 1720 },
    neighbours: [{ name: 'bench', host: '127.0.0.1' }],
    resolver: new StaticPrefixResolver(['9']),
    rateLimit: { perSecond: 1e9, burst: 1e9 },
    ripAfterMs: 60000,
    lookupTimeoutMs: 65000,
    registry: new Registry(),
  });
  const addr = await responder.start();
  const dir = mkdtempSync(join(tmpdir(), 'ras-bench-'));
  const pcap = join(dir, 'lrq.pcap');
  let capture: Capture | undefined;
  try {
    // startCapture has no handler for a missing binary, so look first.
    if (spawnSync('tcpdump', ['--version']).error) throw new Error('tcpdump not found');
    capture = await startCapture(pcap, [addr.port]);
  } catch (err) {
    process.stdout.write(`(no packet capture: ${(err as Error).message}; sender timestamps only)\n`);
  }
  const total = Math.min(60000, Math.round(rate * seconds));
  const child = fork(fileURLToPath(new URL('./ras-load-sender.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const loadBefore = load();
  // CPU counted from the start of the warm-up (the responder's share of the whole run).
  const cpu0 = process.cpuUsage();
  const job: SenderJob = { host: addr.host, port: addr.port, rate, total, drainMs: 3000, warmup: Math.min(5000, rate) };
  const report = await new Promise<SenderReport>((resolve, reject) => {
    child.once('message', (m) => resolve(m as SenderReport));
    child.once('exit', (code) => reject(new Error(`load sender exited ${code}`)));
    child.send(job);
  });
  const cpu = process.cpuUsage(cpu0);
  await capture?.stop();
  await responder.stop();
  const rtts = report.rtts.sort((a, b) => a - b);
  const perLrq = (us: number, n: number): string => (us / Math.max(1, n)).toFixed(1);
  let wire = '';
  if (capture) {
    const w = wireLatencies(pcap, report.port, addr.port);
    const s = w.samples.sort((a, b) => a - b);
    const p99 = pct(s, 99);
    wire =
      `  packet timestamps (LRQ on lo -> LCF on lo): ${s.length}/${w.requests} LRQs captured with their LCF, ` +
      `p50 ${pct(s, 50).toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, max ${(s[s.length - 1] ?? NaN).toFixed(3)} ms ` +
      `(target p99 <= 1 ms: ${p99 <= 1 ? 'met' : 'NOT met'})\n`;
  }
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    `LRQ->LCF loopback at ${rate}/s for ${seconds}s (sender in its own process): ${report.answered}/${report.sent} answered ${loadBefore}\n` +
      wire +
      `  sender timestamps (send -> receive, incl. sender scheduling): p50 ${pct(rtts, 50).toFixed(3)} ms, p99 ${pct(rtts, 99).toFixed(3)} ms, max ${(rtts[rtts.length - 1] ?? NaN).toFixed(3)} ms\n` +
      `  responder process CPU per LRQ (warm-up included): ${perLrq(cpu.user, report.answered + job.warmup)} us user + ${perLrq(cpu.system, report.answered + job.warmup)} us system\n`,
  );
}

export async function run(args: string[] = []): Promise<void> {
  const quick = args.includes('--quick');
  throughput('GnuGk LRQ', gnugkLrq(), quick ? 300 : 1000);
  const lcf = encodeRas(
    ras('locationConfirm', {
      requestSeqNum: 1,
      callSignalAddress: ipAddress('192.0.2.10', 1720),
      rasAddress: ipAddress('192.0.2.10', 1721),
      destinationInfo: [{ choice: 'dialledDigits', value: '9123' }],
      destinationType: { gateway: {}, mc: false, undefinedNode: false },
    }),
  );
  throughput('our LCF', lcf, quick ? 300 : 1000);
  await latency(1000, quick ? 1 : 5);
  await latency(5000, quick ? 1 : 5);
}

const invokedDirectly = process.argv[1]?.endsWith('h323-ras.ts');
if (invokedDirectly) run(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
