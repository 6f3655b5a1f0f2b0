/**
 * A real redis-server for a test suite: started on a free port (no persistence), ready once it
 * answers PING, stopped (and waited for) in after hooks. kill() and start() again on the same
 * port simulate an outage and a recovery.
 *
 * REDIS_URL set: the suite uses that server instead and the outage tests are skipped (they need
 * to kill the server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Every server started by this process, killed if the process exits without the after hooks. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export class RedisServer {
  private proc: ChildProcess | undefined;
  private output = '';
  /** Working directory: an explicit SAVE writes dump.rdb here and a restart loads it. */
  readonly dir = mkdtempSync(join(tmpdir(), 'gw-redis-'));

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  static async start(): Promise<RedisServer> {
    const s = new RedisServer(await freePort());
    await s.start();
    return s;
  }

  /** Starts (or restarts) redis-server on this port; resolves when it answers PING. */
  async start(): Promise<void> {
    if (this.proc) throw new Error('redis-server already running');
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    this.output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        this.output += d.toString();
        if (/Ready to accept connections/i.test(this.output)) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null): void => {
        cleanup();
        this.proc = undefined;
        reject(new Error(`redis-server exited (${code}) before ready:\n${this.output}`));
      };
      const onError = (err: Error): void => {
        cleanup();
        this.proc = undefined;
        reject(err);
      };
      const cleanup = (): void => {
        proc.stdout?.off('data', onData);
        proc.off('exit', onExit);
        proc.off('error', onError);
      };
      proc.stdout?.on('data', onData);
      proc.once('exit', onExit);
      proc.once('error', onError);
    });
    proc.stdout?.resume();
    proc.stderr?.resume();
    proc.once('exit', () => {
      if (this.proc === proc) this.proc = undefined;
    });
    // Confirm with a real PING over TCP.
    const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await c.connect();
      const pong = await c.ping();
      if (pong !== 'PONG') throw new Error(`unexpected PING reply ${pong}`);
    } finally {
      c.disconnect();
    }
  }

  /** Kills the server (SIGKILL by default) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
    this.proc = undefined;
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  freeze(): void {
    this.proc?.kill('SIGSTOP');
  }

  thaw(): void {
    this.proc?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.thaw();
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Either REDIS_URL (shared, not killable) or a fresh local server. */
export async function testRedis(): Promise<{ url: string; server?: RedisServer }> {
  const env = process.env.REDIS_URL;
  if (env) return { url: env };
  const server = await RedisServer.start();
  return { url: server.url, server };
}

/** Deletes the keys a suite wrote (matters on a shared REDIS_URL server). */
export async function dropKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
