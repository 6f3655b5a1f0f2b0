/**
 * Writes a small libpcap file of G.711 (default PCMA) RTP (Ethernet/IPv4/UDP, 20 ms packets of a 1 kHz tone) for
 * SIPp's play_pcap_audio, so tests need no recorded media file.
 */
import { writeRtpPcap, type RtpPcapPacket } from '../../support/pcap-write.js';
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
  const packets: RtpPcapPacket[] = [];
  let phase = 0;
  for (let i = 0; i < o.packets; i++) {
    const payload = Buffer.alloc(samples);
    for (let s = 0; s < samples; s++) {
      payload[s] = encodeG711(codec, Math.round(6000 * Math.sin(phase)));
      phase += (2 * Math.PI * 1000) / 8000;
    }
    packets.push({ pt: STATIC_PT[codec], marker: i === 0, seq: i, ts: i * samples, ssrc: 0x0dd0b1e5, payload, atUs: i * ptime * 1000 });
  }
  writeRtpPcap(path, packets);
}
