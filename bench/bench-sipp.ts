/**
 * SIPp for load steps. test/lab/sipp.ts traces every message (-trace_msg) and reads the whole
 * trace back into memory, which is what tests need but at 200 calls/s for minutes means hundreds
 * of MB written by SIPp while it is being measured; here only the 1 s statistics file is kept
 * (for the call counts) and the trace directory is removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCounts, scenarioPath } from '../test/lab/sipp.js';
import { freePort } from '../test/lab/ports.js';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface QuietSippOptions {
  scenario: string;
  target?: string;
  service?: string;
  calls: number;
  rate: number;
  localPort?: number;
  auth?: { user: string; password: string };
  timeoutMs: number;
  args?: string[];
}

export interface QuietSippResult {
  exitCode: number | null;
  timedOut: boolean;
  successful: number;
  failed: number;
  stderr: string;
}

interface Started {
  proc: ChildProcess;
  localPort: number;
  done: Promise<QuietSippResult>;
}

async function start(o: QuietSippOptions): Promise<Started> {
  const localPort = o.localPort ?? (await freePort());
  const traceDir = mkdtempSync(join(tmpdir(), 'bench-sipp-'));
  const args = [
    ...(o.scenario.endsWith('.xml') ? ['-sf', scenarioPath(o.scenario)] : ['-sn', o.scenario]),
    ...(o.target ? [o.target] : []),
    '-i', '127.0.0.1', '-p', String(localPort), '-t', 'u1', '-s', o.service ?? 'service',
    '-m', String(o.calls), '-r', String(o.rate), '-nostdin',
    '-trace_stat', '-stf', join(traceDir, 'stat.csv'), '-fd', '1',
    ...(o.auth ? ['-au', o.auth.user, '-ap', o.auth.password] : []),
    ...(o.args ?? []),
  ];
  const proc = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 20_000) stderr += d.toString();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, o.timeoutMs);
  const done = new Promise<QuietSippResult>((resolve) => {
    const finish = (code: number | null): void => {
      clearTimeout(timer);
      live.delete(proc);
      const counts = readCounts(traceDir);
      rmSync(traceDir, { recursive: true, force: true });
      resolve({ exitCode: code, timedOut, ...counts, stderr });
    };
    proc.once('error', (e) => {
      stderr += `spawn error: ${e.message}`;
      finish(null);
    });
    proc.once('close', (code) => finish(code));
  });
  return { proc, localPort, done };
}

export async function runQuietSipp(o: QuietSippOptions): Promise<QuietSippResult> {
  return (await start(o)).done;
}

export interface QuietUas {
  port: number;
  stop(): Promise<void>;
}

/** SIPp's built-in UAS answering until stopped; resolves once its UDP port is bound. */
export async function startQuietUas(args: string[] = []): Promise<QuietUas> {
  const s = await start({ scenario: 'uas', calls: 100_000_000, rate: 1, timeoutMs: 6 * 3600_000, args });
  const deadline = Date.now() + 5000;
  for (;;) {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) throw new Error(`sipp UAS exited: ${(await s.done).stderr}`);
    const busy = await new Promise<boolean>((resolve) => {
      const sock = dgram.createSocket('udp4');
      sock.once('error', () => {
        sock.close();
        resolve(true);
      });
      sock.bind(s.localPort, '127.0.0.1', () => sock.close(() => resolve(false)));
    });
    if (busy) break;
    if (Date.now() > deadline) throw new Error(`sipp UAS did not bind udp/${s.localPort}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port: s.localPort,
    async stop() {
      if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGTERM');
      const t = setTimeout(() => s.proc.kill('SIGKILL'), 2000);
      await s.done;
      clearTimeout(t);
    },
  };
}
