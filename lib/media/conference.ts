/**
 * Council: a mod_conference room on FreeSWITCH with a member cap, join/leave/kick/mute, and a
 * destroy that completes despite F1 (Conference#destroy() never completes on stock FreeSWITCH
 * 1.10 because the 3pcc control leg is recvonly): conf.destroy() is tried first and, if it has not
 * completed within destroyTimeoutMs, the control leg is killed with `uuid_kill`.
 */
import { EventEmitter } from 'node:events';
import type { Conference, Endpoint, MediaServer } from '../../types/drachtio-fsmrf.js';
import { ConferenceFullError } from './errors.js';
import type { LegType } from './metrics.js';

export interface CouncilOptions {
  maxMembers?: number;
  destroyTimeoutMs?: number;
  profile?: string;
}

export interface JoinOptions {
  /** Join muted (mod_conference flag mute). */
  muted?: boolean;
  /** Moderators get the moderator flag. */
  moderator?: boolean;
}

export interface CouncilMember {
  memberId: number;
  endpoint: Endpoint;
  muted: boolean;
}

export interface CouncilEvents {
  join: [m: CouncilMember];
  leave: [m: CouncilMember];
  destroyed: [how: 'destroy' | 'uuid_kill'];
}

export class Council extends EventEmitter<CouncilEvents> {
  private readonly members = new Map<number, CouncilMember>();
  private pending = 0;
  private destroying: Promise<'destroy' | 'uuid_kill'> | undefined;
  private isDestroyed = false;

  private constructor(
    private readonly ms: MediaServer,
    readonly conf: Conference,
    readonly maxMembers: number,
    private readonly destroyTimeoutMs: number,
  ) {
    super();
    conf.endpoint.on('destroy', () => {
      this.isDestroyed = true;
    });
  }

  static async create(
    ms: MediaServer, name: string, o: Required<CouncilOptions>, remember: (uuid: string, leg: LegType) => void,
  ): Promise<Council> {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new Error('conference name must be 1..64 of [A-Za-z0-9_.-]');
    // FreeSWITCH counts the control leg as a member: max_members = cap + 1.
    const conf = await ms.createConference(name, { maxMembers: o.maxMembers + 1, profile: o.profile });
    remember(conf.endpoint.uuid, 'conference');
    return new Council(ms, conf, o.maxMembers, o.destroyTimeoutMs);
  }

  get name(): string {
    return this.conf.name;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  get size(): number {
    return this.members.size;
  }

  memberList(): CouncilMember[] {
    return [...this.members.values()];
  }

  /** Join an endpoint; ConferenceFullError at the cap (before FreeSWITCH is asked). */
  async join(ep: Endpoint, o: JoinOptions = {}): Promise<CouncilMember> {
    if (this.isDestroyed || this.destroying) throw new Error('conference destroyed');
    if (this.members.size + this.pending >= this.maxMembers) throw new ConferenceFullError(this.name, this.maxMembers);
    this.pending += 1;
    let memberId: number;
    try {
      const flags: Record<string, boolean> = {};
      if (o.muted) flags['mute'] = true;
      if (o.moderator) flags['moderator'] = true;
      ({ memberId } = await ep.join(this.conf, Object.keys(flags).length ? { flags } : {}));
    } finally {
      this.pending -= 1;
    }
    const m: CouncilMember = { memberId, endpoint: ep, muted: o.muted === true };
    this.members.set(memberId, m);
    ep.on('destroy', () => this.drop(memberId));
    this.emit('join', m);
    return m;
  }

  /**
   * The member leaves and its channel is hung up. mod_conference's `hup` only ends the member's
   * conference app (FreeSWITCH 1.10.12: "Channel leaving conference, cause: NONE"); fsmrf's
   * socket app (async full) then keeps the channel up, parked and sending silence. So the channel
   * is killed here: FreeSWITCH ends the leg, which its session sees ('h323-leg-ended' /
   * 'sip-leg-ended').
   */
  async leave(memberId: number): Promise<void> {
    const m = this.members.get(memberId);
    await this.memberCmd('hup', memberId);
    this.drop(memberId);
    if (m && this.ms.connected()) await this.ms.api(`uuid_kill ${m.endpoint.uuid}`).catch(() => undefined);
  }

  /**
   * Kick: out of the room at once (mod_conference plays the profile's kicked-sound, if any). The
   * channel stays up (parked in the socket app) until the call's session is released: the call
   * layer ends the call (lib/council does, at once).
   */
  async kick(memberId: number): Promise<void> {
    await this.memberCmd('kick', memberId);
    this.drop(memberId);
  }

  /**
   * The member's leg was hung up by its own session (fsmrf emits 'destroy' only when FreeSWITCH
   * ends a leg, not when we destroy it): free its place without asking FreeSWITCH.
   */
  forget(memberId: number): void {
    this.drop(memberId);
  }

  async mute(memberId: number): Promise<void> {
    await this.memberCmd('mute', memberId);
    const m = this.members.get(memberId);
    if (m) m.muted = true;
  }

  async unmute(memberId: number): Promise<void> {
    await this.memberCmd('unmute', memberId);
    const m = this.members.get(memberId);
    if (m) m.muted = false;
  }

  /** Members FreeSWITCH reports (excluding the control leg). */
  async fsSize(): Promise<number> {
    return Math.max(0, (await this.conf.getSize()) - 1);
  }

  /**
   * Tear the room down: conf.destroy(); after destroyTimeoutMs without completion (F1)
   * `uuid_kill <control leg>`. Resolves with how it ended; idempotent.
   */
  destroy(): Promise<'destroy' | 'uuid_kill'> {
    if (!this.destroying) this.destroying = this.doDestroy();
    return this.destroying;
  }

  private async doDestroy(): Promise<'destroy' | 'uuid_kill'> {
    let completed = false;
    const destroying = this.conf.destroy().then(() => {
      completed = true;
    }, () => {
      completed = true;
    });
    let t: NodeJS.Timeout | undefined;
    await Promise.race([destroying, new Promise<void>((r) => {
      t = setTimeout(r, this.destroyTimeoutMs);
    })]);
    clearTimeout(t);
    let how: 'destroy' | 'uuid_kill' = 'destroy';
    if (!completed && !this.isDestroyed) {
      how = 'uuid_kill';
      if (this.ms.connected()) await this.ms.api(`uuid_kill ${this.conf.endpoint.uuid}`).catch(() => undefined);
      // the kill makes FreeSWITCH send the BYE fsmrf's destroy() waits for; bound it anyway
      await Promise.race([destroying, new Promise<void>((r) => {
        t = setTimeout(r, this.destroyTimeoutMs);
      })]);
      clearTimeout(t);
    }
    this.isDestroyed = true;
    this.members.clear();
    this.emit('destroyed', how);
    return how;
  }

  private async memberCmd(cmd: 'hup' | 'kick' | 'mute' | 'unmute', memberId: number): Promise<void> {
    if (!this.members.has(memberId)) throw new Error(`no member ${memberId}`);
    const r = await this.ms.api(`conference ${this.name} ${cmd} ${memberId}`);
    if (r.startsWith('-ERR')) throw new Error(`conference ${cmd} failed`);
  }

  private drop(memberId: number): void {
    const m = this.members.get(memberId);
    if (!m) return;
    this.members.delete(memberId);
    this.emit('leave', m);
  }
}
