/**
 * The H.245 procedures of one call, independent of how messages travel (tunnelled in H.225.0 or
 * on a separate TCP connection): capability exchange, master/slave determination, opening our
 * transmit channel and accepting the peer's, user input (DTMF), round trip delay, close and end
 * session. Every procedure that waits for an answer is guarded by one timer (H.245 T101/T103/T106
 * role); a timeout or a rejection is reported as a failure and the call is released.
 */
import type { Timers } from '../tpkt/channel.js';
import {
  ackMediaChannel,
  codecOf,
  command,
  forwardH2250,
  h245AddressToHostPort,
  indication,
  isVideo,
  openLogicalChannel,
  openLogicalChannelAck,
  pick,
  receiveCodecs,
  request,
  response,
  supportsDtmfUserInput,
  terminalCapabilitySet,
  userInputDigits,
  userInputSignal,
  userInputAlphanumeric,
  type Codec,
} from '../h245/messages.js';
import type { MultimediaSystemControlMessageValue, TerminalCapabilitySetValue } from '../h245/schema.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface LocalMedia {
  /** Where we receive RTP; RTCP is rtp.port + 1. */
  readonly rtp: HostPort;
  /** Where we receive video RTP (RTCP + 1). Without it no video channel is opened or accepted. */
  readonly video?: HostPort;
}

export interface H245SessionEvents {
  send(msg: MultimediaSystemControlMessageValue): void;
  /**
   * We may transmit `codec` to `rtp` (the peer acked our channel). `reopened`: our audio channel
   * was closed and opened again in the peer's codec (see H245SessionOptions.followPeerCodec), so
   * whoever relays our media must switch to `codec`.
   */
  onTransmit(info: { codec: Codec; rtp: HostPort; rtcp?: HostPort; channel: number; reopened?: boolean }): void;
  /** The peer opened a channel towards us with `codec`. */
  onReceive(info: { codec: Codec; channel: number }): void;
  onDtmf(digits: string): void;
  /** The peer asked for a key frame of the video we send it (H.245 miscellaneousCommand videoFastUpdatePicture). */
  onFastUpdate?(channel: number): void;
  onEndSession(): void;
  onFailure(reason: string): void;
}

export interface H245SessionOptions {
  readonly codecs: readonly Codec[];
  readonly media: LocalMedia;
  readonly timers: Timers;
  /** Time allowed for each answer (TCS ack, MSD ack, OLC ack). Default 10 s. */
  readonly timeoutMs?: number;
  /** 50 = terminal, 60 = gateway (H.323 table 1). */
  readonly terminalType?: number;
  /** Random integer source for the status determination number (tests inject). */
  readonly random?: () => number;
  /** Logical channels are already open by fastStart: exchange capabilities only. */
  readonly fastStartDone?: boolean;
  /** The video channels are already open by fastStart (session 2): no video OLC either. */
  readonly videoFastStartDone?: boolean;
  /**
   * Keep audio symmetric: when the peer opens its audio channel in another codec than ours (and it
   * can receive that codec), close ours and open it again in the peer's codec. H.245 lets each
   * direction use its own codec, but the media relay behind us (FreeSWITCH) sends and receives
   * one codec per leg: told only of ours it drops everything the peer sends (interop capture B1).
   * With it, our channel also opens in a codec chosen so that the reopen is rarely needed (see
   * audioChoice). Default true.
   */
  readonly followPeerCodec?: boolean;
  /**
   * As master, how long to leave the peer to follow our codec (a peer applying the same rule, as
   * slave, reopens in ours at once) before we follow its. The slave follows without waiting, so
   * two such endpoints settle on the master's codec instead of swapping. Default 250 ms.
   */
  readonly masterFollowDelayMs?: number;
  /**
   * As slave (with followPeerCodec), how long to wait for the master's audio channel before
   * opening ours regardless. Default 500 ms.
   */
  readonly slaveWaitMs?: number;
}

export class H245Session {
  private tcsSeq = 0;
  private ourTcsAcked = false;
  private peerTcs: TerminalCapabilitySetValue | undefined;
  private msdNumber = 0;
  private msdDone = false;
  private master = false;
  private started = false;
  private ended = false;
  private txChannel: number | undefined;
  private txCodec: Codec | undefined;
  /** Our audio channel was reopened in the peer's codec (done at most once a call: no ping-pong). */
  private followed = false;
  /** The peer's open audio channel towards us. */
  private peerAudio: { codec: Codec; channel: number } | undefined;
  /** As slave, the wait for the master's channel is over (see slaveWaitMs). */
  private slaveWaitOver = false;
  private videoChannel: number | undefined;
  private videoCodec: Codec | undefined;
  // H323Plus numbers its channels from 101; doing the same keeps traces comparable.
  private nextChannel = 101;
  private readonly timers = new Map<string, unknown>();
  readonly timeoutMs: number;
  fastStartDone: boolean;
  videoFastStartDone: boolean;
  private media: LocalMedia;

  constructor(
    private readonly o: H245SessionOptions,
    private readonly ev: H245SessionEvents,
  ) {
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.fastStartDone = o.fastStartDone ?? false;
    this.videoFastStartDone = o.videoFastStartDone ?? false;
    this.media = o.media;
  }

  /** Our receive address (before channels are opened). */
  setMedia(media: LocalMedia): void {
    this.media = media;
  }

  get isMaster(): boolean {
    return this.master;
  }

  get peerCapabilities(): TerminalCapabilitySetValue | undefined {
    return this.peerTcs;
  }

  /** Send our capabilities and start master/slave determination. */
  start(): void {
    if (this.started || this.ended) return;
    this.started = true;
    this.tcsSeq = (this.tcsSeq + 1) & 0xff;
    this.ev.send(request('terminalCapabilitySet', terminalCapabilitySet({ sequenceNumber: this.tcsSeq, codecs: this.o.codecs })));
    this.arm('tcs', 'no TerminalCapabilitySetAck');
    this.sendMsd();
  }

  private sendMsd(): void {
    this.msdNumber = (this.o.random ?? (() => Math.floor(Math.random() * 0x1000000)))() & 0xffffff;
    this.ev.send(request('masterSlaveDetermination', { terminalType: this.o.terminalType ?? 50, statusDeterminationNumber: this.msdNumber }));
    this.arm('msd', 'no MasterSlaveDeterminationAck');
  }

  sendDtmf(digits: string): void {
    if (this.ended) return;
    const useSignal = !this.peerTcs || supportsDtmfUserInput(this.peerTcs);
    for (const d of digits) {
      if (useSignal && /^[0-9#*A-D]$/.test(d)) this.ev.send(indication('userInput', userInputSignal(d, 100)));
      else this.ev.send(indication('userInput', userInputAlphanumeric(d)));
    }
  }

  /** Ask the peer for a key frame of the video it sends on `channel` (videoFastUpdatePicture). */
  sendFastUpdate(channel: number): void {
    if (this.ended) return;
    this.ev.send(command('miscellaneousCommand', { logicalChannelNumber: channel, type: { choice: 'videoFastUpdatePicture', value: null } }));
  }

  roundTripDelay(seq: number): void {
    this.ev.send(request('roundTripDelayRequest', { sequenceNumber: seq & 0xff }));
  }

  /** Send EndSessionCommand and stop all timers. */
  end(): void {
    if (this.ended) return;
    if (this.started) this.ev.send(command('endSessionCommand', { choice: 'disconnect', value: null }));
    this.stop();
  }

  /** Stop timers without sending anything (call torn down). */
  stop(): void {
    this.ended = true;
    for (const h of this.timers.values()) this.o.timers.clearTimeout(h);
    this.timers.clear();
  }

  handle(m: MultimediaSystemControlMessageValue): void {
    if (this.ended) return;
    const tcs = pick(m, 'request', 'terminalCapabilitySet');
    if (tcs) {
      this.peerTcs = tcs;
      this.ev.send(response('terminalCapabilitySetAck', { sequenceNumber: tcs.sequenceNumber }));
      if (!this.started) this.start();
      this.maybeOpen();
      return;
    }
    if (pick(m, 'response', 'terminalCapabilitySetAck')) {
      this.disarm('tcs');
      this.ourTcsAcked = true;
      this.maybeOpen();
      return;
    }
    if (pick(m, 'response', 'terminalCapabilitySetReject')) return this.fail('TerminalCapabilitySetReject');
    const msd = pick(m, 'request', 'masterSlaveDetermination');
    if (msd) return this.onMsd(msd.terminalType, msd.statusDeterminationNumber);
    const msdAck = pick(m, 'response', 'masterSlaveDeterminationAck');
    if (msdAck) {
      this.disarm('msd');
      if (!this.msdDone) {
        this.msdDone = true;
        this.master = msdAck.decision.choice === 'master';
        this.ev.send(response('masterSlaveDeterminationAck', { decision: { choice: this.master ? 'slave' : 'master', value: null } }));
      }
      this.maybeOpen();
      return;
    }
    if (pick(m, 'response', 'masterSlaveDeterminationReject')) {
      this.disarm('msd');
      this.sendMsd();
      return;
    }
    const olc = pick(m, 'request', 'openLogicalChannel');
    if (olc) {
      const codec = codecOf(olc.forwardLogicalChannelParameters.dataType);
      const reject = (cause: 'dataTypeNotSupported' | 'dataTypeNotAvailable'): void =>
        this.ev.send(response('openLogicalChannelReject', { forwardLogicalChannelNumber: olc.forwardLogicalChannelNumber, cause: { choice: cause, value: null } }));
      if (!codec || !this.o.codecs.includes(codec) || olc.forwardLogicalChannelParameters.multiplexParameters.choice !== 'h2250LogicalChannelParameters') {
        return reject('dataTypeNotSupported');
      }
      const rtp = isVideo(codec) ? this.media.video : this.media.rtp;
      if (!rtp) return reject('dataTypeNotAvailable');
      this.ev.send(response('openLogicalChannelAck', openLogicalChannelAck(olc.forwardLogicalChannelNumber, rtp, { host: rtp.host, port: rtp.port + 1 })));
      this.ev.onReceive({ codec, channel: olc.forwardLogicalChannelNumber });
      if (!isVideo(codec)) {
        this.peerAudio = { codec, channel: olc.forwardLogicalChannelNumber };
        if (this.timers.has('slaveWait')) {
          this.disarm('slaveWait');
          this.maybeOpen();
        } else this.followPeer();
      }
      return;
    }
    const ack = pick(m, 'response', 'openLogicalChannelAck');
    if (ack) {
      const ch = ack.forwardLogicalChannelNumber;
      const codec = ch === this.txChannel ? this.txCodec : ch === this.videoChannel ? this.videoCodec : undefined;
      if (!codec) return;
      this.disarm(ch === this.txChannel ? 'olc' : 'olcVideo');
      const rtp = ackMediaChannel(ack);
      if (!rtp) return this.fail('OpenLogicalChannelAck without a media channel');
      const p = ack.forwardMultiplexAckParameters;
      const rtcp = p?.choice === 'h2250LogicalChannelAckParameters' ? h245AddressToHostPort(p.value.mediaControlChannel) : undefined;
      this.ev.onTransmit({ codec, rtp, ...(rtcp ? { rtcp } : {}), channel: ch, ...(ch === this.txChannel && this.followed ? { reopened: true } : {}) });
      return;
    }
    const rej = pick(m, 'response', 'openLogicalChannelReject');
    if (rej) {
      if (rej.forwardLogicalChannelNumber === this.txChannel) this.fail(`OpenLogicalChannelReject ${rej.cause.choice}`);
      // A refused video channel only means an audio-only call.
      else if (rej.forwardLogicalChannelNumber === this.videoChannel) this.disarm('olcVideo');
      return;
    }
    const clc = pick(m, 'request', 'closeLogicalChannel');
    if (clc) {
      this.ev.send(response('closeLogicalChannelAck', { forwardLogicalChannelNumber: clc.forwardLogicalChannelNumber }));
      if (clc.forwardLogicalChannelNumber === this.peerAudio?.channel) this.peerAudio = undefined;
      return;
    }
    const rtd = pick(m, 'request', 'roundTripDelayRequest');
    if (rtd) {
      this.ev.send(response('roundTripDelayResponse', { sequenceNumber: rtd.sequenceNumber }));
      return;
    }
    const ui = pick(m, 'indication', 'userInput');
    if (ui) {
      const digits = userInputDigits(ui);
      if (digits) this.ev.onDtmf(digits);
      return;
    }
    if (pick(m, 'command', 'sendTerminalCapabilitySet')) {
      // The peer lost our capabilities: send them again (new sequence number).
      this.tcsSeq = (this.tcsSeq + 1) & 0xff;
      this.ev.send(request('terminalCapabilitySet', terminalCapabilitySet({ sequenceNumber: this.tcsSeq, codecs: this.o.codecs })));
      this.arm('tcs', 'no TerminalCapabilitySetAck');
      return;
    }
    const rcc = pick(m, 'request', 'requestChannelClose');
    if (rcc) {
      this.ev.send(response('requestChannelCloseAck', { forwardLogicalChannelNumber: rcc.forwardLogicalChannelNumber }));
      if (rcc.forwardLogicalChannelNumber === this.txChannel) {
        this.ev.send(request('closeLogicalChannel', { forwardLogicalChannelNumber: rcc.forwardLogicalChannelNumber, source: { choice: 'user', value: null } }));
      }
      return;
    }
    const loop = pick(m, 'request', 'maintenanceLoopRequest');
    if (loop) {
      this.ev.send(response('maintenanceLoopReject', { type: loop.type, cause: { choice: 'canNotPerformLoop', value: null } }));
      return;
    }
    const rme = pick(m, 'request', 'requestMultiplexEntry');
    if (rme) {
      this.ev.send(
        response('requestMultiplexEntryReject', {
          entryNumbers: rme.entryNumbers,
          rejectionDescriptions: rme.entryNumbers.map((n) => ({ multiplexTableEntryNumber: n, cause: { choice: 'unspecifiedCause' as const, value: null } })),
        }),
      );
      return;
    }
    if (m.choice === 'request' && (m.value.choice === 'nonStandard' || m.value.choice === 'genericRequest' || m.value.choice === '$unknown')) {
      // A request we cannot act on goes back in FunctionNotUnderstood (unknown extension requests
      // too: their open-type bytes re-encode unchanged).
      this.ev.send(indication('functionNotUnderstood', { choice: 'request', value: m.value }));
      return;
    }
    const misc = pick(m, 'command', 'miscellaneousCommand');
    if (misc) {
      if (misc.type.choice === 'videoFastUpdatePicture') this.ev.onFastUpdate?.(misc.logicalChannelNumber);
      return;
    }
    if (pick(m, 'command', 'endSessionCommand')) {
      // H.323 8.5: answer with our own EndSessionCommand, then the call is cleared.
      this.end();
      this.ev.onEndSession();
    }
    // Anything else (vendor identification, misc indications, RTD responses...) needs no answer.
  }

  private onMsd(terminalType: number, number: number): void {
    const ours = this.o.terminalType ?? 50;
    let weAreMaster: boolean | undefined;
    if (terminalType !== ours) weAreMaster = ours > terminalType;
    else {
      // H.245 C.2: (peer - ours) modulo 2^24 below 0x800000 makes us master (as H323Plus does).
      const diff = (number - this.msdNumber + 0x1000000) % 0x1000000;
      if (diff === 0 || diff === 0x800000) weAreMaster = undefined;
      else weAreMaster = diff < 0x800000;
    }
    if (!this.started) this.start();
    if (weAreMaster === undefined) {
      this.ev.send(response('masterSlaveDeterminationReject', { cause: { choice: 'identicalNumbers', value: null } }));
      return;
    }
    this.master = weAreMaster;
    // The ack tells the peer its own role.
    this.ev.send(response('masterSlaveDeterminationAck', { decision: { choice: weAreMaster ? 'slave' : 'master', value: null } }));
    this.msdDone = true;
    this.disarm('msd');
    this.maybeOpen();
  }

  private maybeOpen(): void {
    if (!this.peerTcs || !this.ourTcsAcked || !this.msdDone) return;
    const theirs = receiveCodecs(this.peerTcs);
    if (!this.fastStartDone && this.txChannel === undefined && !this.timers.has('slaveWait')) {
      const codec = this.audioChoice(theirs);
      if (codec === 'wait') {
        // As slave, wait for the master's channel and open ours in its codec (see slaveWaitMs).
        this.timers.set('slaveWait', this.o.timers.setTimeout(() => {
          this.timers.delete('slaveWait');
          this.slaveWaitOver = true;
          this.maybeOpen();
        }, this.o.slaveWaitMs ?? 500));
      } else {
        if (!codec) return this.fail('no common audio codec');
        this.openAudio(codec);
      }
    }
    const video = this.media.video;
    if (video && !this.videoFastStartDone && this.videoChannel === undefined && !this.ended) {
      const codec = this.o.codecs.find((c) => isVideo(c) && theirs.includes(c));
      if (!codec) return;
      this.videoChannel = this.nextChannel++;
      this.videoCodec = codec;
      this.ev.send(request('openLogicalChannel', openLogicalChannel({ channel: this.videoChannel, codec, rtcp: { host: video.host, port: video.port + 1 } })));
      this.arm('olcVideo', 'no OpenLogicalChannelAck (video)');
    }
  }

  /**
   * The codec of our audio channel, so that both directions use one codec from the start where
   * that can be arranged (followPeerCodec): the peer's channel when it is already open; as master,
   * the peer's own preference (the first audio codec of its capability table that we support),
   * which is what a terminal such as H323Plus opens towards us; as slave, the master's channel,
   * waited for (slaveWaitMs), then the same choice as a master's. Two such sessions agree on the
   * slave's preference without a reopen; a reopen (followPeer) is the exception, which matters
   * because H323Plus 1.28 copes with one on the wire but hangs when clearing such a call.
   * Without followPeerCodec: our own first codec the peer can receive.
   */
  private audioChoice(theirs: readonly Codec[]): Codec | undefined | 'wait' {
    if (this.o.followPeerCodec === false) return this.o.codecs.find((c) => !isVideo(c) && theirs.includes(c));
    const peer = this.peerAudio?.codec;
    if (peer !== undefined && this.canSend(peer)) return peer;
    if (!this.master && !this.slaveWaitOver && peer === undefined) return 'wait';
    return theirs.find((c) => !isVideo(c) && this.o.codecs.includes(c));
  }

  /** Whether we may transmit `codec`: we support it and the peer said it can receive it. */
  private canSend(codec: Codec): boolean {
    return this.o.codecs.includes(codec) && this.peerTcs !== undefined && receiveCodecs(this.peerTcs).includes(codec);
  }

  /** The peer's audio codec differs from ours: reopen ours in it (see H245SessionOptions.followPeerCodec). */
  private followPeer(): void {
    if (this.o.followPeerCodec === false || this.followed || this.ended) return;
    const peer = this.peerAudio;
    // Not opened yet: maybeOpen() picks the peer's codec. fastStart channels are not ours to reopen here.
    if (!peer || this.txChannel === undefined || this.txCodec === peer.codec || this.fastStartDone) return;
    if (!this.canSend(peer.codec)) return;
    if (this.master) {
      // A following peer (as slave) reopens in ours now; give it the chance before we move.
      if (this.timers.has('follow')) return;
      this.timers.set('follow', this.o.timers.setTimeout(() => {
        this.timers.delete('follow');
        this.reopenIn();
      }, this.o.masterFollowDelayMs ?? 250));
      return;
    }
    this.reopenIn();
  }

  private reopenIn(): void {
    const peer = this.peerAudio;
    if (this.ended || this.followed || !peer || this.txChannel === undefined || this.txCodec === peer.codec || !this.canSend(peer.codec)) return;
    this.followed = true;
    this.disarm('olc');
    this.ev.send(request('closeLogicalChannel', { forwardLogicalChannelNumber: this.txChannel, source: { choice: 'lcse', value: null } }));
    this.openAudio(peer.codec);
  }

  /** Open our audio channel (a new channel number) in `codec`, guarded by the OLC timer. */
  private openAudio(codec: Codec): void {
    this.txChannel = this.nextChannel++;
    this.txCodec = codec;
    const rtp = this.media.rtp;
    this.ev.send(request('openLogicalChannel', openLogicalChannel({ channel: this.txChannel, codec, rtcp: { host: rtp.host, port: rtp.port + 1 } })));
    this.arm('olc', 'no OpenLogicalChannelAck');
  }

  private arm(name: string, reason: string): void {
    this.disarm(name);
    this.timers.set(
      name,
      this.o.timers.setTimeout(() => {
        this.timers.delete(name);
        this.fail(`H.245 timeout: ${reason}`);
      }, this.timeoutMs),
    );
  }

  private disarm(name: string): void {
    const h = this.timers.get(name);
    if (h !== undefined) {
      this.o.timers.clearTimeout(h);
      this.timers.delete(name);
    }
  }

  private fail(reason: string): void {
    if (this.ended) return;
    this.stop();
    this.ev.onFailure(reason);
  }
}

/** The forward media address of an OLC (fastStart answer: where to send). */
export function olcForwardMedia(olc: Parameters<typeof forwardH2250>[0]): HostPort | undefined {
  return h245AddressToHostPort(forwardH2250(olc)?.mediaChannel);
}
