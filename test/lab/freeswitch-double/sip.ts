/**
 * Minimal SIP for the FreeSWITCH double's UAS (the drachtio_mrf profile): parse/build messages and
 * a UDP + TCP transport on one port. Only what drachtio-fsmrf's dialogs need.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { EventEmitter } from 'node:events';

export const MAX_SIP_BYTES = 64 * 1024;

export class SipError extends Error {}

export interface SipMsg {
  /** Request method, or undefined for a response. */
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  headers: Array<[string, string]>;
  body: string;
}

const COMPACT: Record<string, string> = {
  v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type', k: 'supported',
};

function norm(name: string): string {
  const n = name.trim().toLowerCase();
  return COMPACT[n] ?? n;
}

export function hdr(m: SipMsg, name: string): string | undefined {
  const n = norm(name);
  return m.headers.find(([k]) => norm(k) === n)?.[1];
}

export function hdrAll(m: SipMsg, name: string): string[] {
  const n = norm(name);
  return m.headers.filter(([k]) => norm(k) === n).map(([, v]) => v);
}

export function startLine(m: SipMsg): string {
  return m.method ? `${m.method} ${m.uri} SIP/2.0` : `SIP/2.0 ${m.status} ${m.reason}`;
}

export function parseSip(text: string): SipMsg {
  const sep = text.indexOf('\r\n\r\n');
  const headEnd = sep >= 0 ? sep : text.indexOf('\n\n');
  if (headEnd < 0) throw new SipError('no end of headers');
  const head = text.slice(0, headEnd).split(/\r?\n/);
  const body = text.slice(headEnd + (sep >= 0 ? 4 : 2));
  const first = head.shift() ?? '';
  const headers: Array<[string, string]> = [];
  for (const line of head) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      headers[headers.length - 1]![1] += ` ${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) throw new SipError(`bad header line '${line.slice(0, 40)}'`);
    headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  const resp = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(first);
  if (resp) return { status: Number(resp[1]), reason: resp[2] ?? '', headers, body };
  const req = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(first);
  if (!req) throw new SipError(`bad start line '${first.slice(0, 60)}'`);
  return { method: req[1]!, uri: req[2]!, headers, body };
}

export function serializeSip(m: SipMsg): string {
  const lines = [startLine(m)];
  for (const [k, v] of m.headers) if (k.toLowerCase() !== 'content-length') lines.push(`${k}: ${v}`);
  lines.push(`Content-Length: ${Buffer.byteLength(m.body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${m.body}`;
}

/** `tag` parameter of a From/To value. */
export function tagOf(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const m = /;\s*tag=([^;>\s]+)/i.exec(v.replace(/<[^>]*>/, ''));
  return m?.[1];
}

/** The URI inside a name-addr (or the bare URI). */
export function uriIn(v: string): string {
  const m = /<([^>]+)>/.exec(v);
  return (m ? m[1]! : v.split(';')[0]!).trim();
}

export interface SipPeer {
  transport: 'udp' | 'tcp';
  address: string;
  port: number;
  /** TCP connection the request came in on. */
  socket?: net.Socket;
}

export interface SipTransportEvents {
  message: [SipMsg, SipPeer];
  problem: [string];
}

/** UDP + TCP on the same port; length-framed TCP by Content-Length. */
export class SipTransport extends EventEmitter<SipTransportEvents> {
  private udp!: dgram.Socket;
  private tcp!: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(readonly host: string) {
    super();
  }

  async listen(port: number): Promise<void> {
    // Port 0: find one free for both UDP and TCP.
    for (let attempt = 0; attempt < 20; attempt++) {
      const udp = dgram.createSocket('udp4');
      const p = await new Promise<number | undefined>((resolve) => {
        udp.once('error', () => resolve(undefined));
        udp.bind(port, this.host, () => resolve(udp.address().port));
      });
      if (p === undefined) {
        udp.close();
        if (port !== 0) throw new SipError(`UDP port ${port} busy`);
        continue;
      }
      const tcp = net.createServer((s) => this.onTcp(s));
      const ok = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(p, this.host, () => resolve(true));
      });
      if (!ok) {
        udp.close();
        if (port !== 0) throw new SipError(`TCP port ${port} busy`);
        continue;
      }
      this.udp = udp;
      this.tcp = tcp;
      this.port = p;
      udp.on('message', (buf, rinfo) => this.onData(buf.toString('utf8'), { transport: 'udp', address: rinfo.address, port: rinfo.port }));
      udp.on('error', (e) => this.emit('problem', `udp error: ${e.message}`));
      return;
    }
    throw new SipError('no port free for UDP and TCP');
  }

  private onData(text: string, peer: SipPeer): void {
    if (text.trim() === '') return; // keep-alive
    try {
      this.emit('message', parseSip(text), peer);
    } catch (e) {
      this.emit('problem', `unparsable SIP from ${peer.address}:${peer.port}: ${(e as Error).message}`);
    }
  }

  private onTcp(s: net.Socket): void {
    this.sockets.add(s);
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      for (;;) {
        buf = buf.replace(/^(\r\n)+/, '');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > MAX_SIP_BYTES) {
            this.emit('problem', 'oversized SIP over TCP; closing');
            s.destroy();
          }
          return;
        }
        const m = /\r\n(?:content-length|l)\s*:\s*(\d+)/i.exec(buf.slice(0, end + 2));
        const len = m ? Number(m[1]) : 0;
        if (buf.length < end + 4 + len) return;
        const text = buf.slice(0, end + 4 + len);
        buf = buf.slice(end + 4 + len);
        this.onData(text, { transport: 'tcp', address: s.remoteAddress ?? '127.0.0.1', port: s.remotePort ?? 0, socket: s });
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => this.sockets.delete(s));
  }

  send(m: SipMsg, peer: SipPeer): void {
    const text = serializeSip(m);
    if (peer.transport === 'tcp') {
      if (peer.socket && !peer.socket.destroyed) {
        peer.socket.write(text);
        return;
      }
      const s = net.connect(peer.port, peer.address, () => s.write(text));
      s.on('error', (e) => this.emit('problem', `tcp send to ${peer.address}:${peer.port}: ${e.message}`));
      this.onTcp(s);
      return;
    }
    try {
      this.udp.send(text, peer.port, peer.address);
    } catch (e) {
      this.emit('problem', `udp send failed: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => this.udp.close(() => r())),
      new Promise<void>((r) => this.tcp.close(() => r())),
    ]);
  }
}
