/**
 * One protocol double (drachtio or FreeSWITCH) in a process of its own, for benchmarks: the
 * servers they stand in for are separate processes, and in the bench's own process the doubles
 * shared one event loop with each other and with the H.323 endpoint, so every call's messages
 * queued behind each other's there. Tests keep the doubles in-process (they inspect them).
 *
 * In the child: the parent sends a DoubleJob, the child answers with DoubleReady and stops the
 * double on 'stop'. In the parent: startDoubleProcess().
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { DrachtioDouble } from '../test/lab/drachtio-double/double.js';
import { FreeSwitchDouble } from '../test/lab/freeswitch-double/double.js';
import type { DrachtioTarget } from '../test/lab/drachtio-target.js';

type DoubleJob =
  | { readonly kind: 'drachtio'; readonly secret: string }
  | { readonly kind: 'freeswitch'; readonly eslPassword: string; readonly maxSessions: number };

interface DoubleReady {
  readonly kind: 'ready';
  readonly host: string;
  /** drachtio: control port; FreeSWITCH: ESL port. */
  readonly port: number;
  /** drachtio only: where it takes SIP. */
  readonly sipHost?: string;
  readonly sipPort?: number;
}

async function serve(job: DoubleJob): Promise<void> {
  let stop: () => Promise<void>;
  if (job.kind === 'drachtio') {
    const d = await DrachtioDouble.start({ sipHost: '127.0.0.1', sipPort: 0, controlPort: 0, transports: ['udp', 'tcp'], secret: job.secret });
    stop = () => d.stop();
    process.send!({ kind: 'ready', host: '127.0.0.1', port: d.controlPort, sipHost: d.sipHost, sipPort: d.sipPort } satisfies DoubleReady);
  } else {
    const fs = await FreeSwitchDouble.start({ eslPassword: job.eslPassword, sipPort: 0, eslPort: 0, maxSessions: job.maxSessions });
    stop = () => fs.stop();
    process.send!({ kind: 'ready', host: fs.host, port: fs.eslPort } satisfies DoubleReady);
  }
  process.once('message', () => {
    void stop().finally(() => process.disconnect());
  });
}

if (process.send && process.argv[1]?.endsWith('double-proc.ts')) {
  process.once('message', (job: DoubleJob) => {
    serve(job).catch((e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    });
  });
}

async function startChild(job: DoubleJob): Promise<{ child: ChildProcess; ready: DoubleReady; stop(): Promise<void> }> {
  const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const ready = await new Promise<DoubleReady>((resolve, reject) => {
    child.once('message', (m: DoubleReady) => resolve(m));
    void exited.then(([code]) => reject(new Error(`${job.kind} double exited ${String(code)} before it was ready`)));
    child.send(job);
  });
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send('stop');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The drachtio double in its own process, as a DrachtioTarget (without the in-process handle). */
export async function startDrachtioDoubleProcess(secret = 'cymru'): Promise<DrachtioTarget> {
  const c = await startChild({ kind: 'drachtio', secret });
  return { kind: 'double', host: c.ready.host, port: c.ready.port, secret, sipHost: c.ready.sipHost!, sipPort: c.ready.sipPort!, stop: () => c.stop() };
}

/** The FreeSWITCH double in its own process: its ESL address. */
export async function startFreeSwitchDoubleProcess(eslPassword: string, maxSessions = 100_000): Promise<{ host: string; port: number; stop(): Promise<void> }> {
  const c = await startChild({ kind: 'freeswitch', eslPassword, maxSessions });
  return { host: c.ready.host, port: c.ready.port, stop: () => c.stop() };
}
