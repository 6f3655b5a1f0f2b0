/**
 * RAS as it goes over the wire to and from one UDP port: tcpdump (packet-buffered pcap on stdout),
 * each datagram decoded with decodeRas as it is captured, so a test can wait for a message to have
 * been sent rather than read a counter at some instant. Used by gnugk-live.test.ts to see GnuGk's
 * pings and the gateway's answers to them. tcpdump must be installed and allowed to capture (the
 * live tests run as root, like the other captures in this repository).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { decodeRas } from '../../../lib/h323/ras/messages.js';
import type { RasMessageValue } from '../../../lib/h323/ras/schema.js';

export interface RasPacket {
  /** Capture time, ms since the epoch (from the pcap record). */
  at: number;
  src: { host: string; port: number };
  dst: { host: string; port: number };
  msg: RasMessageValue;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** UDP payload with addresses from one captured link-layer frame (IPv4 only), or undefined. */
function udpOf(linkType: number, f: Buffer): { src: RasPacket['src']; dst: RasPacket['dst']; payload: Buffer } | undefined {
  // Ethernet (lo), Linux cooked v1 / v2 (-i any), BSD loopback, raw IP
  const layout: Record<number, [number, number | undefined]> = { 1: [14, 12], 113: [16, 14], 276: [20, 0], 0: [4, undefined], 12: [0, undefined], 101: [0, undefined] };
  const l = layout[linkType];
  if (!l) return undefined;
  const [off, typeAt] = l;
  if (typeAt !== undefined && (f.length < typeAt + 2 || f.readUInt16BE(typeAt) !== 0x0800)) return undefined;
  const ip = f.subarray(off);
  if (ip.length < 20 || ip[0]! >> 4 !== 4 || ip[9] !== 17) return undefined;
  const udp = ip.subarray((ip[0]! & 0x0f) * 4);
  if (udp.length < 8) return undefined;
  const addr = (o: number): string => `${ip[o]}.${ip[o + 1]}.${ip[o + 2]}.${ip[o + 3]}`;
  return {
    src: { host: addr(12), port: udp.readUInt16BE(0) },
    dst: { host: addr(16), port: udp.readUInt16BE(2) },
    payload: udp.subarray(8, udp.readUInt16BE(4)),
  };
}

export class RasCapture {
  /** Every decodable RAS datagram from or to the port, in capture order. */
  readonly packets: RasPacket[] = [];
  private readonly watchers = new Set<() => void>();
  private buf: Buffer = Buffer.alloc(0);
  private linkType: number | undefined;
  private le = true;
  private nano = false;
  private stderr = '';
  private exited = false;

  private constructor(private readonly proc: ChildProcess, readonly port: number) {}

  /** Captures UDP from or to `port` on `iface` (default lo); resolves once tcpdump is listening. */
  static async start(port: number, o: { iface?: string; timeoutMs?: number } = {}): Promise<RasCapture> {
    const iface = o.iface ?? 'lo';
    const proc = spawn('tcpdump', ['-i', iface, '-n', '-s', '0', '-U', '--immediate-mode', '-w', '-', `udp and port ${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(proc);
    const cap = new RasCapture(proc, port);
    proc.stdout!.on('data', (chunk: Buffer) => cap.push(chunk));
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error): void => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(new Error(`${e.message}: ${cap.stderr.trim().slice(-500)}`));
      };
      const timer = setTimeout(() => fail(new Error(`tcpdump did not start listening on ${iface} within ${o.timeoutMs ?? 10_000} ms`)), o.timeoutMs ?? 10_000);
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

  /** Splits the pcap stream into records and decodes their RAS. */
  private push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.linkType === undefined) {
      if (this.buf.length < 24) return;
      const magic = this.buf.readUInt32LE(0);
      this.le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
      const m = this.le ? magic : this.buf.readUInt32BE(0);
      this.nano = m === 0xa1b23c4d;
      this.linkType = this.le ? this.buf.readUInt32LE(20) : this.buf.readUInt32BE(20);
      this.buf = this.buf.subarray(24);
    }
    const u32 = (o: number): number => (this.le ? this.buf.readUInt32LE(o) : this.buf.readUInt32BE(o));
    let added = false;
    while (this.buf.length >= 16) {
      const incl = u32(8);
      if (this.buf.length < 16 + incl) break;
      const at = u32(0) * 1000 + u32(4) / (this.nano ? 1e6 : 1e3);
      const udp = udpOf(this.linkType, this.buf.subarray(16, 16 + incl));
      this.buf = this.buf.subarray(16 + incl);
      if (!udp) continue;
      let msg: RasMessageValue;
      try {
        msg = decodeRas(udp.payload);
      } catch {
        continue; // not RAS (or a malformed datagram): not what these tests wait for
      }
      this.packets.push({ at, src: udp.src, dst: udp.dst, msg });
      added = true;
    }
    if (added) for (const w of [...this.watchers]) w();
  }

  /**
   * Resolves with the first non-undefined value `probe` returns, evaluated now and after every
   * captured datagram; rejects after `timeoutMs` naming `what`.
   */
  waitFor<T>(probe: (packets: readonly RasPacket[]) => T | undefined, what: string, timeoutMs: number): Promise<T> {
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
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (captured ${this.packets.length} RAS datagrams on port ${this.port})`));
      }, timeoutMs);
      this.watchers.add(w);
    });
  }

  /** Stops tcpdump; what it captured was delivered as it came (-U, immediate mode). */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGINT');
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
  }
}
