/**
 * A minimal SIP UAC over UDP for tests SIPp cannot script: SHA-256 digest (SIPp 3.6 knows only
 * MD5), replaying an Authorization, malformed or oversized headers, sending from a chosen
 * loopback address. Its digest arithmetic is written here independently of lib/policy so the
 * test cross-checks the gateway rather than repeating it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';

export interface SipResponse {
  status: number;
  reason: string;
  raw: string;
  header(name: string): string | undefined;
  all(name: string): string[];
}

export function parseResponse(raw: string): SipResponse | undefined {
  const m = /^SIP\/2\.0 (\d{3}) ([^\r\n]*)\r\n/.exec(raw);
  if (!m) return undefined;
  const head = raw.split('\r\n\r\n')[0] ?? '';
  const lines = head.split('\r\n').slice(1);
  const all = (name: string): string[] =>
    lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(l.indexOf(':') + 1).trim());
  return { status: Number(m[1]), reason: m[2] ?? '', raw, header: (n) => all(n)[0], all };
}

export interface RequestSpec {
  method: string;
  uri: string;
  fromUser: string;
  toUser: string;
  callId: string;
  cseq: number;
  fromTag?: string;
  headers?: Record<string, string>;
  body?: string;
  contentType?: string;
}

export class SipUdpClient {
  private readonly waiters = new Map<string, (r: SipResponse) => void>();
  private readonly seen: SipResponse[] = [];

  private constructor(private readonly sock: Socket, readonly host: string, readonly port: number) {
    sock.on('message', (buf) => {
      const r = parseResponse(buf.toString('utf8'));
      if (!r) return;
      this.seen.push(r);
      if (r.status < 200) return;
      const key = `${r.header('Call-ID')}|${r.header('CSeq')}`;
      const w = this.waiters.get(key);
      if (w) {
        this.waiters.delete(key);
        w(r);
      }
    });
  }

  /** Binds a UDP socket on `host` (any 127.x.y.z works on Linux loopback), port chosen freely. */
  static async open(host = '127.0.0.1'): Promise<SipUdpClient> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, host, () => resolve());
    });
    return new SipUdpClient(sock, host, sock.address().port);
  }

  build(spec: RequestSpec): string {
    const body = spec.body ?? '';
    const lines = [
      `${spec.method} ${spec.uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`,
      `From: <sip:${spec.fromUser}@${this.host}>;tag=${spec.fromTag ?? 'f' + spec.callId.slice(0, 8)}`,
      // The To URI's host is the Request-URI's (a REGISTER's Request-URI names only the registrar):
      // real drachtio-server (sofia) answers "400 Bad To Header" to `sip:user@` with no host.
      `To: <sip:${spec.toUser}@${spec.uri.includes('@') ? spec.uri.split('@')[1] : spec.uri.replace(/^sips?:/, '')}>`,
      `Call-ID: ${spec.callId}`,
      `CSeq: ${spec.cseq} ${spec.method}`,
      `Contact: <sip:${spec.fromUser}@${this.host}:${this.port}>`,
      'Max-Forwards: 70',
      ...Object.entries(spec.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
      ...(body ? [`Content-Type: ${spec.contentType ?? 'application/sdp'}`] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    return lines.join('\r\n');
  }

  /** Sends a request and resolves with its final response (provisionals are skipped). */
  request(to: { host: string; port: number }, text: string, timeoutMs = 5000): Promise<SipResponse> {
    const callId = /\r\nCall-ID: ([^\r\n]+)/.exec(text)?.[1];
    const cseq = /\r\nCSeq: ([^\r\n]+)/.exec(text)?.[1];
    return new Promise((resolve, reject) => {
      const key = `${callId}|${cseq}`;
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`no final response to ${cseq} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(key, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.sock.send(text, to.port, to.host);
    });
  }

  /** Fire and forget (ACK). */
  send(to: { host: string; port: number }, text: string): void {
    this.sock.send(text, to.port, to.host);
  }

  /** ACK for a non-2xx final: same branch as the INVITE (RFC 3261 17.1.1.3). */
  ackFor(invite: string, res: SipResponse): string {
    const via = /\r\nVia: ([^\r\n]+)/.exec(invite)?.[1] ?? '';
    const ruri = invite.split(' ')[1] ?? '';
    const from = /\r\nFrom: ([^\r\n]+)/.exec(invite)?.[1] ?? '';
    const callId = res.header('Call-ID') ?? '';
    const n = (res.header('CSeq') ?? '1').split(' ')[0];
    return [`ACK ${ruri} SIP/2.0`, `Via: ${via}`, `From: ${from}`, `To: ${res.header('To')}`, `Call-ID: ${callId}`, `CSeq: ${n} ACK`, 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n');
  }

  close(): void {
    this.sock.close();
  }
}

export interface Challenge {
  realm: string;
  nonce: string;
  algorithm: string;
  qop?: string;
  stale?: boolean;
}

export function parseChallenge(value: string): Challenge | undefined {
  if (!/^Digest\s/i.test(value)) return undefined;
  const p: Record<string, string> = {};
  for (const m of value.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)) p[(m[1] as string).toLowerCase()] = (m[2] ?? m[3]) as string;
  if (!p.realm || !p.nonce) return undefined;
  return { realm: p.realm, nonce: p.nonce, algorithm: p.algorithm ?? 'MD5', ...(p.qop ? { qop: p.qop } : {}), ...(p.stale ? { stale: p.stale.toLowerCase() === 'true' } : {}) };
}

/** An RFC 7616/8760 Authorization value (qop=auth) for the given challenge. */
export function digestAuthorization(c: Challenge, user: string, password: string, method: string, uri: string, nc = 1, cnonce = randomBytes(8).toString('hex')): string {
  const h = (s: string): string => createHash(c.algorithm.toUpperCase() === 'SHA-256' ? 'sha256' : 'md5').update(s).digest('hex');
  const ha1 = h(`${user}:${c.realm}:${password}`);
  const ha2 = h(`${method}:${uri}`);
  const ncs = nc.toString(16).padStart(8, '0');
  const response = h(`${ha1}:${c.nonce}:${ncs}:${cnonce}:auth:${ha2}`);
  return `Digest username="${user}", realm="${c.realm}", nonce="${c.nonce}", uri="${uri}", algorithm=${c.algorithm}, qop=auth, nc=${ncs}, cnonce="${cnonce}", response="${response}"`;
}

/** A UDP UAS that answers every request 200 OK and hands out what it received, in order. */
export class SipUdpServer {
  readonly received: string[] = [];
  private readonly queue: string[] = [];
  private readonly waiters: Array<(m: string) => void> = [];

  private constructor(private readonly sock: Socket, readonly port: number) {
    sock.on('message', (buf, rinfo) => {
      const text = buf.toString('utf8');
      if (!/^[A-Z]+ \S+ SIP\/2\.0\r\n/.test(text)) return;
      this.received.push(text);
      const pick = (h: string): string => new RegExp(`\\r\\n${h}: ([^\\r\\n]+)`, 'i').exec(text)?.[1] ?? '';
      const vias = [...text.matchAll(/\r\nVia: ([^\r\n]+)/gi)].map((m) => `Via: ${m[1]}`);
      const resp = ['SIP/2.0 200 OK', ...vias, `From: ${pick('From')}`, `To: ${pick('To')};tag=uas1`, `Call-ID: ${pick('Call-ID')}`, `CSeq: ${pick('CSeq')}`, 'Content-Length: 0', '', ''].join('\r\n');
      sock.send(resp, rinfo.port, rinfo.address);
      const w = this.waiters.shift();
      if (w) w(text);
      else this.queue.push(text);
    });
  }

  static async open(host = '127.0.0.1'): Promise<SipUdpServer> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, host, () => resolve());
    });
    return new SipUdpServer(sock, sock.address().port);
  }

  /** The next request received (queued ones first). */
  next(timeoutMs = 5000): Promise<string> {
    const q = this.queue.shift();
    if (q !== undefined) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const w = (m: string): void => {
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no request within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  close(): void {
    this.sock.close();
  }
}
