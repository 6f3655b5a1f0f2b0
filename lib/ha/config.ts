/** The `ha` config section (validated in lib/config/gateway-config.ts; see docs/ha.md). */
export interface HaConfig {
  /** Readable prefix of the member id ('' = hostname); `-<pid>-<random>` is appended at start. */
  instanceId: string;
  heartbeatMs: number;
  /** A peer whose heartbeat key is older than this is dead. */
  ttlMs: number;
  pollMs: number;
  /** How long a takeover claim keeps other survivors off the same dead peer. */
  claimTtlMs: number;
  /** How long the survivor waits for the answer to each BYE before auditing it as unanswered. */
  byeTimeoutMs: number;
}

/** 1 s TTL refreshed every 250 ms: a dead peer is noticed within about 1.25 s. */
export const HA_DEFAULTS: Omit<HaConfig, 'instanceId'> = { heartbeatMs: 250, ttlMs: 1000, pollMs: 250, claimTtlMs: 30_000, byeTimeoutMs: 4000 };
