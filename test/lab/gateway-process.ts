/**
 * Runs the gateway as its own process, as an operator would, for end-to-end tests: writes a
 * config file, starts `apps/gateway/index.ts` under tsx, waits for its READY line, and always
 * stops it (SIGKILL after a grace period if SIGTERM did not end it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { repoRoot } from '../support/paths.js';
import { GATEWAY_NODE_FLAGS } from '../../apps/gateway/node-flags.js';

export interface GatewayProcess {
  proc: ChildProcess;
  httpPort: number;
  /** UDP port of the H.323 RAS neighbour responder (0 when the config has no h323 section). */
  rasPort: number;
  /** Everything the process wrote to stdout/stderr so far (JSON log lines). */
  output(): string;
  /** Resolves when the output (from `from` on) matches `re`; rejects after timeoutMs. */
  waitForOutput(re: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  /** Sends a signal and resolves with the exit code once the process has ended. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  health(): Promise<{ status: number; body: { status: string; checks: Record<string, { ok: boolean; detail: string }> } }>;
  metrics(): Promise<string>;
}

export interface GatewayProcessOptions {
  config: Record<string, unknown>;
  env?: Record<string, string>;
  /** Resolve as soon as the process exits instead of waiting for READY (bad-config tests). */
  expectExit?: boolean;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function startGateway(opts: GatewayProcessOptions): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-'));
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify(opts.config));
  // The V8 flags the image and `npm start` use, so tests and benches run the process as deployed.
  const proc = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, '--import', 'tsx', join(repoRoot, 'apps/gateway/index.ts'), '--config', file], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', HTTP_PORT: '0', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = once(proc, 'exit').then(([code]) => {
    live.delete(proc);
    rmSync(dir, { recursive: true, force: true });
    return code as number | null;
  });

  let rasPort = 0;
  const httpPort = await new Promise<number>((resolve, reject) => {
    const onData = (): void => {
      const m = /READY http=(\d+)(?: ras=(\d+))?/.exec(out);
      if (m) {
        proc.stdout?.off('data', onData);
        rasPort = Number(m[2] ?? 0);
        resolve(Number(m[1]));
      }
    };
    proc.stdout?.on('data', onData);
    void exited.then((code) => (opts.expectExit ? resolve(-1) : reject(new Error(`gateway exited ${code} before READY:\n${out}`))));
  });

  return {
    proc,
    httpPort,
    rasPort,
    output: () => out,
    waitForOutput(re: RegExp, timeoutMs = 10_000, from = 0) {
      return new Promise<string>((resolve, reject) => {
        const check = (): boolean => {
          const m = re.exec(out.slice(from));
          if (!m) return false;
          cleanup();
          resolve(m[0]);
          return true;
        };
        const onData = (): void => { check(); };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no output matching ${re} within ${timeoutMs} ms:\n${out.slice(-4000)}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          proc.stdout?.off('data', onData);
          proc.stderr?.off('data', onData);
        };
        if (check()) return;
        proc.stdout?.on('data', onData);
        proc.stderr?.on('data', onData);
      });
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async health() {
      const res = await fetch(`http://127.0.0.1:${httpPort}/health`);
      return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, { ok: boolean; detail: string }> } };
    },
    async metrics() {
      return (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    },
  };
}

/** The exit code and output of a gateway that must refuse to start. */
export async function gatewayExit(config: Record<string, unknown>, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const gw = await startGateway({ config, env, expectExit: true });
  const code = await gw.stop('SIGKILL', 0).catch(() => null);
  return { code: gw.proc.exitCode ?? code, output: gw.output() };
}
