/**
 * Small async state interfaces shared by the policy gates. They are async so a Redis-backed
 * implementation can follow with the same shape; every operation that gates rely on for
 * correctness under concurrency (take a token, add-if-absent, raise a high-water mark, reserve a
 * call) is a single atomic operation here, so two concurrent INVITEs cannot both pass a check.
 */

/** Milliseconds since the epoch. Injected everywhere so tests never sleep. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}

export interface CounterStore {
  /** Add `by` to a windowed counter; the window (ttl) starts with the first increment. */
  incr(key: string, ttlMs: number, by?: number): Promise<number>;
  get(key: string): Promise<number>;
  delete(key: string): Promise<void>;
  /**
   * Store `value` as the key's high-water mark only if it is strictly greater than the current
   * one; returns whether it was raised. Used for digest nonce-count tracking.
   */
  raiseTo(key: string, value: number, ttlMs: number): Promise<boolean>;
}

export interface TakeResult {
  allowed: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** When not allowed: how long until `cost` tokens are available. */
  retryAfterMs: number;
}

export interface TokenBucketStore {
  take(key: string, cost: number, capacity: number, refillPerSec: number): Promise<TakeResult>;
}

/** Set of keys that expire: replay caches, lockouts. */
export interface TtlSet {
  /** Adds the key unless present; true if it was added (i.e. not seen before). */
  addIfAbsent(key: string, ttlMs: number): Promise<boolean>;
  /** Remaining lifetime in ms, or 0 when absent. */
  ttl(key: string): Promise<number>;
  add(key: string, ttlMs: number): Promise<void>;
}

export interface ReserveResult {
  ok: boolean;
  /** tryAdd only: the call id is already active (for any owner); nothing was changed. */
  duplicate?: boolean;
  /** Active calls of the owner including this one when ok. */
  calls: number;
  /** Sum of bandwidth (bps) of the owner's other active calls. */
  otherBps: number;
}

/**
 * Active calls per identity with their bandwidth, for the concurrent-call cap and the bandwidth
 * quota. A call is reserved by the anti-Sybil gate, its bandwidth set by the fairness gate, and
 * released when the call ends or a later gate refuses it.
 */
export interface CallLedger {
  /**
   * Adds the call if the owner has fewer than maxCalls active calls (atomic). A call id that is
   * already active is refused with duplicate=true: re-using one must not double-book or, worse,
   * let a refused duplicate release the original's slot.
   */
  tryAdd(owner: string, callId: string, maxCalls: number): Promise<ReserveResult>;
  /** Sets the call's bandwidth if the owner's other calls plus bps stay within maxBps (atomic). */
  trySetBandwidth(owner: string, callId: string, bps: number, maxBps: number): Promise<ReserveResult>;
  /** Sum of bandwidth of the owner's active calls except `exceptCallId`. */
  usage(owner: string, exceptCallId?: string): Promise<{ calls: number; bps: number }>;
  release(callId: string): Promise<void>;
}

/** What a council seat records (no identities: only what the room's metrics and cap need). */
export interface SeatInfo {
  role: string;
  leg: 'sip' | 'h323';
  /** Gateway instance holding the participant's call. */
  instance: string;
  joinedAt: number;
}

export interface SeatResult {
  ok: boolean;
  /** The seat id is already taken (nothing changed). */
  duplicate?: boolean;
  /** Seats taken in the room after this operation. */
  size: number;
}

/**
 * Council membership shared by gateway instances: the room's cap holds across all of them.
 * tryJoin is atomic (two instances cannot both take the last seat); leave is idempotent.
 */
export interface MembershipStore {
  tryJoin(room: string, seatId: string, info: SeatInfo, cap: number): Promise<SeatResult>;
  /** True when the seat was held. */
  leave(room: string, seatId: string): Promise<boolean>;
  members(room: string): Promise<Array<{ seatId: string } & SeatInfo>>;
  size(room: string): Promise<number>;
}
