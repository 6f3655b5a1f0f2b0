/**
 * MediaSession: the FreeSWITCH legs of one call. connectCaller() for the SIP leg,
 * createEndpointFor() for the H.323 leg (re-pointed with updateRemote() when the far end's
 * fastStart/OLC answer arrives), bridge(), and release() which is idempotent and frees every
 * endpoint and dialog the session made. A leg ended by FreeSWITCH, or the caller hanging up,
 * releases the whole session ('released' event with the reason).
 */
import { EventEmitter } from 'node:events';
import type { Endpoint, MediaServer } from '../../types/drachtio-fsmrf.js';
import type { GatewaySrf, SrfDialog, SrfRequest, SrfResponse } from '../../types/drachtio-srf.js';
import { SessionReleasedError } from './errors.js';
import type { LegType } from './metrics.js';
import { h323LegCodecs, remoteOffer, sdpVideoAddress, type RemoteMedia } from './sdp.js';

/** What a session needs from its controller. */
export interface SessionHost {
  readonly config: { readonly releaseTimeoutMs: number };
  readonly jitterBufferMsec: string | null;
}

export interface CallerLeg {
  endpoint: Endpoint;
  /** The SIP dialog with the caller (UAS side). */
  dialog: SrfDialog;
}

export interface H323Leg {
  endpoint: Endpoint;
  /** FreeSWITCH's RTP address for this leg: put it in the fastStart OLCs. */
  readonly local: { host: string; port: number };
  /** FreeSWITCH's video RTP address, when it accepted the video stream offered to this leg. */
  readonly localVideo?: { host: string; port: number };
  /** Re-point FreeSWITCH at the far end's RTP address/codec (re-INVITE to FreeSWITCH). */
  updateRemote(remote: RemoteMedia): Promise<void>;
}

export interface SessionEvents {
  released: [reason: string];
  /** An endpoint or a SIP dialog joined the session (what a peer must end if this process dies). */
  changed: [];
}

/**
 * What a call reports about itself while it runs, so its state can be kept outside the process
 * (lib/ha records it in Redis for a surviving instance to end the call).
 */
export interface MediaCallObserver {
  /** The call's media session, as soon as it exists. */
  session(s: MediaSession): void;
  /** A SIP dialog of the call that its media session does not track. */
  dialog?(d: SrfDialog): void;
  /** A council seat the call holds in the shared membership. */
  seat?(room: string, seatId: string): void;
}

let nextId = 1;

export class MediaSession extends EventEmitter<SessionEvents> {
  readonly id = `ms${nextId++}`;
  private readonly endpoints = new Map<Endpoint, LegType>();
  private readonly destroyedEps = new WeakSet<Endpoint>();
  private readonly dialogs = new Set<SrfDialog>();
  /** The jitter buffer of an endpoint adopted without waiting for it (see adoptInBackground()). */
  private readonly settling = new WeakMap<Endpoint, Promise<void>>();
  private readonly endedDialogs = new WeakSet<SrfDialog>();
  private releasing: Promise<void> | undefined;
  private reason: string | undefined;

  constructor(
    private readonly host: SessionHost,
    private readonly ms: MediaServer,
    private readonly remember: (uuid: string, leg: LegType) => void,
  ) {
    super();
  }

  get released(): boolean {
    return this.releasing !== undefined;
  }

  /** Endpoints still tracked (not yet destroyed). */
  get liveEndpoints(): number {
    return [...this.endpoints.keys()].filter((e) => !this.destroyedEps.has(e)).length;
  }

  /** FreeSWITCH channel UUIDs of the endpoints not yet destroyed. */
  get endpointUuids(): string[] {
    return [...this.endpoints.keys()].filter((e) => !this.destroyedEps.has(e)).map((e) => e.uuid);
  }

  /** SIP dialogs this session tracks that have not ended. */
  get openDialogs(): SrfDialog[] {
    return [...this.dialogs].filter((d) => !this.endedDialogs.has(d));
  }

  /** Answer the SIP caller with FreeSWITCH's SDP. */
  async connectCaller(req: SrfRequest, res: SrfResponse, opts: { codecs?: string[]; remoteSdp?: string } = {}): Promise<CallerLeg> {
    this.assertOpen();
    const { endpoint, dialog } = await this.ms.connectCaller(req, res, {
      ...(opts.codecs ? { codecs: opts.codecs } : {}),
      ...(opts.remoteSdp ? { remoteSdp: opts.remoteSdp } : {}),
    });
    this.trackDialog(dialog);
    await this.adoptEndpoint(endpoint, 'sip');
    return { endpoint, dialog };
  }

  /**
   * Early media toward the SIP caller: a FreeSWITCH endpoint for the caller's offer and a
   * 183 Session Progress carrying FreeSWITCH's SDP (RFC 3960 gateway model). The dialog is made by
   * answerCaller() once the far end answers; until then a final error response or CANCEL ends
   * it, and release() frees the endpoint.
   */
  async earlyCaller(req: SrfRequest, res: SrfResponse, opts: { codecs?: string[]; remoteSdp?: string } = {}): Promise<Endpoint> {
    const endpoint = await this.prepareCaller(req, opts);
    this.progress(res, endpoint);
    return endpoint;
  }

  /**
   * FreeSWITCH's endpoint for the caller's offer, without answering the caller: made while the
   * far side is still being reached, so progress()/answerCaller() later cost no FreeSWITCH
   * round trip. release() frees it if the call never gets that far.
   */
  async prepareCaller(req: SrfRequest, opts: { codecs?: string[]; remoteSdp?: string } = {}): Promise<Endpoint> {
    this.assertOpen();
    const endpoint = await this.ms.createEndpoint({ remoteSdp: opts.remoteSdp ?? req.body, ...(opts.codecs ? { codecs: opts.codecs } : {}) });
    await this.adoptInBackground(endpoint, 'sip');
    return endpoint;
  }

  /**
   * A 3pcc endpoint (no remote SDP yet) whose local SDP is the offer for a SIP leg we place; its
   * answer comes later with modify(). Adopted without waiting for the jitter buffer, as
   * prepareCaller() is.
   */
  async createOffer(opts: { codecs?: string[] } = {}): Promise<Endpoint> {
    this.assertOpen();
    const endpoint = await this.ms.createEndpoint(opts.codecs ? { codecs: opts.codecs } : {});
    await this.adoptInBackground(endpoint, 'sip');
    return endpoint;
  }

  /** 183 Session Progress carrying the endpoint's SDP (early media, RFC 3960 gateway model). */
  progress(res: SrfResponse, endpoint: Endpoint): void {
    this.assertOpen();
    if (res.finalResponseSent) throw new SessionReleasedError('caller already answered');
    res.send(183, { body: endpoint.local.sdp ?? '', headers: { 'Content-Type': 'application/sdp' } });
  }

  /** 200 OK to the caller with the early endpoint's SDP: the dialog (tracked like connectCaller's). */
  async answerCaller(req: SrfRequest, res: SrfResponse, endpoint: Endpoint): Promise<CallerLeg> {
    this.assertOpen();
    // fsmrf's own connectCaller() answers through the MediaServer's srf in the same way.
    const srf = (this.ms as unknown as { srf: GatewaySrf }).srf;
    const dialog = await srf.createUAS(req, res, { localSdp: endpoint.local.sdp ?? '' });
    this.trackDialog(dialog);
    if (this.released) {
      await this.release(this.reason ?? 'released');
      throw new SessionReleasedError(this.reason ?? 'released');
    }
    return { endpoint, dialog };
  }

  /** An endpoint whose remote RTP is the H.323 side's. */
  async createEndpointFor(remote: RemoteMedia): Promise<H323Leg> {
    this.assertOpen();
    let version = 1;
    const endpoint = await this.ms.createEndpoint({ remoteSdp: remoteOffer(remote, version), codecs: h323LegCodecs(remote.codec, remote.video?.codec) });
    await this.adoptInBackground(endpoint, 'h323');
    const local = { host: endpoint.local.mediaIp ?? '', port: Number(endpoint.local.mediaPort ?? 0) };
    const localVideo = remote.video ? sdpVideoAddress(endpoint.local.sdp) : undefined;
    return {
      endpoint,
      local,
      ...(localVideo ? { localVideo } : {}),
      updateRemote: async (r: RemoteMedia): Promise<void> => {
        this.assertOpen();
        version += 1;
        await this.modify(endpoint, remoteOffer(r, version));
      },
    };
  }

  /** Give an endpoint its remote SDP (re-INVITE to FreeSWITCH), after its jitter buffer. */
  async modify(ep: Endpoint, sdp: string): Promise<void> {
    this.assertOpen();
    await this.settled(ep);
    await ep.modify(sdp);
  }

  /** Bridge two of this session's endpoints (uuid_bridge). */
  async bridge(a: Endpoint, b: Endpoint): Promise<void> {
    this.assertOpen();
    await Promise.all([this.settled(a), this.settled(b)]);
    this.assertOpen();
    await a.bridge(b);
  }

  /**
   * Adopt an endpoint made elsewhere (e.g. a conference participant) so release() frees it.
   * Applies the jitter buffer.
   */
  async adoptEndpoint(ep: Endpoint, leg: LegType): Promise<void> {
    await this.adoptInBackground(ep, leg);
    await this.settled(ep);
  }

  /**
   * adoptEndpoint() that does not hold its caller up for the jitter buffer (an ESL round trip):
   * signalling toward the caller or the H.323 side may go on meanwhile, while FreeSWITCH-side
   * operations on the endpoint (bridge, re-point) wait for it, in the same order as before.
   */
  private async adoptInBackground(ep: Endpoint, leg: LegType): Promise<void> {
    this.endpoints.set(ep, leg);
    this.remember(ep.uuid, leg);
    this.emit('changed');
    ep.on('destroy', () => {
      this.destroyedEps.add(ep);
      void this.release(`${leg}-leg-ended`);
    });
    if (this.released) {
      // The release may have started before this endpoint existed: it would not free it.
      await Promise.all([this.release(this.reason ?? 'released'), this.destroyEndpoint(ep)]);
      throw new SessionReleasedError(this.reason ?? 'released');
    }
    const jb = this.host.jitterBufferMsec;
    if (!jb) return;
    const p = ep.execute('jitterbuffer', jb).then(() => undefined);
    p.catch(() => undefined); // surfaces through settled()
    this.settling.set(ep, p);
  }

  /** Resolves once the endpoint's jitter buffer is applied; rejects if that failed. */
  private settled(ep: Endpoint): Promise<void> {
    return this.settling.get(ep) ?? Promise.resolve();
  }

  /** Track a SIP dialog (caller or callee) so release() sends its BYE. */
  trackDialog(d: SrfDialog): void {
    this.dialogs.add(d);
    this.emit('changed');
    d.on('destroy', () => {
      this.endedDialogs.add(d);
      void this.release('sip-hangup');
    });
  }

  /** Free every endpoint and dialog; idempotent, concurrent calls share one release. */
  release(reason = 'released'): Promise<void> {
    if (this.releasing) return this.releasing;
    this.reason = reason;
    this.releasing = this.doRelease(reason);
    return this.releasing;
  }

  private async doRelease(reason: string): Promise<void> {
    const eps = [...this.endpoints.keys()].filter((e) => !this.destroyedEps.has(e));
    await Promise.allSettled(eps.map((e) => this.destroyEndpoint(e)));
    for (const d of this.dialogs) {
      if (this.endedDialogs.has(d)) continue;
      this.endedDialogs.add(d);
      try {
        d.destroy();
      } catch {
        /* already gone */
      }
    }
    this.emit('released', reason);
  }

  private async destroyEndpoint(ep: Endpoint): Promise<void> {
    const bound = this.host.config.releaseTimeoutMs;
    let t: NodeJS.Timeout | undefined;
    const done = ep.destroy().then(() => true, () => false);
    const timedOut = new Promise<false>((r) => {
      t = setTimeout(() => r(false), bound);
    });
    const ok = await Promise.race([done, timedOut]);
    clearTimeout(t);
    this.destroyedEps.add(ep);
    if (!ok && this.ms.connected()) {
      // FreeSWITCH did not hang the leg up in time (or the outbound socket is gone): kill it.
      await this.ms.api(`uuid_kill ${ep.uuid}`).catch(() => undefined);
    }
  }

  private assertOpen(): void {
    if (this.releasing) throw new SessionReleasedError(this.reason ?? 'released');
  }
}
