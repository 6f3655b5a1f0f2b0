/**
 * EslTap: a recording TCP proxy for both ESL directions, so golden tests get the same transcript
 * from the FreeSWITCH double and from a real FreeSWITCH.
 *
 *   app --inbound--> tap.inboundPort --> FreeSWITCH event socket
 *   FreeSWITCH --outbound (X-esl-outbound = tap.outboundPort)--> tap --> app's fsmrf listener
 *
 * Bytes are forwarded untouched; a copy is split into ESL messages for the transcript.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { EslCommandParser, type EslCommand } from './esl-wire.js';
import type { EslRecord } from './double.js';

/** Splits what FreeSWITCH sends into messages (headers, blank line, Content-Length body). */
export class EslMessageSplitter {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: string[] = [];
    for (;;) {
      const end = this.buf.indexOf('\n\n');
      if (end < 0) return out;
      const head = this.buf.subarray(0, end).toString('utf8');
      const m = /^Content-Length:\s*(\d+)\s*$/im.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (this.buf.length < end + 2 + len) return out;
      out.push(this.buf.subarray(0, end + 2 + len).toString('utf8'));
      this.buf = this.buf.subarray(end + 2 + len);
    }
  }
}

function formatCommand(c: EslCommand): string {
  return `${[c.line, ...c.headers.map(([k, v]) => `${k}: ${v}`)].join('\n')}\n\n${c.body ?? ''}`;
}

export interface EslTapOptions {
  /** The event socket to forward inbound connections to. */
  target: { host: string; port: number };
  host?: string;
}

export class EslTap extends EventEmitter<{ closed: [number] }> {
  readonly transcript: EslRecord[] = [];
  private inbound!: net.Server;
  private outbound!: net.Server;
  private outboundTarget?: { host: string; port: number };
  private nextId = 0;
  private readonly open = new Set<net.Socket>();
  private readonly pairs = new Map<number, net.Socket[]>();

  private constructor(private readonly o: EslTapOptions) {
    super();
  }

  static async start(o: EslTapOptions): Promise<EslTap> {
    const t = new EslTap(o);
    t.inbound = net.createServer((s) => t.pipe(s, 'inbound', o.target));
    t.outbound = net.createServer((s) => {
      if (!t.outboundTarget) {
        s.destroy();
        return;
      }
      t.pipe(s, 'outbound', t.outboundTarget);
    });
    const host = o.host ?? '127.0.0.1';
    await Promise.all([t.inbound, t.outbound].map((srv) => new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, host, () => resolve());
    })));
    return t;
  }

  get host(): string {
    return this.o.host ?? '127.0.0.1';
  }
  get inboundPort(): number {
    return (this.inbound.address() as net.AddressInfo).port;
  }
  get outboundPort(): number {
    return (this.outbound.address() as net.AddressInfo).port;
  }

  /** Where FreeSWITCH's outbound connections go (the app's fsmrf listener, known after connect). */
  setOutboundTarget(host: string, port: number): void {
    this.outboundTarget = { host, port };
  }

  /** `accepted` is the side that connected to the tap: the app (inbound) or FreeSWITCH (outbound). */
  private pipe(accepted: net.Socket, kind: 'inbound' | 'outbound', to: { host: string; port: number }): void {
    const id = this.nextId++;
    const other = net.connect(to.port, to.host);
    const [app, fs] = kind === 'inbound' ? [accepted, other] : [other, accepted];
    this.pairs.set(id, [app, fs]);
    const commands = new EslCommandParser();
    const messages = new EslMessageSplitter();
    app.on('data', (d: Buffer) => {
      fs.write(d);
      try {
        for (const c of commands.push(d)) this.transcript.push({ conn: id, kind, dir: 'app->FS', text: formatCommand(c), at: Date.now() });
      } catch {
        this.transcript.push({ conn: id, kind, dir: 'app->FS', text: '<unparsable>', at: Date.now() });
      }
    });
    fs.on('data', (d: Buffer) => {
      app.write(d);
      for (const m of messages.push(d)) this.transcript.push({ conn: id, kind, dir: 'FS->app', text: m, at: Date.now() });
    });
    let closed = 0;
    for (const s of [app, fs]) {
      this.open.add(s);
      s.on('error', () => undefined);
      s.on('end', () => (s === app ? fs : app).end());
      s.on('close', () => {
        this.open.delete(s);
        // Half-close only: the far side may still answer (exit -> +OK bye) and is recorded.
        (s === app ? fs : app).end();
        if (++closed === 2) this.emit('closed', id);
      });
    }
  }

  /** Fault injection: cut proxied connection `id` abruptly (both sides reset). */
  drop(id: number): void {
    for (const s of this.pairs.get(id) ?? []) s.resetAndDestroy();
  }

  /** Resolves once no proxied connection is open. */
  idle(): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.open.size > 0) return;
        this.off('closed', check);
        resolve();
      };
      this.on('closed', check);
    });
  }

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    this.open.clear();
    await Promise.all([this.inbound, this.outbound].map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  }
}
