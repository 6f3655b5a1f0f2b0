/**
 * A minimal pcap writer for one TCP conversation (Ethernet/IPv4/TCP with a three-way handshake,
 * real sequence/acknowledgement numbers and checksums), so tshark's TCP analysis and reassembly
 * see a well-formed stream and any complaint it raises is about our payload.
 */

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

interface Packet {
  readonly tsMicros: number;
  readonly data: Buffer;
}

function ipBytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map((p) => Number(p)));
}

function checksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2 === 1) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;

export class TcpPcap {
  private readonly packets: Packet[] = [];
  private clientSeq = 1000;
  private serverSeq = 5000;
  private ts = 1_700_000_000_000_000;

  constructor(
    private readonly client: Endpoint,
    private readonly server: Endpoint,
  ) {
    this.segment(true, SYN, Buffer.alloc(0), 0);
    this.clientSeq += 1;
    this.segment(false, SYN | ACK, Buffer.alloc(0));
    this.serverSeq += 1;
    this.segment(true, ACK, Buffer.alloc(0));
  }

  /** One TCP segment carrying `payload` from client (true) or server (false). */
  send(fromClient: boolean, payload: Uint8Array): void {
    this.segment(fromClient, PSH | ACK, Buffer.from(payload));
    if (fromClient) this.clientSeq = (this.clientSeq + payload.length) >>> 0;
    else this.serverSeq = (this.serverSeq + payload.length) >>> 0;
  }

  /** FIN from both sides, so the conversation is complete. */
  finish(): Buffer {
    this.segment(true, FIN | ACK, Buffer.alloc(0));
    this.clientSeq += 1;
    this.segment(false, FIN | ACK, Buffer.alloc(0));
    this.serverSeq += 1;
    this.segment(true, ACK, Buffer.alloc(0));
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeInt32LE(0, 8);
    header.writeUInt32LE(0, 12);
    header.writeUInt32LE(262144, 16);
    header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    const recs = this.packets.map((p) => {
      const h = Buffer.alloc(16);
      h.writeUInt32LE(Math.floor(p.tsMicros / 1e6), 0);
      h.writeUInt32LE(p.tsMicros % 1e6, 4);
      h.writeUInt32LE(p.data.length, 8);
      h.writeUInt32LE(p.data.length, 12);
      return Buffer.concat([h, p.data]);
    });
    return Buffer.concat([header, ...recs]);
  }

  private segment(fromClient: boolean, flags: number, payload: Buffer, ackOverride?: number): void {
    const src = fromClient ? this.client : this.server;
    const dst = fromClient ? this.server : this.client;
    const seq = fromClient ? this.clientSeq : this.serverSeq;
    const ack = ackOverride ?? (fromClient ? this.serverSeq : this.clientSeq);
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(src.port, 0);
    tcp.writeUInt16BE(dst.port, 2);
    tcp.writeUInt32BE(seq >>> 0, 4);
    tcp.writeUInt32BE(flags & ACK ? ack >>> 0 : 0, 8);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp.writeUInt16BE(65535, 14);
    const pseudo = Buffer.alloc(12);
    ipBytes(src.ip).copy(pseudo, 0);
    ipBytes(dst.ip).copy(pseudo, 4);
    pseudo[9] = 6;
    pseudo.writeUInt16BE(20 + payload.length, 10);
    tcp.writeUInt16BE(checksum(Buffer.concat([pseudo, tcp, payload])), 16);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 20 + payload.length, 2);
    ip.writeUInt16BE(this.packets.length & 0xffff, 4);
    ip.writeUInt16BE(0x4000, 6);
    ip[8] = 64;
    ip[9] = 6;
    ipBytes(src.ip).copy(ip, 12);
    ipBytes(dst.ip).copy(ip, 16);
    ip.writeUInt16BE(checksum(ip), 10);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    this.ts += 1000;
    this.packets.push({ tsMicros: this.ts, data: Buffer.concat([eth, ip, tcp, payload]) });
  }
}
