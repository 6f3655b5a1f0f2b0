/**
 * GnuGk status port client (TCP, text; GnuGk's [GkStatus] port, 7000 by default).
 *
 * The port opens with telnet negotiation bytes and a Version banner. Each command's reply is a
 * block of lines ending with a line holding only ";". Events (RCF|..., ACF|..., CDR|..., DCF|...,
 * UCF|... each ending in ";") arrive unprompted and can interleave with replies; they are emitted
 * as 'event'. Lines inside a reply block that look like events (the call list shows ACF lines)
 * belong to the block.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { componentLogger } from '../../log/logger.js';

export interface StatusEvent {
  /** RCF, URQ, UCF, ACF, ARJ, DCF, LCF, LRJ, CDR, Setup, GCF ... */
  readonly type: string;
  readonly fields: readonly string[];
  readonly raw: string;
}

export interface GkAlias {
  readonly alias: string;
  /** dialedDigits, h323_ID, url_ID, email_ID ... as GnuGk prints them. */
  readonly type: string;
}

export interface GkRegistration {
  readonly callSignalAddress: string;
  readonly aliases: readonly GkAlias[];
  readonly endpointType: string;
  readonly endpointId: string;
}

export interface GkCall {
  readonly callNumber: number;
  /** Call identifier as 32 hex digits. */
  readonly callId: string;
  readonly durationSeconds: number;
  readonly dialled?: string;
  /** The ACF lines for the calling and called legs. */
  readonly legs: readonly StatusEvent[];
}

export interface GkNeighbour {
  readonly id: string;
  readonly address: string;
  readonly enabled: boolean;
}

export interface GkStatistics {
  readonly totalEndpoints: number;
  readonly gateways: number;
  readonly currentCalls: number;
  readonly activeCalls: number;
  readonly totalCalls: number;
  readonly successfulCalls: number;
}

interface PendingCommand {
  readonly line: string;
  readonly singleLine: boolean;
  readonly lines: string[];
  started: boolean;
  readonly resolve: (lines: string[]) => void;
  readonly reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

const EVENT_LINE = /^([A-Za-z][A-Za-z0-9]*)\|(.*);$/;

export interface StatusPortEvents {
  event: [StatusEvent];
  close: [];
}

export class GnuGkStatusClient extends EventEmitter<StatusPortEvents> {
  private buf = Buffer.alloc(0);
  private readonly queue: PendingCommand[] = [];
  private banner: string[] = [];
  private bannerDone = false;
  private bannerWaiter: (() => void) | undefined;
  private readonly log = componentLogger('gnugk-status');
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    super();
    socket.on('data', (d) => this.onData(d));
    socket.on('close', () => {
      this.closed = true;
      for (const p of this.queue.splice(0)) {
        clearTimeout(p.timer);
        p.reject(new Error('status port closed'));
      }
      this.emit('close');
    });
    socket.on('error', (err) => this.log.warn('status port error', { err: err.message }));
  }

  /** Connects and waits for the Version banner. */
  static connect(host: string, port: number, timeoutMs = 5000): Promise<GnuGkStatusClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error('status port: no banner'));
      }, timeoutMs);
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.once('connect', () => {
        const c = new GnuGkStatusClient(s, timeoutMs);
        c.bannerWaiter = () => {
          clearTimeout(timer);
          resolve(c);
        };
      });
    });
  }

  get versionBanner(): readonly string[] {
    return this.banner;
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (this.buf.length > 1 << 20) {
      this.log.warn('status port line too long, dropping connection');
      this.socket.destroy();
      return;
    }
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) break;
      const line = stripTelnet(this.buf.subarray(0, nl)).toString('utf8').replace(/\r$/, '');
      this.buf = this.buf.subarray(nl + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    if (!this.bannerDone) {
      if (line === ';') {
        this.bannerDone = true;
        this.bannerWaiter?.();
      } else this.banner.push(line);
      return;
    }
    const p = this.queue[0];
    if (p && p.started) {
      if (line === ';') return this.finish();
      p.lines.push(line);
      return;
    }
    const ev = EVENT_LINE.exec(line);
    if (ev) {
      this.emit('event', { type: ev[1]!, fields: ev[2]!.split('|'), raw: line });
      return;
    }
    if (!p || line.trim() === '') return;
    if (p.singleLine) {
      p.lines.push(line);
      return this.finish();
    }
    if (line.startsWith('Error:')) {
      this.queue.shift();
      clearTimeout(p.timer);
      p.reject(new Error(line));
      this.sendNext();
      return;
    }
    p.started = true;
    p.lines.push(line);
  }

  private finish(): void {
    const p = this.queue.shift();
    if (!p) return;
    clearTimeout(p.timer);
    p.resolve(p.lines);
    this.sendNext();
  }

  private sendNext(): void {
    const p = this.queue[0];
    if (!p || this.closed) return;
    p.timer = setTimeout(() => {
      if (this.queue[0] !== p) return;
      this.queue.shift();
      p.reject(new Error(`status port: no reply to ${p.line.split(' ')[0]}`));
      this.sendNext();
    }, this.timeoutMs);
    this.socket.write(`${p.line}\r\n`);
  }

  /** Sends one command and resolves with its reply lines (header included, ";" excluded). */
  command(line: string, singleLine = false): Promise<string[]> {
    if (this.closed) return Promise.reject(new Error('status port closed'));
    if (/[\r\n]/.test(line)) return Promise.reject(new Error('command must be one line'));
    return new Promise((resolve, reject) => {
      this.queue.push({ line, singleLine, lines: [], started: false, resolve, reject });
      if (this.queue.length === 1) this.sendNext();
    });
  }

  async registrations(): Promise<GkRegistration[]> {
    return parseRegistrations(await this.command('r'));
  }

  async calls(): Promise<GkCall[]> {
    return parseCalls(await this.command('c'));
  }

  async neighbours(): Promise<GkNeighbour[]> {
    return parseNeighbours(await this.command('pn'));
  }

  async statistics(): Promise<GkStatistics> {
    return parseStatistics(await this.command('s'));
  }

  async find(alias: string): Promise<GkRegistration | undefined> {
    if (!/^[^\s]+$/.test(alias)) throw new Error('alias must not contain spaces');
    return parseRegistrations(await this.command(`f ${alias}`))[0];
  }

  /** trace 0|1|2: how many events GnuGk pushes. */
  async trace(level: 0 | 1 | 2): Promise<void> {
    await this.command(`trace ${level}`, true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end('quit\r\n');
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}

/** Removes telnet IAC sequences (GnuGk negotiates at connect). */
export function stripTelnet(b: Buffer): Buffer {
  if (!b.includes(0xff)) return b;
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0xff) {
      out.push(c);
      continue;
    }
    const cmd = b[i + 1];
    if (cmd === 0xff) {
      out.push(0xff);
      i += 1;
    } else if (cmd !== undefined && cmd >= 0xfb && cmd <= 0xfe) i += 2;
    else i += 1;
  }
  return Buffer.from(out);
}

function parseAliases(s: string): GkAlias[] {
  return s
    .split('=')
    .filter((x) => x.length > 0)
    .map((a) => {
      const i = a.lastIndexOf(':');
      return i < 0 ? { alias: a, type: '' } : { alias: a.slice(0, i), type: a.slice(i + 1) };
    });
}

export function parseRegistrations(lines: readonly string[]): GkRegistration[] {
  const out: GkRegistration[] = [];
  for (const l of lines) {
    if (!l.startsWith('RCF|')) continue;
    const [, addr, aliases, type, id] = l.split('|');
    out.push({ callSignalAddress: addr ?? '', aliases: parseAliases(aliases ?? ''), endpointType: type ?? '', endpointId: (id ?? '').replace(/;$/, '') });
  }
  return out;
}

export function parseCalls(lines: readonly string[]): GkCall[] {
  const out: GkCall[] = [];
  let cur: { callNumber: number; callId: string; durationSeconds: number; dialled?: string; legs: StatusEvent[] } | undefined;
  for (const l of lines) {
    const head = /^Call No\. (\d+) \| CallID ([0-9a-f ]+) \| (\d+) \|/.exec(l);
    if (head) {
      if (cur) out.push(cur);
      cur = { callNumber: Number(head[1]), callId: head[2]!.replace(/ /g, ''), durationSeconds: Number(head[3]), legs: [] };
      continue;
    }
    if (!cur) continue;
    const dial = /^Dial (.*)$/.exec(l);
    if (dial) cur.dialled = dial[1]!.replace(/:[a-zA-Z0-9_]+$/, '');
    const ev = EVENT_LINE.exec(l);
    if (ev) cur.legs.push({ type: ev[1]!, fields: ev[2]!.split('|'), raw: l });
  }
  if (cur) out.push(cur);
  return out;
}

export function parseNeighbours(lines: readonly string[]): GkNeighbour[] {
  return lines
    .filter((l) => l.startsWith('NB|'))
    .map((l) => {
      const [, id, address, state] = l.split('|');
      return { id: id ?? '', address: address ?? '', enabled: state === 'enabled' };
    });
}

export function parseStatistics(lines: readonly string[]): GkStatistics {
  const text = lines.join('\n');
  const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  return {
    totalEndpoints: num(/Total Endpoints: (\d+)/),
    gateways: num(/Total Endpoints: \d+\s+Terminals: \d+\s+Gateways: (\d+)/),
    currentCalls: num(/Current Calls: (\d+)/),
    activeCalls: num(/Current Calls: \d+ Active: (\d+)/),
    totalCalls: num(/Total Calls: (\d+)/),
    successfulCalls: num(/Total Calls: \d+\s+Successful: (\d+)/),
  };
}
