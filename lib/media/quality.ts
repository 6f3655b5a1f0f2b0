/**
 * Call quality as FreeSWITCH reports it: the rtp_audio_in_* channel variables of
 * CHANNEL_HANGUP_COMPLETE and RECV_RTCP_MESSAGE events. Nothing is estimated here: a figure
 * FreeSWITCH did not send is absent, and absent figures record no sample.
 */
import type { MediaMetrics, LegType } from './metrics.js';

/** Header lookup of one ESL event (EslEvent#getHeader). */
export type HeaderLookup = (name: string) => string | null | undefined;

export interface HangupQuality {
  uuid?: string;
  /** rtp_audio_in_jitter_max_variance (ms). */
  jitterMaxMs?: number;
  /** rtp_audio_in_jitter_min_variance (ms). */
  jitterMinMs?: number;
  /** rtp_audio_in_mos. */
  mos?: number;
  /**
   * flaw_total / (media_packet_count + flaw_total): FreeSWITCH counts sequence gaps as flaws.
   * (skip_packet_count is not loss: the recording shows 14 skips with no packet lost.)
   */
  lossRatio?: number;
}

export interface RtcpReport {
  uuid?: string;
  /** Interarrival jitter in ms (RTCP timestamp units / clock rate). */
  jitterMs?: number;
  /** 0..1 */
  fractionLost?: number;
}

function num(v: string | null | undefined): number | undefined {
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

const v = (get: HeaderLookup, name: string): number | undefined => num(get(`variable_${name}`));

/** The RTP statistics of a CHANNEL_HANGUP_COMPLETE event, or undefined when it carries none. */
export function parseHangupQuality(get: HeaderLookup): HangupQuality | undefined {
  const q: HangupQuality = {};
  const uuid = get('Unique-ID') ?? undefined;
  const jmax = v(get, 'rtp_audio_in_jitter_max_variance');
  const jmin = v(get, 'rtp_audio_in_jitter_min_variance');
  const mos = v(get, 'rtp_audio_in_mos');
  const media = v(get, 'rtp_audio_in_media_packet_count');
  const flaws = v(get, 'rtp_audio_in_flaw_total');
  if (jmax !== undefined) q.jitterMaxMs = jmax;
  if (jmin !== undefined) q.jitterMinMs = jmin;
  // FreeSWITCH reports MOS 0 (and no jitter) for a leg that received no media: not a score.
  if (mos !== undefined && mos > 0) q.mos = mos;
  if (media !== undefined && flaws !== undefined && media + flaws > 0) q.lossRatio = flaws / (media + flaws);
  if (q.jitterMaxMs === undefined && q.jitterMinMs === undefined && q.mos === undefined && q.lossRatio === undefined) return undefined;
  if (uuid) q.uuid = uuid;
  return q;
}

/**
 * RECV_RTCP_MESSAGE: one report per source block (Source<N>-Jitter in timestamp units,
 * Source<N>-Fraction in 1/256). Empty when the event has no report blocks.
 */
export function parseRtcpReports(get: HeaderLookup, clockRate = 8000): RtcpReport[] {
  const count = num(get('Source-Count')) ?? 0;
  const uuid = get('Unique-ID') ?? undefined;
  const out: RtcpReport[] = [];
  for (let i = 0; i < Math.min(count, 31); i++) {
    const r: RtcpReport = {};
    const j = num(get(`Source${i}-Jitter`));
    const f = num(get(`Source${i}-Fraction`));
    if (j !== undefined) r.jitterMs = (j / clockRate) * 1000;
    if (f !== undefined) r.fractionLost = f / 256;
    if (r.jitterMs === undefined && r.fractionLost === undefined) continue;
    if (uuid) r.uuid = uuid;
    out.push(r);
  }
  return out;
}

export function recordHangupQuality(m: MediaMetrics, leg: LegType, q: HangupQuality): void {
  if (q.jitterMaxMs !== undefined) m.jitterMs.observe({ leg }, q.jitterMaxMs);
  if (q.mos !== undefined) m.mos.observe({ leg }, q.mos);
  if (q.lossRatio !== undefined) m.lossRatio.observe({ leg }, q.lossRatio);
}

export function recordRtcp(m: MediaMetrics, leg: LegType, r: RtcpReport): void {
  if (r.jitterMs !== undefined) m.rtcpJitterMs.observe({ leg }, r.jitterMs);
  if (r.fractionLost !== undefined) m.rtcpFractionLost.observe({ leg }, r.fractionLost);
}
