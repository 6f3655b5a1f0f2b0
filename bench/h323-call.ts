/**
 * H.323 call set-up rate between two loopback endpoints on lib/h323 (real TCP on 127.0.0.1):
 * the caller dials with fastStart (G.711), the callee answers at once (CallProceeding, Connect
 * with the fastStart answer), the caller hangs up once connected. Prints set-ups per second and
 * the p50/p99 set-up time (dial -> Connect received).
 *
 *   npm run bench -- h323-call        (or: node --import tsx bench/h323-call.ts --calls 2000 --concurrency 20)
 */
import { pathToFileURL } from 'node:url';
import { isolatedRegistry } from '../lib/metrics/registry.js';
import { dial, H323Listener, type CallOptions } from '../lib/h323/call/index.js';

function num(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function run(args: string[]): Promise<void> {
  const calls = num(args, 'calls', 500);
  const concurrency = num(args, 'concurrency', 10);
  const registry = isolatedRegistry();
  const base = (port: number): CallOptions => ({
    codecs: ['PCMU', 'PCMA'],
    media: { rtp: { host: '127.0.0.1', port } },
    fastStart: true,
    tunnel: true,
    registry,
  });
  const listener = new H323Listener({
    host: '127.0.0.1',
    port: 0,
    callOptions: base(40000),
    onCall: (c) => c.answer(),
  });
  const { port } = await listener.listen();
  const times: number[] = [];
  let failed = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const call = dial({ ...base(50000), host: '127.0.0.1', port, target: { calledNumber: '9123' } });
      call.once('connected', () => {
        times.push(performance.now() - t0);
        call.hangup();
      });
      call.once('released', (r) => {
        if (r.by !== 'local') failed++;
        resolve();
      });
    });
  // Warm-up (JIT, socket paths) outside the measurement.
  for (let i = 0; i < Math.min(50, calls); i++) await one();
  times.length = 0;
  failed = 0;
  const start = performance.now();
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < calls) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  await listener.close();
  const sorted = [...times].sort((a, b) => a - b);
  process.stdout.write(
    `h323-call: ${times.length} set-ups (Setup->Connect, fastStart, tunnelled) in ${elapsed.toFixed(2)} s, concurrency ${concurrency}\n` +
      `  set-ups/s: ${(times.length / elapsed).toFixed(0)}\n` +
      `  set-up time p50: ${pct(sorted, 50).toFixed(2)} ms  p99: ${pct(sorted, 99).toFixed(2)} ms  max: ${(sorted[sorted.length - 1] ?? NaN).toFixed(2)} ms\n` +
      `  failed: ${failed}\n`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
