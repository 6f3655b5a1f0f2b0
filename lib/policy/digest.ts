/**
 * Digest authentication gate (RFC 3261 + RFC 7616/8760): SHA-256 and MD5, qop=auth only.
 * Nonces are stateless (see nonce.ts); replay is stopped by tracking each nonce's highest
 * nonce-count, so a captured request cannot be sent again; an expired but otherwise correct
 * answer gets a fresh challenge with stale=true so the phone retries without asking the user.
 */
import { hash as oneShotHash, timingSafeEqual } from 'node:crypto';
import type { RegistryEntry, RegistryReader } from '../registry/types.js';
import type { Clock, CounterStore } from '../state/types.js';
import { systemClock } from '../state/types.js';
import type { AuthFailureTracker } from './auth-failures.js';
import { NonceService } from './nonce.js';
import { parseAuthParams } from './sip-parse.js';
import { admit, challenge, reject, type ChainState, type Decision, type Gate, type PolicyRequest } from './types.js';

export type DigestAlgorithm = 'SHA-256' | 'MD5';

export interface DigestConfig {
  realm: string;
  /** Current secret first; older ones still validate their nonces. */
  nonceSecrets: ReadonlyArray<Buffer | string>;
  /** Nonce lifetime; older nonces get stale=true. Default 300 s. */
  nonceTtlSec?: number;
  /** Offered in this order (RFC 8760: strongest first). */
  algorithms?: readonly DigestAlgorithm[];
  /** INVITE is challenged as a proxy (407) by default; REGISTER always with 401. */
  inviteStatus?: 401 | 407;
  /** Require the digest uri parameter to equal the Request-URI. Default true. */
  checkUri?: boolean;
  methods?: readonly string[];
}

// One-shot hashing: no Hash object per value (measured about half the cost of createHash).
const hash = (alg: DigestAlgorithm, s: string): string => oneShotHash(alg === 'MD5' ? 'md5' : 'sha256', s, 'hex');

// HA2 depends only on method and Request-URI, which repeat from call to call (every INVITE to
// the council's URI): remembered, bounded, so each request hashes once instead of twice.
const ha2Memo = new Map<string, string>();
const HA2_MEMO_MAX = 1024;

function ha2Of(alg: DigestAlgorithm, method: string, uri: string): string {
  const a2 = `${method}:${uri}`;
  // Long URIs are hashed every time: the memo stays small whatever callers send.
  if (a2.length > 256) return hash(alg, a2);
  const key = `${alg}\u0000${a2}`;
  let h = ha2Memo.get(key);
  if (h === undefined) {
    h = hash(alg, a2);
    if (ha2Memo.size >= HA2_MEMO_MAX) ha2Memo.clear();
    ha2Memo.set(key, h);
  }
  return h;
}

export function digestResponse(alg: DigestAlgorithm, ha1: string, nonce: string, nc: string, cnonce: string, method: string, uri: string): string {
  return hash(alg, `${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2Of(alg, method, uri)}`);
}

interface ChallengeKind {
  readonly status: 401 | 407;
  readonly phrase: string;
  readonly challengeHeader: string;
  readonly credHeader: string;
  readonly altHeader: string;
}
const PROXY_KIND: ChallengeKind = { status: 407, phrase: 'Proxy Authentication Required', challengeHeader: 'Proxy-Authenticate', credHeader: 'Proxy-Authorization', altHeader: 'Authorization' };
const UA_KIND: ChallengeKind = { status: 401, phrase: 'Unauthorized', challengeHeader: 'WWW-Authenticate', credHeader: 'Authorization', altHeader: 'Proxy-Authorization' };
const NC_RE = /^[0-9a-fA-F]{8}$/;

function ha1For(entry: RegistryEntry, alg: DigestAlgorithm): string {
  return alg === 'MD5' ? entry.sip.ha1Md5 : entry.sip.ha1Sha256;
}

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b.toLowerCase());
  return x.length === y.length && timingSafeEqual(x, y);
}

export class DigestGate implements Gate {
  readonly name = 'digest';
  readonly methods: readonly string[];
  readonly nonces: NonceService;
  private readonly ttlMs: number;
  private readonly algorithms: readonly DigestAlgorithm[];

  constructor(
    private readonly cfg: DigestConfig,
    private readonly registry: RegistryReader,
    private readonly counters: CounterStore,
    private readonly failures: AuthFailureTracker,
    private readonly clock: Clock = systemClock,
  ) {
    this.methods = cfg.methods ?? ['INVITE', 'REGISTER', 'MESSAGE', 'SUBSCRIBE', 'OPTIONS'];
    this.nonces = new NonceService(cfg.nonceSecrets, cfg.realm);
    this.ttlMs = (cfg.nonceTtlSec ?? 300) * 1000;
    this.algorithms = cfg.algorithms ?? ['SHA-256', 'MD5'];
  }

  private kind(method: string): ChallengeKind {
    const proxy = method !== 'REGISTER' && (this.cfg.inviteStatus ?? 407) === 407;
    return proxy ? PROXY_KIND : UA_KIND;
  }

  /** A fresh challenge: one header per algorithm, SHA-256 first. */
  challengeFor(method: string, reason: string, stale = false): Decision {
    const k = this.kind(method);
    const nonce = this.nonces.issue(this.clock.now());
    const values = this.algorithms.map(
      (alg) => `Digest realm="${this.cfg.realm}", nonce="${nonce}", algorithm=${alg}, qop="auth"${stale ? ', stale=true' : ''}`,
    );
    return challenge(k.status, k.phrase, reason, { [k.challengeHeader]: values });
  }

  async decide(req: PolicyRequest, state: ChainState): Promise<Decision> {
    const k = this.kind(req.method);
    const raw = req.header(k.credHeader) ?? req.header(k.altHeader);
    if (raw === undefined) return this.challengeFor(req.method, 'no-credentials');
    const parsed = parseAuthParams(raw);
    const src = req.source.address;
    if (!parsed.ok || parsed.scheme.toLowerCase() !== 'digest') {
      await this.failures.recordFailure(src);
      return reject(400, 'Bad Request', 'malformed-authorization');
    }
    const p = parsed.params;
    const username = p.get('username');
    const realm = p.get('realm');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    if (!username || realm === undefined || !nonce || !uri || !response) {
      await this.failures.recordFailure(src);
      return reject(400, 'Bad Request', 'malformed-authorization');
    }
    state.claimedUser = username;
    if (realm !== this.cfg.realm) return this.challengeFor(req.method, 'wrong-realm');
    const algRaw = (p.get('algorithm') ?? 'MD5').toUpperCase();
    const alg = this.algorithms.find((a) => a === algRaw);
    if (!alg) return this.challengeFor(req.method, 'unsupported-algorithm');
    if (p.get('qop') !== 'auth') return this.challengeFor(req.method, 'qop-auth-required');
    const nc = p.get('nc') ?? '';
    const cnonce = p.get('cnonce') ?? '';
    if (!NC_RE.test(nc) || cnonce.length === 0 || cnonce.length > 256) {
      await this.failures.recordFailure(src, username);
      return reject(400, 'Bad Request', 'malformed-authorization');
    }
    if (this.cfg.checkUri !== false && uri !== req.uri) {
      await this.failures.recordFailure(src, username);
      return reject(400, 'Bad Request', 'digest-uri-mismatch');
    }
    const now = this.clock.now();
    const n = this.nonces.check(nonce, now);
    // A nonce we did not issue (or issued under a retired secret): ask again, no penalty, since
    // a restart with a new secret produces exactly this for honest clients.
    if (!n.ok) return this.challengeFor(req.method, `invalid-nonce-${n.reason}`);

    const entry = await this.registry.byUsername(username);
    if (!entry) {
      await this.failures.recordFailure(src, username);
      return reject(403, 'Forbidden', 'unknown-user');
    }
    // HA1 binds the realm it was made for; an entry for another realm can never match here.
    if (entry.sip.realm !== this.cfg.realm) return reject(403, 'Forbidden', 'entry-realm-mismatch');
    const expected = digestResponse(alg, ha1For(entry, alg), nonce, nc, cnonce, req.method, uri);
    if (!safeEqualHex(expected, response)) {
      await this.failures.recordFailure(src, username);
      return reject(403, 'Forbidden', 'bad-credentials');
    }
    // Correct answer to an old nonce: the client knows the password; hand it a fresh nonce.
    if (now - n.issuedAt > this.ttlMs) return this.challengeFor(req.method, 'stale-nonce', true);
    const fresh = await this.counters.raiseTo(`nc:${nonce}`, parseInt(nc, 16), this.ttlMs + 10_000);
    if (!fresh) {
      await this.failures.recordFailure(src, username);
      return this.challengeFor(req.method, 'nonce-replayed');
    }
    if (entry.status !== 'active') return reject(403, 'Forbidden', 'suspended');
    state.entry = entry;
    return admit();
  }
}
