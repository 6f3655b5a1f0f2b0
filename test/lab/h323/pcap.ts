/** Minimal pcap writer (LINKTYPE_RAW IPv4/UDP) so tshark can read packets we encoded. */
export interface UdpFrame {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  payload: Uint8Array;
}

function ip(a: string): number[] {
  return a.split('.').map(Number);
}

export function pcapOf(frames: readonly UdpFrame[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(101, 20); // LINKTYPE_RAW
  const parts: Buffer[] = [header];
  frames.forEach((f, i) => {
    const udpLen = 8 + f.payload.length;
    const total = 20 + udpLen;
    const pkt = Buffer.alloc(total);
    pkt[0] = 0x45;
    pkt.writeUInt16BE(total, 2);
    pkt[8] = 64;
    pkt[9] = 17;
    Buffer.from(ip(f.src)).copy(pkt, 12);
    Buffer.from(ip(f.dst)).copy(pkt, 16);
    let sum = 0;
    for (let o = 0; o < 20; o += 2) sum += pkt.readUInt16BE(o);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    pkt.writeUInt16BE(~sum & 0xffff, 10);
    pkt.writeUInt16BE(f.srcPort, 20);
    pkt.writeUInt16BE(f.dstPort, 22);
    pkt.writeUInt16BE(udpLen, 24);
    Buffer.from(f.payload).copy(pkt, 28);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1800000000 + i, 0);
    rec.writeUInt32LE(total, 8);
    rec.writeUInt32LE(total, 12);
    parts.push(rec, pkt);
  });
  return Buffer.concat(parts);
}
