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
 *   P ha:lost           sorted set id -> Redis time (ms) of its takeover (an hour kept): peers read
 *                       it to learn that an instance went silent even when another one took it over
 *
 * Liveness is "the heartbeat key exists", so no keyspace notifications are needed (they are off
 * by default in Redis): survivors poll. Both the claim and the heartbeat refresh are Lua scripts,
 * so two survivors cannot both take the same instance over, and an instance that was frozen past
 * its TTL (SIGSTOP, a long GC) learns on its next beat that it has been fenced instead of
 * silently coming back to calls that no longer exist. Call records are written by a script too,
 * which refuses once a claim or tombstone exists (and, for a call's first record, when the
 * heartbeat has lapsed): every record that lands is one the survivor's read will see.
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
 * KEYS: hb, claim, gone, calls hash; ARGV: Call-ID, record JSON, admit ('1': the call's first
 * record). 1 = written; 0 = fenced (claimed or taken over: nothing may be added to what the
 * survivor reads); -1 = the heartbeat has lapsed, a new call is not admitted (a survivor may be
 * about to claim us). Updates of calls already recorded still go in while unclaimed.
 */
const PUT = `
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
return 1
`;

/**
 * ARGV: prefix, self, claimTtlMs, lookbackMs. Claims every member other than self whose heartbeat
 * is gone and that nobody has claimed yet. Returns { claimed ids, suspects (members without a
 * heartbeat, claimed by anyone, and instances taken over within lookbackMs), members }.
 */
const REAP = `
local prefix, self, ttl, lookback = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local claimed, suspects = {}, {}
local members = redis.call('SMEMBERS', prefix .. 'ha:members')
for _, id in ipairs(members) do
  if id ~= self and redis.call('EXISTS', prefix .. 'ha:hb:' .. id) == 0 then
    table.insert(suspects, id)
    if redis.call('SET', prefix .. 'ha:claim:' .. id, self, 'NX', 'PX', ttl) then
      table.insert(claimed, id)
    end
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', prefix .. 'ha:lost', now - lookback, '+inf')) do
  if id ~= self then table.insert(suspects, id) end
end
return { claimed, suspects, members }
`;

/**
 * KEYS: calls hash, members, gone, lost; ARGV: id, survivor. Done with a takeover: forget the
 * dead instance, and leave a tombstone that outlives the claim, so an instance frozen for longer
 * than the claim still finds out it was taken over; note it in the lost set for the other peers.
 */
const FORGET = `
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2], 'PX', 86400000)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - 3600000)
return 1
`;

type HaRedis = Redis & {
  haBeat(hb: string, claim: string, gone: string, id: string, ttlMs: number, members: string): Promise<number>;
  haPut(hb: string, claim: string, gone: string, calls: string, callId: string, json: string, admit: '1' | '0'): Promise<number>;
  haReap(prefix: string, self: string, claimTtlMs: number, lookbackMs: number): Promise<[string[], string[], string[]]>;
  haForget(calls: string, members: string, gone: string, lost: string, id: string, survivor: string): Promise<number>;
};

/** What a poll found: peers this instance claimed, peers gone silent (anyone's claim), members. */
export interface ReapResult {
  claimed: string[];
  suspects: string[];
  members: string[];
}

/** Outcome of a fenced record write. */
export type PutResult = 'ok' | 'fenced' | 'lapsed';

export class HaStore {
  private readonly r: HaRedis;

  constructor(redis: Redis, private readonly prefix: string) {
    const r = redis as HaRedis;
    if (typeof r.haPut !== 'function') {
      redis.defineCommand('haBeat', { numberOfKeys: 3, lua: BEAT });
      redis.defineCommand('haPut', { numberOfKeys: 4, lua: PUT });
      redis.defineCommand('haReap', { numberOfKeys: 0, lua: REAP });
      redis.defineCommand('haForget', { numberOfKeys: 4, lua: FORGET });
    }
    this.r = r;
  }

  key(kind: 'members' | 'lost'): string;
  key(kind: 'hb' | 'calls' | 'claim' | 'gone', id: string): string;
  key(kind: 'members' | 'lost' | 'hb' | 'calls' | 'claim' | 'gone', id?: string): string {
    return kind === 'members' || kind === 'lost' ? `${this.prefix}ha:${kind}` : `${this.prefix}ha:${kind}:${id}`;
  }

  /** Refreshes the heartbeat; false when a survivor has claimed this instance (fenced). */
  async beat(id: string, ttlMs: number): Promise<boolean> {
    return (await this.r.haBeat(this.key('hb', id), this.key('claim', id), this.key('gone', id), id, ttlMs, this.key('members'))) === 1;
  }

  /** Deletes the heartbeat at a clean stop, so nobody mistakes the exit for a crash later. */
  async leave(id: string): Promise<void> {
    await this.r.multi().del(this.key('hb', id)).srem(this.key('members'), id).del(this.key('calls', id)).exec();
  }

  /**
   * Writes a call's record unless the instance is fenced; `admit` (its first record) also needs a
   * live heartbeat. A record written here is one a survivor's takeover will see.
   */
  async put(rec: CallRecord, admit: boolean): Promise<PutResult> {
    const id = rec.instance;
    const r = await this.r.haPut(this.key('hb', id), this.key('claim', id), this.key('gone', id), this.key('calls', id), rec.callId, JSON.stringify(rec), admit ? '1' : '0');
    return r === 1 ? 'ok' : r === 0 ? 'fenced' : 'lapsed';
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

  /**
   * Atomically claims every dead peer for `self`; also says which peers went silent (claimed by
   * anyone, or taken over within lookbackMs) and who the members are.
   */
  async reap(self: string, claimTtlMs: number, lookbackMs = 10_000): Promise<ReapResult> {
    const [claimed, suspects, members] = await this.r.haReap(this.prefix, self, claimTtlMs, lookbackMs);
    return { claimed, suspects: [...new Set(suspects)], members };
  }

  async forget(id: string, survivor: string): Promise<void> {
    await this.r.haForget(this.key('calls', id), this.key('members'), this.key('gone', id), this.key('lost'), id, survivor);
  }
}
