/**
 * H.323 -> SIP (issue 6, item 3): one H323ToSipCall per incoming H.323 call.
 *
 *   Setup (offered) -> lookup of the dialled alias (unknown -> cause 1, not registered -> cause 20)
 *   -> FreeSWITCH legs: the H.323 leg aimed at the caller's fastStart receive address, and a SIP
 *      leg (3pcc endpoint without remote SDP) whose offer goes in the INVITE to the expert
 *   -> 180/183 -> Alerting; 183 with SDP (early media) -> the SIP leg gets that SDP, both legs are
 *      bridged at once and Progress goes out (with the fastStart answer), so the expert's
 *      announcement/ringback reaches the caller before the answer
 *   -> 200 -> the SIP leg is modified with the expert's answer (unless the 183 already gave it),
 *      both legs are bridged and Connect goes out (fastStart answer naming FreeSWITCH's RTP address)
 *   -> failure status -> ReleaseComplete with the RFC 3398 cause.
 * Afterwards BYE from SIP -> ReleaseComplete 16; ReleaseComplete from H.323 -> BYE (CANCEL before
 * the answer), each with a Reason header (RFC 3326). Every path ends in finish(), which runs once:
 * it counts the outcome, ends whichever side is still up and releases the media session.
 */
import { relayDtmf } from './dtmf.js';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';
import type { H323Call, MediaInfo, ReleaseInfo } from '../h323/call/call.js';
import { answerFastStart, parseFastStartOffer } from '../h323/call/faststart.js';
import { dialledAliases } from '../h323/call/setup-aliases.js';
import type { Codec } from '../h323/h245/messages.js';
import type { MediaController } from '../media/controller.js';
import type { MediaSession, H323Leg, MediaCallObserver } from '../media/session.js';
import type { Endpoint } from '../../types/drachtio-fsmrf.js';
import { MediaUnavailableError } from '../media/errors.js';
import type { GatewaySrf, SrfDialog, SrfRequest, SrfResponse } from '../../types/drachtio-srf.js';
import { q850Reason, sipToQ850 } from './causes.js';
import { refuseVideo, sipVideoCodecs } from './video.js';
import { sdpVideoAddress, type RemoteMedia } from '../media/sdp.js';

/** Result of looking up the dialled alias: a SIP URI, undefined (nobody), or known but not registered. */
export type ExpertTarget = string | undefined | { readonly notRegistered: true };
export type ExpertLookup = (calledAlias: string) => Promise<ExpertTarget>;

export type H323SipOutcome =
  | 'answered' | 'unknown-alias' | 'not-registered' | 'sip-rejected' | 'caller-abandoned'
  | 'no-answer' | 'media-unavailable' | 'error';

export interface H323SipMetrics {
  calls: Counter<'outcome'>;
  setup: Histogram<string>;
}

const metricsByRegistry = new WeakMap<Registry, H323SipMetrics>();

export function h323SipMetrics(registry: Registry): H323SipMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      calls: new Counter({ name: 'gw_h323_sip_calls_total', help: 'H.323 -> SIP calls by outcome', labelNames: ['outcome'], registers: [registry] }),
      setup: new Histogram({
        name: 'gw_h323_sip_setup_seconds', help: 'H.323 -> SIP set-up time, Setup to Connect',
        buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

export interface H323ToSipDeps {
  readonly media: MediaController;
  readonly srf: GatewaySrf;
  readonly lookup: ExpertLookup;
  readonly log: Logger;
  readonly registry: Registry;
  /** Audio codecs we accept from the H.323 caller, in preference order. Default PCMA, PCMU. */
  readonly codecs?: readonly Codec[];
  /** INVITE sent -> final answer; on expiry the INVITE is cancelled and the caller gets cause 19. Default 60 s. */
  readonly noAnswerMs?: number;
  /** From user of the INVITE when the Setup carries no calling number. Default 'h323'. */
  readonly defaultCaller?: string;
  readonly now?: () => number;
  /** Told of the media session and the expert's dialog (HA records them). */
  readonly observer?: MediaCallObserver;
}

interface SipError {
  status?: number;
  reason?: string;
}

/** Codecs FreeSWITCH can carry on the SIP leg (audio G.711/G.729/G.722). */
const SIP_CODEC: Partial<Record<Codec, string>> = { PCMA: 'PCMA', PCMU: 'PCMU', G729: 'G729', G729A: 'G729', G722: 'G722' };

export class H323ToSipCall {
  readonly alias: string | undefined;
  private readonly started: number;
  private readonly m: H323SipMetrics;
  private session: MediaSession | undefined;
  private h323Leg: H323Leg | undefined;
  private dialog: SrfDialog | undefined;
  private invite: SrfRequest | undefined;
  /** Early media (183 with SDP): modify + bridge + Progress, serialised before the answer. */
  private earlyChain: Promise<void> = Promise.resolve();
  private earlySdp: string | undefined;
  /** Re-points of the H.323 leg (H.245 channel opened or reopened), in order. */
  private repoint: Promise<void> = Promise.resolve();
  private bridged = false;
  /**
   * The caller's video, accepted only once the expert's answer (183 with SDP or 200) kept video in
   * the caller's codec: until then our fastStart answer is held back (Alerting goes without it).
   */
  private videoPending: { at: { host: string; port: number }; sendTo: { host: string; port: number }; codec: 'H264' | 'H263' } | undefined;
  /** What FreeSWITCH's H.323 leg is aimed at (every re-point sends all of it: m-lines never leave a re-offer). */
  private legRemote: RemoteMedia | undefined;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  private outcomeValue: H323SipOutcome | undefined;
  private readonly finished: Promise<H323SipOutcome>;
  private resolveFinished!: (o: H323SipOutcome) => void;

  constructor(readonly call: H323Call, private readonly d: H323ToSipDeps) {
    this.started = (d.now ?? Date.now)();
    this.m = h323SipMetrics(d.registry);
    this.alias = dialledAliases(call)[0];
    this.finished = new Promise((r) => (this.resolveFinished = r));
    call.once('released', (r) => this.onH323Released(r));
    call.on('media', (mi) => this.onH323Media(mi));
  }

  /** Resolves with the outcome once everything of this call is released. */
  get whenFinished(): Promise<H323SipOutcome> {
    return this.finished;
  }

  get outcome(): H323SipOutcome | undefined {
    return this.outcomeValue;
  }

  /** Run the call (call once, from the listener's onCall). */
  async start(): Promise<void> {
    try {
      await this.run();
    } catch (e) {
      this.d.log.warn('h323->sip call failed', { alias: this.alias, error: (e as Error).message });
      this.finish('error', 41);
    }
  }

  private async run(): Promise<void> {
    const alias = this.alias;
    const target = alias === undefined ? undefined : await this.d.lookup(alias);
    if (this.done) return;
    if (target === undefined) return this.finish('unknown-alias', 1);
    if (typeof target !== 'string') return this.finish('not-registered', 20);

    let session: MediaSession;
    try {
      session = this.d.media.session();
    } catch (e) {
      if (e instanceof MediaUnavailableError) return this.finish('media-unavailable', 41);
      throw e;
    }
    this.session = session;
    this.d.observer?.session(session);
    session.once('released', (reason) => {
      if (!this.done) this.finish(this.dialog ? 'answered' : 'error', 41, `media: ${reason}`);
    });

    // The caller's fastStart proposals tell us its receive address and codec before we answer.
    const codecs = this.d.codecs ?? ['PCMA', 'PCMU'];
    const setupBody = this.call.setup?.['h323-uu-pdu']['h323-message-body'];
    const offer = setupBody?.choice === 'setup' ? setupBody.value.fastStart ?? [] : [];
    // The caller's video proposals (fastStart session 2): where it receives video, in which codec.
    const proposals = parseFastStartOffer(offer);
    const videoCodecs = this.call.offeredVideoCodecs;
    const placeholder = { host: '127.0.0.1', port: 0 };
    const choice = answerFastStart(proposals, [...codecs, ...videoCodecs], placeholder, videoCodecs.length > 0 ? placeholder : undefined);
    const codec = choice?.codec ?? codecs[0]!;
    const sipCodec = SIP_CODEC[codec] ?? 'PCMA';
    // Without fastStart the real address comes with the H.245 OLC ('media' event): discard port until then.
    const remote = choice?.sendTo ?? { host: '127.0.0.1', port: 9 };
    const cv = choice?.video;
    const callerVideo = cv && (cv.codec === 'H264' || cv.codec === 'H263') ? { host: cv.sendTo.host, port: cv.sendTo.port, codec: cv.codec } : undefined;

    // Both FreeSWITCH legs at once: set-up waits for one FreeSWITCH round trip, not two in turn. A
    // failure of either releases the session, which frees the other whenever it arrives.
    // The caller's video is offered to FreeSWITCH at the discard port until it is accepted
    // (settleVideo()): FreeSWITCH sends a leg with video frames of its own before any are relayed
    // (the real 1.10.12 did, 352x288), which must not reach a caller whose video we did not accept.
    this.legRemote = { host: remote.host, port: remote.port, codec: sipCodec as 'PCMA', ...(callerVideo ? { video: { ...callerVideo, port: 9 } } : {}) };
    const [h323Leg, ep] = await Promise.all([
      session.createEndpointFor(this.legRemote),
      session.createOffer({ codecs: [sipCodec] }),
    ]);
    this.h323Leg = h323Leg;
    if (this.done) return;
    // Video only when FreeSWITCH took it on both legs in the caller's codec (it relays, never
    // transcodes): then our fastStart answer accepts it at FreeSWITCH's H.323-leg video port and
    // the INVITE carries FreeSWITCH's video offer. Otherwise the caller's video proposals go
    // unaccepted and the INVITE offers no video (refused with port 0).
    const sipOffer = ep.local.sdp ?? '';
    const sipVideoOk = callerVideo !== undefined && sdpVideoAddress(sipOffer) !== undefined && sipVideoCodecs(sipOffer).includes(callerVideo.codec);
    const h323Video = sipVideoOk ? this.h323Leg.localVideo : undefined;
    // Audio only until the expert's answer says it kept video in the caller's codec (settleVideo()).
    this.call.setLocalMedia({ rtp: this.h323Leg.local });
    this.videoPending = h323Video && callerVideo ? { at: h323Video, sendTo: { host: callerVideo.host, port: callerVideo.port }, codec: callerVideo.codec } : undefined;
    if (callerVideo && !h323Video) this.d.log.debug('h323->sip: video dropped', { alias: this.alias, codec: callerVideo.codec });
    const localSdp = h323Video || sipVideoCodecs(sipOffer).length === 0 ? sipOffer : refuseVideo(sipOffer);

    const from = this.call.callingNumber ?? this.d.defaultCaller ?? 'h323';
    this.timer = setTimeout(() => this.onNoAnswer(), this.d.noAnswerMs ?? 60_000);
    let dialog: SrfDialog;
    try {
      const createUAC = this.d.srf.createUAC as unknown as (
        uri: string, opts: Record<string, unknown>,
        cbs: { cbRequest: (err: unknown, req?: SrfRequest) => void; cbProvisional: (res: SrfResponse) => void },
      ) => Promise<SrfDialog>;
      dialog = await createUAC.call(this.d.srf, target, {
        localSdp,
        headers: { From: `<sip:${from}@localhost>`, 'X-H323-Call-Id': this.call.callId },
      }, {
        // srf 5 calls cbRequest(err, req) (its typing says (req))
        cbRequest: (_err, req) => {
          this.invite = req;
          if (this.done) this.cancelInvite();
        },
        cbProvisional: (res) => {
          if (this.done) return;
          const sdp = res.status === 183 && typeof res.body === 'string' && /^m=audio /m.test(res.body) ? res.body : undefined;
          if (sdp && this.earlySdp === undefined) {
            this.earlySdp = sdp;
            this.earlyChain = this.earlyChain.then(() => this.startEarlyMedia(ep, sdp));
          } else if (res.status === 180 || res.status === 183) this.call.ring(this.videoPending === undefined);
        },
      });
    } catch (e) {
      this.invite = undefined;
      if (this.done) return;
      const status = (e as SipError).status;
      if (typeof status === 'number') {
        this.d.log.info('h323->sip: expert refused', { alias, status });
        return this.finish('sip-rejected', sipToQ850(status), `SIP ${status}`);
      }
      throw e;
    }
    this.invite = undefined;
    clearTimeout(this.timer);
    if (this.done) {
      // The H.323 side went away while the 200 was on its way.
      destroyDialog(dialog, 16);
      return;
    }
    this.dialog = dialog;
    this.d.observer?.dialog?.(dialog);
    dialog.on('destroy', () => {
      this.dialog = undefined; // the expert sent BYE: nothing to send on this side
      this.finish('answered', 16, 'SIP BYE');
    });
    await this.earlyChain;
    if (this.done) return;
    // Relay digits from before the bridge is in place, so none is lost in between.
    relayDtmf(ep, this.call, this.d.log);
    this.settleVideo(dialog.remote.sdp);
    // Connect goes out at once, as a SIP caller's 200 does the other way: the H.323 caller already
    // has FreeSWITCH's address (our fastStart answer), and FreeSWITCH taking the expert's answer
    // and bridging is FreeSWITCH's business, done alongside. If that fails the call is released.
    this.call.answer();
    this.outcomeValue = 'answered';
    this.m.setup.observe(((this.d.now ?? Date.now)() - this.started) / 1000);
    this.d.log.info('h323->sip call connected', { alias, target, codec });
    try {
      // Without 100rel the 200's SDP is the answer; FreeSWITCH already has it when it matches the 183's.
      if (!this.bridged || normaliseSdp(dialog.remote.sdp) !== normaliseSdp(this.earlySdp)) await session.modify(ep, dialog.remote.sdp);
      if (this.done) return;
      if (!this.bridged) await session.bridge(h323Leg.endpoint, ep);
    } catch (e) {
      if (this.done) return;
      this.d.log.warn('h323->sip: media path failed after the answer', { alias, error: (e as Error).message });
      // Answered (Connect went out and was counted); it ends with cause 41 on both sides.
      this.finish('answered', 41, 'media path failed after the answer');
    }
  }

  /**
   * The expert's 183 with SDP: FreeSWITCH's SIP leg gets that SDP, both legs are bridged and the
   * H.323 caller gets Progress (with our fastStart answer if not sent yet), so the announcement or
   * ringback reaches it before Connect. Best effort: on failure the call is answered as before.
   */
  private async startEarlyMedia(ep: Endpoint, sdp: string): Promise<void> {
    if (this.done || this.dialog || !this.session || !this.h323Leg) return;
    try {
      this.settleVideo(sdp);
      await this.session.modify(ep, sdp);
      if (this.done) return;
      await this.session.bridge(this.h323Leg.endpoint, ep);
      this.bridged = true;
      if (!this.done) this.call.progress();
    } catch (e) {
      this.d.log.debug('h323->sip: no early media', { alias: this.alias, error: (e as Error).message });
    }
  }

  /**
   * The expert's answer decides the caller's video: accepted (our fastStart answer names
   * FreeSWITCH's H.323-leg video port) only when the answer kept an active m=video in the caller's
   * codec, which FreeSWITCH then relays between the legs. An audio-only answer (no m=video, port
   * 0, or another codec) leaves the caller's video proposals unaccepted.
   */
  private settleVideo(answer: string | undefined): void {
    const p = this.videoPending;
    if (!p || !this.h323Leg) return;
    this.videoPending = undefined;
    const kept = answer !== undefined && sdpVideoAddress(answer) !== undefined && sipVideoCodecs(answer).includes(p.codec);
    if (kept) this.call.setLocalMedia({ rtp: this.h323Leg.local, video: p.at }, [p.codec]);
    else this.d.log.debug('h323->sip: the expert answered without video', { alias: this.alias, codec: p.codec });
    // FreeSWITCH's H.323 leg: video to the caller's receive address, or refused (port 0).
    if (this.legRemote?.video) this.repointLeg({ video: { ...this.legRemote.video, ...(kept ? p.sendTo : { port: 0 }) } });
  }

  /** Re-point FreeSWITCH's H.323 leg (a change to what it is aimed at), after the ones before. */
  private repointLeg(change: Partial<RemoteMedia>): void {
    const leg = this.h323Leg;
    if (!leg || !this.legRemote) return;
    this.legRemote = { ...this.legRemote, ...change };
    const remote = this.legRemote;
    this.repoint = this.repoint
      .then(() => (this.done ? undefined : leg.updateRemote(remote)))
      .catch((e: unknown) => {
        this.d.log.debug('h323->sip: re-pointing the H.323 leg failed', { alias: this.alias, error: (e as Error).message });
      });
  }

  /**
   * The H.245 channel towards the caller is open (or was reopened in the caller's own codec, which
   * then both directions use): FreeSWITCH's H.323 leg is re-pointed at its address and codec. The
   * re-points go out one after another, so FreeSWITCH ends with the last one.
   */
  private onH323Media(mi: MediaInfo): void {
    if (!this.h323Leg || this.done || mi.via === 'fastStart') return;
    const c = SIP_CODEC[mi.codec] ?? 'PCMA';
    this.repointLeg({ host: mi.remoteRtp.host, port: mi.remoteRtp.port, codec: c as 'PCMA' });
  }

  private onNoAnswer(): void {
    if (this.done || this.dialog) return;
    this.finish('no-answer', 19, 'no answer from SIP');
  }

  private onH323Released(r: ReleaseInfo): void {
    if (this.done) return;
    this.finish(this.outcomeValue === 'answered' ? 'answered' : 'caller-abandoned', r.cause, `H.323 ${r.by} release`, true);
  }

  private cancelInvite(): void {
    const req = this.invite as unknown as { cancel?: (opts?: Record<string, unknown>) => void } | undefined;
    this.invite = undefined;
    try {
      req?.cancel?.({ headers: { Reason: q850Reason(16) } });
    } catch {
      /* already final */
    }
  }

  /** Ends the call once: counts it, ends the H.323 side with `cause`, the SIP side, the media. */
  private finish(outcome: H323SipOutcome, cause: number, why: string = outcome, h323Gone = false): void {
    if (this.done) return;
    this.done = true;
    this.outcomeValue = outcome;
    clearTimeout(this.timer);
    this.m.calls.inc({ outcome });
    this.d.log.debug('h323->sip call ended', { alias: this.alias, outcome, cause, why });
    if (!h323Gone && this.call.state !== 'released') {
      if (this.call.state === 'active') this.call.hangup(cause);
      else this.call.reject(cause);
    }
    if (this.invite) this.cancelInvite();
    if (this.dialog) {
      // The H.323 side's cause, or ours (41 when the media path failed).
      destroyDialog(this.dialog, cause);
      this.dialog = undefined;
    }
    const s = this.session;
    const released = s ? s.release(`h323-sip:${outcome}`) : Promise.resolve();
    released.then(() => this.resolveFinished(outcome), () => this.resolveFinished(outcome));
  }
}

function normaliseSdp(sdp: string | undefined): string {
  return (sdp ?? '').replace(/\r\n/g, '\n').trim();
}

function destroyDialog(d: SrfDialog, cause: number): void {
  try {
    (d as unknown as { destroy(o: Record<string, unknown>): Promise<unknown> }).destroy({ headers: { Reason: q850Reason(cause) } })
      ?.catch?.(() => undefined);
  } catch {
    /* already gone */
  }
}
