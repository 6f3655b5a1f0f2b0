/**
 * A RAS datagram endpoint: one UDP socket, decoded messages handed to a handler, malformed
 * datagrams counted and dropped. The RAS client uses its own, or shares the neighbour
 * responder's socket (GnuGk accepts LRQs only from the neighbour's configured address).
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Registry } from 'prom-client';
import { componentLogger } from '../../log/logger.js';
import { PerDecodeError } from '../per/index.js';
import { decodeRas, rasType, type HostPort } from './messages.js';
import { rasMetrics, type RasMetrics } from './metrics.js';
import type { RasMessageValue } from './schema.js';

export type RasHandler = (msg: RasMessageValue, from: HostPort) => void;

export interface RasTransport {
  send(bytes: Uint8Array, to: HostPort): void;
  setHandler(handler: RasHandler): void;
  address(): HostPort;
  close(): Promise<void>;
}

export class UdpRasTransport implements RasTransport {
  private handler: RasHandler = () => undefined;
  private readonly log = componentLogger('h323-ras');
  private readonly metrics: RasMetrics;
  private bound: HostPort | undefined;

  private constructor(
    private readonly socket: Socket,
    registry?: Registry,
  ) {
    this.metrics = rasMetrics(registry);
    socket.on('message', (buf, rinfo) => {
      let msg: RasMessageValue;
      try {
        msg = decodeRas(buf);
      } catch (err) {
        if (!(err instanceof PerDecodeError)) this.log.warn('RAS decoder failure', { err: (err as Error).message });
        this.metrics.malformed.inc({ component: 'client' });
        return;
      }
      this.metrics.messages.inc({ direction: 'in', type: rasType(msg) ?? 'unknown' });
      try {
        this.handler(msg, { host: rinfo.address, port: rinfo.port });
      } catch (err) {
        this.log.warn('RAS handler failed', { err: (err as Error).message });
      }
    });
    socket.on('error', (err) => this.log.error('RAS socket error', { err: err.message }));
  }

  static open(bind: HostPort = { host: '0.0.0.0', port: 0 }, registry?: Registry): Promise<UdpRasTransport> {
    return new Promise((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(bind.port, bind.host, () => {
        s.off('error', reject);
        const t = new UdpRasTransport(s, registry);
        const a = s.address();
        t.bound = { host: a.address, port: a.port };
        resolve(t);
      });
    });
  }

  send(bytes: Uint8Array, to: HostPort): void {
    this.socket.send(bytes, to.port, to.host, (err) => {
      if (err) this.log.warn('RAS send failed', { err: err.message });
    });
  }

  setHandler(handler: RasHandler): void {
    this.handler = handler;
  }

  address(): HostPort {
    if (!this.bound) throw new Error('not bound');
    return this.bound;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
