/**
 * SIP over UDP and TCP on one host:port. TCP is a byte stream, so messages are cut out by
 * Content-Length; a stream that cannot be framed is closed (there is no way to resynchronise).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { EventEmitter } from 'node:events';

export type SipTransportName = 'udp' | 'tcp';

export interface Inbound {
  data: Buffer;
  transport: SipTransportName;
  remoteAddress: string;
  remotePort: number;
  /** TCP connection the message came on (responses go back on it). */
  conn?: net.Socket;
}

/** Largest SIP message header block accepted on a stream before the link is dropped. */
const MAX_TCP_HEAD = 64 * 1024;

/** Cuts SIP messages out of a TCP byte stream. Throws Error on unframeable input. */
export class SipStreamDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      // RFC 5626 keep-alives (CRLF) between messages are skipped
      let skip = 0;
      while (skip + 1 < this.buf.length && this.buf[skip] === 0x0d && this.buf[skip + 1] === 0x0a) skip += 2;
      if (skip) this.buf = this.buf.subarray(skip);
      const end = this.buf.indexOf('\r\n\r\n');
      if (end === -1) {
        if (this.buf.length > MAX_TCP_HEAD) throw new Error(`no end of headers within ${MAX_TCP_HEAD} bytes`);
        return out;
      }
      const head = this.buf.toString('latin1', 0, end);
      const m = /\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)/i.exec(head);
      if (!m) throw new Error('stream message without Content-Length');
      const total = end + 4 + Number(m[1]);
      if (this.buf.length < total) return out;
      out.push(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
    }
  }
}

export interface TransportEvents {
  message: [Inbound];
  problem: [string];
  /** A TCP connection closed (`address:port` of the far end). */
  tcpClosed: [string];
}

export class SipTransport extends EventEmitter<TransportEvents> {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private conns = new Map<string, net.Socket>();
  port = 0;

  constructor(readonly host: string, readonly transports: SipTransportName[]) {
    super();
  }

  /** Bind UDP and TCP to the same port; port 0 picks one free for both. */
  async start(port: number): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const p = await this.bindAll(port);
        this.port = p;
        return p;
      } catch (err) {
        await this.closeSockets();
        if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
    throw new Error('could not find a port free for both UDP and TCP');
  }

  private async bindAll(port: number): Promise<number> {
    let chosen = port;
    if (this.transports.includes('udp')) {
      const udp = dgram.createSocket('udp4');
      this.udp = udp;
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(chosen, this.host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      chosen = udp.address().port;
      udp.on('error', (err) => this.emit('problem', `udp socket error: ${err.message}`));
      udp.on('message', (data, rinfo) => {
        this.emit('message', { data, transport: 'udp', remoteAddress: rinfo.address, remotePort: rinfo.port });
      });
    }
    if (this.transports.includes('tcp')) {
      const tcp = net.createServer((sock) => this.adopt(sock));
      this.tcp = tcp;
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(chosen, this.host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      chosen = (tcp.address() as net.AddressInfo).port;
    }
    return chosen;
  }

  private adopt(sock: net.Socket): void {
    const key = `${sock.remoteAddress}:${sock.remotePort}`;
    this.conns.set(key, sock);
    sock.setNoDelay(true);
    const decoder = new SipStreamDecoder();
    sock.on('data', (chunk) => {
      let msgs: Buffer[];
      try {
        msgs = decoder.push(chunk);
      } catch (err) {
        this.emit('problem', `tcp ${key}: ${(err as Error).message}; closing connection`);
        sock.destroy();
        return;
      }
      for (const data of msgs) {
        this.emit('message', { data, transport: 'tcp', remoteAddress: sock.remoteAddress ?? '', remotePort: sock.remotePort ?? 0, conn: sock });
      }
    });
    sock.on('error', (err) => this.emit('problem', `tcp ${key}: ${err.message}`));
    sock.on('close', () => {
      if (this.conns.get(key) === sock) this.conns.delete(key);
      this.emit('tcpClosed', key);
    });
  }

  /**
   * Send one message. TCP prefers the given connection, then any open connection to that
   * address, then a new connection.
   */
  async send(transport: SipTransportName, address: string, port: number, data: string, conn?: net.Socket): Promise<void> {
    const buf = Buffer.from(data, 'utf8');
    if (transport === 'udp') {
      const udp = this.udp;
      if (!udp) throw new Error('udp transport not enabled');
      await new Promise<void>((resolve, reject) => udp.send(buf, port, address, (err) => (err ? reject(err) : resolve())));
      return;
    }
    let sock = conn && !conn.destroyed ? conn : this.conns.get(`${address}:${port}`);
    if (!sock || sock.destroyed) {
      sock = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: address, port, localAddress: this.host }, () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
      this.adopt(sock);
    }
    sock.write(buf);
  }

  async stop(): Promise<void> {
    for (const s of this.conns.values()) s.destroy();
    this.conns.clear();
    await this.closeSockets();
  }

  private async closeSockets(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
    if (tcp) await new Promise<void>((r) => tcp.close(() => r()));
  }
}
