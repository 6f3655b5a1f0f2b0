/**
 * An H.323 test endpoint built on lib/h323: it answers (or refuses) incoming calls and places
 * outgoing ones, with or without fastStart, tunnelled H.245 or a separate H.245 connection; it
 * sends DTMF as UserInputIndication, sends real G.711 RTP (a tone) to the negotiated address and
 * counts the RTP it receives.
 *
 * Run standalone: `node --import tsx test/lab/h323-endpoint/main.ts --help`.
 */
import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { dial, H323Listener, type CallOptions, type H323Call, type MediaInfo, type ReleaseInfo } from '../../../lib/h323/call/index.js';
import { RTP_PAYLOAD_TYPE, type Codec } from '../../../lib/h323/h245/messages.js';
import type { Timers } from '../../../lib/h323/tpkt/channel.js';
import { tone } from './g711.js';
import { RtpPort } from './rtp.js';

export type AnswerMode = { readonly mode: 'answer'; readonly ring?: boolean } | { readonly mode: 'reject'; readonly cause: number } | { readonly mode: 'manual' };

export interface EndpointOptions {
  readonly host?: string;
  readonly codecs?: readonly Codec[];
  readonly fastStart?: boolean;
  readonly tunnel?: boolean;
  readonly answer?: AnswerMode;
  /** RTP packets to send once media is known (20 ms of audio each); 0 = none. Default 0. */
  readonly rtpPackets?: number;
  /** Interval between RTP packets. Default 20 ms. */
  readonly rtpIntervalMs?: number;
  readonly timers?: Timers;
  readonly registry?: Registry;
  readonly callOptions?: Partial<CallOptions>;
  /** Propose (outgoing) / accept (incoming) the video codecs in `codecs` (fastStart session 2) on their own RTP port. */
  readonly video?: boolean;
}

export interface EndpointCall {
  readonly call: H323Call;
  readonly rtp: RtpPort;
  /** The video RTP port (outgoing calls with `video`). */
  readonly videoRtp?: RtpPort;
  media?: MediaInfo;
  /** The video channel we may send on, if the far end accepted one. */
  video?: MediaInfo;
  receiveCodec?: Codec;
  readonly dtmf: string[];
  released?: ReleaseInfo;
  /** Resolves when the call is released. */
  readonly done: Promise<ReleaseInfo>;
}

export interface EndpointEvents {
  call: [EndpointCall];
}

export class H323Endpoint extends EventEmitter<EndpointEvents> {
  readonly calls: EndpointCall[] = [];
  private listener: H323Listener | undefined;
  private readonly registry: Registry;
  private readonly ports = new Set<RtpPort>();
  private readonly senders = new Set<NodeJS.Timeout>();
  address: { host: string; port: number } | undefined;

  constructor(readonly o: EndpointOptions = {}) {
    super();
    this.registry = o.registry ?? isolatedRegistry();
  }

  private get host(): string {
    return this.o.host ?? '127.0.0.1';
  }

  private baseOptions(rtp: RtpPort | undefined): CallOptions {
    return {
      codecs: this.o.codecs ?? ['PCMU', 'PCMA'],
      // Incoming calls get their real port with setLocalMedia() once allocated.
      media: { rtp: { host: this.host, port: rtp?.port ?? 0 } },
      fastStart: this.o.fastStart ?? true,
      tunnel: this.o.tunnel ?? true,
      registry: this.registry,
      h245Host: this.host,
      ...(this.o.timers ? { timers: this.o.timers } : {}),
      ...this.o.callOptions,
    };
  }

  /** Start answering calls on host:port (0 = ephemeral). Media ports are allocated per call on offer. */
  async listen(port = 0): Promise<{ host: string; port: number }> {
    this.listener = new H323Listener({
      host: this.host,
      port,
      callOptions: this.baseOptions(undefined),
      onCall: (call) => {
        void Promise.all([this.openRtp(), this.o.video ? this.openRtp() : undefined]).then(([rtp, videoRtp]) => {
          if (call.state === 'released') return;
          call.setLocalMedia({ rtp: { host: this.host, port: rtp.port }, ...(videoRtp ? { video: { host: this.host, port: videoRtp.port } } : {}) });
          const ec = this.track(call, rtp, videoRtp);
          this.emit('call', ec);
          const a = this.o.answer ?? { mode: 'answer', ring: true };
          if (a.mode === 'answer') {
            if (a.ring ?? true) call.ring();
            call.answer();
          } else if (a.mode === 'reject') call.reject(a.cause);
        });
      },
    });
    this.address = await this.listener.listen();
    return this.address;
  }

  /** The callSignalAddress this endpoint would advertise (undefined before listen()). */
  listenerAddress(): ReturnType<H323Listener['callSignalAddress']> | undefined {
    return this.listener?.callSignalAddress();
  }

  /** Call host:port. */
  async call(host: string, port: number, calledNumber = '1000'): Promise<EndpointCall> {
    const rtp = await this.openRtp();
    const videoRtp = this.o.video ? await this.openRtp() : undefined;
    const base = this.baseOptions(rtp);
    const call = dial({
      ...base,
      ...(videoRtp ? { media: { ...base.media, video: { host: this.host, port: videoRtp.port } } } : {}),
      host,
      port,
      target: {
        calledNumber,
        callingNumber: '2000',
        destinationAliases: [{ choice: 'dialledDigits', value: calledNumber }],
        sourceAliases: [{ choice: 'h323-ID', value: 'lab-endpoint' }],
      },
    });
    const ec = this.track(call, rtp, videoRtp);
    this.emit('call', ec);
    return ec;
  }

  private async openRtp(): Promise<RtpPort> {
    const p = await RtpPort.open(this.host);
    this.ports.add(p);
    return p;
  }

  private track(call: H323Call, rtp: RtpPort, videoRtp?: RtpPort): EndpointCall {
    let resolveDone!: (r: ReleaseInfo) => void;
    const done = new Promise<ReleaseInfo>((r) => (resolveDone = r));
    const ec: EndpointCall = { call, rtp, ...(videoRtp ? { videoRtp } : {}), dtmf: [], done };
    call.on('video', (v) => {
      ec.video = v;
      if (videoRtp) this.startVideoRtp(ec, videoRtp, v);
    });
    this.calls.push(ec);
    call.on('media', (m) => {
      const first = ec.media === undefined;
      ec.media = m;
      // A reopened channel (the far end's codec) only changes what the running sender sends.
      if (first) this.startRtp(ec);
    });
    call.on('receiving', (r) => {
      ec.receiveCodec = r.codec;
      const pt = (RTP_PAYLOAD_TYPE as Record<string, number | undefined>)[r.codec];
      if (pt !== undefined) rtp.expectedPayloadType = pt;
    });
    call.on('dtmf', (d) => ec.dtmf.push(d));
    call.once('released', (r) => {
      ec.released = r;
      resolveDone(r);
    });
    return ec;
  }

  /** Sends `rtpPackets` of a tone in the codec and to the address of the call's current channel. */
  private startRtp(ec: EndpointCall): void {
    const n = this.o.rtpPackets ?? 0;
    if (n <= 0) return;
    const audio = new Map<'PCMU' | 'PCMA', Uint8Array>();
    let i = 0;
    const sendOne = (): boolean => {
      const m = ec.media;
      if (i >= n || ec.call.state === 'released' || !m || (m.codec !== 'PCMU' && m.codec !== 'PCMA')) return false;
      let a = audio.get(m.codec);
      if (!a) audio.set(m.codec, (a = tone(m.codec, (n * 20) / 1000)));
      ec.rtp.send(RTP_PAYLOAD_TYPE[m.codec], a.subarray(i * 160, (i + 1) * 160), m.remoteRtp, i === 0);
      i++;
      return true;
    };
    sendOne();
    const t = setInterval(() => {
      if (!sendOne()) {
        clearInterval(t);
        this.senders.delete(t);
      }
    }, this.o.rtpIntervalMs ?? 20);
    this.senders.add(t);
  }

  /**
   * Stand-in video: RTP packets with the codec's payload type (H.263 static 34, H.264 dynamic 96)
   * and a filler payload, so the far end can count what arrives on its video port. The lab does
   * not judge pictures.
   */
  private startVideoRtp(ec: EndpointCall, port: RtpPort, v: MediaInfo): void {
    const n = this.o.rtpPackets ?? 0;
    if (n <= 0) return;
    const pt = v.codec === 'H263' ? 34 : 96;
    const filler = new Uint8Array(200).fill(0x5a);
    let i = 0;
    const t = setInterval(() => {
      if (i >= n || ec.call.state === 'released') {
        clearInterval(t);
        this.senders.delete(t);
        return;
      }
      port.send(pt, filler, v.remoteRtp, i === 0);
      i++;
    }, this.o.rtpIntervalMs ?? 20);
    this.senders.add(t);
  }

  async close(): Promise<void> {
    for (const t of this.senders) clearInterval(t);
    this.senders.clear();
    for (const c of this.calls) if (c.call.state !== 'released') c.call.hangup();
    await this.listener?.close();
    for (const p of this.ports) p.close();
    this.ports.clear();
  }
}
