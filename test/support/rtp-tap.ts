/**
 * RTP as it arrives at a test's own SIP endpoint (a SIPp media port): tcpdump on the loopback
 * interface, its pcap stream parsed as it comes, so a test can wait for packets while the call is
 * up. This sees what the SIP side sees on the wire whatever runs the media (the FreeSWITCH double
 * or a real FreeSWITCH on this host). SIPp's play_pcap_audio already needs CAP_NET_RAW; tcpdump
 * needs the same. Interface: RTP_CAPTURE_IF (default lo).
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface RtpPacket {
  /** Capture time (ms since the epoch, from the pcap record). */
  at: number;
  src: { address: string; port: number };
  dst: { address: string; port: number };
  pt: number;
  marker: boolean;
  seq: number;
  ssrc: number;
  payload: Buffer;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Splits a pcap byte stream (global header, then records) into link-layer frames. */
class PcapStream {
  private buf: Buffer = Buffer.alloc(0);
  private linkType: number | undefined;
  private le = true;
  private nano = false;

  push(chunk: Buffer): Array<{ at: number; linkType: number; frame: Buffer }> {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Array<{ at: number; linkType: number; frame: Buffer }> = [];
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
function ipv4Of(linkType: number, f: Buffer): Buffer | undefined {
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

function parseRtp(at: number, linkType: number, frame: Buffer): RtpPacket | undefined {
  const ip = ipv4Of(linkType, frame);
  if (!ip || ip[0]! >> 4 !== 4 || ip[9] !== 17) return undefined;
  const ihl = (ip[0]! & 0x0f) * 4;
  const udp = ip.subarray(ihl);
  if (udp.length < 8) return undefined;
  const rtp = udp.subarray(8, udp.readUInt16BE(4));
  if (rtp.length < 12 || rtp[0]! >> 6 !== 2) return undefined;
  const pt = rtp[1]! & 0x7f;
  if (pt >= 72 && pt <= 76) return undefined; // RTCP
  const cc = rtp[0]! & 0x0f;
  const addr = (o: number): string => `${ip[o]}.${ip[o + 1]}.${ip[o + 2]}.${ip[o + 3]}`;
  return {
    at,
    src: { address: addr(12), port: udp.readUInt16BE(0) },
    dst: { address: addr(16), port: udp.readUInt16BE(2) },
    pt,
    marker: (rtp[1]! & 0x80) !== 0,
    seq: rtp.readUInt16BE(2),
    ssrc: rtp.readUInt32BE(8),
    payload: Buffer.from(rtp.subarray(12 + 4 * cc)),
  };
}

export class RtpTap {
  /** Every RTP packet sent to one of the tapped ports, in capture order. */
  readonly packets: RtpPacket[] = [];
  private readonly watchers = new Set<() => void>();
  private stderr = '';
  private exited = false;

  private constructor(private readonly proc: ChildProcess, readonly ports: readonly number[]) {}

  /**
   * Starts capturing UDP sent to `ports`, and with `hosts` all UDP from or to those addresses (an
   * endpoint whose RTP port is not known in advance, e.g. an H323Plus room system on its own
   * 127.0.0.x); resolves once tcpdump is listening.
   */
  static async start(
    ports: readonly number[],
    o: { iface?: string; timeoutMs?: number; hosts?: readonly string[]; portRanges?: ReadonlyArray<readonly [number, number]> } = {},
  ): Promise<RtpTap> {
    const hosts = o.hosts ?? [];
    const ranges = o.portRanges ?? [];
    if (ports.length === 0 && hosts.length === 0 && ranges.length === 0) throw new Error('RtpTap: no ports, hosts or port ranges');
    const iface = o.iface ?? process.env.RTP_CAPTURE_IF ?? 'lo';
    const terms = [...ports.map((p) => `dst port ${p}`), ...hosts.map((h) => `host ${h}`), ...ranges.map(([a, b]) => `portrange ${a}-${b}`)];
    const filter = `udp and (${terms.join(' or ')})`;
    const proc = spawn('tcpdump', ['-i', iface, '-n', '-s', '0', '-U', '--immediate-mode', '-w', '-', filter], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(proc);
    const tap = new RtpTap(proc, ports);
    const pcap = new PcapStream();
    proc.stdout!.on('data', (chunk: Buffer) => {
      for (const r of pcap.push(chunk)) {
        const p = parseRtp(r.at, r.linkType, r.frame);
        if (!p) continue;
        tap.packets.push(p);
        for (const w of [...tap.watchers]) w();
      }
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`tcpdump did not start listening on ${iface} within ${o.timeoutMs ?? 10_000} ms`)), o.timeoutMs ?? 10_000);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(new Error(`${e.message}: ${tap.stderr.trim().slice(-500)}`));
      };
      proc.stderr!.on('data', (d: Buffer) => {
        tap.stderr += d.toString();
        if (/listening on/.test(tap.stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('error', (e) => fail(e));
      proc.once('exit', (code) => {
        tap.exited = true;
        running.delete(proc);
        fail(new Error(`tcpdump exited (${code})`));
      });
    });
    return tap;
  }

  /** One line per flow (source -> destination, payload type: packets), for failure messages. */
  summary(): string {
    const flows = new Map<string, number>();
    for (const p of this.packets) {
      const k = `${p.src.address}:${p.src.port}->${p.dst.address}:${p.dst.port} pt${p.pt}`;
      flows.set(k, (flows.get(k) ?? 0) + 1);
    }
    return [...flows].map(([k, n]) => `${k}=${n}`).join(', ') || 'none';
  }

  /** RTP packets sent to `port` (all tapped ports when omitted) matching `pred`. */
  to(port?: number, pred: (p: RtpPacket) => boolean = () => true): RtpPacket[] {
    return this.packets.filter((p) => (port === undefined || p.dst.port === port) && pred(p));
  }

  /**
   * Resolves with the first non-undefined value `probe` returns, evaluated now and after every
   * captured packet; rejects after `timeoutMs` naming `what`.
   */
  waitFor<T>(probe: (packets: readonly RtpPacket[]) => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
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
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (captured ${this.packets.length} RTP packets to ports ${this.ports.join(',')})`));
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
