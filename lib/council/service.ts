/**
 * Council dial-in (issue 6 item 5, issue 7 item 4): SIP callers (after the policy chain) and
 * H.323 callers (Setup to the listener) whose dialled user/alias names a configured room join
 * that room's FreeSWITCH conference.
 *
 *   seat: MembershipStore.tryJoin (shared by instances, so the cap holds across them); a full
 *         room answers 486 + Reason Q.850 17 + Retry-After (SIP) or ReleaseComplete cause 17.
 *   role: the registry entry's role (SIP: the digest-authenticated entry; H.323: the caller's
 *         source alias, else the room's h323DefaultRole) -> mod_conference flags.
 *   media: the participant's FreeSWITCH leg joins the conference BEFORE the caller is answered,
 *         so a refusal from FreeSWITCH still becomes a clean final response, not a BYE.
 *   time: INVITE received -> 200 OK sent / Setup received -> Connect sent, per room and leg.
 * Every join, refusal, leave, kick and mute is one audit record (gate `council`, ids hashed by the
 * audit log) and one gw_council_actions_total count.
 */
import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import type { AuditSink } from '../audit/sink.js';
import type { Logger } from '../log/logger.js';
import type { MediaController } from '../media/controller.js';
import type { Council, CouncilMember, JoinOptions } from '../media/conference.js';
import type { Endpoint } from '../../types/drachtio-fsmrf.js';
import type { MediaCallObserver, MediaSession } from '../media/session.js';
import { ConferenceFullError } from '../media/errors.js';
import { h323LegCodecs, remoteOffer, sdpVideoAddress, type H323Codec, type RemoteMedia } from '../media/sdp.js';
import type { H323Call, MediaInfo } from '../h323/call/call.js';
import { answerFastStart, parseFastStartOffer } from '../h323/call/faststart.js';
import { callerAliases } from '../h323/call/setup-aliases.js';
import type { Codec } from '../h323/h245/messages.js';
import type { RegistryEntry, RegistryReader } from '../registry/types.js';
import type { MembershipStore, SeatInfo } from '../state/types.js';
import { q850Reason } from '../calls/causes.js';
import type { GatewaySrf, SrfRequest, SrfResponse } from '../../types/drachtio-srf.js';
import type { CouncilConfig, CouncilRole, CouncilRoomConfig } from './config.js';
import { councilMetrics, type CouncilAction, type CouncilMetrics } from './metrics.js';

export type Leg = 'sip' | 'h323';

export interface CouncilServiceDeps {
  config: CouncilConfig;
  media: MediaController;
  srf: GatewaySrf;
  membership: MembershipStore;
  registry: Registry;
  log: Logger;
  /** Read at use: the policy (audit, people) is started after the routes exist. */
  audit: () => AuditSink | undefined;
  people: () => RegistryReader | undefined;
  /** Names this instance in the shared membership (seat ids, SeatInfo.instance). */
  instanceId: string;
  userAgent: string;
  /** Audio codecs accepted from H.323 callers, in preference order. */
  h323Codecs?: readonly Codec[];
}

/** What an operator sees of a participant: no number, name or address. */
export interface ParticipantView {
  seatId: string;
  room: string;
  role: CouncilRole;
  leg: Leg;
  memberId: number | undefined;
  muted: boolean;
  joinedAt: number;
  /** Admission time in ms (see file comment). */
  admissionMs: number;
}

interface Participant {
  seatId: string;
  room: CouncilRoomConfig;
  role: CouncilRole;
  leg: Leg;
  /** Raw ids: the audit log stores them only as keyed hashes. */
  callId: string;
  identity: string | undefined;
  session: MediaSession;
  member: CouncilMember | undefined;
  council: Council | undefined;
  joinedAt: number;
  admissionMs: number;
  endReason: string | undefined;
  gone: boolean;
}

export interface CouncilServiceEvents {
  admitted: [p: ParticipantView];
  left: [p: ParticipantView, reason: string];
}

/** SIP refusals: status, Q.850 cause (Reason header), extra headers. */
const FULL = { status: 486, cause: 17 };
const FORBIDDEN = { status: 403, cause: 21 };
const UNAVAILABLE = { status: 503, cause: 41 };

export class CouncilService extends EventEmitter<CouncilServiceEvents> {
  private readonly participants = new Map<string, Participant>();
  private readonly received = new WeakMap<object, bigint>();
  private readonly leaving = new Set<Promise<void>>();
  private readonly m: CouncilMetrics;
  private seq = 0;
  private stopped = false;

  constructor(private readonly d: CouncilServiceDeps) {
    super();
    this.m = councilMetrics(d.registry);
    for (const r of d.config.rooms) this.m.members.set({ room: r.name }, 0);
    // Creating the conference costs a few hundred ms at FreeSWITCH: do it when the media server
    // comes up (again), not on the first participant's admission.
    d.media.on('up', () => void this.prepareRooms());
  }

  private async prepareRooms(): Promise<void> {
    for (const r of this.d.config.rooms) {
      if (this.stopped) return;
      try {
        await this.d.media.council(r.name, { maxMembers: r.maxMembers });
      } catch (e) {
        this.d.log.warn('council: room not prepared; the first participant creates it', { room: r.name, error: (e as Error).message });
      }
    }
  }

  get rooms(): readonly CouncilRoomConfig[] {
    return this.d.config.rooms;
  }

  /** srf middleware placed before the policy gate: the admission clock starts at INVITE receipt. */
  stamp(req: object): void {
    this.received.set(req, process.hrtime.bigint());
  }

  roomForSip(user: string): CouncilRoomConfig | undefined {
    return this.d.config.rooms.find((r) => r.sipUsers.includes(user));
  }

  roomForH323(aliases: readonly string[]): CouncilRoomConfig | undefined {
    for (const a of aliases) {
      const r = this.d.config.rooms.find((x) => x.h323Aliases.includes(a));
      if (r) return r;
    }
    return undefined;
  }

  /** For the RAS neighbour responder: LCF for room aliases. */
  isH323RoomAlias(alias: string): boolean {
    return this.d.config.rooms.some((r) => r.h323Aliases.includes(alias));
  }

  /** Participants whose calls this instance holds (all rooms, or one). */
  list(room?: string): ParticipantView[] {
    return [...this.participants.values()].filter((p) => !room || p.room.name === room).map((p) => this.view(p));
  }

  /** Seats taken in the room across every instance (the shared membership store). */
  async seats(room: string): Promise<Array<{ seatId: string } & SeatInfo>> {
    return this.d.membership.members(room);
  }

  // ------------------------------------------------------------------------------ SIP

  /**
   * Admit an INVITE (already through the policy chain) into `room`. `entry` is the identity the
   * chain authenticated (undefined with the chain off: role guest); `offerSdp` its filtered offer.
   * `ended` runs once when the call is over (refused or left), e.g. to free the policy's slot.
   */
  async joinSip(req: SrfRequest, res: SrfResponse, room: CouncilRoomConfig, o: { entry?: RegistryEntry; offerSdp?: string; ended?: () => void; observer?: MediaCallObserver } = {}): Promise<void> {
    const t0 = this.received.get(req) ?? process.hrtime.bigint();
    const callId = req.get('Call-ID');
    const role: CouncilRole = o.entry ? o.entry.role : 'guest';
    const identity = o.entry?.id;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      o.ended?.();
    };
    const refuse = (why: { status: number; cause: number }, reason: string, action: CouncilAction, extra: Record<string, string> = {}): void => {
      this.count(room, action, role);
      this.auditRefusal(room, 'INVITE', why.status, reason, role, 'sip', callId, identity, t0);
      if (!res.finalResponseSent) {
        try {
          res.send(why.status, { headers: { Server: this.d.userAgent, Reason: q850Reason(why.cause), ...extra } });
        } catch (e) {
          this.d.log.debug('council: final response not sent', { error: (e as Error).message });
        }
      }
      end();
    };
    if (this.stopped) return refuse(UNAVAILABLE, 'council-stopping', 'refuse_unavailable', { 'Retry-After': '5' });
    if (!room.allowedRoles.includes(role)) return refuse(FORBIDDEN, 'council-role-not-allowed', 'refuse_role');

    const seatId = this.nextSeat();
    const taken = await this.takeSeat(room, seatId, role, 'sip');
    if (taken === 'full') return refuse(FULL, 'council-full', 'refuse_full', { 'Retry-After': String(this.d.config.retryAfterSec) });
    if (taken === 'unavailable') return refuse(UNAVAILABLE, 'council-state-unavailable', 'refuse_unavailable', { 'Retry-After': '5' });

    o.observer?.seat?.(room.name, seatId);
    let session: MediaSession;
    try {
      session = this.d.media.session();
      o.observer?.session(session);
    } catch {
      await this.freeSeat(room, seatId);
      return refuse(UNAVAILABLE, 'council-media-unavailable', 'refuse_unavailable', { 'Retry-After': '5' });
    }
    let cancelled = false;
    req.on('cancel', () => {
      cancelled = true;
      void session.release('sip-cancel');
    });
    let p: Participant | undefined;
    try {
      const council = await this.d.media.council(room.name, { maxMembers: room.maxMembers });
      const ep = await this.d.media.server().createEndpoint({ remoteSdp: o.offerSdp ?? req.body });
      const member = await adoptAndJoin(session, ep, 'sip', council, this.flags(room, role));
      if (cancelled) throw new Error('caller cancelled');
      const createUAS = this.d.srf.createUAS.bind(this.d.srf) as unknown as (q: SrfRequest, s: SrfResponse, opts: { localSdp: string; headers: Record<string, string> }) => ReturnType<GatewaySrf['createUAS']>;
      const dialog = await createUAS(req, res, { localSdp: ep.local.sdp ?? '', headers: { Server: this.d.userAgent } });
      const admissionMs = Number(process.hrtime.bigint() - t0) / 1e6;
      p = {
        seatId, room, role, leg: 'sip', callId, identity, session, member, council, joinedAt: Date.now(), admissionMs, endReason: undefined, gone: false,
      };
      this.admitted(p, 'INVITE');
      session.trackDialog(dialog);
    } catch (e) {
      const full = e instanceof ConferenceFullError;
      const why = cancelled ? 'council-caller-cancelled' : full ? 'council-full' : 'council-media-failed';
      if (!cancelled) this.d.log.warn('council: SIP join failed', { room: room.name, error: (e as Error).message });
      await session.release(why);
      await this.freeSeat(room, seatId);
      if (cancelled) {
        if (!res.finalResponseSent) {
          try {
            res.send(487);
          } catch {
            /* drachtio already answered the CANCELled INVITE */
          }
        }
        this.auditRefusal(room, 'INVITE', 487, why, role, 'sip', callId, identity, t0);
        end();
        return;
      }
      return full
        ? refuse(FULL, why, 'refuse_full', { 'Retry-After': String(this.d.config.retryAfterSec) })
        : refuse(UNAVAILABLE, why, 'refuse_unavailable', { 'Retry-After': '5' });
    }
    const admittedP = p;
    session.once('released', (reason) => void this.onGone(admittedP, reason).finally(end));
    if (session.released) void this.onGone(admittedP, 'released').finally(end);
  }

  // ------------------------------------------------------------------------------ H.323

  /**
   * Admit an offered H.323 call into `room`. Resolves once the call is over (refused or left),
   * so the caller can track it for drain.
   */
  async joinH323(call: H323Call, room: CouncilRoomConfig, t0: bigint = process.hrtime.bigint(), observer?: MediaCallObserver): Promise<void> {
    const callId = call.callId;
    let entry: RegistryEntry | undefined;
    const people = this.d.people();
    if (people) {
      for (const a of callerAliases(call)) {
        entry = await people.byUsername(a);
        if (entry) break;
      }
    }
    const role: CouncilRole = entry ? entry.role : room.h323DefaultRole;
    const identity = entry?.id;
    const refuse = (status: number, cause: number, reason: string, action: CouncilAction): void => {
      this.count(room, action, role);
      this.auditRefusal(room, 'SETUP', status, reason, role, 'h323', callId, identity, t0);
      if (call.state !== 'released') call.reject(cause);
    };
    if (this.stopped) return refuse(UNAVAILABLE.status, 42, 'council-stopping', 'refuse_unavailable');
    if (entry && entry.status !== 'active') return refuse(FORBIDDEN.status, FORBIDDEN.cause, 'council-identity-suspended', 'refuse_role');
    if (!room.allowedRoles.includes(role)) return refuse(FORBIDDEN.status, FORBIDDEN.cause, 'council-role-not-allowed', 'refuse_role');

    const seatId = this.nextSeat();
    const taken = await this.takeSeat(room, seatId, role, 'h323');
    if (taken === 'full') return refuse(FULL.status, FULL.cause, 'council-full', 'refuse_full');
    if (taken === 'unavailable') return refuse(UNAVAILABLE.status, 41, 'council-state-unavailable', 'refuse_unavailable');

    observer?.seat?.(room.name, seatId);
    let session: MediaSession;
    try {
      session = this.d.media.session();
      observer?.session(session);
    } catch {
      await this.freeSeat(room, seatId);
      return refuse(UNAVAILABLE.status, 41, 'council-media-unavailable', 'refuse_unavailable');
    }
    const callGone = new Promise<void>((r) => call.once('released', () => r()));
    call.once('released', () => void session.release('h323-release'));
    let legEp: Endpoint | undefined;
    let sdpVersion = 1;
    let repoint: Promise<unknown> = Promise.resolve();
    /** What FreeSWITCH's leg is aimed at: every re-offer carries all of it (m-lines never leave a re-offer). */
    let legRemote: RemoteMedia | undefined;
    const repointLeg = (change: Partial<RemoteMedia>): void => {
      const ep = legEp;
      if (!ep || !legRemote) return;
      legRemote = { ...legRemote, ...change };
      sdpVersion += 1;
      const sdp = remoteOffer(legRemote, sdpVersion);
      repoint = repoint.then(() => ep.modify(sdp)).catch(() => undefined);
    };
    call.on('media', (mi: MediaInfo) => {
      // fastStart media was set from the Setup; a later H.245 OLC names the real address (and a
      // reopened channel the caller's own codec, which both directions then use). In order.
      if (mi.via === 'fastStart') return;
      repointLeg({ host: mi.remoteRtp.host, port: mi.remoteRtp.port, codec: g711(mi.codec) });
    });
    call.on('fastUpdate', () => {
      // The member asks for a key frame of the canvas it receives (H.245 videoFastUpdatePicture).
      // We are the SIP peer of its FreeSWITCH leg, so we ask as a SIP endpoint does: INFO
      // picture_fast_update (RFC 5168) on that leg's dialog; mod_conference then sends the member
      // key frames of the canvas. `uuid_video_refresh` does not do it with the council profile's
      // minimize-video-encoding (the shared canvas encoder is not the member's codec): no key frame
      // came within 2 s on FreeSWITCH 1.10.12.
      const dialog = (legEp as unknown as { dialog?: { request(o: Record<string, unknown>): Promise<unknown> } } | undefined)?.dialog;
      if (!dialog || !legRemote?.video?.port) return;
      dialog.request({ method: 'INFO', headers: { 'Content-Type': 'application/media_control+xml' }, body: PICTURE_FAST_UPDATE })
        .catch((e: unknown) => this.d.log.debug('council: picture_fast_update not sent', { room: room.name, error: String(e) }));
    });
    call.on('video', (mi: MediaInfo) => {
      // Our H.245 video channel toward the caller was opened (OLC ack): FreeSWITCH sends the canvas there.
      if (mi.via === 'fastStart' || mi.codec !== 'H264' || !legRemote?.video) return;
      repointLeg({ video: { host: mi.remoteRtp.host, port: mi.remoteRtp.port, codec: 'H264' } });
    });
    let p: Participant;
    try {
      const codecs = this.d.h323Codecs ?? ['PCMA', 'PCMU'];
      const setupBody = call.setup?.['h323-uu-pdu']['h323-message-body'];
      const offer = setupBody?.choice === 'setup' ? setupBody.value.fastStart ?? [] : [];
      // Video (issue 14): a caller proposing H.264 by fastStart gets the room's canvas (video-mode
      // mux, encoded in H.264 for it) at its video receive address, and its own picture goes into
      // the canvas. Only H.264: the canvas encoders are libvpx (VP8) and mod_av (H.264).
      const video = call.offeredVideoCodecs.includes('H264') ? (['H264'] as const) : [];
      const placeholder = { host: '127.0.0.1', port: 0 };
      const choice = answerFastStart(parseFastStartOffer(offer), [...codecs, ...video], placeholder, video.length > 0 ? placeholder : undefined);
      const remote = choice?.sendTo ?? { host: '127.0.0.1', port: 9 };
      const council = await this.d.media.council(room.name, { maxMembers: room.maxMembers });
      const codec = g711(choice?.codec ?? codecs[0]!);
      const cv = choice?.video?.codec === 'H264' ? choice.video.sendTo : undefined;
      legRemote = { host: remote.host, port: remote.port, codec, ...(cv ? { video: { host: cv.host, port: cv.port, codec: 'H264' } } : {}) };
      // Made here rather than with session.createEndpointFor so that the jitter buffer and the
      // join go out together (adoptAndJoin).
      const ep = await this.d.media.server().createEndpoint({ remoteSdp: remoteOffer(legRemote, sdpVersion), codecs: h323LegCodecs(codec, legRemote.video?.codec) });
      legEp = ep;
      // FreeSWITCH took the video stream: our fastStart answer accepts the caller's H.264 at its port.
      const localVideo = cv ? sdpVideoAddress(ep.local.sdp) : undefined;
      if (cv && !localVideo) {
        this.d.log.debug('council: FreeSWITCH took no video for an H.323 member', { room: room.name });
        repointLeg({ video: { host: cv.host, port: 0, codec: 'H264' } });
      }
      call.setLocalMedia({ rtp: { host: ep.local.mediaIp ?? '', port: Number(ep.local.mediaPort ?? 0) }, ...(localVideo ? { video: localVideo } : {}) }, localVideo ? ['H264'] : []);
      const member = await adoptAndJoin(session, ep, 'h323', council, this.flags(room, role));
      if (isReleased(call) || session.released) throw new Error('caller went away');
      call.answer();
      const admissionMs = Number(process.hrtime.bigint() - t0) / 1e6;
      p = {
        seatId, room, role, leg: 'h323', callId, identity, session, member, council, joinedAt: Date.now(), admissionMs, endReason: undefined, gone: false,
      };
      this.admitted(p, 'SETUP');
    } catch (e) {
      const full = e instanceof ConferenceFullError;
      const gone = isReleased(call);
      if (!gone) this.d.log.warn('council: H.323 join failed', { room: room.name, error: (e as Error).message });
      await session.release('council-join-failed');
      await this.freeSeat(room, seatId);
      if (gone) {
        this.auditRefusal(room, 'SETUP', 487, 'council-caller-abandoned', role, 'h323', callId, identity, t0);
        return;
      }
      return full ? refuse(FULL.status, FULL.cause, 'council-full', 'refuse_full') : refuse(UNAVAILABLE.status, 41, 'council-media-failed', 'refuse_unavailable');
    }
    const released = new Promise<string>((r) => session.once('released', r));
    const reason = session.released ? 'released' : await released;
    if (call.state !== 'released') call.hangup(16);
    await this.onGone(p, reason);
    await callGone;
  }

  // ------------------------------------------------------------------------------ operator

  /** Kick a participant this instance holds: out of the room, its call ended. */
  async kick(seatId: string): Promise<ParticipantView> {
    const p = this.held(seatId);
    p.endReason = 'kicked';
    await p.council!.kick(p.member!.memberId);
    this.count(p.room, 'kick', p.role);
    this.auditAction(p, 'KICK', 'council-kick');
    // mod_conference hangs the member up; release now so the call ends even if FreeSWITCH is slow.
    void p.session.release('council-kick');
    return this.view(p);
  }

  async mute(seatId: string): Promise<ParticipantView> {
    const p = this.held(seatId);
    await p.council!.mute(p.member!.memberId);
    this.count(p.room, 'mute', p.role);
    this.auditAction(p, 'MUTE', 'council-mute');
    return this.view(p);
  }

  async unmute(seatId: string): Promise<ParticipantView> {
    const p = this.held(seatId);
    await p.council!.unmute(p.member!.memberId);
    this.count(p.room, 'unmute', p.role);
    this.auditAction(p, 'UNMUTE', 'council-unmute');
    return this.view(p);
  }

  /** Refuse new participants; calls in progress end with their sessions (media.stop()). */
  stop(): void {
    this.stopped = true;
  }

  // ------------------------------------------------------------------------------ internals

  private held(seatId: string): Participant {
    const p = this.participants.get(seatId);
    if (!p || p.gone || !p.member || !p.council) throw new UnknownSeatError(seatId);
    return p;
  }

  private nextSeat(): string {
    this.seq += 1;
    return `${this.d.instanceId}-${this.seq}`;
  }

  private flags(room: CouncilRoomConfig, role: CouncilRole): { moderator?: boolean; muted?: boolean } {
    return {
      ...(room.moderatorRoles.includes(role) ? { moderator: true } : {}),
      ...(room.mutedRoles.includes(role) ? { muted: true } : {}),
    };
  }

  private async takeSeat(room: CouncilRoomConfig, seatId: string, role: CouncilRole, leg: Leg): Promise<'ok' | 'full' | 'unavailable'> {
    try {
      const r = await this.d.membership.tryJoin(room.name, seatId, { role, leg, instance: this.d.instanceId, joinedAt: Date.now() }, room.maxMembers);
      return r.ok ? 'ok' : 'full';
    } catch (e) {
      this.d.log.warn('council: membership store unavailable', { room: room.name, error: (e as Error).message });
      return 'unavailable';
    }
  }

  private async freeSeat(room: CouncilRoomConfig, seatId: string): Promise<void> {
    await this.d.membership.leave(room.name, seatId).catch((e: unknown) => this.d.log.warn('council: seat not freed', { room: room.name, error: String(e) }));
  }

  private admitted(p: Participant, method: 'INVITE' | 'SETUP'): void {
    this.participants.set(p.seatId, p);
    this.m.admission.observe({ room: p.room.name, leg: p.leg }, p.admissionMs / 1000);
    this.m.members.inc({ room: p.room.name });
    this.count(p.room, 'join', p.role);
    this.audit({
      gate: 'council', decision: 'admit', status: 200, method, reason: `council-join room=${p.room.name} role=${p.role} leg=${p.leg}`,
      callId: p.callId, ...(p.identity ? { identity: p.identity } : {}), latencyUs: p.admissionMs * 1000,
    });
    this.d.log.info('council: participant joined', { room: p.room.name, role: p.role, leg: p.leg, seat: p.seatId, admissionMs: Math.round(p.admissionMs * 10) / 10 });
    this.emit('admitted', this.view(p));
  }

  /** Resolves when every leave in progress has freed its seat (call after media.stop()). */
  async settled(): Promise<void> {
    while (this.leaving.size) await Promise.allSettled([...this.leaving]);
  }

  private onGone(p: Participant, sessionReason: string): Promise<void> {
    if (p.gone) return Promise.resolve();
    p.gone = true;
    const done = this.recordLeave(p, sessionReason).finally(() => this.leaving.delete(done));
    this.leaving.add(done);
    return done;
  }

  private async recordLeave(p: Participant, sessionReason: string): Promise<void> {
    const reason = p.endReason ?? (sessionReason === 'sip-hangup' || sessionReason === 'h323-release' ? 'caller-hangup' : sessionReason);
    this.participants.delete(p.seatId);
    if (p.member && p.council) p.council.forget(p.member.memberId);
    this.m.members.dec({ room: p.room.name });
    await this.freeSeat(p.room, p.seatId);
    this.count(p.room, 'leave', p.role);
    this.audit({
      gate: 'council', decision: 'admit', status: 0, method: 'LEAVE', reason: `council-leave room=${p.room.name} role=${p.role} leg=${p.leg} why=${reasonToken(reason)}`,
      callId: p.callId, ...(p.identity ? { identity: p.identity } : {}),
    });
    this.d.log.info('council: participant left', { room: p.room.name, role: p.role, leg: p.leg, seat: p.seatId, reason: reasonToken(reason) });
    this.emit('left', this.view(p), reason);
  }

  private auditAction(p: Participant, method: string, what: string): void {
    this.audit({
      gate: 'council', decision: 'admit', status: 0, method, reason: `${what} room=${p.room.name} role=${p.role} leg=${p.leg} by=operator`,
      callId: p.callId, ...(p.identity ? { identity: p.identity } : {}),
    });
  }

  private auditRefusal(room: CouncilRoomConfig, method: string, status: number, reason: string, role: CouncilRole, leg: Leg, callId: string, identity: string | undefined, t0: bigint): void {
    this.audit({
      gate: 'council', decision: 'reject', status, method, reason: `${reason} room=${room.name} role=${role} leg=${leg}`,
      ...(callId ? { callId } : {}), ...(identity ? { identity } : {}), latencyUs: Number(process.hrtime.bigint() - t0) / 1000,
    });
    this.d.log.info('council: participant refused', { room: room.name, role, leg, status, reason });
  }

  private audit(input: Parameters<AuditSink['append']>[0]): void {
    const sink = this.d.audit();
    if (!sink) return;
    sink.append(input).catch((err: unknown) => this.d.log.error('council audit failed', { error: String(err) }));
  }

  private count(room: CouncilRoomConfig, action: CouncilAction, role: CouncilRole): void {
    this.m.actions.inc({ room: room.name, action, role });
  }

  private view(p: Participant): ParticipantView {
    return {
      seatId: p.seatId, room: p.room.name, role: p.role, leg: p.leg, memberId: p.member?.memberId, muted: p.member?.muted ?? false,
      joinedAt: p.joinedAt, admissionMs: Math.round(p.admissionMs * 1000) / 1000,
    };
  }
}

export class UnknownSeatError extends Error {
  constructor(readonly seatId: string) {
    super(`no participant on seat ${seatId} at this instance`);
    this.name = 'UnknownSeatError';
  }
}

/**
 * Adopt the participant's leg (with the per-leg jitter buffer when configured) and join it to the
 * conference. FreeSWITCH runs a channel's applications in the order they arrive, so the join is
 * sent right behind the jitterbuffer command instead of one round trip later.
 */
async function adoptAndJoin(session: MediaSession, ep: Endpoint, leg: 'sip' | 'h323', council: Council, flags: JoinOptions): Promise<CouncilMember> {
  const adopted = session.adoptEndpoint(ep, leg);
  const joined = council.join(ep, flags);
  // Whichever fails first decides; the other's rejection must not go unhandled.
  adopted.catch(() => undefined);
  joined.catch(() => undefined);
  const [, member] = await Promise.all([adopted, joined]);
  return member;
}

/** RFC 5168 key frame request (what FreeSWITCH's sofia takes as a member's refresh request). */
const PICTURE_FAST_UPDATE = '<?xml version="1.0" encoding="utf-8" ?>\r\n<media_control><vc_primitive><to_encoder><picture_fast_update/></to_encoder></vc_primitive></media_control>\r\n';

function g711(c: Codec): H323Codec {
  return c === 'PCMU' ? 'PCMU' : 'PCMA';
}

/** Session release reasons are fixed strings from lib/media and here; keep the audit token tidy. */
function reasonToken(r: string): string {
  return r.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 48);
}

/** Read through a function: TypeScript would otherwise keep an earlier narrowing of `state`. */
function isReleased(call: H323Call): boolean {
  return call.state === 'released';
}
