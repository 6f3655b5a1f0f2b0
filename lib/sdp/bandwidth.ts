/**
 * Bandwidth estimate of an offer, one direction, on the wire. Per m-line: b=TIAS (payload only;
 * headers added from the packet rate) and b=AS (kbps, taken to include headers as RFC 4566
 * describes), the larger of the two when both are given (a peer that knows only AS sends at
 * AS); without a usable one, the catalogue rate of the first (preferred) codec.
 *
 * The rules for odd values (docs/codecs.md, "Bandwidth lines"): the form `b=<type>:<digits>` is
 * checked by the SDP readers (scanSdp/parseSdp refuse anything else, so a negative or
 * non-numeric value never gets here as a number); a value above MAX_BANDWIDTH_BPS is clamped to
 * it, so the arithmetic stays finite and the quota sees "more than any limit"; zero never lowers
 * the charge (the stream is charged as if the line were absent); of repeated lines of one type the
 * largest counts.
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

/**
 * Ceiling of a bandwidth value, bits/s (1 Tbps): any b= above it is read as this. Exact in a
 * double, far above any quota, and small enough that rate + header overhead stays finite.
 */
export const MAX_BANDWIDTH_BPS = 1_000_000_000_000;

/** Bits/s of one b= value of `type` (AS and CT are kbps, TIAS/RR/RS bps), clamped to [0, MAX_BANDWIDTH_BPS]. */
export function bandwidthBps(type: string, limit: number | string): number {
  const n = Number(limit);
  if (!(n > 0)) return 0; // 0, NaN (never from the readers, which check the form)
  const bps = type === 'AS' || type === 'CT' ? n * 1000 : n;
  return bps >= MAX_BANDWIDTH_BPS ? MAX_BANDWIDTH_BPS : Math.floor(bps);
}

/** Largest value (bits/s, clamped) among the lines of one type; 0 when there is none or all are 0. */
export function largestBps(lines: ReadonlyArray<{ type: string; limit: number | string }> | undefined, type: string): number {
  let best = 0;
  for (const b of lines ?? []) if (b.type === type) best = Math.max(best, bandwidthBps(type, b.limit));
  return best;
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
  const codec = first?.name ?? 'unknown';
  // a=ptime without a usable number ("a=ptime:", "a=ptime:1.2.3") counts as absent. Number():
  // sdp-transform hands over the text when it is not canonical (".20").
  const pt = m.ptime === undefined ? NaN : Number(m.ptime);
  const ptimeMs = Number.isFinite(pt) && pt > 0 ? pt : undefined;
  const payload = largestBps(m.bandwidth, 'TIAS');
  const asBps = largestBps(m.bandwidth, 'AS');
  let tiasBps = 0;
  if (payload > 0) {
    const pps = first ? packetsPerSecond(first, { bitrateBps: payload, ptimeMs }) : Math.ceil(payload / 8 / 1200);
    tiasBps = Math.round(payload + pps * IPV4_UDP_RTP_BYTES * 8);
  }
  if (tiasBps > 0 && tiasBps >= asBps) return { index, kind, codec, bps: tiasBps, source: 'TIAS' };
  if (asBps > 0) return { index, kind, codec, bps: asBps, source: 'AS' };
  if (first) return { index, kind, codec, bps: wireBps(first, { ptimeMs }), source: 'catalogue' };
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
