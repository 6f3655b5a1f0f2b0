/**
 * In-memory implementations of the state interfaces (single process). Each keeps its size
 * bounded: expired entries are swept lazily and, when a cap is reached, the oldest entry is
 * dropped, so a flood of distinct keys (spoofed sources, random nonces) cannot exhaust memory.
 */
import type {
  CallLedger,
  Clock,
  CounterStore,
  ReserveResult,
  TakeResult,
  TokenBucketStore,
  TtlSet,
} from './types.js';
import { systemClock } from './types.js';

const DEFAULT_MAX_KEYS = 200_000;

/** Map with per-entry expiry and an entry cap; insertion order doubles as age order. */
class ExpiringMap<V> {
  private readonly map = new Map<string, { v: V; exp: number }>();
  private sweepAt = 0;
  constructor(
    private readonly clock: Clock,
    private readonly maxKeys: number,
  ) {}

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.exp <= this.clock.now()) {
      this.map.delete(key);
      return undefined;
    }
    return e.v;
  }

  expiry(key: string): number {
    const e = this.map.get(key);
    return e && e.exp > this.clock.now() ? e.exp : 0;
  }

  set(key: string, v: V, exp: number): void {
    this.map.delete(key);
    this.map.set(key, { v, exp });
    this.bound();
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }

  private bound(): void {
    const now = this.clock.now();
    // A full sweep at most once a second keeps set() amortised O(1).
    if (this.map.size > this.maxKeys / 2 && now >= this.sweepAt) {
      this.sweepAt = now + 1000;
      for (const [k, e] of this.map) if (e.exp <= now) this.map.delete(k);
    }
    while (this.map.size > this.maxKeys) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }
}

export class MemoryCounterStore implements CounterStore {
  private readonly m: ExpiringMap<number>;
  constructor(
    private readonly clock: Clock = systemClock,
    maxKeys = DEFAULT_MAX_KEYS,
  ) {
    this.m = new ExpiringMap(clock, maxKeys);
  }
  async incr(key: string, ttlMs: number, by = 1): Promise<number> {
    const cur = this.m.get(key);
    if (cur === undefined) {
      this.m.set(key, by, this.clock.now() + ttlMs);
      return by;
    }
    const next = cur + by;
    this.m.set(key, next, this.m.expiry(key));
    return next;
  }
  async get(key: string): Promise<number> {
    return this.m.get(key) ?? 0;
  }
  async delete(key: string): Promise<void> {
    this.m.delete(key);
  }
  async raiseTo(key: string, value: number, ttlMs: number): Promise<boolean> {
    const cur = this.m.get(key);
    if (cur !== undefined && value <= cur) return false;
    this.m.set(key, value, this.clock.now() + ttlMs);
    return true;
  }
}

export class MemoryTokenBuckets implements TokenBucketStore {
  private readonly m: ExpiringMap<{ tokens: number; at: number }>;
  constructor(
    private readonly clock: Clock = systemClock,
    maxKeys = DEFAULT_MAX_KEYS,
  ) {
    this.m = new ExpiringMap(clock, maxKeys);
  }
  async take(key: string, cost: number, capacity: number, refillPerSec: number): Promise<TakeResult> {
    const now = this.clock.now();
    const b = this.m.get(key) ?? { tokens: capacity, at: now };
    const tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * refillPerSec);
    // A bucket that would be full again carries no information; let it expire then.
    const fullInMs = refillPerSec > 0 ? ((capacity - Math.max(0, tokens - cost)) / refillPerSec) * 1000 : 3_600_000;
    if (tokens >= cost) {
      this.m.set(key, { tokens: tokens - cost, at: now }, now + Math.ceil(fullInMs) + 1);
      return { allowed: true, remaining: Math.floor(tokens - cost), retryAfterMs: 0 };
    }
    this.m.set(key, { tokens, at: now }, now + Math.ceil(fullInMs) + 1);
    const retryAfterMs = refillPerSec > 0 ? Math.ceil(((cost - tokens) / refillPerSec) * 1000) : 3_600_000;
    return { allowed: false, remaining: Math.floor(tokens), retryAfterMs };
  }
}

export class MemoryTtlSet implements TtlSet {
  private readonly m: ExpiringMap<true>;
  constructor(
    private readonly clock: Clock = systemClock,
    maxKeys = DEFAULT_MAX_KEYS,
  ) {
    this.m = new ExpiringMap(clock, maxKeys);
  }
  async addIfAbsent(key: string, ttlMs: number): Promise<boolean> {
    if (this.m.get(key)) return false;
    this.m.set(key, true, this.clock.now() + ttlMs);
    return true;
  }
  async add(key: string, ttlMs: number): Promise<void> {
    this.m.set(key, true, this.clock.now() + ttlMs);
  }
  async ttl(key: string): Promise<number> {
    const exp = this.m.expiry(key);
    return exp ? exp - this.clock.now() : 0;
  }
  get size(): number {
    return this.m.size;
  }
}

export class MemoryCallLedger implements CallLedger {
  private readonly owners = new Map<string, Map<string, number>>();
  private readonly ownerOf = new Map<string, string>();

  async tryAdd(owner: string, callId: string, maxCalls: number): Promise<ReserveResult> {
    const calls = this.owners.get(owner) ?? new Map<string, number>();
    const otherBps = sum(calls, callId);
    if (this.ownerOf.has(callId)) return { ok: false, duplicate: true, calls: calls.size, otherBps };
    if (calls.size >= maxCalls) return { ok: false, calls: calls.size, otherBps };
    calls.set(callId, 0);
    this.owners.set(owner, calls);
    this.ownerOf.set(callId, owner);
    return { ok: true, calls: calls.size, otherBps };
  }

  async trySetBandwidth(owner: string, callId: string, bps: number, maxBps: number): Promise<ReserveResult> {
    const other = this.ownerOf.get(callId);
    if (other !== undefined && other !== owner) return { ok: false, duplicate: true, calls: 0, otherBps: 0 };
    const calls = this.owners.get(owner) ?? new Map<string, number>();
    const otherBps = sum(calls, callId);
    if (otherBps + bps > maxBps) return { ok: false, calls: calls.size, otherBps };
    calls.set(callId, bps);
    this.owners.set(owner, calls);
    this.ownerOf.set(callId, owner);
    return { ok: true, calls: calls.size, otherBps };
  }

  async usage(owner: string, exceptCallId?: string): Promise<{ calls: number; bps: number }> {
    const calls = this.owners.get(owner);
    if (!calls) return { calls: 0, bps: 0 };
    return { calls: calls.size - (exceptCallId && calls.has(exceptCallId) ? 1 : 0), bps: sum(calls, exceptCallId) };
  }

  async release(callId: string): Promise<void> {
    const owner = this.ownerOf.get(callId);
    if (owner === undefined) return;
    this.ownerOf.delete(callId);
    const calls = this.owners.get(owner);
    calls?.delete(callId);
    if (calls && calls.size === 0) this.owners.delete(owner);
  }
}

function sum(calls: Map<string, number>, except?: string): number {
  let s = 0;
  for (const [id, bps] of calls) if (id !== except) s += bps;
  return s;
}
