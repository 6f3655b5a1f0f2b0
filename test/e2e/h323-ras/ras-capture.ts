/**
 * RAS as it goes over the wire to and from one UDP port: tcpdump (packet-buffered pcap on stdout,
 * test/support/pcap-stream.ts), each datagram decoded with decodeRas as it is captured, so a test
 * can wait for a message to have been sent rather than read a counter at some instant. Used by
 * gnugk-live.test.ts to see GnuGk's pings and the gateway's answers to them. tcpdump must be
 * installed and allowed to capture (the live tests run as root, like the other captures in this
 * repository).
 */
import { decodeRas } from '../../../lib/h323/ras/messages.js';
import type { RasMessageValue } from '../../../lib/h323/ras/schema.js';
import { TcpdumpCapture, udpOf, type PcapRecord } from '../../support/pcap-stream.js';

export interface RasPacket {
  /** Capture time, ms since the epoch (from the pcap record). */
  at: number;
  src: { host: string; port: number };
  dst: { host: string; port: number };
  msg: RasMessageValue;
}

/** The RAS message in one captured frame (IPv4/UDP), or undefined. */
function parseRas({ at, linkType, frame }: PcapRecord): RasPacket | undefined {
  const udp = udpOf(linkType, frame);
  if (!udp) return undefined;
  let msg: RasMessageValue;
  try {
    msg = decodeRas(udp.payload);
  } catch {
    return undefined; // not RAS (or a malformed datagram): not what these tests wait for
  }
  return { at, src: { host: udp.src.address, port: udp.src.port }, dst: { host: udp.dst.address, port: udp.dst.port }, msg };
}

export class RasCapture {
  /** Every decodable RAS datagram from or to the port, in capture order. */
  readonly packets: RasPacket[];

  private constructor(private readonly cap: TcpdumpCapture<RasPacket>, readonly port: number) {
    this.packets = cap.packets;
  }

  /** Captures UDP from or to `port` on `iface` (default lo); resolves once tcpdump is listening. */
  static async start(port: number, o: { iface?: string; timeoutMs?: number } = {}): Promise<RasCapture> {
    const cap = await TcpdumpCapture.start({
      iface: o.iface ?? 'lo',
      filter: `udp and port ${port}`,
      parse: parseRas,
      describe: (ps) => `${ps.length} RAS datagrams on port ${port}`,
      wake: 'chunk',
      timeoutMs: o.timeoutMs,
    });
    return new RasCapture(cap, port);
  }

  /**
   * Resolves with the first non-undefined value `probe` returns, evaluated now and after every
   * chunk of captured datagrams; rejects after `timeoutMs` naming `what`.
   */
  waitFor<T>(probe: (packets: readonly RasPacket[]) => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return this.cap.waitFor(probe, what, timeoutMs);
  }

  /** Stops tcpdump; what it captured was delivered as it came (-U, immediate mode). */
  stop(): Promise<void> {
    return this.cap.stop();
  }
}
