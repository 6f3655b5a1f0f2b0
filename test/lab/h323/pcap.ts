import { LINKTYPE_RAW, udpPcap } from '../../support/pcap-write.js';

/** One UDP datagram we encoded, for tshark to read from a pcap (pcapOf). */
export interface UdpFrame {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  payload: Uint8Array;
}

/** A LINKTYPE_RAW IPv4/UDP pcap of `frames`, one a second (test/support/pcap-write.ts). */
export function pcapOf(frames: readonly UdpFrame[]): Buffer {
  return udpPcap(LINKTYPE_RAW, frames.map((f, i) => ({ ...f, atUs: (1800000000 + i) * 1e6 })));
}
