/**
 * SIP -> H.323 (issue 6, item 2): one admitted INVITE becomes an H.225.0 call with FreeSWITCH in
 * the media path.
 *
 *   media session -> H.323-side FreeSWITCH endpoint (its RTP address goes into the fastStart OLCs)
 *   and, alongside it, the caller's endpoint (made, not answered) -> Setup (codecs = caller's offer
 *   x G.711/G.729) -> Alerting: 180. A fastStart/OLC answer before Connect gives early media: 183
 *   with the caller endpoint's SDP, bridged at once. Connect: 200 OK with the same SDP, the bridge
 *   alongside; then the H.323 endpoint is re-pointed at the fastStart/OLC answer's RTP address.
 *
 * Teardown: SIP BYE -> ReleaseComplete (16); ReleaseComplete -> BYE with Reason; CANCEL ->
 * ReleaseComplete (16) and 487; refusal -> RFC 3398 status + Reason; media server unavailable ->
 * 503 at once. The media session, H.323 call and SIP dialog are each released exactly once.
 */
import { relayDtmf } from './dtmf.js';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';
import type { MediaSession, H323Leg, CallerLeg, MediaCallObserver } from '../media/session.js';
import type { Endpoint } from '../../types/drachtio-fsmrf.js';
import type { H323Codec, H323VideoCodec, RemoteMedia } from '../media/sdp.js';
import { planSipToH323Video, refuseVideo, sipVideoCodecs } from './video.js';
import type { SrfDialog, SrfRequest, SrfResponse } from '../../types/drachtio-srf.js';
import type { DialOptions, PendingDial } from '../h323/call/dialer.js';
import type { Timers } from '../h323/tpkt/channel.js';
import type { H323Call, MediaInfo, ReleaseInfo } from '../h323/call/call.js';
import type { AudioCodec } from '../h323/h245/messages.js';
import { q850Reason, q850ToSip } from './causes.js';
import { setupCallerFields, type CallerIdentity, type SetupCallerFields } from '../h323/h225/caller-identity.js';
import type { DialTarget } from '../h323/call/call.js';
import { redactPii } from '../policy/pii.js';
import { parseNameAddr, parseSipUri } from '../policy/sip-parse.js';

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
  /** lib/h323/call predial() (injectable for tests). */
  readonly predial: (host: string, port: number, o?: { readonly connectTimeoutMs?: number; readonly timers?: Timers }) => PendingDial;
  readonly registry: Registry;
  readonly logger?: Logger;
  /** Setup -> first answer (T303 role); expiry is cause 18 (no user responding) -> 408. Default 10 s. */
  readonly setupTimeoutMs?: number;
  /** Setup -> Connect; expiry is cause 19 -> 480. Default 60 s. */
  readonly noAnswerMs?: number;
  /** Extra H.323 call options (registry, socket, h245Host...). */
  readonly callOptions?: Partial<DialOptions>;
  /** Told of the media session (HA records its channels and the caller's dialog). */
  readonly observer?: MediaCallObserver;
}

export interface H323Target {
  readonly host: string;
  readonly port: number;
  readonly calledNumber: string;
  /** Overrides the caller's number as the Calling party number. */
  readonly callingNumber?: string;
  /** Who is calling, as the Setup carries it (sipCallerIdentity()); absent: an anonymous Setup. */
  readonly caller?: CallerIdentity;
}

/** Where the caller's identity comes from (the policy chain's decision on the INVITE). */
export interface SipCallerSource {
  /** The registry entry the policy chain authenticated (digest, or the PASSporT key's owner). */
  readonly entry?: { readonly displayName: string; readonly sip: { readonly username: string } };
  /** The From header as forwarded (the PII gate's redacted one if it changed it): used without an entry. */
  readonly from?: string;
  /** The call is marked ESCALATE (the PII gate ran on it). */
  readonly escalated: boolean;
}

/**
 * The caller's identity for the H.323 Setup: the authenticated registry entry's SIP username
 * (h323-ID; also the number when it is one: dialledDigits and Calling party number) and its
 * registry display name; without an entry (policy chain off), the From header's user and display
 * name. Never the From user when an entry exists: it is not authenticated.
 *
 * ESCALATE calls follow the PII gate's rules: the display name goes out redacted
 * (`[REDACTED:<category>]` in place of each find), and a user name or number that holds PII
 * (an e-mail address, a phone number, ...) is left out altogether, since a redacted alias names
 * nobody. Raw PII never reaches the Setup.
 */
export function sipCallerIdentity(s: SipCallerSource): CallerIdentity | undefined {
  const from = s.entry || s.from === undefined ? undefined : parseNameAddr(s.from);
  let user = s.entry ? s.entry.sip.username : from ? parseSipUri(from.uri)?.user : undefined;
  let displayName = s.entry ? s.entry.displayName : from?.display;
  if (s.escalated) {
    if (user !== undefined && redactPii(user).found > 0) user = undefined;
    if (displayName !== undefined) displayName = redactPii(displayName).text;
  }
  const number = user !== undefined && /^\+?[0-9]+$/.test(user) ? user : undefined;
  if (!user && !displayName) return undefined;
  return { ...(user ? { user } : {}), ...(number ? { number } : {}), ...(displayName ? { displayName } : {}) };
}

/** The Setup's target fields for a SIP -> H.323 call: called number, the caller's identity. */
export function h323DialTarget(t: H323Target): DialTarget {
  const fields: SetupCallerFields = t.caller ? setupCallerFields(t.caller) : {};
  const { callingNumber, callingNumberType, ...id } = fields;
  const number = t.callingNumber ?? callingNumber;
  return {
    calledNumber: t.calledNumber,
    ...id,
    ...(number ? { callingNumber: number } : {}),
    ...(!t.callingNumber && callingNumberType !== undefined ? { callingNumberType } : {}),
  };
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
  /** The TCP connection to the H.323 side, opened while FreeSWITCH makes the endpoints. */
  private connection: PendingDial | undefined;
  private leg: H323Leg | undefined;
  /**
   * The caller's FreeSWITCH endpoint, made (not answered) while the H.323 side is reached, so the
   * 183 and the 200 only send its SDP.
   */
  private callerEp: Promise<Endpoint> | undefined;
  /** Early media: the caller's endpoint once its 183 is sent, undefined when none was sent. */
  private early: Promise<Endpoint | undefined> | undefined;
  /** The caller's endpoint bridged to the H.323 leg (started at early media or at Connect). */
  private bridged: Promise<void> | undefined;
  /** The video codec FreeSWITCH's H.323 leg was first offered, if any. */
  private offeredVideo: H323VideoCodec | undefined;
  /** The offer FreeSWITCH gets for the caller's leg, when it differs from the INVITE's. */
  private callerSdp: string | undefined;
  /** What FreeSWITCH's H.323 leg is aimed at (audio, and video once the H.323 side accepted it). */
  private remote: RemoteMedia = { host: '127.0.0.1', port: 9, codec: 'PCMA' };
  private mediaChain: Promise<void> = Promise.resolve();
  private resolveAnswerDone!: () => void;
  /** Resolves once the caller has its 200 OK, or the call ended without one. */
  private readonly answerDone = new Promise<void>((r) => (this.resolveAnswerDone = r));
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
    // The H.323 side's TCP connection is opened now and Setup written on it once FreeSWITCH's
    // endpoint (whose RTP address the fastStart OLCs carry) exists: the connect costs no set-up time.
    this.connection = this.deps.predial(this.target.host, this.target.port, this.deps.callOptions ?? {});
    this.deps.observer?.session(session);
    session.once('released', (reason) => this.onSessionReleased(reason));
    this.req.on('cancel', () => this.onCancel());

    // The H.323 leg first: FreeSWITCH's RTP address goes into the fastStart OLCs. Until the far
    // end answers the OLCs, FreeSWITCH points at the discard port of the target.
    // Video only where both sides share a codec (FreeSWITCH relays video, never transcodes it),
    // and only if FreeSWITCH accepts the video stream on the H.323 leg.
    const video = planSipToH323Video(this.opts.offerSdp ?? this.req.body ?? '');
    if (video.dropped) this.deps.logger?.debug('sip->h323: no video toward H.323', { why: video.dropped });
    const firstVideo = video.h323[0];
    const callerOffersVideo = sipVideoCodecs(this.req.body ?? '').length > 0;
    // No video toward H.323: FreeSWITCH gets the caller's offer with video refused, so the caller's
    // answer refuses it too (port 0) rather than opening a stream that leads nowhere.
    if (!firstVideo && callerOffersVideo) this.callerSdp = refuseVideo(this.req.body ?? '');
    // The caller's endpoint is made alongside the H.323 leg's, so set-up waits for one FreeSWITCH
    // round trip rather than two in turn (a refused call then costs a caller channel for a moment;
    // release() frees it). With video planned toward H.323 the caller's offer to FreeSWITCH depends
    // on that leg taking video, so it is made as soon as the leg exists.
    if (!firstVideo) this.prepareCaller();
    let leg: H323Leg;
    try {
      leg = await session.createEndpointFor({
        host: this.target.host, port: 9, codec: codecs[0]! as H323Codec,
        ...(firstVideo ? { video: { host: this.target.host, port: 9, codec: firstVideo } } : {}),
      });
      this.remote = { host: this.target.host, port: 9, codec: codecs[0]! as H323Codec };
      this.offeredVideo = firstVideo;
    } catch (e) {
      this.deps.logger?.warn('sip->h323: no media endpoint', { error: (e as Error).message });
      this.fail(503, 41, 'media-unavailable');
      return;
    }
    this.leg = leg;
    if (this.state !== 'setup') return; // cancelled meanwhile; release already running

    const videoAt = video.h323.length > 0 ? leg.localVideo : undefined;
    if (firstVideo && !videoAt && callerOffersVideo) this.callerSdp = refuseVideo(this.req.body ?? '');
    this.prepareCaller();
    const call = this.connection!.dial({
      ...this.deps.callOptions,
      codecs: [...codecs, ...(videoAt ? video.h323 : [])],
      media: { rtp: leg.local, ...(videoAt ? { video: videoAt } : {}) },
      fastStart: true,
      tunnel: true,
      setupTimeoutMs: this.deps.setupTimeoutMs ?? 10_000,
      noConnectMs: this.deps.noAnswerMs ?? 60_000,
      target: h323DialTarget(this.target),
    });
    this.h323 = call;
    call.on('alerting', () => {
      if (this.state === 'setup' && !this.res.finalResponseSent) this.res.send(180);
    });
    call.on('media', (m) => this.onMedia(m));
    call.on('video', (v) => this.onVideo(v));
    call.on('connected', () => void this.onConnected());
    call.once('released', (info) => this.onH323Released(info));
  }

  private onMedia(m: MediaInfo): void {
    const leg = this.leg;
    if (!leg || this.state === 'done') return;
    const sameCodec = this.remote.codec === m.codec;
    this.remote = { ...this.remote, host: m.remoteRtp.host, port: m.remoteRtp.port, codec: m.codec as H323Codec };
    // FreeSWITCH was offered video on this leg: the stream stays in every re-offer, refused when the
    // H.323 side took none.
    if (this.offeredVideo && !this.remote.video) this.remote = { ...this.remote, video: { host: m.remoteRtp.host, port: 0, codec: this.offeredVideo } };
    const remote = this.remote;
    // In the codec FreeSWITCH's leg already has, the re-point waits for the caller's 200 OK:
    // FreeSWITCH takes the H.323 side's RTP wherever the leg points, so early media reaches the
    // caller without it, and sent first its re-INVITE went ahead of the 200 at drachtio and
    // FreeSWITCH on every call. In another codec FreeSWITCH must be told at once, or it would not
    // take the early media's packets.
    const when = sameCodec ? this.answerDone : Promise.resolve();
    this.mediaChain = this.mediaChain
      .then(() => when)
      .then(() => (this.state !== 'done' ? leg.updateRemote(remote) : undefined))
      .catch((e: unknown) => {
        this.deps.logger?.warn('sip->h323: re-pointing the H.323 leg failed', { error: (e as Error).message });
      });
    // Channels open before Connect (fastStart in CallProceeding/Alerting/Progress, or early
    // H.245): whatever the H.323 side plays (ringback, announcement) goes to the caller now. The
    // H.323 side's RTP reaches FreeSWITCH whether or not the re-point is done, so neither waits.
    if (m.early) void this.startEarlyMedia(leg);
  }

  /** The H.323 side accepted a video channel: FreeSWITCH's H.323 leg sends its video there. */
  private onVideo(v: MediaInfo): void {
    const leg = this.leg;
    if (!leg || this.state === 'done' || (v.codec !== 'H264' && v.codec !== 'H263')) return;
    this.remote = { ...this.remote, video: { host: v.remoteRtp.host, port: v.remoteRtp.port, codec: v.codec } };
    const remote = this.remote;
    // fastStart gives the video answer first and the audio right after: the audio update carries both.
    if (v.via === 'fastStart') return;
    this.mediaChain = this.mediaChain
      .then(() => leg.updateRemote(remote))
      .catch((e: unknown) => {
        this.deps.logger?.warn('sip->h323: re-pointing the H.323 video failed', { error: (e as Error).message });
      });
  }

  /** FreeSWITCH's endpoint for the caller's offer, made once; a failure surfaces where it is awaited. */
  private prepareCaller(): Promise<Endpoint> {
    if (this.callerEp) return this.callerEp;
    const p = Promise.resolve().then(() => {
      if (!this.session || this.state === 'done') throw new Error('call ended');
      return this.session.prepareCaller(this.req, this.callerOptions());
    });
    p.catch((e: unknown) => this.deps.logger?.debug('sip->h323: no caller endpoint', { error: (e as Error).message }));
    this.callerEp = p;
    return p;
  }

  /**
   * 183 Session Progress with FreeSWITCH's SDP and the caller's endpoint bridged to the H.323 leg.
   * Best effort: if it fails the call goes on and is answered as without early media.
   */
  private async startEarlyMedia(leg: H323Leg): Promise<void> {
    if (this.state !== 'setup' || !this.session || this.early || this.res.finalResponseSent) return;
    const session = this.session;
    this.early = (async (): Promise<Endpoint | undefined> => {
      try {
        const ep = await this.prepareCaller();
        // Connect meanwhile: the 200 follows at once, a 183 would add nothing.
        if (this.state !== 'setup') return undefined;
        session.progress(this.res, ep);
        return ep;
      } catch (e) {
        this.deps.logger?.debug('sip->h323: no early media', { error: (e as Error).message });
        return undefined;
      }
    })();
    const ep = await this.early;
    // Ended meanwhile: the session release frees the endpoint.
    if (!ep || (this.state !== 'setup' && this.state !== 'answering')) return;
    await this.bridge(ep, leg).catch((e: unknown) => {
      this.deps.logger?.debug('sip->h323: early media not bridged', { error: (e as Error).message });
    });
  }

  /** Bridge once; a failed bridge may be tried again (early media's failure is retried at Connect). */
  private bridge(ep: Endpoint, leg: H323Leg): Promise<void> {
    if (!this.bridged) {
      const p = this.session ? this.session.bridge(ep, leg.endpoint) : Promise.reject(new Error('no media session'));
      this.bridged = p;
      p.catch(() => {
        if (this.bridged === p) this.bridged = undefined;
      });
    }
    return this.bridged;
  }

  private async onConnected(): Promise<void> {
    if (this.state !== 'setup' || !this.session || !this.leg) return;
    this.state = 'answering';
    const session = this.session;
    const leg = this.leg;
    try {
      // A 183 under way goes out before the 200.
      const early = this.early ? await this.early : undefined;
      const ep = early ?? (await this.prepareCaller().catch(() => undefined));
      if (this.state !== 'answering') return;
      let caller: CallerLeg;
      let bridged: Promise<void> | undefined;
      if (ep) {
        // The bridge is FreeSWITCH's business and the 200 drachtio's: neither waits for the other.
        // An early-media bridge still under way is not waited for either; if it fails, it is tried
        // again here.
        const earlyBridge = this.bridged;
        bridged = earlyBridge ? earlyBridge.catch(() => this.bridge(ep, leg)) : this.bridge(ep, leg);
        bridged.catch(() => undefined);
        caller = await session.answerCaller(this.req, this.res, ep);
      } else {
        // No endpoint made ahead (it failed): the old way, whose failure is the 503 below.
        // With a policy-filtered offer, FreeSWITCH answers the caller only with codecs that survived it.
        caller = await session.connectCaller(this.req, this.res, this.callerOptions());
      }
      this.addReasonToBye(caller.dialog);
      if (this.state !== 'answering') return;
      this.state = 'answered';
      this.resolveAnswerDone();
      this.metrics.setup.observe(Number(process.hrtime.bigint() - this.started) / 1e9);
      this.settle('answered');
      // Relay digits from before the bridge is in place, so none is lost in between.
      if (this.h323) relayDtmf(caller.endpoint, this.h323, this.deps.logger);
      await (bridged ?? this.bridge(caller.endpoint, leg));
    } catch (e) {
      this.deps.logger?.warn('sip->h323: answering the caller failed', { error: (e as Error).message });
      if (this.state === 'answering') this.fail(503, 41, 'failed');
      else this.teardown(41, 'bridge-failed');
    }
  }

  private callerOptions(): { codecs?: string[]; remoteSdp?: string } {
    return {
      ...(this.opts.offerSdp !== undefined ? { codecs: this.codecs } : {}),
      ...(this.callerSdp !== undefined ? { remoteSdp: this.callerSdp } : {}),
    };
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
    this.connection?.abandon();
    this.resolveAnswerDone();
    this.releasedP = Promise.resolve();
    this.resolveEnded();
  }

  /** Release the media session (its endpoints, then the caller's dialog with our Reason). */
  private releaseAll(reason: string): Promise<void> {
    this.resolveAnswerDone();
    this.connection?.abandon();
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
