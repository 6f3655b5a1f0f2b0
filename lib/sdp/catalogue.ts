/**
 * Codec catalogue: nominal payload bitrate, packetisation and a quality score, plus the on-wire
 * overhead model. Figures are nominal (RFC/ITU payload rates; video at a typical 720p30 rate), and
 * quality is a 1..5 MOS-like score used only to rank codecs against each other.
 */

export type MediaKind = 'audio' | 'video';

export interface CodecInfo {
  /** Encoding name as in a=rtpmap (compared case-insensitively). */
  name: string;
  kind: MediaKind;
  clockRate: number;
  /** RFC 3551 static payload type, when there is one. */
  staticPt?: number;
  /** Payload bitrate, bits/s (video: nominal at 720p30). */
  bitrateBps: number;
  /** Audio packetisation, ms. */
  ptimeMs?: number;
  /** 1..5, relative ranking only. */
  quality: number;
  /** Carries events, not media (telephone-event): needs a real codec beside it. */
  event?: boolean;
}

/** IPv4 (20) + UDP (8) + RTP (12) header bytes per packet. IPv6 adds 20. */
export const IPV4_UDP_RTP_BYTES = 40;
export const IPV6_UDP_RTP_BYTES = 60;
/** Video RTP payload per packet we assume (fits a 1500-byte MTU with SRTP/extension headroom). */
export const VIDEO_PAYLOAD_BYTES = 1200;

export const CATALOGUE: readonly CodecInfo[] = [
  { name: 'PCMU', kind: 'audio', clockRate: 8000, staticPt: 0, bitrateBps: 64_000, ptimeMs: 20, quality: 4.1 },
  { name: 'PCMA', kind: 'audio', clockRate: 8000, staticPt: 8, bitrateBps: 64_000, ptimeMs: 20, quality: 4.1 },
  { name: 'G729', kind: 'audio', clockRate: 8000, staticPt: 18, bitrateBps: 8_000, ptimeMs: 20, quality: 3.9 },
  { name: 'opus', kind: 'audio', clockRate: 48000, bitrateBps: 32_000, ptimeMs: 20, quality: 4.5 },
  { name: 'G722', kind: 'audio', clockRate: 8000, staticPt: 9, bitrateBps: 64_000, ptimeMs: 20, quality: 4.3 },
  { name: 'GSM', kind: 'audio', clockRate: 8000, staticPt: 3, bitrateBps: 13_200, ptimeMs: 20, quality: 3.5 },
  { name: 'iLBC', kind: 'audio', clockRate: 8000, bitrateBps: 13_330, ptimeMs: 30, quality: 3.8 },
  { name: 'telephone-event', kind: 'audio', clockRate: 8000, bitrateBps: 0, ptimeMs: 20, quality: 0, event: true },
  { name: 'VP8', kind: 'video', clockRate: 90000, bitrateBps: 1_800_000, quality: 4.0 },
  { name: 'H264', kind: 'video', clockRate: 90000, bitrateBps: 1_500_000, quality: 4.1 },
  { name: 'VP9', kind: 'video', clockRate: 90000, bitrateBps: 1_200_000, quality: 4.3 },
  { name: 'H263', kind: 'video', clockRate: 90000, staticPt: 34, bitrateBps: 2_000_000, quality: 3.2 },
];

const byName = new Map(CATALOGUE.map((c) => [c.name.toLowerCase(), c]));
const byStatic = new Map(CATALOGUE.filter((c) => c.staticPt !== undefined).map((c) => [c.staticPt!, c]));

export function codecByName(name: string): CodecInfo | undefined {
  // String(): parsed SDP may hand over a number where a codec name was expected.
  return byName.get(String(name).toLowerCase());
}

/** Static payload types of RFC 3551 we know by number (those usable without a=rtpmap). */
export function codecByStaticPt(pt: number): CodecInfo | undefined {
  return byStatic.get(pt);
}

export interface WireOptions {
  ipv6?: boolean;
  /** Override the payload bitrate (e.g. from b=TIAS or a chosen video rate). */
  bitrateBps?: number;
  ptimeMs?: number;
}

/** Packets per second the codec sends. */
export function packetsPerSecond(c: CodecInfo, opts: WireOptions = {}): number {
  const rate = opts.bitrateBps ?? c.bitrateBps;
  if (c.kind === 'audio') return c.event ? 0 : 1000 / (opts.ptimeMs ?? c.ptimeMs ?? 20);
  return Math.ceil(rate / 8 / VIDEO_PAYLOAD_BYTES);
}

/** One-direction on-wire bitrate: payload plus IP/UDP/RTP headers per packet. */
export function wireBps(c: CodecInfo, opts: WireOptions = {}): number {
  if (c.event) return 0;
  const rate = opts.bitrateBps ?? c.bitrateBps;
  const overhead = opts.ipv6 ? IPV6_UDP_RTP_BYTES : IPV4_UDP_RTP_BYTES;
  return Math.round(rate + packetsPerSecond(c, opts) * overhead * 8);
}

/**
 * Quality per on-wire Mbps (higher is better). Used as the tie-breaker between codecs of equal
 * quality and as the headline "efficiency" figure in the analyser.
 */
export function efficiency(c: CodecInfo, opts: WireOptions = {}): number {
  const w = wireBps(c, opts);
  return w > 0 ? c.quality / (w / 1e6) : 0;
}
