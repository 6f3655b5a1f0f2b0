/**
 * RTP as a user's side sees it: tcpdump on the loopback interface records the UDP packets sent to
 * the given ports (a SIPp phone's media port, say, which SIPp itself holds), and the capture is
 * read back into per-port counts by payload type. Works the same whether the sender is the
 * FreeSWITCH double or a real FreeSWITCH: nothing here asks the sender.
 *
 * start() resolves once tcpdump says it is listening; stop() ends it (SIGINT flushes the file)
 * and waits for it to exit before reading.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RtpFlow {
  /** Packets that look like RTP (version 2), by payload type. */
  readonly byPayloadType: Readonly<Record<number, number>>;
  readonly packets: number;
  /** Distinct SSRCs seen. */
  readonly ssrcs: number;
}

export interface RtpCaptureResult {
  /** Per destination port. */
  to(port: number): RtpFlow;
}

export class RtpCapture {
  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
    private readonly file: string,
    private readonly exited: Promise<void>,
  ) {}

  /**
   * Capture UDP on lo: to any of `ports`, or all of it when none is given (when a port is only
   * known later, e.g. from an SDP answer). tcpdump must be installed; the tests run as root.
   */
  static async start(ports: readonly number[] = []): Promise<RtpCapture> {
    const dir = mkdtempSync(join(tmpdir(), 'rtp-capture-'));
    const file = join(dir, 'capture.pcap');
    const filter = ports.length === 0 ? 'udp' : `udp and (${ports.map((p) => `dst port ${p}`).join(' or ')})`;
    // --immediate-mode and -U: every packet is handed over and written at once (without them the
    // kernel's ring holds a block back and SIGINT loses it); -B: room for several streams.
    const proc = spawn('tcpdump', ['-i', 'lo', '-n', '-U', '--immediate-mode', '-B', '4096', '-s', '256', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        stderr += d.toString();
        if (/listening on/.test(stderr)) {
          proc.stderr!.off('data', onData);
          resolve();
        }
      };
      proc.stderr!.on('data', onData);
      proc.once('error', (e) => reject(new Error(`tcpdump did not start: ${e.message}`)));
      proc.once('exit', (code) => reject(new Error(`tcpdump exited (${String(code)}) before listening: ${stderr.trim()}`)));
    });
    proc.stderr!.resume();
    return new RtpCapture(proc, dir, file, exited);
  }

  /** End the capture and read what it recorded. */
  async stop(): Promise<RtpCaptureResult> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGINT');
    await this.exited;
    let data: Buffer;
    try {
      data = readFileSync(this.file);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
    return readRtpPcap(data);
  }
}

/** Reads a libpcap file of Ethernet (DLT 1) or Linux cooked (DLT 113) frames into RTP flows. */
export function readRtpPcap(data: Buffer): RtpCaptureResult {
  const flows = new Map<number, { byPayloadType: Record<number, number>; packets: number; ssrcs: Set<number> }>();
  if (data.length >= 24) {
    const magic = data.readUInt32LE(0);
    const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    if (!le && data.readUInt32BE(0) !== 0xa1b2c3d4 && data.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a pcap file');
    const u32 = (o: number): number => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
    const link = u32(20);
    const l2 = link === 1 ? 14 : link === 113 ? 16 : link === 0 ? 4 : -1;
    if (l2 < 0) throw new Error(`unsupported pcap link type ${link}`);
    let off = 24;
    while (off + 16 <= data.length) {
      const incl = u32(off + 8);
      const frame = data.subarray(off + 16, off + 16 + incl);
      off += 16 + incl;
      const ip = frame.subarray(l2);
      if (ip.length < 20 || ip[0]! >> 4 !== 4 || ip[9] !== 17) continue;
      const udp = ip.subarray((ip[0]! & 0x0f) * 4);
      if (udp.length < 8 + 12) continue;
      const dport = udp.readUInt16BE(2);
      const rtp = udp.subarray(8);
      if (rtp[0]! >> 6 !== 2) continue;
      let f = flows.get(dport);
      if (!f) flows.set(dport, (f = { byPayloadType: {}, packets: 0, ssrcs: new Set() }));
      const pt = rtp[1]! & 0x7f;
      f.byPayloadType[pt] = (f.byPayloadType[pt] ?? 0) + 1;
      f.packets++;
      f.ssrcs.add(rtp.readUInt32BE(8));
    }
  }
  return {
    to(port: number): RtpFlow {
      const f = flows.get(port);
      return f ? { byPayloadType: { ...f.byPayloadType }, packets: f.packets, ssrcs: f.ssrcs.size } : { byPayloadType: {}, packets: 0, ssrcs: 0 };
    },
  };
}
