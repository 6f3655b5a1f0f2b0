/**
 * Types shared by the policy gates: the request context a gate sees, the decision it returns and
 * the per-request state the chain threads through the gates.
 */
import type { RegistryEntry } from '../registry/types.js';
import type { PiiCounts } from '../audit/record.js';
import type { SdpOffer } from '../sdp/scan.js';

export type Transport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss' | 'unknown';

/** What a gate may read of a SIP request. Header lookups are case-insensitive. */
export interface PolicyRequest {
  method: string;
  /** Request-URI. */
  uri: string;
  callId: string;
  /** First value of the header (compact forms are the caller's business), or undefined. */
  header(name: string): string | undefined;
  /** Names of all headers present (for size limits and PII scanning of custom headers). */
  headerNames(): string[];
  source: { address: string; port: number; transport: Transport };
  body: string;
}

export type Outcome = 'admit' | 'reject' | 'challenge';

export type HeaderValues = Record<string, string | string[]>;

/** Changes to make to the request before it is forwarded (B2BUA side B). */
export interface Mutations {
  /** Header name -> new value (redacted). */
  headers: Record<string, string>;
  /** Replacement SDP (filtered / trimmed). */
  sdp?: string;
  /** Replacement non-SDP body (redacted text). */
  body?: string;
}

export interface Decision {
  outcome: Outcome;
  /** SIP status to send; 0 when admitted (the request goes on). */
  status: number;
  /** Reason phrase for the status line. */
  reasonPhrase: string;
  /** Machine-readable reason recorded in the audit (never carries PII). */
  reason: string;
  /** Headers to add to the response (challenges, Retry-After, Warning). */
  headers: HeaderValues;
}

/** Per-request state built up by the gates. */
export interface ChainState {
  /** Entry authenticated by digest. */
  entry?: RegistryEntry;
  /** Username claimed in the Authorization header (not yet verified), for lockouts. */
  claimedUser?: string;
  /** Key id whose signature verified. */
  kid?: string;
  /** Entry the verified key belongs to. */
  keyEntry?: RegistryEntry;
  /** True when the call holds a slot in the call ledger (released if a later gate refuses). */
  reserved?: boolean;
  pii?: PiiCounts;
  /** The offer as parsed by the codec gate, matching mutations.sdp (saves a second parse). */
  offer?: SdpOffer;
  mutations: Mutations;
  /** Non-default admit reasons collected on the way (e.g. video-capped). */
  notes: string[];
}

export interface Gate {
  readonly name: string;
  /** Methods the gate applies to; others pass it untouched. */
  readonly methods: readonly string[];
  /**
   * Gates that need no I/O (or whose store answered from memory) may return the decision
   * directly; the chain awaits only real promises, saving a microtask hop per gate.
   */
  decide(req: PolicyRequest, state: ChainState): Decision | Promise<Decision>;
}

/** True for a promise (or any thenable) as opposed to a plain value. */
export function isThenable<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

export function admit(reason = 'ok'): Decision {
  return { outcome: 'admit', status: 0, reasonPhrase: '', reason, headers: {} };
}

export function reject(status: number, reasonPhrase: string, reason: string, headers: HeaderValues = {}): Decision {
  return { outcome: 'reject', status, reasonPhrase, reason, headers };
}

export function challenge(status: number, reasonPhrase: string, reason: string, headers: HeaderValues): Decision {
  return { outcome: 'challenge', status, reasonPhrase, reason, headers };
}

/** A request built from plain values: for tests, the benchmark and non-srf callers. */
export interface PlainRequestInit {
  method: string;
  uri: string;
  headers: Record<string, string>;
  body?: string;
  source?: { address: string; port: number; transport?: Transport };
}

export function plainRequest(init: PlainRequestInit): PolicyRequest {
  const map = new Map<string, string>();
  for (const [k, v] of Object.entries(init.headers)) map.set(k.toLowerCase(), v);
  return {
    method: init.method.toUpperCase(),
    uri: init.uri,
    callId: map.get('call-id') ?? '',
    header: (name) => map.get(name.toLowerCase()),
    headerNames: () => Object.keys(init.headers),
    source: {
      address: init.source?.address ?? '192.0.2.1',
      port: init.source?.port ?? 5060,
      transport: init.source?.transport ?? 'udp',
    },
    body: init.body ?? '',
  };
}
