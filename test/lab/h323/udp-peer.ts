/**
 * A UDP peer for loopback tests: sends datagrams and hands out received ones in order through
 * promises (no polling, no sleeps).
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import { decodeRas } from '../../../lib/h323/ras/messages.js';
import type { RasMessageValue } from '../../../lib/h323/ras/schema.js';
import { fixture } from '../../support/paths.js';

export interface Received {
  bytes: Buffer;
  from: { host: string; port: number };
}

export class UdpPeer {
  private readonly queue: Received[] = [];
  private readonly waiters: ((r: Received) => void)[] = [];
  private constructor(
    readonly socket: Socket,
    readonly host: string,
    readonly port: number,
  ) {
    socket.on('message', (bytes, rinfo) => {
      const r = { bytes, from: { host: rinfo.address, port: rinfo.port } };
      const w = this.waiters.shift();
      if (w) w(r);
      else this.queue.push(r);
    });
  }

  static async open(host = '127.0.0.1', port = 0): Promise<UdpPeer> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, host, () => resolve());
    });
    return new UdpPeer(s, host, s.address().port);
  }

  send(bytes: Uint8Array, to: { host: string; port: number }): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, to.port, to.host, (err) => (err ? reject(err) : resolve())));
  }

  /** Next datagram received (in arrival order). */
  next(): Promise<Received> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async nextRas(): Promise<RasMessageValue> {
    return decodeRas((await this.next()).bytes);
  }

  get pendingCount(): number {
    return this.queue.length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Bytes of a recorded RAS packet, e.g. rasFixture('s1a-ep-ras-and-neighbour-lrq-noreply', '0006'). */
export function rasFixture(scenario: string, frame: string): Buffer {
  const dir = fixture('h323', 'ras', scenario);
  const name = readdirSync(dir).find((f) => f.startsWith(`${frame}-`) && f.endsWith('.hex'));
  if (!name) throw new Error(`no fixture ${scenario}/${frame}`);
  return Buffer.from(readFileSync(`${dir}/${name}`, 'utf8').trim(), 'hex');
}
