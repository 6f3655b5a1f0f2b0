/**
 * RAS benchmarks: PER encode+decode throughput for GnuGk's real neighbour LRQ and our LCF, and
 * LRQ->LCF round-trip latency through the NeighbourResponder on loopback at 1k and 5k LRQ/s
 * (sender, responder and receiver share this process, so the figures include both ends).
 * Targets (issue 4): >= 200k msgs/s encode+decode; p99 <= 1 ms.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { decodeRas, encodeRas, ipAddress, ras } from '../lib/h323/ras/messages.js';
import { NeighbourResponder } from '../lib/h323/ras/neighbour.js';
import { StaticPrefixResolver } from '../lib/h323/ras/resolver.js';
import { UdpPeer } from '../test/lab/h323/udp-peer.js';
import { fixture } from '../test/support/paths.js';

function gnugkLrq(): Buffer {
  const dir = fixture('h323', 'ras', 's1a-ep-ras-and-neighbour-lrq-noreply');
  const f = readdirSync(dir).find((n) => n.startsWith('0006-') && n.endsWith('.hex'))!;
  return Buffer.from(readFileSync(join(dir, f), 'utf8').trim(), 'hex');
}

function throughput(label: string, bytes: Uint8Array, ms = 1500): number {
  let n = 0;
  // Warm up, then measure in batches so the clock is read rarely.
  for (let i = 0; i < 20000; i++) encodeRas(decodeRas(bytes));
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 1000; i++) encodeRas(decodeRas(bytes));
    n += 1000;
    t = performance.now();
  }
  const rate = (n / (t - t0)) * 1000;
  process.stdout.write(`PER decode+encode ${label} (${bytes.length} bytes): ${Math.round(rate).toLocaleString('en')} msgs/s\n`);
  return rate;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

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
  const peer = await UdpPeer.open('127.0.0.1');
  peer.socket.setRecvBufferSize(4 << 20);
  const base = decodeRas(gnugkLrq());
  if (base.choice !== 'locationRequest') throw new Error('fixture is not an LRQ');
  base.value.replyAddress = ipAddress('127.0.0.1', peer.port);
  const total = Math.min(60000, Math.round(rate * seconds));
  const packets = Array.from({ length: total }, (_, i) => {
    base.value.requestSeqNum = i + 1;
    return encodeRas(base);
  });
  const sentAt = new Float64Array(total + 1);
  const rtts: number[] = [];
  let received = 0;
  const done = new Promise<void>((resolve) => {
    peer.socket.on('message', (b) => {
      const now = performance.now();
      // LCF: CHOICE index + preamble fill octet 0, requestSeqNum (1..65535) is octets 1-2. Reading
      // it directly keeps the measuring side from competing with the responder for the CPU.
      const seq = ((b[1]! << 8) | b[2]!) + 1;
      rtts.push(now - sentAt[seq]!);
      if (++received === total) resolve();
    });
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (sent < due) {
      sentAt[sent + 1] = performance.now();
      peer.socket.send(packets[sent]!, addr.port, addr.host);
      sent++;
    }
    if (sent >= total) clearInterval(timer);
  }, 1);
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000 + 5000).unref());
  await Promise.race([done, timeout]);
  clearInterval(timer);
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  rtts.sort((a, b) => a - b);
  process.stdout.write(
    `LRQ->LCF loopback at ${rate}/s for ${seconds}s: ${received}/${total} answered, p50 ${pct(rtts, 50).toFixed(3)} ms, p99 ${pct(rtts, 99).toFixed(3)} ms, max ${(rtts[rtts.length - 1] ?? NaN).toFixed(3)} ms; ` +
      `CPU per LRQ round trip (sender+responder+receiver) ${(cpu.user / Math.max(1, received)).toFixed(1)} us user + ${(cpu.system / Math.max(1, received)).toFixed(1)} us system (UDP), ` +
      `process CPU share ${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(0)}% of one core\n`,
  );
  await peer.close();
  await responder.stop();
}

export async function run(args: string[] = []): Promise<void> {
  const quick = args.includes('--quick');
  throughput('GnuGk LRQ', gnugkLrq(), quick ? 300 : 1500);
  const lcf = encodeRas(
    ras('locationConfirm', {
      requestSeqNum: 1,
      callSignalAddress: ipAddress('192.0.2.10', 1720),
      rasAddress: ipAddress('192.0.2.10', 1721),
      destinationInfo: [{ choice: 'dialledDigits', value: '9123' }],
      destinationType: { gateway: {}, mc: false, undefinedNode: false },
    }),
  );
  throughput('our LCF', lcf, quick ? 300 : 1500);
  await latency(1000, quick ? 1 : 3);
  await latency(5000, quick ? 1 : 3);
}

const invokedDirectly = process.argv[1]?.endsWith('h323-ras.ts');
if (invokedDirectly) run(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
