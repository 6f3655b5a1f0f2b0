/**
 * The Redis side of high availability: instance heartbeats, the call records each instance keeps
 * for its calls, and the atomic takeover claim.
 *
 * Keys (P = the state keyPrefix shared by the instances):
 *   P ha:members        set of instance ids that have started and not been taken over
 *   P ha:hb:<id>        string, PX = heartbeat TTL; refreshed while the instance's event loop runs
 *   P ha:calls:<id>     hash Call-ID -> CallRecord JSON (lib/ha/records.ts)
 *   P ha:claim:<id>     string = the survivor that took <id> over, PX = claim TTL
 *   P ha:gone:<id>      string = the survivor, PX 24 h: <id> was taken over and must not come back
 *
 * Liveness is "the heartbeat key exists", so no keyspace notifications are needed (they are off
 * by default in Redis): survivors poll. Both the claim and the heartbeat refresh are Lua scripts,
 * so two survivors cannot both take the same instance over, and an instance that was frozen past
 * its TTL (SIGSTOP, a long GC) learns on its next beat that it has been fenced instead of
 * silently coming back to calls that no longer exist.
 */
import type { Redis } from 'ioredis';
import { parseRecord, type CallRecord } from './records.js';

/** KEYS: hb, claim, gone; ARGV: id, ttlMs, membersKey. 1 = alive, 0 = fenced (taken over). */
const BEAT = `
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', ARGV[3], ARGV[1])
return 1
`;

/**
 * ARGV: prefix, self, claimTtlMs. Claims every member other than self whose heartbeat is gone and
 * that nobody has claimed yet; returns the claimed ids.
 */
const REAP = `
local prefix, self, ttl = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'ha:members')) do
  if id ~= self and redis.call('EXISTS', prefix .. 'ha:hb:' .. id) == 0 then
    if redis.call('SET', prefix .. 'ha:claim:' .. id, self, 'NX', 'PX', ttl) then
      table.insert(out, id)
    end
  end
end
return out
`;

/**
 * KEYS: calls hash, members, gone; ARGV: id, survivor. Done with a takeover: forget the dead
 * instance, and leave a tombstone that outlives the claim, so an instance frozen for longer than
 * the claim still finds out it was taken over.
 */
const FORGET = `
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2], 'PX', 86400000)
return 1
`;

type HaRedis = Redis & {
  haBeat(hb: string, claim: string, gone: string, id: string, ttlMs: number, members: string): Promise<number>;
  haReap(prefix: string, self: string, claimTtlMs: number): Promise<string[]>;
  haForget(calls: string, members: string, gone: string, id: string, survivor: string): Promise<number>;
};

export class HaStore {
  private readonly r: HaRedis;

  constructor(redis: Redis, private readonly prefix: string) {
    const r = redis as HaRedis;
    if (typeof r.haBeat !== 'function') {
      redis.defineCommand('haBeat', { numberOfKeys: 3, lua: BEAT });
      redis.defineCommand('haReap', { numberOfKeys: 0, lua: REAP });
      redis.defineCommand('haForget', { numberOfKeys: 3, lua: FORGET });
    }
    this.r = r;
  }

  key(kind: 'members'): string;
  key(kind: 'hb' | 'calls' | 'claim' | 'gone', id: string): string;
  key(kind: 'members' | 'hb' | 'calls' | 'claim' | 'gone', id?: string): string {
    return kind === 'members' ? `${this.prefix}ha:members` : `${this.prefix}ha:${kind}:${id}`;
  }

  /** Refreshes the heartbeat; false when a survivor has claimed this instance (fenced). */
  async beat(id: string, ttlMs: number): Promise<boolean> {
    return (await this.r.haBeat(this.key('hb', id), this.key('claim', id), this.key('gone', id), id, ttlMs, this.key('members'))) === 1;
  }

  /** Deletes the heartbeat at a clean stop, so nobody mistakes the exit for a crash later. */
  async leave(id: string): Promise<void> {
    await this.r.multi().del(this.key('hb', id)).srem(this.key('members'), id).del(this.key('calls', id)).exec();
  }

  async put(rec: CallRecord): Promise<void> {
    await this.r.hset(this.key('calls', rec.instance), rec.callId, JSON.stringify(rec));
  }

  async remove(instance: string, callId: string): Promise<void> {
    await this.r.hdel(this.key('calls', instance), callId);
  }

  async calls(instance: string): Promise<CallRecord[]> {
    const all = await this.r.hgetall(this.key('calls', instance));
    return Object.values(all).flatMap((j) => {
      const r = parseRecord(j);
      return r ? [r] : [];
    });
  }

  /** Atomically claims every dead peer for `self`; returns their ids. */
  async reap(self: string, claimTtlMs: number): Promise<string[]> {
    return this.r.haReap(this.prefix, self, claimTtlMs);
  }

  async forget(id: string, survivor: string): Promise<void> {
    await this.r.haForget(this.key('calls', id), this.key('members'), this.key('gone', id), id, survivor);
  }
}
