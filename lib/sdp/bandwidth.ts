/**
 * Bandwidth estimate of an offer, one direction, on the wire. Per m-line, in order of trust:
 * b=TIAS (payload only; headers added from the packet rate), b=AS (kbps, taken to include
 * headers as RFC 4566 describes), else the catalogue rate of the first (preferred) codec.
 */
import { codecByName, codecByStaticPt, packetsPerSecond, wireBps, IPV4_UDP_RTP_BYTES, type CodecInfo, type MediaKind } from './catalogue.js';

export interface MediaEstimate {
  index: number;
  kind: MediaKind;
  codec: string;
  bps: number;
  source: 'TIAS' | 'AS' | 'catalogue' | 'default';
}

export interface SdpEstimate {
  totalBps: number;
  media: MediaEstimate[];
}

/**
 * The fields of a media section the estimate reads; both scanSdp's offer and sdp-transform's
 * structure (parseSdp) provide them.
 */
export interface EstimableMedia {
  type: string;
  port: number;
  payloads?: string | number;
  rtp?: ReadonlyArray<{ payload: number | string; codec: string | number }>;
  bandwidth?: ReadonlyArray<{ type: string; limit: number | string }>;
  ptime?: number;
}

/** Unknown codecs are charged generously so they cannot be used to dodge the quota. */
const UNKNOWN_AUDIO_BPS = 100_000;
const UNKNOWN_VIDEO_BPS = 2_500_000;

export function mediaCodecs(m: EstimableMedia): CodecInfo[] {
  const out: CodecInfo[] = [];
  for (const pt of String(m.payloads ?? '').split(' ')) {
    const n = Number(pt);
    const rtp = m.rtp?.find((r) => r.payload === n);
    const c = rtp ? codecByName(String(rtp.codec)) : codecByStaticPt(n);
    if (c) out.push(c);
  }
  return out;
}

export function estimateMedia(m: EstimableMedia, index: number): MediaEstimate | undefined {
  if (m.type !== 'audio' && m.type !== 'video') return undefined;
  if (m.port === 0) return undefined;
  const kind: MediaKind = m.type;
  const first = mediaCodecs(m).find((c) => !c.event);
  const tias = m.bandwidth?.find((b) => b.type === 'TIAS');
  const as = m.bandwidth?.find((b) => b.type === 'AS');
  const codec = first?.name ?? 'unknown';
  if (tias && Number(tias.limit) > 0) {
    const payload = Number(tias.limit);
    const pps = first ? packetsPerSecond(first, { bitrateBps: payload, ptimeMs: m.ptime }) : Math.ceil(payload / 8 / 1200);
    return { index, kind, codec, bps: Math.round(payload + pps * IPV4_UDP_RTP_BYTES * 8), source: 'TIAS' };
  }
  if (as && Number(as.limit) > 0) return { index, kind, codec, bps: Number(as.limit) * 1000, source: 'AS' };
  if (first) return { index, kind, codec, bps: wireBps(first, { ptimeMs: m.ptime }), source: 'catalogue' };
  return { index, kind, codec, bps: kind === 'audio' ? UNKNOWN_AUDIO_BPS : UNKNOWN_VIDEO_BPS, source: 'default' };
}

export function estimateSdp(s: { media?: readonly EstimableMedia[] }): SdpEstimate {
  const media: MediaEstimate[] = [];
  (s.media ?? []).forEach((m, i) => {
    const e = estimateMedia(m, i);
    if (e) media.push(e);
  });
  return { totalBps: media.reduce((a, m) => a + m.bps, 0), media };
}
