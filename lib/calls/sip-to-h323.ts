/**
 * SIP -> H.323 (issue 6, item 2): one admitted INVITE becomes an H.225.0 call with FreeSWITCH in
 * the media path.
 *
 *   media session -> H.323-side FreeSWITCH endpoint (its RTP address goes into the fastStart OLCs)
 *   -> Setup (codecs = caller's offer x G.711/G.729) -> Alerting: 180 -> Connect: connectCaller
 *   (200 OK with FreeSWITCH's SDP) + bridge; the fastStart/OLC answer re-points the H.323 endpoint.
 *
 * Teardown: SIP BYE -> ReleaseComplete (16); ReleaseComplete -> BYE with Reason; CANCEL ->
 * ReleaseComplete (16) and 487; refusal -> RFC 3398 status + Reason; media server unavailable ->
 * 503 at once. The media session, H.323 call and SIP dialog are each released exactly once.
 */
import { relayDtmf } from './dtmf.js';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';
import type { MediaSession, H323Leg } from '../media/session.js';
import type { H323Codec } from '../media/sdp.js';
import type { SrfDialog, SrfRequest, SrfResponse } from '../../types/drachtio-srf.js';
import type { DialOptions } from '../h323/call/dialer.js';
import type { H323Call, MediaInfo, ReleaseInfo } from '../h323/call/call.js';
import type { AudioCodec } from '../h323/h245/messages.js';
import { q850Reason, q850ToSip } from './causes.js';

export type SipToH323Outcome =
  | 'answered' | 'refused' | 'no-answer' | 'unreachable' | 'cancelled' | 'media-unavailable' | 'codec-mismatch' | 'failed';

export interface SipToH323Metrics {
  calls: Counter<'outcome'>;
  setup: Histogram<string>;
}

const metricsByRegistry = new WeakMap<Registry, SipToH323Metrics>();

/** gw_sip_h323_calls_total{outcome}, gw_sip_h323_setup_seconds (INVITE -> 200), once per registry. */
export function sipToH323Metrics(registry: Registry): SipToH323Metrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      calls: new Counter({ name: 'gw_sip_h323_calls_total', help: 'SIP -> H.323 calls by set-up outcome', labelNames: ['outcome'], registers: [registry] }),
      setup: new Histogram({
        name: 'gw_sip_h323_setup_seconds', help: 'SIP -> H.323 set-up time, INVITE to 200 OK',
        buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

/** What the call needs from the media layer (MediaController satisfies it). */
export interface MediaSessionSource {
  session(): MediaSession;
}

export interface SipToH323Deps {
  readonly media: MediaSessionSource;
  /** lib/h323/call dial() (injectable for tests). */
  readonly dial: (o: DialOptions) => H323Call;
  readonly registry: Registry;
  readonly logger?: Logger;
  /** Setup -> first answer (T303 role); expiry is cause 102 -> 504. Default 10 s. */
  readonly setupTimeoutMs?: number;
  /** Setup -> Connect; expiry is cause 19 -> 480. Default 60 s. */
  readonly noAnswerMs?: number;
  /** Extra H.323 call options (registry, socket, h245Host...). */
  readonly callOptions?: Partial<DialOptions>;
}

export interface H323Target {
  readonly host: string;
  readonly port: number;
  readonly calledNumber: string;
  readonly callingNumber?: string;
}

export interface SipToH323Options {
  /** The caller's offer after the policy chain (forwardingFor(...)); default req.body. */
  readonly offerSdp?: string;
}

/** Codecs the H.323 side may be offered, by RTP encoding name. */
const H323_AUDIO: Readonly<Record<string, AudioCodec>> = { PCMA: 'PCMA', PCMU: 'PCMU', G729: 'G729' };
const STATIC_NAMES: Readonly<Record<string, string>> = { '0': 'PCMU', '8': 'PCMA', '18': 'G729' };

/** The caller's audio codecs (in its order) intersected with G.711/G.729. */
export function offeredH323Codecs(sdp: string): AudioCodec[] {
  const lines = sdp.split(/\r?\n/);
  const m = lines.find((l) => l.startsWith('m=audio '));
  if (!m) return [];
  const pts = m.trim().split(/\s+/).slice(3);
  const names = new Map<string, string>();
  for (const l of lines) {
    const r = /^a=rtpmap:(\d+)\s+([^/\s]+)/.exec(l.trim());
    if (r) names.set(r[1]!, r[2]!.toUpperCase());
  }
  const out: AudioCodec[] = [];
  for (const pt of pts) {
    const name = names.get(pt) ?? STATIC_NAMES[pt];
    const c = name ? H323_AUDIO[name] : undefined;
    if (c && !out.includes(c)) out.push(c);
  }
  return out;
}

type State = 'setup' | 'answering' | 'answered' | 'done';

/** One SIP -> H.323 call. `run()` resolves with the set-up outcome once set-up is decided. */
export class SipToH323Call {
  private state: State = 'setup';
  private session: MediaSession | undefined;
  private h323: H323Call | undefined;
  private leg: H323Leg | undefined;
  private mediaChain: Promise<void> = Promise.resolve();
  private codecs: AudioCodec[] = [];
  private outcome: SipToH323Outcome | undefined;
  private resolveOutcome!: (o: SipToH323Outcome) => void;
  private readonly outcomeP = new Promise<SipToH323Outcome>((r) => (this.resolveOutcome = r));
  private readonly started = process.hrtime.bigint();
  private readonly metrics: SipToH323Metrics;
  private releasedP: Promise<void> | undefined;
  private resolveEnded!: () => void;
  /** Resolves once every resource of the call is released. */
  readonly ended = new Promise<void>((r) => (this.resolveEnded = r));

  constructor(
    private readonly deps: SipToH323Deps,
    private readonly req: SrfRequest,
    private readonly res: SrfResponse,
    private readonly target: H323Target,
    private readonly opts: SipToH323Options = {},
  ) {
    this.metrics = sipToH323Metrics(deps.registry);
  }

  get h323Call(): H323Call | undefined {
    return this.h323;
  }

  run(): Promise<SipToH323Outcome> {
    void this.start().catch((e: unknown) => {
      this.deps.logger?.warn('sip->h323 set-up failed', { error: (e as Error).message });
      this.fail(503, 41, 'failed');
    });
    return this.outcomeP;
  }

  private async start(): Promise<void> {
    const codecs = offeredH323Codecs(this.opts.offerSdp ?? this.req.body ?? '');
    this.codecs = codecs;
    if (codecs.length === 0) {
      this.rejectCaller(488, 65, 'codec-mismatch');
      this.endNow();
      return;
    }
    let session: MediaSession;
    try {
      session = this.deps.media.session();
    } catch {
      this.rejectCaller(503, 41, 'media-unavailable');
      this.endNow();
      return;
    }
    this.session = session;
    session.once('released', (reason) => this.onSessionReleased(reason));
    this.req.on('cancel', () => this.onCancel());

    // The H.323 leg first: FreeSWITCH's RTP address goes into the fastStart OLCs. Until the far
    // end answers the OLCs, FreeSWITCH points at the discard port of the target.
    let leg: H323Leg;
    try {
      leg = await session.createEndpointFor({ host: this.target.host, port: 9, codec: codecs[0]! as H323Codec });
    } catch (e) {
      this.deps.logger?.warn('sip->h323: no media endpoint', { error: (e as Error).message });
      this.fail(503, 41, 'media-unavailable');
      return;
    }
    this.leg = leg;
    if (this.state !== 'setup') return; // cancelled meanwhile; release already running

    const call = this.deps.dial({
      ...this.deps.callOptions,
      host: this.target.host,
      port: this.target.port,
      codecs,
      media: { rtp: leg.local },
      fastStart: true,
      tunnel: true,
      setupTimeoutMs: this.deps.setupTimeoutMs ?? 10_000,
      noConnectMs: this.deps.noAnswerMs ?? 60_000,
      target: { calledNumber: this.target.calledNumber, ...(this.target.callingNumber ? { callingNumber: this.target.callingNumber } : {}) },
    });
    this.h323 = call;
    call.on('alerting', () => {
      if (this.state === 'setup' && !this.res.finalResponseSent) this.res.send(180);
    });
    call.on('media', (m) => this.onMedia(m));
    call.on('connected', () => void this.onConnected());
    call.once('released', (info) => this.onH323Released(info));
  }

  private onMedia(m: MediaInfo): void {
    const leg = this.leg;
    if (!leg || this.state === 'done') return;
    this.mediaChain = this.mediaChain
      .then(() => leg.updateRemote({ host: m.remoteRtp.host, port: m.remoteRtp.port, codec: m.codec as H323Codec }))
      .catch((e: unknown) => {
        this.deps.logger?.warn('sip->h323: re-pointing the H.323 leg failed', { error: (e as Error).message });
      });
  }

  private async onConnected(): Promise<void> {
    if (this.state !== 'setup' || !this.session || !this.leg) return;
    this.state = 'answering';
    try {
      // With a policy-filtered offer, FreeSWITCH answers the caller only with codecs that survived it.
      const caller = await this.session.connectCaller(this.req, this.res, this.opts.offerSdp !== undefined ? { codecs: this.codecs } : {});
      this.addReasonToBye(caller.dialog);
      if (this.state !== 'answering') return;
      this.state = 'answered';
      this.metrics.setup.observe(Number(process.hrtime.bigint() - this.started) / 1e9);
      this.settle('answered');
      await this.mediaChain;
      // Relay digits from before the bridge is in place, so none is lost in between.
      if (this.h323) relayDtmf(caller.endpoint, this.h323, this.deps.logger);
      await this.session.bridge(caller.endpoint, this.leg.endpoint);
    } catch (e) {
      this.deps.logger?.warn('sip->h323: answering the caller failed', { error: (e as Error).message });
      if (this.state === 'answering') this.fail(503, 41, 'failed');
      else this.teardown(41, 'bridge-failed');
    }
  }

  private onCancel(): void {
    if (this.state !== 'setup' && this.state !== 'answering') return;
    this.state = 'done';
    this.settle('cancelled');
    if (!this.res.finalResponseSent) {
      try {
        this.res.send(487);
      } catch {
        /* drachtio already answered the CANCELled INVITE */
      }
    }
    this.h323?.hangup(16);
    void this.releaseAll('sip-cancel');
  }

  private onH323Released(info: ReleaseInfo): void {
    this.deps.logger?.debug('sip->h323: H.323 side released', { cause: info.cause, by: info.by });
    if (this.state === 'done') return;
    if (this.state === 'answered') {
      this.state = 'done';
      this.byeCause = info.cause;
      void this.releaseAll('h323-release-complete');
      return;
    }
    // Before the caller was answered: a final error response with the mapped status.
    const status = info.cause === 16 ? 480 : q850ToSip(info.cause);
    const outcome: SipToH323Outcome = info.cause === 18 || info.cause === 19 || info.cause === 102 ? 'no-answer'
      : info.cause === 27 ? 'unreachable' : info.by === 'remote' ? 'refused' : 'failed';
    this.state = 'done';
    this.rejectCaller(status, info.cause, outcome);
    void this.releaseAll('h323-release-complete');
  }

  private onSessionReleased(reason: string): void {
    // The session went on its own (caller BYE, FreeSWITCH leg ended, ESL lost, shutdown), or we
    // released it (state 'done': the other side is already handled).
    if (this.state === 'done') {
      void this.releaseAll(reason);
      return;
    }
    const cause = reason === 'sip-hangup' ? 16 : 41;
    if (this.state === 'setup' || this.state === 'answering') {
      this.state = 'done';
      this.rejectCaller(503, 41, reason === 'media-server-lost' ? 'media-unavailable' : 'failed');
    }
    this.state = 'done';
    this.h323?.hangup(cause);
    void this.releaseAll(reason);
  }

  /** Q.850 cause of the BYE we send to the caller. */
  private byeCause = 41;

  /** End an answered call from our side (not the caller's BYE). */
  private teardown(cause: number, reason: string): void {
    this.state = 'done';
    this.h323?.hangup(cause);
    void this.releaseAll(reason);
  }

  private fail(status: number, cause: number, outcome: SipToH323Outcome): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.rejectCaller(status, cause, outcome);
    this.h323?.hangup(cause);
    void this.releaseAll(outcome);
  }

  private rejectCaller(status: number, cause: number, outcome: SipToH323Outcome): void {
    this.settle(outcome);
    if (this.res.finalResponseSent) return;
    try {
      this.res.send(status, { headers: { Reason: q850Reason(cause) } });
    } catch (e) {
      this.deps.logger?.debug('sip->h323: final response not sent', { error: (e as Error).message });
    }
  }

  private settle(outcome: SipToH323Outcome): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.metrics.calls.inc({ outcome });
    this.resolveOutcome(outcome);
  }

  private endNow(): void {
    this.state = 'done';
    this.releasedP = Promise.resolve();
    this.resolveEnded();
  }

  /** Release the media session (its endpoints, then the caller's dialog with our Reason). */
  private releaseAll(reason: string): Promise<void> {
    if (this.releasedP) return this.releasedP;
    this.releasedP = (this.session ? this.session.release(reason) : Promise.resolve())
      .catch(() => undefined)
      .then(() => this.resolveEnded());
    return this.releasedP;
  }

  /**
   * The media session BYEs the caller's dialog when it releases (whatever ended the call); make
   * that BYE carry `Reason: Q.850;cause=<byeCause>` (RFC 3326): the H.323 side's cause, or 41
   * when the media path failed.
   */
  private addReasonToBye(dialog: SrfDialog): void {
    type Destroy = (o?: { headers?: Record<string, string> }, cb?: unknown) => unknown;
    const orig = (dialog.destroy as unknown as Destroy).bind(dialog);
    (dialog as unknown as { destroy: Destroy }).destroy = (o, cb) =>
      orig({ ...(o ?? {}), headers: { Reason: q850Reason(this.byeCause), ...(o?.headers ?? {}) } }, cb);
  }
}
