/**
 * One H.323 call (either direction) on its own call-signalling TCP connection: the Q.931/H.225.0
 * state machine, fastStart offer/answer, H.245 tunnelled in H.225.0 or on a separate TCP
 * connection, timers, and clean teardown on any error (ReleaseComplete where a reply is possible,
 * then both connections closed).
 *
 * Outgoing: calling -> proceeding -> alerting -> active -> released.
 * Incoming: offered (Setup received, CallProceeding sent) -> ringing (Alerting sent) -> active.
 */
import { EventEmitter } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { componentLogger } from '../../log/logger.js';
import { metricsRegistry } from '../../metrics/registry.js';
import { Q931Channel, type Q931ChannelOptions } from '../q931/channel.js';
import { CauseValue } from '../q931/cause.js';
import { MessageType } from '../q931/constants.js';
import { findIe, type CallReference, type Q931Message } from '../q931/message.js';
import { decodeUserUser } from '../q931/user-user.js';
import { realTimers, TpktChannel, type Timers } from '../tpkt/channel.js';
import type { AliasAddressValue } from '../h225/common-types.js';
import { h225UserUserCodec, ipTransport, transportToHostPort, endpointType, newGuid } from '../h225/codec.js';
import {
  alertingMessage,
  callProceedingMessage,
  connectMessage,
  facilityMessage,
  progressMessage,
  releaseCompleteMessage,
  setupMessage,
  statusMessage,
  tunnelMessage,
  type CallIdentity,
} from '../h225/build.js';
import type { H323UserInformationValue, ReleaseCompleteReasonValue } from '../h225/schema.js';
import { decodeH245, encodeH245 } from '../h245/codec.js';
import { h245MessageKind, isVideo, type Codec, type VideoCodec } from '../h245/messages.js';
import type { MultimediaSystemControlMessageValue } from '../h245/schema.js';
import { H245Session, type HostPort, type LocalMedia } from './h245-session.js';
import { answerFastStart, offerFastStart, parseFastStartOffer, readFastStartAnswer, type FastStartProposal } from './faststart.js';
import { callMetrics, type CallMetrics } from './metrics.js';
import { applySocketOptions, type SocketOptions } from './socket-options.js';
import { randomBytes } from 'node:crypto';

export type CallDirection = 'outgoing' | 'incoming';
export type CallState = 'idle' | 'calling' | 'proceeding' | 'alerting' | 'offered' | 'ringing' | 'active' | 'released';

export interface MediaInfo {
  /** Codec we send (and, with fastStart or a symmetric open, receive). */
  readonly codec: Codec;
  /** Where we send RTP, and RTCP when the peer told us. */
  readonly remoteRtp: HostPort;
  readonly remoteRtcp?: HostPort;
  /** Where we receive RTP (as advertised). */
  readonly localRtp: HostPort;
  readonly via: 'fastStart' | 'h245';
  /**
   * Our audio channel was closed and opened again in this codec, the one the peer sends us
   * (H245SessionOptions.followPeerCodec): a second 'media' event for the call, and from now on
   * both directions use `codec`.
   */
  readonly reopened?: boolean;
  /**
   * Outgoing calls: the channel was opened before Connect (fastStart answer in CallProceeding,
   * Alerting or Progress, or early H.245), so the callee may already send ringback or an
   * announcement (early media).
   */
  readonly early?: boolean;
}

export interface ReleaseInfo {
  /** Q.850 cause (from the Cause IE, or mapped from the H.225.0 reason). */
  readonly cause: number;
  readonly reason?: string;
  readonly by: 'local' | 'remote';
}

export interface H323CallEvents {
  offered: [];
  proceeding: [];
  alerting: [];
  /** Outgoing: the callee sent Progress (in-band information may follow). */
  progress: [];
  connected: [];
  media: [MediaInfo];
  /** A video channel we send on was opened (fastStart or H.245; needs CallOptions.media.video). */
  video: [MediaInfo];
  receiving: [{ codec: Codec }];
  dtmf: [string];
  /** The peer asked for a key frame of the video we send it (H.245 videoFastUpdatePicture), on that logical channel. */
  fastUpdate: [channel: number];
  /** The callee redirected the call (Facility callForwarded / routeCallToGatekeeper); it is released next. */
  redirected: [RedirectInfo];
  released: [ReleaseInfo];
}

export interface RedirectInfo {
  readonly reason: 'callForwarded' | 'routeCallToGatekeeper';
  readonly alternativeAddress?: HostPort;
  readonly alternativeAliases?: readonly AliasAddressValue[];
}

export interface CallOptions {
  /** Codecs in order of preference (audio first; video codecs are announced in capabilities). */
  readonly codecs: readonly Codec[];
  /** Where we receive RTP (RTCP on port + 1). */
  readonly media: LocalMedia;
  /** Offer (outgoing) / accept (incoming) fastStart. Default true. */
  readonly fastStart?: boolean;
  /** Tunnel H.245 in H.225.0 when the peer agrees. Default true. */
  readonly tunnel?: boolean;
  readonly timers?: Timers;
  /** Outgoing: time from Setup to the first answer (T303 role). Default 10 s. */
  readonly setupTimeoutMs?: number;
  /** Outgoing: time from Setup to Connect. Default 180 s. */
  readonly noConnectMs?: number;
  /** Incoming: time from Setup to answer(). Default 60 s. */
  readonly noAnswerMs?: number;
  /** Each H.245 procedure. Default 10 s. */
  readonly h245TimeoutMs?: number;
  /**
   * Reopen our audio channel in the codec the peer opened towards us, so both directions use one
   * codec (H245SessionOptions.followPeerCodec). Default true; a test endpoint may turn it off to
   * behave like an H323Plus terminal, which keeps its own choice.
   */
  readonly followPeerCodec?: boolean;
  /** After our ReleaseComplete, how long to wait for the peer to close. Default 2 s. */
  readonly closeGraceMs?: number;
  /**
   * After the peer's EndSessionCommand, how long to wait for its ReleaseComplete (which carries
   * the real cause) before sending ours with cause 16. Default 2 s.
   */
  readonly endSessionGraceMs?: number;
  readonly registry?: Registry;
  readonly endpointKind?: 'terminal' | 'gateway';
  /** Address we put in h245Address when we listen for a separate H.245 connection. */
  readonly h245Host?: string;
  readonly socket?: SocketOptions;
  readonly random?: (n: number) => Uint8Array;
}

export interface DialTarget {
  readonly sourceAliases?: readonly AliasAddressValue[];
  readonly destinationAliases?: readonly AliasAddressValue[];
  readonly callingNumber?: string;
  /** Calling party number type of number (default 0 unknown; 1 international). */
  readonly callingNumberType?: number;
  readonly calledNumber?: string;
  /** Q.931 Display IE. */
  readonly display?: string;
  /** Setup-UUIE displayName (BMP, 1..80). */
  readonly displayName?: string;
}

/** H.225.0 release reasons -> Q.850 causes (H.225.0 table 5, used when no Cause IE arrives). */
function causeFromReason(r: ReleaseCompleteReasonValue | undefined): number {
  switch (r?.choice) {
    case 'noBandwidth':
      return 34;
    case 'gatekeeperResources':
    case 'gatewayResources':
      return 47;
    case 'unreachableDestination':
      return 3;
    case 'destinationRejection':
      return 31;
    case 'invalidRevision':
      return 88;
    case 'noPermission':
      return 111;
    case 'unreachableGatekeeper':
      return 38;
    case 'badFormatAddress':
      return 28;
    case 'adaptiveBusy':
      return 41;
    case 'inConf':
      return 17;
    case 'calledPartyNotRegistered':
      return 20;
    case 'newConnectionNeeded':
      return 47;
    default:
      return 16;
  }
}

/** Q.850 18: the called side did not answer Setup with Alerting/Connect in time (T303/T310). */
const NO_USER_RESPONDING = 18;

/** Q.931 call state values (for Status). */
const CALL_STATE: Record<CallState, number> = {
  idle: 0,
  calling: 1,
  proceeding: 3,
  alerting: 4,
  offered: 9,
  ringing: 7,
  active: 10,
  released: 0,
};

export class H323Call extends EventEmitter<H323CallEvents> {
  state: CallState = 'idle';
  readonly channel: Q931Channel;
  ids: CallIdentity | undefined;
  private cr: CallReference | undefined;
  private readonly timers: Timers;
  private readonly metrics: CallMetrics;
  private tunnel: boolean;
  private h245: H245Session | undefined;
  private h245Link: TpktChannel | undefined;
  private h245Server: Server | undefined;
  private readonly callTimers = new Map<string, unknown>();
  private fastStartAnswered = false;
  private peerProposals: FastStartProposal[] = [];
  private answerFastStart: Uint8Array[] | undefined;
  private mediaSent = false;
  /** A video channel was opened by fastStart (H.245 then opens none). */
  private videoByFastStart = false;
  /** Incoming: video codecs accepted besides options.codecs (set with the video address). */
  private acceptVideo: VideoCodec[] = [];
  private releasing = false;
  /** The peer sent EndSessionCommand: its ReleaseComplete (and cause) is on the way. */
  private peerEndedSession = false;
  private answering = false;
  private h245Pending: Uint8Array[] = [];
  private localMedia: LocalMedia;
  /** Set when the peer's Setup asked for the call (incoming). */
  setup: H323UserInformationValue | undefined;
  calledNumber: string | undefined;
  callingNumber: string | undefined;

  constructor(
    socket: Socket,
    readonly direction: CallDirection,
    readonly options: CallOptions,
    private readonly onOffered?: (call: H323Call) => void,
  ) {
    super();
    this.timers = options.timers ?? realTimers;
    this.metrics = callMetrics(options.registry ?? metricsRegistry());
    this.tunnel = options.tunnel ?? true;
    this.localMedia = options.media;
    applySocketOptions(socket, options.socket);
    const chOpts: Q931ChannelOptions = { timers: this.timers, closeGraceMs: options.closeGraceMs ?? 2000, ...(options.registry ? { registry: options.registry } : {}) };
    this.channel = new Q931Channel(
      socket,
      {
        onMessage: (m) => this.guard(() => this.onMessage(m)),
        onBadMessage: (e) => {
          log().debug('bad Q.931 message', { error: e.code });
          this.release(CauseValue.InvalidMessage, 'local', 'bad Q.931 message');
        },
        onProtocolError: (e) => this.release(CauseValue.ProtocolError, 'local', `TPKT ${e.code}`),
        onClose: () => this.onSignallingClosed(),
      },
      chOpts,
    );
    if (direction === 'incoming') this.arm('firstMessage', options.setupTimeoutMs ?? 10_000, CauseValue.RecoveryOnTimerExpiry, 'no Setup');
  }

  /** Incoming: the video codecs the caller proposed by fastStart (in its order). */
  get offeredVideoCodecs(): VideoCodec[] {
    const out: VideoCodec[] = [];
    for (const p of this.peerProposals) if (isVideo(p.codec) && !out.includes(p.codec)) out.push(p.codec);
    return out;
  }

  /** Hex of the callIdentifier GUID. */
  get callId(): string {
    return this.ids ? Buffer.from(this.ids.callIdentifier).toString('hex') : '';
  }

  get tunnelling(): boolean {
    return this.tunnel;
  }

  // --- outgoing ---------------------------------------------------------------------------------

  /** Send Setup (outgoing calls; the dialer calls this once connected). */
  start(target: DialTarget = {}): void {
    if (this.direction !== 'outgoing' || this.state !== 'idle') return;
    const rnd = this.options.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
    this.ids = { callIdentifier: newGuid(rnd), conferenceID: newGuid(rnd) };
    const crBytes = rnd(2);
    this.cr = { length: 2, value: ((crBytes[0]! << 8) | crBytes[1]!) & 0x7fff || 1, flag: false };
    const local = this.channel.tpkt.socket.localAddress ?? '127.0.0.1';
    const remote = this.channel.tpkt.socket.remoteAddress;
    const remotePort = this.channel.tpkt.socket.remotePort;
    const msg = setupMessage(this.cr, this.ids, {
      h245Tunnelling: this.tunnel,
      endpointType: endpointType(this.options.endpointKind ?? 'terminal'),
      ...(this.options.fastStart === false ? {} : { fastStart: offerFastStart(this.options.codecs, this.localMedia.rtp, this.localMedia.video) }),
      ...(target.sourceAliases ? { sourceAddress: target.sourceAliases } : {}),
      ...(target.destinationAliases ? { destinationAddress: target.destinationAliases } : {}),
      ...(remote && remotePort && /^\d+\.\d+\.\d+\.\d+$/.test(stripV6(remote)) ? { destCallSignalAddress: ipTransport(stripV6(remote), remotePort) } : {}),
      ...(/^\d+\.\d+\.\d+\.\d+$/.test(stripV6(local)) && this.channel.tpkt.socket.localPort
        ? { sourceCallSignalAddress: ipTransport(stripV6(local), this.channel.tpkt.socket.localPort) }
        : {}),
      ...(target.callingNumber ? { callingNumber: target.callingNumber } : {}),
      ...(target.callingNumber && target.callingNumberType !== undefined ? { callingNumberType: target.callingNumberType } : {}),
      ...(target.calledNumber ? { calledNumber: target.calledNumber } : {}),
      ...(target.display !== undefined ? { display: target.display } : {}),
      ...(target.displayName ? { displayName: target.displayName } : {}),
    });
    this.state = 'calling';
    this.metrics.active.inc({ direction: 'outgoing' });
    this.send(msg);
    // Q.850: cause 18 when the called side never alerted (T303/T310 role), 19 once it did (T301).
    this.arm('setup', this.options.setupTimeoutMs ?? 10_000, NO_USER_RESPONDING, 'no answer to Setup');
    this.arm('connect', this.options.noConnectMs ?? 180_000, () => (this.state === 'alerting' ? CauseValue.NoAnswer : NO_USER_RESPONDING), 'no Connect');
  }

  // --- incoming ---------------------------------------------------------------------------------

  /**
   * Where we receive RTP, when it is only known after the offer (incoming: allocate media on
   * 'offered', then ring/answer). Ignored once media has been negotiated.
   */
  setLocalMedia(media: LocalMedia, videoCodecs: readonly VideoCodec[] = []): void {
    if (this.mediaSent) return;
    this.localMedia = media;
    this.acceptVideo = [...videoCodecs];
    this.h245?.setMedia(media);
  }

  /**
   * Send Alerting (incoming). `withFastStart: false` keeps our fastStart answer for a later
   * Progress or Connect (H.225.0 8.1.7.1 allows it up to Connect): for when what to accept is not
   * known yet (H.323 -> SIP video waits for the SIP answer).
   */
  ring(withFastStart = true): void {
    if (this.direction !== 'incoming' || this.state !== 'offered') return;
    this.state = 'ringing';
    this.send(alertingMessage(this.replyCr(), this.ids!, { h245Tunnelling: this.tunnel, ...(withFastStart ? this.fastStartAnswer() : {}) }));
    this.emit('alerting');
  }

  /**
   * Send Progress (incoming) with our fastStart answer, so the caller opens its channels and hears
   * in-band information (early media) before Connect. Q.931 allows it after CallProceeding and
   * after Alerting.
   */
  progress(): void {
    if (this.direction !== 'incoming' || (this.state !== 'offered' && this.state !== 'ringing') || this.answering) return;
    this.send(progressMessage(this.replyCr(), this.ids!, { h245Tunnelling: this.tunnel, ...this.fastStartAnswer() }));
  }

  /** Send Connect (incoming): the call becomes active and H.245 starts. */
  answer(): void {
    if (this.direction !== 'incoming' || (this.state !== 'offered' && this.state !== 'ringing') || this.answering) return;
    this.answering = true;
    if (this.tunnel) {
      this.sendConnect(undefined);
      return;
    }
    void this.listenH245().then((addr) => {
      if (this.state === 'offered' || this.state === 'ringing') this.sendConnect(addr);
    });
  }

  private sendConnect(h245Addr: ReturnType<typeof ipTransport> | undefined): void {
    this.disarm('answer');
    const fs = this.fastStartAnswer();
    this.state = 'active';
    this.send(
      connectMessage(this.replyCr(), this.ids!, {
        h245Tunnelling: this.tunnel,
        ...fs,
        ...(h245Addr ? { h245Address: h245Addr } : {}),
        ...(fs.fastStart === undefined && this.peerProposals.length > 0 ? { fastConnectRefused: true } : {}),
      }),
    );
    this.metrics.calls.inc({ direction: 'incoming', outcome: 'answered' });
    this.emit('connected');
    this.createH245();
    if (this.tunnel) this.h245!.start();
  }

  /** Refuse the call with a Q.850 cause (and optionally an H.225.0 reason). */
  reject(cause: number = CauseValue.CallRejected, reason?: ReleaseCompleteReasonValue): void {
    this.release(cause, 'local', 'rejected', reason);
  }

  // --- both -------------------------------------------------------------------------------------

  hangup(cause: number = CauseValue.NormalCallClearing): void {
    this.release(cause, 'local', 'hangup');
  }

  sendDtmf(digits: string): boolean {
    if (this.state !== 'active' || !this.h245) return false;
    this.h245.sendDtmf(digits);
    return true;
  }

  /**
   * Ask the peer for a key frame of the video it sends us (H.245 videoFastUpdatePicture naming
   * `channel`, the logical channel of that video; 1 when the caller does not know it).
   */
  requestFastUpdate(channel = 1): boolean {
    if (this.state !== 'active' || !this.h245) return false;
    this.h245.sendFastUpdate(channel);
    return true;
  }

  /** Round trip delay probe over H.245 (the answer is consumed by the session). */
  roundTripDelay(seq = 1): void {
    this.h245?.roundTripDelay(seq);
  }

  private replyCr(): CallReference {
    return { ...this.cr!, flag: true };
  }

  private ourCr(): CallReference {
    return this.direction === 'outgoing' ? this.cr! : this.replyCr();
  }

  private send(msg: Q931Message): void {
    const e = this.channel.send(msg);
    if (e) log().debug('send failed', { error: e.message });
  }

  /** A bug in our handling of some input must not leave the call hanging: count it and release. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.metrics.internalErrors.inc();
      log().error('call handler failed', { callId: this.callId, error: e instanceof Error ? e.message : String(e) });
      this.release(CauseValue.ProtocolError, 'local', 'internal error');
    }
  }

  private onMessage(msg: Q931Message): void {
    if (this.state === 'released') return;
    if (msg.messageType === MessageType.StatusEnquiry && this.ids && this.cr) {
      this.send(statusMessage(this.ourCr(), this.ids, { h245Tunnelling: this.tunnel, callState: CALL_STATE[this.state] }));
      return;
    }
    const uu = decodeUserUser(msg, h225UserUserCodec);
    if (!uu.ok) {
      if (msg.messageType === MessageType.ReleaseComplete) return this.remoteRelease(msg, undefined);
      if (msg.messageType === MessageType.Status) return;
      // A message we cannot read: answer with ReleaseComplete (invalid IE contents) and close.
      if (!this.cr) this.cr = { ...msg.callReference, flag: false };
      return this.release(uu.error === 'no-user-user' ? CauseValue.MandatoryIeMissing : CauseValue.InvalidIeContents, 'local', 'bad H.225.0 PDU');
    }
    const info = uu.value;
    const pdu = info['h323-uu-pdu'];
    const body = pdu['h323-message-body'];
    if (this.direction === 'incoming' && this.state === 'idle') {
      if (body.choice !== 'setup' || msg.messageType !== MessageType.Setup) {
        this.cr = { ...msg.callReference, flag: false };
        return this.release(CauseValue.MessageNotCompatibleWithCallState, 'local', 'first message is not Setup');
      }
      return this.onSetup(msg, info);
    }
    // Tunnelling stays on only while both sides keep saying so (H.323 8.2.1).
    if (this.tunnel && pdu.h245Tunnelling === false && body.choice !== 'empty') this.tunnel = false;
    for (const c of pdu.h245Control ?? []) this.onTunnelledH245(c);
    const fastStart = (body.value as { fastStart?: Uint8Array[] } | null)?.fastStart;
    if (this.direction === 'outgoing' && fastStart && !this.fastStartAnswered) this.onFastStartAnswer(fastStart, body.choice !== 'connect' && this.state !== 'active');
    switch (body.choice) {
      case 'callProceeding':
        if (this.state === 'calling') {
          this.disarm('setup');
          this.state = 'proceeding';
          this.emit('proceeding');
        }
        break;
      case 'alerting':
        if (this.state === 'calling' || this.state === 'proceeding') {
          this.disarm('setup');
          this.state = 'alerting';
          this.emit('alerting');
        }
        break;
      case 'progress':
        this.disarm('setup');
        if (this.direction === 'outgoing' && this.state !== 'active') this.emit('progress');
        break;
      case 'connect':
        if (this.direction === 'outgoing' && this.state !== 'active') this.onConnect(body.value.h245Address);
        break;
      case 'facility': {
        const f = body.value;
        if (f.reason.choice === 'startH245' && f.h245Address && !this.h245Link) this.connectH245(f.h245Address);
        else if ((f.reason.choice === 'callForwarded' || f.reason.choice === 'routeCallToGatekeeper') && this.direction === 'outgoing' && this.state !== 'active') {
          const alt = transportToHostPort(f.alternativeAddress);
          this.emit('redirected', {
            reason: f.reason.choice,
            ...(alt ? { alternativeAddress: alt } : {}),
            ...(f.alternativeAliasAddress ? { alternativeAliases: f.alternativeAliasAddress } : {}),
          });
          // The app places a new call; this one ends (H.323 8.1.x: release, then call the new address).
          this.release(23, 'local', `redirected: ${f.reason.choice}`, { choice: 'facilityCallDeflection', value: null });
        }
        break;
      }
      case 'releaseComplete':
        return this.remoteRelease(msg, body.value.reason);
      default:
        break;
    }
  }

  private onSetup(msg: Q931Message, info: H323UserInformationValue): void {
    const setup = info['h323-uu-pdu']['h323-message-body'];
    if (setup.choice !== 'setup') return;
    this.disarm('firstMessage');
    const s = setup.value;
    this.cr = { ...msg.callReference, flag: false };
    this.setup = info;
    this.ids = { callIdentifier: s.callIdentifier?.guid ?? newGuid((n) => new Uint8Array(randomBytes(n))), conferenceID: s.conferenceID };
    this.calledNumber = findIe(msg, 'calledPartyNumber')?.digits;
    this.callingNumber = findIe(msg, 'callingPartyNumber')?.digits;
    this.tunnel = this.tunnel && info['h323-uu-pdu'].h245Tunnelling === true;
    if (this.options.fastStart !== false && s.fastStart) this.peerProposals = parseFastStartOffer(s.fastStart);
    this.state = 'offered';
    this.metrics.active.inc({ direction: 'incoming' });
    this.send(callProceedingMessage(this.replyCr(), this.ids, { h245Tunnelling: this.tunnel }));
    this.arm('answer', this.options.noAnswerMs ?? 60_000, CauseValue.NoAnswer, 'not answered');
    for (const c of info['h323-uu-pdu'].h245Control ?? []) this.onTunnelledH245(c);
    this.emit('offered');
    this.onOffered?.(this);
  }

  /** Pick one codec from the caller's proposals; the answer goes in Alerting and Connect. */
  private fastStartAnswer(): { fastStart?: Uint8Array[] } {
    if (this.options.fastStart === false || this.peerProposals.length === 0) return {};
    if (this.answerFastStart) return { fastStart: this.answerFastStart };
    const choice = answerFastStart(this.peerProposals, [...this.options.codecs, ...this.acceptVideo], this.localMedia.rtp, this.localMedia.video);
    if (!choice) return {};
    this.answerFastStart = choice.accepted;
    if (choice.video && this.localMedia.video) {
      this.markVideoByFastStart();
      this.emit('video', {
        codec: choice.video.codec,
        remoteRtp: choice.video.sendTo,
        ...(choice.video.remoteRtcp ? { remoteRtcp: choice.video.remoteRtcp } : {}),
        localRtp: this.localMedia.video,
        via: 'fastStart',
      });
    }
    this.emitMedia({
      codec: choice.codec,
      remoteRtp: choice.sendTo,
      ...(choice.remoteRtcp ? { remoteRtcp: choice.remoteRtcp } : {}),
      localRtp: this.localMedia.rtp,
      via: 'fastStart',
    });
    this.emit('receiving', { codec: choice.codec });
    return { fastStart: this.answerFastStart };
  }

  private onFastStartAnswer(items: Uint8Array[], early: boolean): void {
    const { tx, rx, videoTx } = readFastStartAnswer(items);
    if (!tx) return;
    this.fastStartAnswered = true;
    if (videoTx && this.localMedia.video) {
      this.markVideoByFastStart();
      this.emit('video', {
        codec: videoTx.codec, remoteRtp: videoTx.rtp, ...(videoTx.rtcp ? { remoteRtcp: videoTx.rtcp } : {}), localRtp: this.localMedia.video, via: 'fastStart',
        ...(early ? { early: true } : {}),
      });
    }
    this.emitMedia({
      codec: tx.codec, remoteRtp: tx.rtp, ...(tx.rtcp ? { remoteRtcp: tx.rtcp } : {}), localRtp: this.localMedia.rtp, via: 'fastStart',
      ...(early ? { early: true } : {}),
    });
    if (rx) this.emit('receiving', { codec: rx });
  }

  private markVideoByFastStart(): void {
    this.videoByFastStart = true;
    if (this.h245) this.h245.videoFastStartDone = true;
  }

  private emitMedia(m: MediaInfo): void {
    if (this.mediaSent) return;
    this.mediaSent = true;
    if (this.h245) this.h245.fastStartDone = true;
    this.emit('media', m);
  }

  private onConnect(h245Addr: ReturnType<typeof ipTransport> | undefined): void {
    this.disarm('setup');
    this.disarm('connect');
    this.state = 'active';
    this.metrics.calls.inc({ direction: 'outgoing', outcome: 'answered' });
    this.emit('connected');
    this.createH245();
    if (this.tunnel) this.h245!.start();
    else if (h245Addr) this.connectH245(h245Addr);
    else if (!this.h245Link && !this.h245Server) {
      void this.listenH245().then((addr) => {
        if (addr && this.state === 'active' && !this.h245Link) {
          this.send(facilityMessage(this.cr!, this.ids!, { h245Tunnelling: false, reason: { choice: 'startH245', value: null }, h245Address: addr }));
        }
      });
    }
  }

  // --- H.245 ------------------------------------------------------------------------------------

  private createH245(): void {
    if (this.h245) return;
    this.h245 = new H245Session(
      {
        codecs: this.options.codecs,
        media: this.localMedia,
        timers: this.timers,
        timeoutMs: this.options.h245TimeoutMs ?? 10_000,
        ...(this.options.followPeerCodec !== undefined ? { followPeerCodec: this.options.followPeerCodec } : {}),
        terminalType: this.options.endpointKind === 'gateway' ? 60 : 50,
        fastStartDone: this.mediaSent,
        videoFastStartDone: this.videoByFastStart,
      },
      {
        send: (m) => this.sendH245(m),
        onTransmit: (t) => {
          const early = this.direction === 'outgoing' && this.state !== 'active';
          const info = { codec: t.codec, remoteRtp: t.rtp, ...(t.rtcp ? { remoteRtcp: t.rtcp } : {}), via: 'h245' as const, ...(early ? { early: true } : {}) };
          if (isVideo(t.codec)) {
            if (this.localMedia.video) this.emit('video', { ...info, localRtp: this.localMedia.video });
          } else if (t.reopened) this.emit('media', { ...info, localRtp: this.localMedia.rtp, reopened: true });
          else this.emitMedia({ ...info, localRtp: this.localMedia.rtp });
        },
        onReceive: (r) => this.emit('receiving', { codec: r.codec }),
        onDtmf: (d) => this.emit('dtmf', d),
        onFastUpdate: (c) => this.emit('fastUpdate', c),
        onEndSession: () => this.onPeerEndSession(),
        onFailure: (reason) => this.release(CauseValue.RecoveryOnTimerExpiry, 'local', reason),
      },
    );
  }

  private sendH245(m: MultimediaSystemControlMessageValue): void {
    this.metrics.h245.inc({ direction: 'out', type: h245MessageKind(m) });
    const bytes = encodeH245(m);
    if (this.h245Link) this.h245Link.send(bytes);
    else if (this.tunnel && this.cr) this.send(tunnelMessage(this.ourCr(), [bytes]));
    // Separate H.245 connection not up yet: keep the message for it (bounded).
    else if (this.h245Pending.length < 64) this.h245Pending.push(bytes);
  }

  private onTunnelledH245(bytes: Uint8Array): void {
    let m: MultimediaSystemControlMessageValue;
    try {
      m = decodeH245(bytes);
    } catch {
      this.metrics.h245.inc({ direction: 'in', type: 'undecodable' });
      return;
    }
    this.metrics.h245.inc({ direction: 'in', type: h245MessageKind(m) });
    this.createH245();
    this.h245!.handle(m);
  }

  private attachH245(socket: Socket): void {
    this.disarm('h245connect');
    applySocketOptions(socket, this.options.socket);
    this.h245Link = new TpktChannel(
      socket,
      {
        onFrame: (f) => {
          if (f.length > 0) this.guard(() => this.onTunnelledH245(f));
        },
        onProtocolError: (e) => this.release(CauseValue.ProtocolError, 'local', `H.245 TPKT ${e.code}`),
        onClose: () => {
          // After EndSessionCommand the peer closes H.245 first; its ReleaseComplete follows on the
          // call-signalling connection.
          if (this.state === 'active' && !this.peerEndedSession) this.release(CauseValue.NormalCallClearing, 'remote', 'H.245 connection closed');
        },
      },
      { timers: this.timers, channel: 'h245', ...(this.options.registry ? { registry: this.options.registry } : {}) },
    );
    this.createH245();
    this.h245!.start();
    for (const b of this.h245Pending.splice(0)) this.h245Link.send(b);
  }

  /** Listen for the peer's H.245 connection; resolves with the address to advertise. */
  private async listenH245(): Promise<ReturnType<typeof ipTransport> | undefined> {
    const host = this.options.h245Host ?? stripV6(this.channel.tpkt.socket.localAddress ?? '127.0.0.1');
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(host)) return undefined;
    const server = createServer((s) => {
      server.close();
      if (this.h245Link || this.state === 'released') {
        s.destroy();
        return;
      }
      this.attachH245(s);
    });
    this.h245Server = server;
    server.on('error', () => undefined);
    this.arm('h245connect', this.options.h245TimeoutMs ?? 10_000, CauseValue.RecoveryOnTimerExpiry, 'no H.245 connection');
    const ready = new Promise<boolean>((resolve) => {
      server.once('listening', () => resolve(true));
      server.once('error', () => resolve(false));
    });
    server.listen(0, host);
    if (!(await ready)) return undefined;
    if (this.state === 'released') {
      // Released while the listener was starting: finish() could not close it yet.
      server.close();
      return undefined;
    }
    const addr = server.address();
    if (addr === null || typeof addr === 'string') return undefined;
    return ipTransport(host, addr.port);
  }

  private connectH245(addr: ReturnType<typeof ipTransport>): void {
    const hp = transportToHostPort(addr);
    if (!hp || this.h245Link) return;
    const s = connect({ host: hp.host, port: hp.port });
    s.on('error', () => undefined);
    this.arm('h245connect', this.options.h245TimeoutMs ?? 10_000, CauseValue.RecoveryOnTimerExpiry, 'H.245 connection not established');
    s.once('close', () => {
      if (!this.h245Link && this.state === 'active') this.release(CauseValue.RecoveryOnTimerExpiry, 'local', 'H.245 connection failed');
    });
    s.once('connect', () => {
      if (this.state === 'released') s.destroy();
      else this.attachH245(s);
    });
  }

  // --- teardown ---------------------------------------------------------------------------------

  /**
   * The peer ended the H.245 session (H.323 8.5): the session has already answered with our
   * EndSessionCommand. The cause of the call is in the peer's ReleaseComplete that follows, so
   * wait for it rather than reporting 16; a peer that never sends one gets ours (16) after
   * endSessionGraceMs.
   */
  private onPeerEndSession(): void {
    if (this.state === 'released' || this.releasing || this.peerEndedSession) return;
    this.peerEndedSession = true;
    this.arm('endSession', this.options.endSessionGraceMs ?? 2000, CauseValue.NormalCallClearing, 'EndSessionCommand without ReleaseComplete', 'remote');
  }

  private remoteRelease(msg: Q931Message, reason: ReleaseCompleteReasonValue | undefined): void {
    const cause = findIe(msg, 'cause')?.value ?? causeFromReason(reason);
    this.finish({ cause, by: 'remote', ...(reason && reason.choice !== '$unknown' ? { reason: reason.choice } : {}) }, false);
  }

  /** Release from our side: EndSessionCommand (if H.245 runs), ReleaseComplete, close. */
  release(cause: number, by: 'local' | 'remote', why?: string, reason?: ReleaseCompleteReasonValue, sendRc = by === 'local'): void {
    if (this.state === 'released' || this.releasing) return;
    this.releasing = true;
    this.h245?.end();
    if (sendRc && this.cr) {
      this.send(
        releaseCompleteMessage(this.ourCr(), this.ids, {
          h245Tunnelling: this.tunnel,
          cause,
          ...(reason ? { reason } : {}),
        }),
      );
    }
    this.finish({ cause, by, ...(why ? { reason: why } : {}) }, true);
  }

  private finish(info: ReleaseInfo, local: boolean): void {
    if (this.state === 'released') return;
    const was = this.state;
    this.state = 'released';
    for (const h of this.callTimers.values()) this.timers.clearTimeout(h);
    this.callTimers.clear();
    this.h245?.stop();
    this.h245Link?.close();
    this.h245Server?.close();
    this.channel.close();
    if (was !== 'idle') {
      this.metrics.active.dec({ direction: this.direction });
      if (was !== 'active') this.metrics.calls.inc({ direction: this.direction, outcome: local ? 'failed' : 'refused' });
    } else if (this.direction === 'outgoing') {
      // Never got as far as sending Setup (TCP connect failed).
      this.metrics.calls.inc({ direction: 'outgoing', outcome: 'failed' });
    }
    log().debug('call released', { callId: this.callId, cause: info.cause, by: info.by });
    this.emit('released', info);
  }

  private onSignallingClosed(): void {
    if (this.state === 'released') return;
    const cause =
      this.state === 'active'
        ? CauseValue.NormalCallClearing
        : this.state === 'idle' && this.direction === 'outgoing'
          ? CauseValue.DestinationOutOfOrder
          : CauseValue.TemporaryFailure;
    this.finish({ cause, by: 'remote', reason: 'connection closed' }, false);
  }

  private arm(name: string, ms: number, cause: number | (() => number), why: string, by: 'local' | 'remote' = 'local'): void {
    this.disarm(name);
    this.callTimers.set(
      name,
      this.timers.setTimeout(() => {
        this.callTimers.delete(name);
        this.release(typeof cause === 'number' ? cause : cause(), by, why, undefined, true);
      }, ms),
    );
  }

  private disarm(name: string): void {
    const h = this.callTimers.get(name);
    if (h !== undefined) {
      this.timers.clearTimeout(h);
      this.callTimers.delete(name);
    }
  }
}

let callLog: ReturnType<typeof componentLogger> | undefined;
/** One child logger for all calls (creating one per call costs more than the call's messages). */
function log(): ReturnType<typeof componentLogger> {
  callLog ??= componentLogger('h323-call');
  return callLog;
}

function stripV6(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
