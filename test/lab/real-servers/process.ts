/**
 * Starting one real server binary (drachtio-server, FreeSWITCH, GnuGk, simph323) for tests and
 * the native lab: the binary comes from an environment variable (never built or installed here),
 * its output goes to a log file in a temp dir, readiness is observed (a port that answers, a
 * status line), and stop() kills it and waits for the exit. The log tail is part of every
 * start failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A binary the caller must provide is not configured or not usable. Names the variable. */
export class MissingBinaryError extends Error {
  constructor(readonly envVar: string, readonly what: string, detail: string) {
    super(`${envVar} ${detail}: set ${envVar} to the path of the ${what} binary (this project never builds or installs it)`);
    this.name = 'MissingBinaryError';
  }
}

/**
 * The binary named by `env[envVar]`: an existing, executable regular file. Throws
 * MissingBinaryError naming the variable otherwise.
 */
export function binaryFromEnv(envVar: string, what: string, env: NodeJS.ProcessEnv = process.env): string {
  const p = env[envVar];
  if (!p) throw new MissingBinaryError(envVar, what, 'is not set');
  if (!existsSync(p)) throw new MissingBinaryError(envVar, what, `points at ${p}, which does not exist`);
  if (!statSync(p).isFile()) throw new MissingBinaryError(envVar, what, `points at ${p}, which is not a file`);
  try {
    accessSync(p, constants.X_OK);
  } catch {
    throw new MissingBinaryError(envVar, what, `points at ${p}, which is not executable`);
  }
  return p;
}

/** A fresh working directory for one server (configs, logs, pid/db/run dirs). */
export function workDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `real-${name}-`));
}

export interface ServerProcess {
  name: string;
  proc: ChildProcess;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  exited: Promise<number | string | null>;
  running(): boolean;
  /** The last `chars` characters of the log file. */
  logTail(chars?: number): string;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Every process started here, killed if this Node process exits without stopping them. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Pids of the servers still running (what a caller must stop before it exits). */
export function livePids(): number[] {
  return [...live].map((p) => p.pid ?? 0).filter((p) => p > 0);
}

export interface SpawnOptions {
  name: string;
  bin: string;
  args: string[];
  cwd: string;
  /** Extra environment; PATH, HOME and LD_LIBRARY_PATH are passed through. */
  env?: Record<string, string>;
  /** Log file; default `<cwd>/<name>.log`. */
  logFile?: string;
  /** A stdin pipe (simph323 reads commands from it); default none. */
  stdin?: boolean;
}

export function spawnServer(o: SpawnOptions): ServerProcess {
  const logFile = o.logFile ?? join(o.cwd, `${o.name}.log`);
  const fd = openSync(logFile, 'a');
  const base: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LD_LIBRARY_PATH', 'TZ', 'LANG']) {
    const v = process.env[k];
    if (v !== undefined) base[k] = v;
  }
  const proc = spawn(o.bin, o.args, {
    cwd: o.cwd,
    env: { ...base, ...o.env },
    stdio: [o.stdin ? 'pipe' : 'ignore', fd, fd],
    // Own process group: a Ctrl-C in the terminal reaches only the launcher, which then stops
    // the servers in order (and waits for each) instead of them all dying at once.
    detached: true,
  });
  closeSync(fd);
  live.add(proc);
  const exited = new Promise<number | string | null>((resolve) => {
    proc.once('error', (err) => {
      live.delete(proc);
      resolve(`spawn error: ${err.message}`);
    });
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve(code ?? signal);
    });
  });
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null && live.has(proc);
  const logTail = (chars = 4000): string => {
    try {
      const t = readFileSync(logFile, 'utf8');
      return t.length > chars ? `...${t.slice(-chars)}` : t;
    } catch {
      return '';
    }
  };
  return {
    name: o.name,
    proc,
    pid: proc.pid ?? 0,
    logFile,
    exited,
    running,
    logTail,
    async stop(graceMs = 10_000) {
      if (!running()) {
        await exited;
        return;
      }
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * Waits until `probe` returns a value (re-checked every `everyMs`: these are other processes'
 * sockets and status lines, there is no event to listen to). Fails at once when the process exits,
 * and after `timeoutMs`; both failures carry the probe's last error and the server's log tail.
 */
export async function waitReady<T>(sp: ServerProcess, what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!sp.running()) {
      const code = await sp.exited;
      throw new Error(`${sp.name} exited (${String(code)}) before ${what}${last ? ` (last probe: ${last})` : ''}; log ${sp.logFile}:\n${sp.logTail()}`);
    }
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`${sp.name}: timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last probe: ${last})` : ''}; log ${sp.logFile}:\n${sp.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits for a line of the log matching `re` (a server's own "listening"/"registered" line). */
export function waitForLog(sp: ServerProcess, re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return waitReady(sp, `a log line matching ${re}`, async () => re.exec(sp.logTail(1_000_000)) ?? undefined, timeoutMs);
}

/** Stops a start that failed half-way, then rethrows. */
export async function stopOnFailure<T>(sp: ServerProcess, ready: Promise<T>): Promise<T> {
  try {
    return await ready;
  } catch (e) {
    await sp.stop(2000);
    throw e;
  }
}

/** "host:port" -> parts; throws naming `what` when it is not that shape. */
export function parseHostPort(v: string, what: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`${what} must be host:port, got ${JSON.stringify(v)}`);
  return { host: m[1] as string, port };
}
