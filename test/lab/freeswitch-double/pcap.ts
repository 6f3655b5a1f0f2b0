/**
 * Writes a small libpcap file of G.711 (default PCMA) RTP (Ethernet/IPv4/UDP, 20 ms packets of a 1 kHz tone) for
 * SIPp's play_pcap_audio, so tests need no recorded media file.
 */
import { writeFileSync } from 'node:fs';
import { encodeG711, STATIC_PT, type G711 } from './rtp.js';

export interface PcmaPcapOptions {
  packets: number;
  /** Packet interval (ms); 8 samples per ms. */
  ptimeMs?: number;
  /** Default PCMA. */
  codec?: G711;
}

export function writePcmaPcap(path: string, o: PcmaPcapOptions): void {
  const ptime = o.ptimeMs ?? 20;
  const samples = ptime * 8;
  const codec = o.codec ?? 'PCMA';
  const chunks: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20); // DLT_EN10MB
  chunks.push(global);
  let phase = 0;
  for (let i = 0; i < o.packets; i++) {
    const payload = Buffer.alloc(samples);
    for (let s = 0; s < samples; s++) {
      payload[s] = encodeG711(codec, Math.round(6000 * Math.sin(phase)));
      phase += (2 * Math.PI * 1000) / 8000;
    }
    const rtp = Buffer.alloc(12);
    rtp[0] = 0x80;
    rtp[1] = (i === 0 ? 0x80 : 0) | STATIC_PT[codec];
    rtp.writeUInt16BE(i & 0xffff, 2);
    rtp.writeUInt32BE((i * samples) >>> 0, 4);
    rtp.writeUInt32BE(0x0dd0b1e5, 8);
    const udpLen = 8 + 12 + samples;
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(40000, 0);
    udp.writeUInt16BE(30000, 2);
    udp.writeUInt16BE(udpLen, 4);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + udpLen, 2);
    ip[8] = 64;
    ip[9] = 17;
    ip.set([127, 0, 0, 1], 12);
    ip.set([127, 0, 0, 1], 16);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += ip.readUInt16BE(k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const frame = Buffer.concat([eth, ip, udp, rtp, payload]);
    const rec = Buffer.alloc(16);
    const usec = i * ptime * 1000;
    rec.writeUInt32LE(Math.floor(usec / 1e6), 0);
    rec.writeUInt32LE(usec % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    chunks.push(rec, frame);
  }
  writeFileSync(path, Buffer.concat(chunks));
}
