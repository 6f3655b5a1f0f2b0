/**
 * Live captures: tcpdump writing a packet-buffered pcap stream to stdout (-U, immediate mode),
 * split into link-layer frames as it comes and each frame turned into a test's own packet type,
 * so a test can wait for something to have crossed the wire while the call is up. Used by
 * RtpTap (test/support/rtp-tap.ts) and RasCapture (test/e2e/h323-ras/ras-capture.ts). tcpdump
 * must be installed and allowed to capture (CAP_NET_RAW, as SIPp's play_pcap_audio needs).
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** One pcap record: capture time (ms since the epoch), the stream's link type, the frame. */
export interface PcapRecord {
  at: number;
  linkType: number;
  frame: Buffer;
}

/** Splits a pcap byte stream (global header, then records) into link-layer frames. */
export class PcapStream {
  private buf: Buffer = Buffer.alloc(0);
  private linkType: number | undefined;
  private le = true;
  private nano = false;

  push(chunk: Buffer): PcapRecord[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: PcapRecord[] = [];
    if (this.linkType === undefined) {
      if (this.buf.length < 24) return out;
      const magicLe = this.buf.readUInt32LE(0);
      if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) this.le = true;
      else if (this.buf.readUInt32BE(0) === 0xa1b2c3d4 || this.buf.readUInt32BE(0) === 0xa1b23c4d) this.le = false;
      else throw new Error(`not a pcap stream (magic ${magicLe.toString(16)})`);
      const magic = this.le ? magicLe : this.buf.readUInt32BE(0);
      this.nano = magic === 0xa1b23c4d;
      this.linkType = this.le ? this.buf.readUInt32LE(20) : this.buf.readUInt32BE(20);
      this.buf = this.buf.subarray(24);
    }
    const u32 = (o: number): number => (this.le ? this.buf.readUInt32LE(o) : this.buf.readUInt32BE(o));
    while (this.buf.length >= 16) {
      const incl = u32(8);
      if (this.buf.length < 16 + incl) break;
      const at = u32(0) * 1000 + u32(4) / (this.nano ? 1e6 : 1e3);
      out.push({ at, linkType: this.linkType, frame: Buffer.from(this.buf.subarray(16, 16 + incl)) });
      this.buf = this.buf.subarray(16 + incl);
    }
    return out;
  }
}

/** The IPv4 packet inside a link-layer frame, or undefined. */
export function ipv4Of(linkType: number, f: Buffer): Buffer | undefined {
  let off: number;
  let etherType: number | undefined;
  switch (linkType) {
    case 1: // Ethernet (Linux lo)
      off = 14;
      etherType = f.length >= 14 ? f.readUInt16BE(12) : undefined;
      break;
    case 113: // Linux cooked v1 (-i any)
      off = 16;
      etherType = f.length >= 16 ? f.readUInt16BE(14) : undefined;
      break;
    case 276: // Linux cooked v2
      off = 20;
      etherType = f.length >= 20 ? f.readUInt16BE(0) : undefined;
      break;
    case 0: // BSD loopback
      off = 4;
      etherType = 0x0800;
      break;
    case 12:
    case 101: // raw IP
      off = 0;
      etherType = 0x0800;
      break;
    default:
      return undefined;
  }
  if (etherType !== 0x0800 || f.length < off + 20) return undefined;
  return f.subarray(off);
}

export interface UdpDatagram {
  src: { address: string; port: number };
  dst: { address: string; port: number };
  payload: Buffer;
}

/** The UDP datagram (addresses, ports, payload) in a link-layer frame (IPv4 only), or undefined. */
export function udpOf(linkType: number, frame: Buffer): UdpDatagram | undefined {
  const ip = ipv4Of(linkType, frame);
  if (!ip || ip[0]! >> 4 !== 4 || ip[9] !== 17) return undefined;
  const udp = ip.subarray((ip[0]! & 0x0f) * 4);
  if (udp.length < 8) return undefined;
  const addr = (o: number): string => `${ip[o]}.${ip[o + 1]}.${ip[o + 2]}.${ip[o + 3]}`;
  return {
    src: { address: addr(12), port: udp.readUInt16BE(0) },
    dst: { address: addr(16), port: udp.readUInt16BE(2) },
    payload: udp.subarray(8, udp.readUInt16BE(4)),
  };
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export interface TcpdumpOptions<T> {
  /** Interface to capture on. */
  iface: string;
  /** tcpdump filter expression. */
  filter: string;
  /** The packet a captured frame carries, or undefined to skip the frame. */
  parse: (r: PcapRecord) => T | undefined;
  /** What has been captured, for a timed-out waitFor, e.g. `12 RTP packets to ports 4000`. */
  describe: (packets: readonly T[]) => string;
  /** Waiters are woken after every packet ('packet', default) or once per chunk tcpdump wrote ('chunk'). */
  wake?: 'packet' | 'chunk';
  /** How long tcpdump may take to start listening (default 10 s). */
  timeoutMs?: number;
}

/** A running tcpdump and the packets it captured so far, in capture order. */
export class TcpdumpCapture<T> {
  readonly packets: T[] = [];
  private readonly watchers = new Set<() => void>();
  private stderr = '';
  private exited = false;

  private constructor(private readonly proc: ChildProcess, private readonly describe: (packets: readonly T[]) => string) {}

  /** Starts tcpdump; resolves once it is listening. */
  static async start<T>(o: TcpdumpOptions<T>): Promise<TcpdumpCapture<T>> {
    const proc = spawn('tcpdump', ['-i', o.iface, '-n', '-s', '0', '-U', '--immediate-mode', '-w', '-', o.filter], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(proc);
    const cap = new TcpdumpCapture<T>(proc, o.describe);
    const pcap = new PcapStream();
    const perPacket = (o.wake ?? 'packet') === 'packet';
    proc.stdout!.on('data', (chunk: Buffer) => {
      let added = false;
      for (const r of pcap.push(chunk)) {
        const p = o.parse(r);
        if (p === undefined) continue;
        cap.packets.push(p);
        added = true;
        if (perPacket) cap.wake();
      }
      if (added && !perPacket) cap.wake();
    });
    const timeoutMs = o.timeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`tcpdump did not start listening on ${o.iface} within ${timeoutMs} ms`)), timeoutMs);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(new Error(`${e.message}: ${cap.stderr.trim().slice(-500)}`));
      };
      proc.stderr!.on('data', (d: Buffer) => {
        cap.stderr += d.toString();
        if (/listening on/.test(cap.stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('error', (e) => fail(new Error(`tcpdump: ${e.message} (is it installed and allowed to capture?)`)));
      proc.once('exit', (code) => {
        cap.exited = true;
        running.delete(proc);
        fail(new Error(`tcpdump exited (${code})`));
      });
    });
    return cap;
  }

  private wake(): void {
    for (const w of [...this.watchers]) w();
  }

  /**
   * Resolves with the first non-undefined value `probe` returns, evaluated now and after every
   * captured packet (or chunk, see `wake`); rejects after `timeoutMs` naming `what`.
   */
  waitFor<R>(probe: (packets: readonly T[]) => R | undefined, what: string, timeoutMs: number): Promise<R> {
    const now = probe(this.packets);
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const w = (): void => {
        const v = probe(this.packets);
        if (v === undefined) return;
        clearTimeout(timer);
        this.watchers.delete(w);
        resolve(v);
      };
      const timer = setTimeout(() => {
        this.watchers.delete(w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (captured ${this.describe(this.packets)})`));
      }, timeoutMs);
      this.watchers.add(w);
    });
  }

  /** Stops tcpdump (what it had captured was delivered as it came: -U, immediate mode). */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGINT');
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
    this.exited = true;
    running.delete(this.proc);
  }
}
