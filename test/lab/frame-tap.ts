/**
 * Transparent TCP proxy between a drachtio-srf app and a drachtio server (double or real) that
 * records every frame in both directions. Bytes are forwarded unchanged; parsing is on a copy,
 * so a framing problem is recorded but never alters the traffic.
 */
import net from 'node:net';
import { FrameDecoder } from './drachtio-double/framing.js';

export interface TappedFrame {
  /** C->S = app to server, S->C = server to app (the capture transcripts' notation). */
  dir: 'C->S' | 'S->C';
  /** Index of the proxied connection (0 = first app connection). */
  stream: number;
  payload: string;
  at: number;
}

export interface FrameTap {
  /** Port the app connects to instead of the server's. */
  port: number;
  readonly frames: TappedFrame[];
  /** Framing errors seen (direction, stream, reason). */
  readonly errors: string[];
  /** Resolves when a frame matching the predicate has been seen (already seen counts). */
  waitFor(pred: (f: TappedFrame) => boolean, timeoutMs?: number): Promise<TappedFrame>;
  stop(): Promise<void>;
}

export async function startFrameTap(upstreamHost: string, upstreamPort: number): Promise<FrameTap> {
  const frames: TappedFrame[] = [];
  const errors: string[] = [];
  const sockets = new Set<net.Socket>();
  const waiters: { pred: (f: TappedFrame) => boolean; resolve: (f: TappedFrame) => void }[] = [];
  let streams = 0;

  const push = (f: TappedFrame): void => {
    frames.push(f);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.pred(f)) {
        waiters[i]!.resolve(f);
        waiters.splice(i, 1);
      }
    }
  };

  const server = net.createServer((client) => {
    const stream = streams++;
    const upstream = net.connect({ host: upstreamHost, port: upstreamPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const tap = (dir: TappedFrame['dir'], decoder: FrameDecoder) => (chunk: Buffer): void => {
      for (const ev of decoder.push(chunk)) {
        if (ev.kind === 'frame') push({ dir, stream, payload: ev.payload, at: Date.now() });
        else errors.push(`${dir} stream ${stream}: ${ev.reason}`);
      }
    };
    const up = tap('C->S', new FrameDecoder());
    const down = tap('S->C', new FrameDecoder());
    client.on('data', (c) => { up(c); upstream.write(c); });
    upstream.on('data', (c) => { down(c); client.write(c); });
    // half-close propagates so "send NO then close" looks the same through the tap
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => { sockets.delete(client); upstream.destroy(); });
    upstream.on('close', () => { sockets.delete(upstream); client.destroy(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    frames,
    errors,
    waitFor(pred, timeoutMs = 10_000): Promise<TappedFrame> {
      const seen = frames.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (f: TappedFrame): void => { clearTimeout(t); resolve(f); },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`frame tap: expected frame not seen within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async stop(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
