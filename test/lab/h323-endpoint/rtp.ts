/** Minimal RTP (RFC 3550) sender/receiver on UDP for the test endpoint. */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

export interface RtpStats {
  sent: number;
  received: number;
  /** Packets that were not RTP v2 with the expected payload type. */
  invalid: number;
  bytesReceived: number;
}

export class RtpPort {
  readonly stats: RtpStats = { sent: 0, received: 0, invalid: 0, bytesReceived: 0 };
  private seq = Math.floor(Math.random() * 0xffff);
  private ts = Math.floor(Math.random() * 0xffffffff);
  private readonly ssrc = Math.floor(Math.random() * 0xffffffff) >>> 0;
  expectedPayloadType: number | undefined;
  private listeners: Array<() => void> = [];

  private constructor(
    readonly rtp: Socket,
    readonly rtcp: Socket,
    readonly host: string,
  ) {
    rtp.on('message', (b) => this.onPacket(b));
    rtcp.on('message', () => undefined);
  }

  get port(): number {
    return this.rtp.address().port;
  }

  /** The RTP socket (a test may send and receive real media on the port the call advertised). */
  get socket(): Socket {
    return this.rtp;
  }

  /** Binds RTP on an even port and RTCP on the next one (tries a bounded number of pairs). */
  static async open(host = '127.0.0.1'): Promise<RtpPort> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const rtp = createSocket('udp4');
      rtp.on('error', () => undefined);
      rtp.bind(0, host);
      await once(rtp, 'listening');
      const port = rtp.address().port;
      const rtcp = createSocket('udp4');
      const bound = await new Promise<boolean>((resolve) => {
        rtcp.once('error', () => resolve(false));
        rtcp.bind(port + 1, host, () => resolve(true));
      });
      if (bound && port % 2 === 0) {
        rtcp.on('error', () => undefined);
        return new RtpPort(rtp, rtcp, host);
      }
      rtp.close();
      if (bound) rtcp.close();
    }
    throw new Error('no RTP/RTCP port pair');
  }

  private onPacket(b: Buffer): void {
    const ok = b.length >= 12 && b[0]! >> 6 === 2 && (this.expectedPayloadType === undefined || (b[1]! & 0x7f) === this.expectedPayloadType);
    if (!ok) {
      this.stats.invalid++;
      return;
    }
    this.stats.received++;
    this.stats.bytesReceived += b.length - 12;
    for (const l of this.listeners) l();
  }

  /** Resolves once `n` valid packets have arrived in total. */
  receivedAtLeast(n: number): Promise<void> {
    if (this.stats.received >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const l = (): void => {
        if (this.stats.received >= n) {
          this.listeners = this.listeners.filter((x) => x !== l);
          resolve();
        }
      };
      this.listeners.push(l);
    });
  }

  send(payloadType: number, payload: Uint8Array, to: { host: string; port: number }, marker = false): void {
    const h = Buffer.alloc(12);
    h[0] = 0x80;
    h[1] = (marker ? 0x80 : 0) | payloadType;
    h.writeUInt16BE(this.seq, 2);
    h.writeUInt32BE(this.ts >>> 0, 4);
    h.writeUInt32BE(this.ssrc, 8);
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + payload.length) >>> 0;
    this.rtp.send(Buffer.concat([h, payload]), to.port, to.host);
    this.stats.sent++;
  }

  close(): void {
    this.rtp.close();
    this.rtcp.close();
  }
}
