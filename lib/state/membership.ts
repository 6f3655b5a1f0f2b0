/**
 * Council membership (MembershipStore, lib/state/types.ts): which seats of a room are taken, so
 * the room's cap holds across every gateway instance that can admit a participant.
 *
 *   memory: one instance (the default).
 *   Redis:  `P m:<room>` hash seatId -> JSON SeatInfo; the join is one Lua script (count + add),
 *           so two instances cannot both take the last seat. No expiry: a seat is held until
 *           its call ends (like the call ledger; see docs/council.md for a dead instance).
 *   guarded: the Redis-loss policy of the other stores; a leave that cannot reach Redis is kept
 *           and replayed on recovery, so an outage does not leave seats taken.
 */
import type { Redis } from 'ioredis';
import type { StateGuard } from './guarded.js';
import { normalisePrefix } from './redis.js';
import type { MembershipStore, SeatInfo, SeatResult } from './types.js';

type Member = { seatId: string } & SeatInfo;

export class MemoryMembershipStore implements MembershipStore {
  private readonly rooms = new Map<string, Map<string, SeatInfo>>();

  tryJoin(room: string, seatId: string, info: SeatInfo, cap: number): Promise<SeatResult> {
    let r = this.rooms.get(room);
    if (!r) {
      r = new Map();
      this.rooms.set(room, r);
    }
    if (r.has(seatId)) return Promise.resolve({ ok: false, duplicate: true, size: r.size });
    if (r.size >= cap) return Promise.resolve({ ok: false, size: r.size });
    r.set(seatId, { ...info });
    return Promise.resolve({ ok: true, size: r.size });
  }

  leave(room: string, seatId: string): Promise<boolean> {
    const r = this.rooms.get(room);
    const had = r?.delete(seatId) ?? false;
    if (r && r.size === 0) this.rooms.delete(room);
    return Promise.resolve(had);
  }

  members(room: string): Promise<Member[]> {
    return Promise.resolve([...(this.rooms.get(room) ?? new Map<string, SeatInfo>()).entries()].map(([seatId, i]) => ({ seatId, ...i })));
  }

  size(room: string): Promise<number> {
    return Promise.resolve(this.rooms.get(room)?.size ?? 0);
  }
}

/** KEYS[1]=room hash; ARGV: seatId, info JSON, cap. Returns {ok, duplicate, size}. */
const JOIN = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {0, 1, redis.call('HLEN', KEYS[1])} end
local n = redis.call('HLEN', KEYS[1])
if n >= tonumber(ARGV[3]) then return {0, 0, n} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {1, 0, n + 1}
`;

function isSeatInfo(x: unknown): x is SeatInfo {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o.role === 'string' && (o.leg === 'sip' || o.leg === 'h323') && typeof o.instance === 'string' && typeof o.joinedAt === 'number';
}

export class RedisMembershipStore implements MembershipStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
  ) {
    this.prefix = normalisePrefix(keyPrefix);
    if (!('gwCouncilJoin' in redis)) redis.defineCommand('gwCouncilJoin', { numberOfKeys: 1, lua: JOIN });
  }

  key(room: string): string {
    return `${this.prefix}m:${room}`;
  }

  async tryJoin(room: string, seatId: string, info: SeatInfo, cap: number): Promise<SeatResult> {
    if (!Number.isInteger(cap) || cap < 0) throw new RangeError(`membership: cap must be a non-negative integer, got ${cap}`);
    const run = (this.redis as unknown as { gwCouncilJoin: (...a: Array<string | number>) => Promise<unknown> }).gwCouncilJoin;
    const r = await run.call(this.redis, this.key(room), seatId, JSON.stringify(info), cap);
    if (!Array.isArray(r) || r.length < 3) throw new Error('membership: unexpected reply shape');
    const out: SeatResult = { ok: Number(r[0]) === 1, size: Number(r[2]) };
    if (Number(r[1]) === 1) out.duplicate = true;
    return out;
  }

  async leave(room: string, seatId: string): Promise<boolean> {
    return (await this.redis.hdel(this.key(room), seatId)) === 1;
  }

  async members(room: string): Promise<Member[]> {
    const all = await this.redis.hgetall(this.key(room));
    const out: Member[] = [];
    for (const [seatId, raw] of Object.entries(all)) {
      let info: unknown;
      try {
        info = JSON.parse(raw);
      } catch {
        continue;
      }
      if (isSeatInfo(info)) out.push({ seatId, role: info.role, leg: info.leg, instance: info.instance, joinedAt: info.joinedAt });
    }
    return out;
  }

  async size(room: string): Promise<number> {
    return this.redis.hlen(this.key(room));
  }
}

export class GuardedMembershipStore implements MembershipStore {
  private readonly pending = new Map<string, { room: string; seatId: string }>();

  constructor(
    private readonly g: StateGuard,
    private readonly remote: MembershipStore,
    private readonly local: MembershipStore,
    private readonly maxPending = 10_000,
  ) {
    g.onRecover(() => this.replayLeaves());
  }

  tryJoin(room: string, seatId: string, info: SeatInfo, cap: number): Promise<SeatResult> {
    return this.g.exec(
      'membership.tryJoin',
      async () => {
        // A seat freed during a hiccup must be free before the next join counts the room.
        if (this.pending.size) await this.replayLeaves().catch(() => undefined);
        return this.remote.tryJoin(room, seatId, info, cap);
      },
      () => this.local.tryJoin(room, seatId, info, cap),
    );
  }

  /** Never throws: a leave Redis cannot take now is replayed when it returns. */
  async leave(room: string, seatId: string): Promise<boolean> {
    const wasLocal = await this.local.leave(room, seatId);
    if (this.g.up) {
      try {
        return (await this.remote.leave(room, seatId)) || wasLocal;
      } catch {
        this.g.metrics.errors.inc({ op: 'membership.leave' });
      }
    }
    if (this.pending.size < this.maxPending) this.pending.set(`${room}\u0000${seatId}`, { room, seatId });
    return wasLocal;
  }

  members(room: string): Promise<Member[]> {
    return this.g.exec('membership.members', () => this.remote.members(room), () => this.local.members(room));
  }

  size(room: string): Promise<number> {
    return this.g.exec('membership.size', () => this.remote.size(room), () => this.local.size(room));
  }

  get pendingLeaves(): number {
    return this.pending.size;
  }

  private async replayLeaves(): Promise<void> {
    for (const [k, { room, seatId }] of [...this.pending]) {
      await this.remote.leave(room, seatId);
      this.pending.delete(k);
    }
  }
}
