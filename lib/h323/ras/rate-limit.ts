/** Per-source token buckets, so one flooding address cannot starve the others. */
export interface RateLimitConfig {
  /** Sustained datagrams per second per source address. */
  readonly perSecond: number;
  /** Burst allowance. */
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly cfg: RateLimitConfig,
    private readonly now: () => number = () => performance.now(),
    /** Bound on tracked sources (spoofed-source floods must not grow memory without limit). */
    private readonly maxSources = 10000,
  ) {}

  allow(source: string): boolean {
    const t = this.now();
    let b = this.buckets.get(source);
    if (!b) {
      if (this.buckets.size >= this.maxSources) this.prune(t);
      b = { tokens: this.cfg.burst, at: t };
      this.buckets.set(source, b);
    } else {
      b.tokens = Math.min(this.cfg.burst, b.tokens + ((t - b.at) / 1000) * this.cfg.perSecond);
      b.at = t;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private prune(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.cfg.perSecond >= this.cfg.burst) this.buckets.delete(k);
    }
    // Still full (every source active): forget the oldest half rather than grow.
    if (this.buckets.size >= this.maxSources) {
      let n = 0;
      for (const k of this.buckets.keys()) {
        if (n++ > this.maxSources / 2) break;
        this.buckets.delete(k);
      }
    }
  }
}
