/**
 * A private mount + network namespace for the ops tests (compose-gateway-run.test.ts,
 * compose-freeswitch.test.ts): one `unshare` process holds it, commands enter it with nsenter
 * (optionally as another uid through setpriv, with exactly the given environment). Addresses
 * added there (the lab's 172.28.0.x) exist only inside it: nothing leaves the machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { repoRoot } from '../../support/paths.js';

/** One line of the gateway's JSON log or its READY line. */
export interface Out {
  lines: string[];
  exited?: number | string | null;
}

export class Namespace {
  readonly holder: ChildProcess;
  constructor() {
    // unshare execs sleep in its own process: that pid's namespaces are the lab's.
    this.holder = spawn('unshare', ['--mount', '--net', '--propagation', 'private', '--', 'sleep', '900'], { stdio: 'ignore' });
  }

  get pid(): number {
    return this.holder.pid!;
  }

  run(cmd: string[], opts: { uid?: number; env?: Record<string, string>; cwd?: string } = {}): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('nsenter', this.args(cmd, opts), { encoding: 'utf8', cwd: opts.cwd ?? repoRoot, timeout: 120_000, killSignal: 'SIGTERM' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  start(cmd: string[], opts: { uid?: number; env?: Record<string, string>; cwd?: string } = {}): { proc: ChildProcess; out: Out } {
    const proc = spawn('nsenter', this.args(cmd, opts), { cwd: opts.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Out = { lines: [] };
    let buf = '';
    const take = (d: Buffer): void => {
      buf += d.toString('utf8');
      const parts = buf.split('\n');
      buf = parts.pop()!;
      out.lines.push(...parts);
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    proc.on('exit', (code, sig) => {
      out.exited = code ?? sig;
    });
    return { proc, out };
  }

  private args(cmd: string[], o: { uid?: number; env?: Record<string, string> }): string[] {
    const user = o.uid !== undefined ? ['setpriv', `--reuid=${o.uid}`, `--regid=${o.uid}`, '--clear-groups', '--'] : [];
    const env = o.env ? ['env', '-i', ...Object.entries(o.env).map(([k, v]) => `${k}=${v}`)] : [];
    return ['-t', String(this.pid), '-m', '-n', `--wd=${repoRoot}`, '--', ...user, ...env, ...cmd];
  }

  stop(): void {
    this.holder.kill('SIGKILL');
  }
}

export async function waitFor(out: Out, pred: (line: string) => boolean, ms: number, from = 0): Promise<string | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const hit = out.lines.slice(from).find(pred);
    if (hit) return hit;
    if (out.exited !== undefined || Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

