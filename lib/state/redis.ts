/**
 * Redis implementations of the state interfaces (lib/state/types.ts), so several gateway
 * instances share rate buckets, windowed counters, replay caches and the call ledger.
 *
 * Every operation a gate relies on for correctness under concurrency is one Lua script, run
 * atomically by Redis: two instances taking the last token, adding the same nonce or reserving
 * the last call slot at the same moment cannot both succeed.
 *
 * Time: when a Clock is injected (tests, or a deployment that wants the gateway's clock) its
 * `now()` is passed to each script; when none is, the scripts read Redis' own TIME, so every
 * instance sees one clock and skew between gateway hosts cannot stretch a window. Logical
 * expiry is stored in the value and checked against that time, so Redis behaves exactly like
 * the in-memory stores; a PEXPIRE a little past the logical expiry removes dead keys.
 *
 * Keys (P = deployment prefix, e.g. "gw:prod:"):
 *   P c:<key>        hash {v, e}              CounterStore (value, expiry ms)
 *   P b:<key>        hash {t, a, e}           TokenBucketStore (tokens, last update, expiry)
 *   P t:<key>        string <expiry ms>       TtlSet
 *   P l:o:<owner>    hash callId -> bps       CallLedger: an owner's active calls
 *   P l:c:<callId>   string <owner>           CallLedger: owner of an active call id
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { CallLedger, Clock, CounterStore, ReserveResult, TakeResult, TokenBucketStore, TtlSet } from './types.js';

/** Extra lifetime given to Redis keys past their logical expiry (garbage collection only). */
const GC_MARGIN_MS = 1000;

/** Shared Lua prelude: `now` from ARGV (injected clock) or Redis TIME; float formatting. */
const PRELUDE = `
local function now_ms(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  if redis.replicate_commands then pcall(redis.replicate_commands) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(x) return string.format('%.17g', x) end
local function gc(key, ms) redis.call('PEXPIRE', key, math.max(1, math.ceil(ms)) + ${GC_MARGIN_MS}) end
`;

/** KEYS[1]=counter; ARGV: now, ttlMs, by. Returns the new value (string). */
const INCR = `${PRELUDE}
local now = now_ms(ARGV[1])
local ttl = tonumber(ARGV[2])
local by = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'v', 'e')
local e = tonumber(v[2])
if v[1] == false or e == nil or e <= now then
  redis.call('HSET', KEYS[1], 'v', num(by), 'e', num(now + ttl))
  gc(KEYS[1], ttl)
  return num(by)
end
local nv = tonumber(v[1]) + by
redis.call('HSET', KEYS[1], 'v', num(nv))
return num(nv)
`;

/** KEYS[1]=counter; ARGV: now. Returns the live value or "0". */
const GET = `${PRELUDE}
local now = now_ms(ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'v', 'e')
local e = tonumber(v[2])
if v[1] == false or e == nil or e <= now then return '0' end
return v[1]
`;

/** KEYS[1]=counter; ARGV: now, value, ttlMs. Returns 1 when raised. */
const RAISE = `${PRELUDE}
local now = now_ms(ARGV[1])
local value = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'v', 'e')
local e = tonumber(v[2])
if v[1] ~= false and e ~= nil and e > now and value <= tonumber(v[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', num(value), 'e', num(now + ttl))
gc(KEYS[1], ttl)
return 1
`;

/**
 * KEYS[1]=bucket; ARGV: now, cost, capacity, refillPerSec.
 * Returns {allowed 0|1, remaining, retryAfterMs}. Same arithmetic as MemoryTokenBuckets.
 */
const TAKE = `${PRELUDE}
local now = now_ms(ARGV[1])
local cost = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local refill = tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 't', 'a', 'e')
local tokens = cap
local at = now
local e = tonumber(b[3])
if b[1] ~= false and e ~= nil and e > now then
  tokens = tonumber(b[1])
  at = tonumber(b[2])
end
tokens = math.min(cap, tokens + (math.max(0, now - at) / 1000) * refill)
local fullIn = 3600000
if refill > 0 then fullIn = ((cap - math.max(0, tokens - cost)) / refill) * 1000 end
local exp = now + math.ceil(fullIn) + 1
if tokens >= cost then
  redis.call('HSET', KEYS[1], 't', num(tokens - cost), 'a', num(now), 'e', num(exp))
  gc(KEYS[1], exp - now)
  return {1, math.floor(tokens - cost), 0}
end
redis.call('HSET', KEYS[1], 't', num(tokens), 'a', num(now), 'e', num(exp))
gc(KEYS[1], exp - now)
local retry = 3600000
if refill > 0 then retry = math.ceil(((cost - tokens) / refill) * 1000) end
return {0, math.floor(tokens), retry}
`;

/** KEYS[1]=member; ARGV: now, ttlMs, onlyIfAbsent 0|1. Returns 1 when added. */
const TTL_ADD = `${PRELUDE}
local now = now_ms(ARGV[1])
local ttl = tonumber(ARGV[2])
if ARGV[3] == '1' then
  local e = tonumber(redis.call('GET', KEYS[1]))
  if e ~= nil and e > now then return 0 end
end
redis.call('SET', KEYS[1], num(now + ttl), 'PX', math.max(1, math.ceil(ttl)) + ${GC_MARGIN_MS})
return 1
`;

/** KEYS[1]=member; ARGV: now. Returns the remaining lifetime (string) or "0". */
const TTL_GET = `${PRELUDE}
local now = now_ms(ARGV[1])
local e = tonumber(redis.call('GET', KEYS[1]))
if e == nil or e <= now then return '0' end
return num(e - now)
`;

/** Sum of an owner hash's bandwidth except one call id; also its size. */
const LEDGER_PRELUDE = `
local function tally(key, except)
  local all = redis.call('HGETALL', key)
  local n = 0
  local s = 0
  for i = 1, #all, 2 do
    n = n + 1
    if all[i] ~= except then s = s + tonumber(all[i + 1]) end
  end
  return n, s
end
`;

/**
 * KEYS[1]=owner hash, KEYS[2]=call key; ARGV: owner, callId, maxCalls.
 * Returns {ok, duplicate, calls, otherBps(string)}.
 */
const LEDGER_ADD = `${LEDGER_PRELUDE}
local n, other = tally(KEYS[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then return {0, 1, n, string.format('%.17g', other)} end
if n >= tonumber(ARGV[3]) then return {0, 0, n, string.format('%.17g', other)} end
redis.call('HSET', KEYS[1], ARGV[2], '0')
redis.call('SET', KEYS[2], ARGV[1])
return {1, 0, n + 1, string.format('%.17g', other)}
`;

/** KEYS[1]=owner hash, KEYS[2]=call key; ARGV: owner, callId, bps, maxBps. */
const LEDGER_BW = `${LEDGER_PRELUDE}
local holder = redis.call('GET', KEYS[2])
if holder ~= false and holder ~= ARGV[1] then return {0, 1, 0, '0'} end
local n, other = tally(KEYS[1], ARGV[2])
local bps = tonumber(ARGV[3])
if other + bps > tonumber(ARGV[4]) then return {0, 0, n, string.format('%.17g', other)} end
redis.call('HSET', KEYS[1], ARGV[2], string.format('%.17g', bps))
redis.call('SET', KEYS[2], ARGV[1])
return {1, 0, redis.call('HLEN', KEYS[1]), string.format('%.17g', other)}
`;

/** KEYS[1]=owner hash, KEYS[2]=call key; ARGV: owner, callId. Releases only if still held by owner. */
const LEDGER_RELEASE = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], ARGV[2])
return 1
`;

const SCRIPTS = {
  gwStateIncr: { keys: 1, lua: INCR },
  gwStateGet: { keys: 1, lua: GET },
  gwStateRaise: { keys: 1, lua: RAISE },
  gwStateTake: { keys: 1, lua: TAKE },
  gwStateTtlAdd: { keys: 1, lua: TTL_ADD },
  gwStateTtlGet: { keys: 1, lua: TTL_GET },
  gwStateLedgerAdd: { keys: 2, lua: LEDGER_ADD },
  gwStateLedgerBw: { keys: 2, lua: LEDGER_BW },
  gwStateLedgerRelease: { keys: 2, lua: LEDGER_RELEASE },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type Arg = string | number;

/** Redis connection options that never let a command wait for a reconnect. */
export function redisClientOptions(commandTimeoutMs = 1000, maxReconnectDelayMs = 2000): RedisOptions {
  return {
    // A command issued while disconnected fails at once instead of queueing until Redis returns.
    enableOfflineQueue: false,
    // In-flight commands fail when the connection drops; they are never replayed later (a replayed
    // take or reserve could double-count after the caller already got its answer).
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // A frozen server (SIGSTOP, network partition without RST) cannot hold a SIP transaction.
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
    // Reconnect forever with capped backoff; recovery is automatic.
    retryStrategy: (times: number) => Math.min(times * 100, maxReconnectDelayMs),
    lazyConnect: false,
  };
}

/** Normalises a deployment prefix so keys read "<prefix>:c:..."; "" stays "". */
export function normalisePrefix(prefix: string): string {
  return prefix === '' || prefix.endsWith(':') ? prefix : `${prefix}:`;
}

/**
 * The scripts bound to one ioredis client, plus the key prefix and time source. One instance is
 * shared by all the Redis stores of a gateway.
 */
export class RedisStateClient {
  readonly prefix: string;
  constructor(
    readonly redis: Redis,
    prefix: string,
    private readonly clock?: Clock,
  ) {
    this.prefix = normalisePrefix(prefix);
    for (const [name, s] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: s.keys, lua: s.lua });
    }
  }

  /** "" makes the scripts use Redis TIME. */
  nowArg(): string {
    return this.clock ? String(this.clock.now()) : '';
  }

  key(kind: string, k: string): string {
    return `${this.prefix}${kind}:${k}`;
  }

  run(name: ScriptName, keys: string[], args: Arg[]): Promise<unknown> {
    const fn = (this.redis as unknown as Record<ScriptName, (...a: Arg[]) => Promise<unknown>>)[name];
    return fn.call(this.redis, ...keys, ...args);
  }
}

function toNum(x: unknown): number {
  const n = typeof x === 'number' ? x : Number(x);
  if (!Number.isFinite(n)) throw new Error(`state: unexpected reply ${String(x)}`);
  return n;
}

/** Lifetimes and bucket sizes must be finite numbers (Infinity cannot be stored as a PEXPIRE). */
function finite(n: number, what: string): number {
  if (!Number.isFinite(n)) throw new RangeError(`state: ${what} must be a finite number, got ${n}`);
  return n;
}

function toArr(x: unknown, len: number): unknown[] {
  if (!Array.isArray(x) || x.length < len) throw new Error('state: unexpected reply shape');
  return x;
}

export class RedisCounterStore implements CounterStore {
  constructor(private readonly c: RedisStateClient) {}
  async incr(key: string, ttlMs: number, by = 1): Promise<number> {
    return toNum(await this.c.run('gwStateIncr', [this.c.key('c', key)], [this.c.nowArg(), finite(ttlMs, 'ttlMs'), finite(by, 'by')]));
  }
  async get(key: string): Promise<number> {
    return toNum(await this.c.run('gwStateGet', [this.c.key('c', key)], [this.c.nowArg()]));
  }
  async delete(key: string): Promise<void> {
    await this.c.redis.del(this.c.key('c', key));
  }
  async raiseTo(key: string, value: number, ttlMs: number): Promise<boolean> {
    return toNum(await this.c.run('gwStateRaise', [this.c.key('c', key)], [this.c.nowArg(), finite(value, 'value'), finite(ttlMs, 'ttlMs')])) === 1;
  }
}

export class RedisTokenBuckets implements TokenBucketStore {
  constructor(private readonly c: RedisStateClient) {}
  async take(key: string, cost: number, capacity: number, refillPerSec: number): Promise<TakeResult> {
    const r = toArr(await this.c.run('gwStateTake', [this.c.key('b', key)], [this.c.nowArg(), finite(cost, 'cost'), finite(capacity, 'capacity'), finite(refillPerSec, 'refillPerSec')]), 3);
    return { allowed: toNum(r[0]) === 1, remaining: toNum(r[1]), retryAfterMs: toNum(r[2]) };
  }
}

export class RedisTtlSet implements TtlSet {
  constructor(private readonly c: RedisStateClient) {}
  async addIfAbsent(key: string, ttlMs: number): Promise<boolean> {
    return toNum(await this.c.run('gwStateTtlAdd', [this.c.key('t', key)], [this.c.nowArg(), finite(ttlMs, 'ttlMs'), 1])) === 1;
  }
  async add(key: string, ttlMs: number): Promise<void> {
    await this.c.run('gwStateTtlAdd', [this.c.key('t', key)], [this.c.nowArg(), finite(ttlMs, 'ttlMs'), 0]);
  }
  async ttl(key: string): Promise<number> {
    return toNum(await this.c.run('gwStateTtlGet', [this.c.key('t', key)], [this.c.nowArg()]));
  }
}

export class RedisCallLedger implements CallLedger {
  constructor(private readonly c: RedisStateClient) {}

  private keys(owner: string, callId: string): string[] {
    return [this.c.key('l:o', owner), this.c.key('l:c', callId)];
  }

  private reserve(r: unknown): ReserveResult {
    const a = toArr(r, 4);
    const out: ReserveResult = { ok: toNum(a[0]) === 1, calls: toNum(a[2]), otherBps: toNum(a[3]) };
    if (toNum(a[1]) === 1) out.duplicate = true;
    return out;
  }

  async tryAdd(owner: string, callId: string, maxCalls: number): Promise<ReserveResult> {
    return this.reserve(await this.c.run('gwStateLedgerAdd', this.keys(owner, callId), [owner, callId, maxCalls]));
  }

  async trySetBandwidth(owner: string, callId: string, bps: number, maxBps: number): Promise<ReserveResult> {
    return this.reserve(await this.c.run('gwStateLedgerBw', this.keys(owner, callId), [owner, callId, bps, maxBps]));
  }

  async usage(owner: string, exceptCallId?: string): Promise<{ calls: number; bps: number }> {
    const all = await this.c.redis.hgetall(this.c.key('l:o', owner));
    let calls = 0;
    let bps = 0;
    for (const [id, v] of Object.entries(all)) {
      if (id === exceptCallId) continue;
      calls++;
      bps += toNum(v);
    }
    return { calls, bps };
  }

  /** Idempotent: releasing an unknown or already released call id changes nothing. */
  async release(callId: string): Promise<void> {
    // The owner is read first so the script names every key it touches (no keys built in Lua);
    // the script re-checks the owner, so a concurrent release or re-use cannot free a wrong slot.
    for (let attempt = 0; attempt < 3; attempt++) {
      const owner = await this.c.redis.get(this.c.key('l:c', callId));
      if (owner === null) return;
      if (toNum(await this.c.run('gwStateLedgerRelease', this.keys(owner, callId), [owner, callId])) === 1) return;
    }
  }
}

export interface RedisStores {
  counters: RedisCounterStore;
  buckets: RedisTokenBuckets;
  ttl: RedisTtlSet;
  ledger: RedisCallLedger;
}

/** All four policy stores on one client. `clock` omitted: Redis server time. */
export function redisStores(redis: Redis, keyPrefix: string, clock?: Clock): RedisStores {
  const c = new RedisStateClient(redis, keyPrefix, clock);
  return {
    counters: new RedisCounterStore(c),
    buckets: new RedisTokenBuckets(c),
    ttl: new RedisTtlSet(c),
    ledger: new RedisCallLedger(c),
  };
}
