/** Raw control-port and SIP peers for driving the double without drachtio-srf. */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { FrameDecoder, encodeFrame } from '../../lab/drachtio-double/framing.js';
import { parseWire, type WireMessage } from '../../lab/drachtio-double/wire.js';

/** Resolves when `pred` holds for an item already in `items` or one pushed later. */
class Inbox<T> {
  readonly items: T[] = [];
  private waiters: { pred: (t: T) => boolean; resolve: (t: T) => void }[] = [];
  push(t: T): void {
    this.items.push(t);
    this.waiters = this.waiters.filter((w) => (w.pred(t) ? (w.resolve(t), false) : true));
  }
  waitFor(pred: (t: T) => boolean, timeoutMs = 3000, what = 'item'): Promise<T> {
    const seen = this.items.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (t: T): void => { clearTimeout(timer); resolve(t); } };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}

export class RawApp {
  readonly inbox = new Inbox<WireMessage>();
  closed: Promise<void>;
  private decoder = new FrameDecoder();

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (c) => {
      for (const ev of this.decoder.push(c)) if (ev.kind === 'frame') this.inbox.push(parseWire(ev.payload));
    });
    sock.on('error', () => { /* close follows */ });
    this.closed = new Promise((r) => sock.once('close', () => r()));
  }

  static async connect(port: number): Promise<RawApp> {
    const sock = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    return new RawApp(sock);
  }

  /** Connect, authenticate and route the verbs. */
  static async ready(port: number, secret: string, verbs: string[] = []): Promise<RawApp> {
    const a = await RawApp.connect(port);
    const r = await a.request(['authenticate', secret, '']);
    if (r.tokens[3] !== 'OK') throw new Error(`authenticate failed: ${r.tokens.join('|')}`);
    for (const v of verbs) await a.request(['route', v]);
    return a;
  }

  send(tokens: string[], sip?: string): string {
    const id = randomUUID();
    const leader = [id, ...tokens].join('|');
    this.sock.write(encodeFrame(sip === undefined ? leader : `${leader}\r\n${sip}`));
    return id;
  }

  /** Send and wait for the `response` frame answering it. */
  request(tokens: string[], sip?: string): Promise<WireMessage> {
    const id = this.send(tokens, sip);
    return this.inbox.waitFor((m) => m.type === 'response' && m.tokens[2] === id, 3000, `response to ${tokens[0]}`);
  }

  writeRaw(data: string | Buffer): void {
    this.sock.write(data);
  }

  /** Network SIP requests delivered to this app. */
  sipFrames(method?: string): WireMessage[] {
    return this.inbox.items.filter((m) => m.type === 'sip' && (!method || m.sip?.startsWith(`${method} `)));
  }

  close(): void {
    this.sock.destroy();
  }
}

export class UdpPeer {
  readonly inbox = new Inbox<string>();
  private constructor(readonly sock: dgram.Socket) {
    sock.on('message', (m) => this.inbox.push(m.toString('utf8')));
  }
  static async open(): Promise<UdpPeer> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new UdpPeer(s);
  }
  get port(): number {
    return this.sock.address().port;
  }
  send(text: string, port: number): void {
    this.sock.send(Buffer.from(text, 'utf8'), port, '127.0.0.1');
  }
  waitFor(pred: (s: string) => boolean, timeoutMs = 3000, what = 'SIP message'): Promise<string> {
    return this.inbox.waitFor(pred, timeoutMs, what);
  }
  count(pred: (s: string) => boolean): number {
    return this.inbox.items.filter(pred).length;
  }
  close(): Promise<void> {
    return new Promise((r) => this.sock.close(() => r()));
  }
}

let seq = 0;

/** A SIPp-like request; `opts.toTag` makes it in-dialog. */
export function request(method: string, peerPort: number, serverPort: number, opts: { callId?: string; branch?: string; fromTag?: string; toTag?: string; cseq?: number; user?: string; body?: string } = {}): string {
  const n = ++seq;
  const body = opts.body ?? '';
  return [
    `${method} sip:${opts.user ?? 'service'}@127.0.0.1:${serverPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peerPort};branch=${opts.branch ?? `z9hG4bK-test-${n}`}`,
    `From: sipp <sip:sipp@127.0.0.1:${peerPort}>;tag=${opts.fromTag ?? `ft${n}`}`,
    `To: <sip:${opts.user ?? 'service'}@127.0.0.1:${serverPort}>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    `Call-ID: ${opts.callId ?? `call-${n}@127.0.0.1`}`,
    `CSeq: ${opts.cseq ?? 1} ${method === 'ACK' ? 'ACK' : method}`,
    `Contact: sip:sipp@127.0.0.1:${peerPort}`,
    'Max-Forwards: 70',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** What srf sends when answering: start line, Call-ID/CSeq/From/To/Content-Length. */
export function appResponse(status: number, reason: string, req: string, extra: string[] = []): string {
  const h = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(req)?.[1]?.trim() ?? '';
  return [`SIP/2.0 ${status} ${reason}`, `Call-ID: ${h('Call-ID')}`, `cseq: ${h('CSeq')}`, `from: ${h('From')}`, `to: ${h('To')}`, 'Content-Length: 0', ...extra, '', ''].join('\r\n');
}
