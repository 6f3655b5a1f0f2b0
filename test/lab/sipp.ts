/**
 * Run SIPp (`sipp`, Debian package sip-tester) as a child process. Every process started here is
 * tracked and killed by `stopAllSipp()` (call it from an after hook) or when the runner's timeout
 * expires; nothing outlives the test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { repoRoot } from '../support/paths.js';
import { freeSipPort } from './ports.js';

export type SippTransport = 'udp' | 'tcp';

export interface SippOptions {
  /** `host:port` SIPp sends to (ignored by a pure UAS). */
  target?: string;
  /** Built-in scenario ('uac', 'uas', ...) or an XML file name under sip-configs/sipp/ (or a path). */
  scenario: string;
  transport?: SippTransport;
  /** -s: Request-URI user. Default 'service'. */
  service?: string;
  /** -m: calls to make before exiting. Default 1. */
  calls?: number;
  /** -r: calls per second. Default 10. */
  rate?: number;
  /** Local SIP port; default a free one. */
  localPort?: number;
  /** Digest credentials (-au/-ap) for [authentication] in XML scenarios. */
  auth?: { user: string; password: string };
  /** Kill SIPp after this long (default 30 s); the result then reports the kill. */
  timeoutMs?: number;
  /** Extra SIPp arguments. */
  args?: string[];
}

export interface SippResult {
  /** Exit code (0 = all calls succeeded, 1 = some failed, 99 = no calls); null if killed. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  successful: number;
  failed: number;
  /** Directory with the -trace_msg log, -trace_stat csv, screen and error files. */
  traceDir: string;
  /** Content of the message trace (sent/received SIP), '' if none. */
  messages: string;
  stdout: string;
  stderr: string;
  command: string[];
}

const running = new Set<ChildProcess>();

/** Kill every SIPp process this module started and is still running. */
export function stopAllSipp(): void {
  for (const p of running) p.kill('SIGKILL');
  running.clear();
}

process.once('exit', stopAllSipp);

export function scenarioPath(name: string): string {
  return isAbsolute(name) ? name : join(repoRoot, 'sip-configs', 'sipp', name);
}

interface Spawned {
  traceDir: string;
  proc: ChildProcess;
  done: Promise<SippResult>;
  localPort: number;
}

async function spawnSipp(o: SippOptions): Promise<Spawned> {
  const localPort = o.localPort ?? (await freeSipPort());
  const traceDir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const args: string[] = [];
  if (o.scenario.endsWith('.xml')) args.push('-sf', scenarioPath(o.scenario));
  else args.push('-sn', o.scenario);
  if (o.target) args.push(o.target);
  args.push(
    '-i', '127.0.0.1', '-p', String(localPort),
    '-t', o.transport === 'tcp' ? 't1' : 'u1',
    '-s', o.service ?? 'service',
    '-m', String(o.calls ?? 1),
    '-r', String(o.rate ?? 10),
    '-nostdin',
    '-trace_msg', '-message_file', join(traceDir, 'messages.log'),
    '-trace_stat', '-stf', join(traceDir, 'stat.csv'), '-fd', '1',
    '-trace_screen', '-screen_file', join(traceDir, 'screen.log'),
    '-trace_err', '-error_file', join(traceDir, 'errors.log'),
  );
  if (o.auth) args.push('-au', o.auth.user, '-ap', o.auth.password);
  args.push(...(o.args ?? []));
  const proc = spawn('sipp', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => { if (stdout.length < 200_000) stdout += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { if (stderr.length < 200_000) stderr += d.toString(); });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, o.timeoutMs ?? 30_000);
  const done = new Promise<SippResult>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      running.delete(proc);
      const counts = readCounts(traceDir, stdout);
      const msgFile = join(traceDir, 'messages.log');
      resolve({
        exitCode: code, signal, timedOut, ...counts, traceDir,
        messages: existsSync(msgFile) ? readFileSync(msgFile, 'utf8') : '',
        stdout, stderr, command: ['sipp', ...args],
      });
    };
    proc.once('error', (err) => {
      stderr += `spawn error: ${err.message}`;
      finish(null, null);
    });
    proc.once('close', finish);
  });
  return { proc, done, localPort, traceDir };
}

/** Successful/failed call counts from the last row of the -trace_stat csv, else the screen dump. */
export function readCounts(traceDir: string, stdout = ''): { successful: number; failed: number } {
  const csv = join(traceDir, 'stat.csv');
  const csvFile = existsSync(csv) ? csv : readdirSync(traceDir).map((f) => join(traceDir, f)).find((f) => f.endsWith('.csv'));
  if (csvFile) {
    const rows = readFileSync(csvFile, 'utf8').trim().split('\n');
    if (rows.length >= 2) {
      const head = rows[0]!.split(';');
      const last = rows[rows.length - 1]!.split(';');
      const col = (name: string): number => Number(last[head.indexOf(name)] ?? NaN);
      const s = col('SuccessfulCall(C)');
      const f = col('FailedCall(C)');
      if (Number.isFinite(s) && Number.isFinite(f)) return { successful: s, failed: f };
    }
  }
  const screen = join(traceDir, 'screen.log');
  const text = (existsSync(screen) ? readFileSync(screen, 'utf8') : '') + stdout;
  const num = (label: string): number => {
    const m = new RegExp(`${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`).exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { successful: num('Successful call'), failed: num('Failed call') };
}

/** Run one SIPp to completion. */
export async function runSipp(o: SippOptions): Promise<SippResult> {
  const s = await spawnSipp(o);
  return s.done;
}

export interface SippUas {
  /** Port the UAS listens on (UDP or TCP per options). */
  port: number;
  /** Kill the UAS and collect its result. */
  stop(): Promise<SippResult>;
  /** The message trace so far (SIPp appends every message it sends and receives). */
  messages(): string;
}

/**
 * Background UAS (built-in 'uas' unless another scenario is given), answering until stopped.
 * Resolves once its SIP port is bound.
 */
export async function startSippUas(o: Partial<SippOptions> = {}): Promise<SippUas> {
  const s = await spawnSipp({ scenario: 'uas', calls: 1_000_000, timeoutMs: 600_000, ...o });
  try {
    await waitForBound(s.localPort, o.transport ?? 'udp', s.proc);
  } catch (e) {
    // Say why: SIPp's own words (a port it could not bind, a bad scenario).
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
    const r = await s.done;
    throw new Error(`${(e as Error).message} (port ${s.localPort}): ${r.stderr.trim().slice(-600)}`);
  }
  return {
    port: s.localPort,
    messages(): string {
      const f = join(s.traceDir, 'messages.log');
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    },
    async stop(): Promise<SippResult> {
      if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGTERM');
      const killer = setTimeout(() => s.proc.kill('SIGKILL'), 2000);
      const r = await s.done;
      clearTimeout(killer);
      return r;
    },
  };
}

/** Poll until the port is taken (SIPp bound it) or the process died. */
async function waitForBound(port: number, transport: SippTransport, proc: ChildProcess): Promise<void> {
  const { default: dgram } = await import('node:dgram');
  const { default: net } = await import('node:net');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error('sipp UAS exited before binding');
    const busy = await new Promise<boolean>((resolve) => {
      if (transport === 'udp') {
        const s = dgram.createSocket('udp4');
        s.once('error', () => { s.close(); resolve(true); });
        s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
      } else {
        const srv = net.createServer();
        srv.once('error', () => resolve(true));
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
      }
    });
    if (busy) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`sipp UAS did not bind ${transport}/${port}`);
}
