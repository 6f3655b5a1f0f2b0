/**
 * RTP as it arrives at a test's own SIP endpoint (a SIPp media port): tcpdump on the loopback
 * interface, its pcap stream parsed as it comes, so a test can wait for packets while the call is
 * up. This sees what the SIP side sees on the wire whatever runs the media (the FreeSWITCH double
 * or a real FreeSWITCH on this host). SIPp's play_pcap_audio already needs CAP_NET_RAW; tcpdump
 * needs the same. Interface: RTP_CAPTURE_IF (default lo).
 */
import { TcpdumpCapture, udpOf, type PcapRecord } from './pcap-stream.js';

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

function parseRtp({ at, linkType, frame }: PcapRecord): RtpPacket | undefined {
  const udp = udpOf(linkType, frame);
  if (!udp) return undefined;
  const rtp = udp.payload;
  if (rtp.length < 12 || rtp[0]! >> 6 !== 2) return undefined;
  const pt = rtp[1]! & 0x7f;
  if (pt >= 72 && pt <= 76) return undefined; // RTCP
  const cc = rtp[0]! & 0x0f;
  return {
    at,
    src: udp.src,
    dst: udp.dst,
    pt,
    marker: (rtp[1]! & 0x80) !== 0,
    seq: rtp.readUInt16BE(2),
    ssrc: rtp.readUInt32BE(8),
    payload: Buffer.from(rtp.subarray(12 + 4 * cc)),
  };
}

export class RtpTap {
  /** Every RTP packet sent to one of the tapped ports, in capture order. */
  readonly packets: RtpPacket[];

  private constructor(private readonly cap: TcpdumpCapture<RtpPacket>, readonly ports: readonly number[]) {
    this.packets = cap.packets;
  }

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
    const terms = [...ports.map((p) => `dst port ${p}`), ...hosts.map((h) => `host ${h}`), ...ranges.map(([a, b]) => `portrange ${a}-${b}`)];
    const cap = await TcpdumpCapture.start({
      iface: o.iface ?? process.env.RTP_CAPTURE_IF ?? 'lo',
      filter: `udp and (${terms.join(' or ')})`,
      parse: parseRtp,
      describe: (ps) => `${ps.length} RTP packets to ports ${ports.join(',')}`,
      timeoutMs: o.timeoutMs,
    });
    return new RtpTap(cap, ports);
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
    return this.cap.waitFor(probe, what, timeoutMs);
  }

  /** Stops tcpdump (what it had captured was delivered as it came: -U, immediate mode). */
  stop(): Promise<void> {
    return this.cap.stop();
  }
}
