/**
 * Fairness gate: bandwidth quota per caller. The offer's one-direction on-wire rate (see
 * lib/sdp/bandwidth.ts) plus the caller's other active calls must stay within the caller's limit
 * (registry limit, 3 Mbps by default). Over it, video gives way first: capped with b=AS when a
 * useful rate is left, otherwise the video streams are dropped; only when audio alone does not
 * fit is the call refused - 488 when it could never fit, 503 + Retry-After when it would fit
 * once the caller's other calls end. Session-level b=AS/CT/TIAS above what the call was charged
 * are lowered to it in the forwarded offer (docs/codecs.md, "Bandwidth lines"); malformed b= lines
 * never get here (the SDP readers refuse them: 400 from the codec gate).
 */
import { BAD_BANDWIDTH_REASON, scanSdp } from '../sdp/scan.js';
import { estimateSdp, largestBps } from '../sdp/bandwidth.js';
import { capBandwidth, clampSessionBandwidth, dropMedia } from '../sdp/edit.js';
import type { CallLedger } from '../state/types.js';
import { hasSdp } from './codec-gate.js';
import { admit, reject, type ChainState, type Decision, type Gate, type PolicyRequest } from './types.js';

export interface FairnessConfig {
  defaultLimitBps?: number;
  /** Smallest video rate worth keeping; below it video is dropped instead of capped. */
  minVideoBps?: number;
  retryAfterSec?: number;
  warnAgent?: string;
}

const warning = (agent: string, text: string): { Warning: string } => ({ Warning: `370 ${agent} "${text}"` });

export class FairnessGate implements Gate {
  readonly name = 'fairness';
  readonly methods: readonly string[] = ['INVITE'];
  constructor(
    private readonly ledger: CallLedger,
    private readonly cfg: FairnessConfig = {},
  ) {}

  async decide(req: PolicyRequest, state: ChainState): Promise<Decision> {
    let sdp = state.offer;
    if (!sdp) {
      const text = state.mutations.sdp ?? (hasSdp(req) ? req.body : '');
      if (!text) return admit('no-offer');
      const parsed = scanSdp(text);
      if (!parsed.ok) return reject(400, 'Bad Request', parsed.reason === BAD_BANDWIDTH_REASON ? 'malformed-bandwidth' : 'malformed-sdp');
      sdp = parsed.offer;
    }
    const owner = state.entry?.id ?? `src:${req.source.address}`;
    const limit = state.entry?.limits.maxBandwidthBps ?? this.cfg.defaultLimitBps ?? 3_000_000;
    const usage = await this.ledger.usage(owner, req.callId);
    const budget = limit - usage.bps;
    const est = estimateSdp(sdp);
    const agent = this.cfg.warnAgent ?? 'council-gw';

    let note = 'ok';
    let bps = est.totalBps;
    if (bps > budget) {
      const audioBps = est.media.filter((m) => m.kind === 'audio').reduce((a, m) => a + m.bps, 0);
      if (audioBps > budget) {
        if (audioBps > limit) return reject(488, 'Not Acceptable Here', 'bandwidth-exceeds-limit', warning(agent, 'Insufficient bandwidth'));
        return reject(503, 'Service Unavailable', 'bandwidth-quota', {
          'Retry-After': String(this.cfg.retryAfterSec ?? 60),
          ...warning(agent, 'Bandwidth quota in use by other calls'),
        });
      }
      const video = est.media.filter((m) => m.kind === 'video').map((m) => m.index);
      const perVideo = Math.floor((budget - audioBps) / Math.max(1, video.length));
      const text = state.mutations.sdp ?? req.body;
      if (video.length > 0 && perVideo >= (this.cfg.minVideoBps ?? 256_000)) {
        // b=AS is in kbps and includes IP/UDP/RTP headers; a TIAS line would contradict it.
        state.mutations.sdp = capBandwidth(text, video, perVideo / 1000);
        note = 'video-capped';
        bps = audioBps + Math.floor(perVideo / 1000) * 1000 * video.length;
      } else {
        // Every video m-line goes (also port-0 ones the estimate skipped).
        const allVideo = sdp.media.map((m, i) => (m.type === 'video' ? i : -1)).filter((i) => i >= 0);
        state.mutations.sdp = dropMedia(text, allVideo);
        note = 'video-dropped';
        bps = audioBps;
      }
      const again = scanSdp(state.mutations.sdp);
      state.offer = again.ok ? again.offer : undefined;
    }
    const r = await this.ledger.trySetBandwidth(owner, req.callId, bps, limit);
    if (!r.ok) {
      return reject(503, 'Service Unavailable', 'bandwidth-quota', { 'Retry-After': String(this.cfg.retryAfterSec ?? 60), ...warning(agent, 'Bandwidth quota in use by other calls') });
    }
    state.reserved = true;
    const session = sdp.bandwidth;
    if (session && Math.max(largestBps(session, 'AS'), largestBps(session, 'CT'), largestBps(session, 'TIAS')) > bps) {
      state.mutations.sdp = clampSessionBandwidth(state.mutations.sdp ?? req.body, bps);
      note = note === 'ok' ? 'session-bandwidth-clamped' : `${note};session-bandwidth-clamped`;
    }
    return admit(note);
  }
}
