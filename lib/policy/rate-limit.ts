/**
 * Rate limits: token buckets per source address (before authentication) and per identity (after),
 * separately for INVITE and REGISTER (and any other configured method), plus the auth-failure
 * lockout check. Over the limit -> 503 with Retry-After; locked out -> 403 with Retry-After.
 */
import type { TokenBucketStore } from '../state/types.js';
import type { AuthFailureTracker } from './auth-failures.js';
import { parseAuthParams } from './sip-parse.js';
import { admit, reject, type ChainState, type Decision, type Gate, type PolicyRequest } from './types.js';

export interface BucketConfig {
  capacity: number;
  refillPerSec: number;
}

export type RateConfig = Record<string, BucketConfig>;

export const DEFAULT_SOURCE_RATES: RateConfig = {
  INVITE: { capacity: 20, refillPerSec: 2 },
  REGISTER: { capacity: 20, refillPerSec: 1 },
  MESSAGE: { capacity: 30, refillPerSec: 5 },
};

export const DEFAULT_IDENTITY_RATES: RateConfig = {
  INVITE: { capacity: 10, refillPerSec: 1 },
  REGISTER: { capacity: 10, refillPerSec: 0.5 },
  MESSAGE: { capacity: 30, refillPerSec: 5 },
};

const retryAfter = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));

/** Username of an Authorization header, without verifying anything (for the lockout check). */
function claimedUsername(req: PolicyRequest): string | undefined {
  const raw = req.header('Proxy-Authorization') ?? req.header('Authorization');
  if (!raw) return undefined;
  const p = parseAuthParams(raw);
  return p.ok ? p.params.get('username') : undefined;
}

export class SourceRateGate implements Gate {
  readonly name = 'rate-source';
  readonly methods: readonly string[];
  constructor(
    private readonly buckets: TokenBucketStore,
    private readonly failures: AuthFailureTracker,
    private readonly rates: RateConfig = DEFAULT_SOURCE_RATES,
  ) {
    this.methods = Object.keys(rates);
  }

  async decide(req: PolicyRequest): Promise<Decision> {
    const src = req.source.address;
    const locked = await this.failures.lockedFor(src, claimedUsername(req));
    if (locked > 0) return reject(403, 'Forbidden', 'auth-lockout', { 'Retry-After': retryAfter(locked) });
    const cfg = this.rates[req.method];
    if (!cfg) return admit();
    const r = await this.buckets.take(`rl:src:${req.method}:${src}`, 1, cfg.capacity, cfg.refillPerSec);
    if (!r.allowed) return reject(503, 'Service Unavailable', 'rate-limit-source', { 'Retry-After': retryAfter(r.retryAfterMs) });
    return admit();
  }
}

export class IdentityRateGate implements Gate {
  readonly name = 'rate-identity';
  readonly methods: readonly string[];
  constructor(
    private readonly buckets: TokenBucketStore,
    private readonly rates: RateConfig = DEFAULT_IDENTITY_RATES,
  ) {
    this.methods = Object.keys(rates);
  }

  async decide(req: PolicyRequest, state: ChainState): Promise<Decision> {
    const cfg = this.rates[req.method];
    if (!cfg || !state.entry) return admit();
    const r = await this.buckets.take(`rl:id:${req.method}:${state.entry.id}`, 1, cfg.capacity, cfg.refillPerSec);
    if (!r.allowed) return reject(503, 'Service Unavailable', 'rate-limit-identity', { 'Retry-After': retryAfter(r.retryAfterMs) });
    return admit();
  }
}
