/**
 * MediaSession: the FreeSWITCH legs of one call. connectCaller() for the SIP leg,
 * createEndpointFor() for the H.323 leg (re-pointed with updateRemote() when the far end's
 * fastStart/OLC answer arrives), bridge(), and release() which is idempotent and frees every
 * endpoint and dialog the session made. A leg ended by FreeSWITCH, or the caller hanging up,
 * releases the whole session ('released' event with the reason).
 */
import { EventEmitter } from 'node:events';
import type { Endpoint, MediaServer } from '../../types/drachtio-fsmrf.js';
import type { SrfDialog, SrfRequest, SrfResponse } from '../../types/drachtio-srf.js';
import { SessionReleasedError } from './errors.js';
import type { LegType } from './metrics.js';
import { remoteOffer, type RemoteMedia } from './sdp.js';

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
  /** Re-point FreeSWITCH at the far end's RTP address/codec (re-INVITE to FreeSWITCH). */
  updateRemote(remote: RemoteMedia): Promise<void>;
}

export interface SessionEvents {
  released: [reason: string];
}

let nextId = 1;

export class MediaSession extends EventEmitter<SessionEvents> {
  readonly id = `ms${nextId++}`;
  private readonly endpoints = new Map<Endpoint, LegType>();
  private readonly destroyedEps = new WeakSet<Endpoint>();
  private readonly dialogs = new Set<SrfDialog>();
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

  /** Answer the SIP caller with FreeSWITCH's SDP. */
  async connectCaller(req: SrfRequest, res: SrfResponse, opts: { codecs?: string[] } = {}): Promise<CallerLeg> {
    this.assertOpen();
    const { endpoint, dialog } = await this.ms.connectCaller(req, res, opts.codecs ? { codecs: opts.codecs } : {});
    this.trackDialog(dialog);
    await this.adoptEndpoint(endpoint, 'sip');
    return { endpoint, dialog };
  }

  /** An endpoint whose remote RTP is the H.323 side's. */
  async createEndpointFor(remote: RemoteMedia): Promise<H323Leg> {
    this.assertOpen();
    let version = 1;
    const endpoint = await this.ms.createEndpoint({ remoteSdp: remoteOffer(remote, version), codecs: [remote.codec] });
    await this.adoptEndpoint(endpoint, 'h323');
    const local = { host: endpoint.local.mediaIp ?? '', port: Number(endpoint.local.mediaPort ?? 0) };
    return {
      endpoint,
      local,
      updateRemote: async (r: RemoteMedia): Promise<void> => {
        this.assertOpen();
        version += 1;
        await endpoint.modify(remoteOffer(r, version));
      },
    };
  }

  /** Bridge two of this session's endpoints (uuid_bridge). */
  async bridge(a: Endpoint, b: Endpoint): Promise<void> {
    this.assertOpen();
    await a.bridge(b);
  }

  /**
   * Adopt an endpoint made elsewhere (e.g. a conference participant) so release() frees it.
   * Applies the jitter buffer.
   */
  async adoptEndpoint(ep: Endpoint, leg: LegType): Promise<void> {
    this.endpoints.set(ep, leg);
    this.remember(ep.uuid, leg);
    ep.on('destroy', () => {
      this.destroyedEps.add(ep);
      void this.release(`${leg}-leg-ended`);
    });
    if (this.released) {
      await this.release(this.reason ?? 'released');
      throw new SessionReleasedError(this.reason ?? 'released');
    }
    const jb = this.host.jitterBufferMsec;
    if (jb) await ep.execute('jitterbuffer', jb);
  }

  /** Track a SIP dialog (caller or callee) so release() sends its BYE. */
  trackDialog(d: SrfDialog): void {
    this.dialogs.add(d);
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
