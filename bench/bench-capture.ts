/**
 * Packet capture for set-up times, with a BPF filter and interface of the caller's choice
 * (bench/packet-latency.ts captures loopback by port only). Against real servers on another host
 * set BENCH_CAPTURE_IF to the interface that carries the traffic (default lo).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface PacketCapture {
  file: string;
  /** Resolves with the packets the kernel dropped (tcpdump's own count; 0 when it says none). */
  stop(): Promise<number>;
}

export function captureInterface(): string {
  return process.env.BENCH_CAPTURE_IF || 'lo';
}

/** Starts tcpdump writing `file`; resolves once it is armed ("listening on" on stderr). */
export async function capture(file: string, filter: string, iface = captureInterface()): Promise<PacketCapture> {
  // --immediate-mode: without it libpcap hands packets over in blocks (TPACKET_V3), and the block
  // still filling when tcpdump gets SIGINT is lost - the last calls of a run vanished that way.
  // -s 8192 -B 65536: the ring holds buffer/snaplen packets, so with the default 256 KiB snaplen
  // an 8 MiB buffer held only ~32 and tcpdump dropped hundreds at 100 calls/s on a busy machine.
  // SIP here and Q.931 messages are far below 8 KiB.
  const proc = spawn('tcpdump', ['-i', iface, '-n', '-s', '8192', '-B', '65536', '--immediate-mode', '-U', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(proc);
  let err = '';
  await new Promise<void>((resolve, reject) => {
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) resolve();
    });
    proc.once('error', (e) => reject(new Error(`tcpdump: ${e.message} (is it installed and allowed to capture?)`)));
    proc.once('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err.trim()}`)));
  });
  return {
    file,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return 0;
      // Packets the peers sent a moment ago may still be on their way through the kernel.
      await new Promise((r) => setTimeout(r, 250));
      const ended = once(proc, 'exit');
      proc.kill('SIGINT');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await ended;
      clearTimeout(t);
      live.delete(proc);
      // tcpdump reports kernel drops on exit; a dropped packet would silently lose a sample.
      const m = /(\d+) packets dropped by kernel/.exec(err);
      const dropped = m ? Number(m[1]) : 0;
      if (dropped > 0) process.stderr.write(`  warning: tcpdump: ${dropped} packets dropped by kernel (${file}); timings miss those calls\n`);
      return dropped;
    },
  };
}

export async function tshark(args: string[]): Promise<string> {
  const { stdout } = await exec('tshark', args, { maxBuffer: 1024 * 1024 * 1024 });
  return stdout;
}
