/**
 * Minimal libpcap file writer for IPv4/UDP datagrams (classic format, microsecond timestamps),
 * Ethernet or raw-IP framed: media files for SIPp's play_pcap_audio (writeRtpPcap) and packets we
 * encoded for tshark to dissect (test/lab/h323/pcap.ts).
 */
import { writeFileSync } from 'node:fs';

/** DLT_EN10MB: an Ethernet header (zero MACs, EtherType IPv4) before each IPv4 packet. */
export const LINKTYPE_ETHERNET = 1;
/** LINKTYPE_RAW: the IPv4 packet alone. */
export const LINKTYPE_RAW = 101;

export interface PcapUdpDatagram {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  payload: Uint8Array;
  /** Capture time, microseconds since the epoch. */
  atUs: number;
}

function ipv4Udp(d: PcapUdpDatagram): Buffer {
  const udpLen = 8 + d.payload.length;
  const total = 20 + udpLen;
  const pkt = Buffer.alloc(total);
  pkt[0] = 0x45;
  pkt.writeUInt16BE(total, 2);
  pkt[8] = 64;
  pkt[9] = 17;
  pkt.set(d.src.split('.').map(Number), 12);
  pkt.set(d.dst.split('.').map(Number), 16);
  let sum = 0;
  for (let o = 0; o < 20; o += 2) sum += pkt.readUInt16BE(o);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  pkt.writeUInt16BE(~sum & 0xffff, 10);
  pkt.writeUInt16BE(d.srcPort, 20);
  pkt.writeUInt16BE(d.dstPort, 22);
  pkt.writeUInt16BE(udpLen, 24);
  pkt.set(d.payload, 28);
  return pkt;
}

/** A pcap file of `datagrams`, one record each, framed for `linkType`. */
export function udpPcap(linkType: typeof LINKTYPE_ETHERNET | typeof LINKTYPE_RAW, datagrams: Iterable<PcapUdpDatagram>): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [header];
  for (const d of datagrams) {
    let frame = ipv4Udp(d);
    if (linkType === LINKTYPE_ETHERNET) {
      const eth = Buffer.alloc(14);
      eth.writeUInt16BE(0x0800, 12);
      frame = Buffer.concat([eth, frame]);
    }
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(d.atUs / 1e6), 0);
    rec.writeUInt32LE(d.atUs % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  }
  return Buffer.concat(parts);
}

export interface RtpPcapPacket {
  pt: number;
  marker: boolean;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Uint8Array;
  /** Send time, microseconds from the start of the file. */
  atUs: number;
}

/**
 * Writes RTP packets (12-byte header, no CSRCs) as an Ethernet pcap file for SIPp's
 * play_pcap_audio, which rewrites addresses and ports (written as 127.0.0.1:40000 ->
 * 127.0.0.1:30000) and keeps payload types and timing.
 */
export function writeRtpPcap(path: string, packets: Iterable<RtpPcapPacket>): void {
  const datagrams = function* (): Generator<PcapUdpDatagram> {
    for (const p of packets) {
      const rtp = Buffer.alloc(12 + p.payload.length);
      rtp[0] = 0x80;
      rtp[1] = (p.marker ? 0x80 : 0) | p.pt;
      rtp.writeUInt16BE(p.seq & 0xffff, 2);
      rtp.writeUInt32BE(p.ts >>> 0, 4);
      rtp.writeUInt32BE(p.ssrc >>> 0, 8);
      rtp.set(p.payload, 12);
      yield { src: '127.0.0.1', srcPort: 40000, dst: '127.0.0.1', dstPort: 30000, payload: rtp, atUs: p.atUs };
    }
  };
  writeFileSync(path, udpPcap(LINKTYPE_ETHERNET, datagrams()));
}
