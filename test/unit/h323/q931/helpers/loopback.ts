/** Test plumbing: a real TCP connection on 127.0.0.1, fake timers, and waiting on events without sleeps. */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Timers } from '../../../../../lib/h323/tpkt/channel.js';

export interface Loopback {
  readonly server: Socket;
  readonly client: Socket;
  /** Destroys both sockets and closes the listener. */
  close(): Promise<void>;
}

export async function loopback(clientOptions: { allowHalfOpen?: boolean } = {}): Promise<Loopback> {
  const listener: Server = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const addr = listener.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port: addr.port, allowHalfOpen: clientOptions.allowHalfOpen ?? false });
  client.on('error', () => undefined);
  await once(client, 'connect');
  const [server] = await accepted;
  server.on('error', () => undefined);
  return {
    server,
    client,
    async close() {
      client.destroy();
      server.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

/** Resolves once `socket` has received at least `total` octets since this call. */
export function received(socket: Socket, total: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let n = 0;
    const onData = (b: Buffer): void => {
      parts.push(b);
      n += b.length;
      if (n >= total) {
        socket.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    socket.on('data', onData);
  });
}

/** Resolves with everything `socket` receives until the peer closes. */
export function receiveUntilEnd(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    socket.on('data', (b: Buffer) => parts.push(b));
    socket.once('close', () => resolve(Buffer.concat(parts)));
  });
}

interface Pending {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/** Manual clock: callbacks run only when the test advances time. */
export class FakeTimers implements Timers {
  private now = 0;
  private nextId = 1;
  private pending: Pending[] = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const p = { id: this.nextId++, due: this.now + ms, fn };
    this.pending.push(p);
    return p.id;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** Deadlines (relative to now) of the timers still pending. */
  get remaining(): number[] {
    return this.pending.map((p) => p.due - this.now);
  }

  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      const due = this.pending.filter((p) => p.due <= target).sort((a, b) => a.due - b.due)[0];
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.now = due.due;
      due.fn();
    }
    this.now = target;
  }
}
