/**
 * Auth-failure accounting and lockout. Failures are counted per source address and per claimed
 * username in a sliding-ish window (a counter that expires); past the threshold the source or the
 * username is locked for a while. The username threshold is higher: anyone can send bad
 * passwords under someone else's name, so a low one would let them lock that person out.
 */
import type { CounterStore, TtlSet } from '../state/types.js';

export interface LockoutConfig {
  windowSec: number;
  sourceThreshold: number;
  userThreshold: number;
  lockoutSec: number;
}

export const DEFAULT_LOCKOUT: LockoutConfig = { windowSec: 300, sourceThreshold: 10, userThreshold: 20, lockoutSec: 300 };

export class AuthFailureTracker {
  constructor(
    private readonly counters: CounterStore,
    private readonly locks: TtlSet,
    readonly config: LockoutConfig = DEFAULT_LOCKOUT,
  ) {}

  async recordFailure(source: string, username?: string): Promise<void> {
    const c = this.config;
    const n = await this.counters.incr(`af:src:${source}`, c.windowSec * 1000);
    if (n >= c.sourceThreshold) await this.locks.add(`lock:src:${source}`, c.lockoutSec * 1000);
    if (username) {
      const u = await this.counters.incr(`af:user:${username.toLowerCase()}`, c.windowSec * 1000);
      if (u >= c.userThreshold) await this.locks.add(`lock:user:${username.toLowerCase()}`, c.lockoutSec * 1000);
    }
  }

  /** Remaining lockout in ms for the source or the username, 0 when neither is locked. */
  async lockedFor(source: string, username?: string): Promise<number> {
    const s = await this.locks.ttl(`lock:src:${source}`);
    const u = username ? await this.locks.ttl(`lock:user:${username.toLowerCase()}`) : 0;
    return Math.max(s, u);
  }
}
