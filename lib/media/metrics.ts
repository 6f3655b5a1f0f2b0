/**
 * Media metrics on a prom-client registry (the process registry by default). Call-quality
 * histograms are only ever observed from figures FreeSWITCH reported (see quality.ts).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { metricsRegistry } from '../metrics/registry.js';

export type LegType = 'sip' | 'h323' | 'conference' | 'unknown';

export interface MediaMetrics {
  readonly serverUp: Gauge<string>;
  readonly reconnects: Counter<string>;
  readonly unavailable: Counter<string>;
  readonly jitterMs: Histogram<'leg'>;
  readonly mos: Histogram<'leg'>;
  readonly lossRatio: Histogram<'leg'>;
  readonly rtcpJitterMs: Histogram<'leg'>;
  readonly rtcpFractionLost: Histogram<'leg'>;
}

const cache = new WeakMap<Registry, MediaMetrics>();

/** One set of media metrics per registry (registering twice would throw). */
export function mediaMetrics(registry: Registry = metricsRegistry()): MediaMetrics {
  const hit = cache.get(registry);
  if (hit) return hit;
  const registers = [registry];
  const m: MediaMetrics = {
    serverUp: new Gauge({ name: 'gw_media_server_up', help: '1 while the FreeSWITCH event socket is connected', registers }),
    reconnects: new Counter({ name: 'gw_media_reconnects_total', help: 'FreeSWITCH event socket reconnections after a loss', registers }),
    unavailable: new Counter({ name: 'gw_media_unavailable_total', help: 'Media requests refused at once because FreeSWITCH was not connected', registers }),
    jitterMs: new Histogram({
      name: 'gw_media_rtp_jitter_ms', help: 'Inbound RTP jitter (max variance, ms) reported by FreeSWITCH at hangup', labelNames: ['leg'],
      buckets: [1, 2, 5, 10, 20, 30, 50, 80, 120, 200, 400], registers,
    }),
    mos: new Histogram({
      name: 'gw_media_rtp_mos', help: 'Inbound MOS reported by FreeSWITCH at hangup', labelNames: ['leg'],
      buckets: [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.2, 4.4, 4.5], registers,
    }),
    lossRatio: new Histogram({
      name: 'gw_media_rtp_loss_ratio', help: 'Inbound RTP packet loss ratio reported by FreeSWITCH at hangup', labelNames: ['leg'],
      buckets: [0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5], registers,
    }),
    rtcpJitterMs: new Histogram({
      name: 'gw_media_rtcp_jitter_ms', help: 'Interarrival jitter (ms) from RTCP reports FreeSWITCH received', labelNames: ['leg'],
      buckets: [1, 2, 5, 10, 20, 30, 50, 80, 120, 200, 400], registers,
    }),
    rtcpFractionLost: new Histogram({
      name: 'gw_media_rtcp_fraction_lost', help: 'Fraction lost (0..1) from RTCP reports FreeSWITCH received', labelNames: ['leg'],
      buckets: [0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5], registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
