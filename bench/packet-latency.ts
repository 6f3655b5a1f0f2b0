/**
 * Latency from packet timestamps. SIPp's own response-time output ticks in ~4 ms steps on this
 * machine, too coarse for sub-millisecond set-up times, so benchmarks capture loopback traffic
 * with tcpdump and pair each INVITE with its final response by Call-ID using tshark.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';

const run = promisify(execFile);

export interface Capture {
  file: string;
  stop(): Promise<void>;
}

export interface CaptureOptions {
  /**
   * Kernel capture buffer (tcpdump -B, KiB). At thousands of packets a second the default 2 MB
   * can fill while tcpdump waits for a core, and the lost packets go missing from the pairing.
   */
  readonly bufferKiB?: number;
  /**
   * tcpdump -U (default true): one write per packet. With it off tcpdump writes in blocks, which
   * at thousands of packets a second takes far less of the CPU the measured processes share;
   * what tcpdump has read is still written on stop() (it flushes on SIGINT). Either way the
   * kernel hands packets over a block at a time, so wait ~1 s after the last one before stop().
   */
  readonly packetBuffered?: boolean;
}

/** Starts tcpdump on loopback for the given ports (UDP and TCP); resolves once it listens. */
export async function startCapture(file: string, ports: number[], opts: CaptureOptions = {}): Promise<Capture> {
  const filter = ports.map((p) => `port ${p}`).join(' or ');
  const buffer = opts.bufferKiB !== undefined ? ['-B', String(opts.bufferKiB)] : [];
  const flush = opts.packetBuffered === false ? [] : ['-U'];
  const proc: ChildProcess = spawn('tcpdump', ['-i', 'lo', '-n', '-s', '0', ...flush, ...buffer, '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  // tcpdump prints "listening on lo" to stderr once the capture is armed.
  await new Promise<void>((resolve, reject) => {
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err.trim()}`)));
  });
  return {
    file,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGINT');
      await once(proc, 'exit');
    },
  };
}

export interface SetupTimes {
  /** INVITE -> first final response, ms, one per call that got one. */
  samples: number[];
  unanswered: number;
}

/**
 * A request (towards `toPort`) to its first final response (from `toPort`), per Call-ID.
 * Only the leg between the caller and the first hop counts, so B2BUA legs behind it are ignored.
 */
export async function requestToFinal(file: string, toPort: number, method = 'INVITE'): Promise<SetupTimes> {
  const { stdout } = await run('tshark', [
    // SIP on a port other than 5060 is only dissected when told.
    '-r', file, '-n', '-d', `udp.port==${toPort},sip`, '-d', `tcp.port==${toPort},sip`, '-Y', 'sip', '-T', 'fields', '-E', 'separator=\t',
    '-e', 'frame.time_epoch', '-e', 'sip.Call-ID', '-e', 'sip.Method', '-e', 'sip.Status-Code', '-e', 'sip.CSeq.method',
    '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'tcp.srcport', '-e', 'tcp.dstport',
  ], { maxBuffer: 256 * 1024 * 1024 });
  const requests = new Map<string, number>();
  const finals = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const [t, callId, reqMethod, status, cseqMethod, us, ud, ts, td] = line.split('\t');
    const time = Number(t) * 1000;
    const src = Number(us || ts);
    const dst = Number(ud || td);
    // A TCP segment can hold several messages; tshark then lists values comma-separated.
    const ids = (callId ?? '').split(',');
    const methods = (reqMethod ?? '').split(',');
    const statuses = (status ?? '').split(',');
    const cseqs = (cseqMethod ?? '').split(',');
    ids.forEach((id, i) => {
      if (!id) return;
      if (methods[i] === method && dst === toPort && !requests.has(id)) requests.set(id, time);
      const code = Number(statuses[i]);
      if (code >= 200 && cseqs[i] === method && src === toPort && !finals.has(id)) finals.set(id, time);
    });
  }
  const samples: number[] = [];
  let unanswered = 0;
  for (const [id, t0] of requests) {
    const t1 = finals.get(id);
    if (t1 === undefined) unanswered++;
    else samples.push(t1 - t0);
  }
  return { samples, unanswered };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

export function summarise(samples: number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
}
