/**
 * Identity gate: verifies the RFC 8224 Identity header (PASSporT, EdDSA) against the registry key
 * it names, checks that orig/dest match the request, that iat is fresh, and that the signature
 * was not seen before (replay). Whether a role must present one is configuration.
 */
import type { RegistryReader, Role } from '../registry/types.js';
import type { Clock, TtlSet } from '../state/types.js';
import { systemClock } from '../state/types.js';
import type { AuthFailureTracker } from './auth-failures.js';
import { Ed25519Verifier, parseIdentityHeader, type PassportClaims } from './passport.js';
import { parseNameAddr, parseSipUri, telDigits, type SipUri } from './sip-parse.js';
import { admit, reject, type ChainState, type Decision, type Gate, type PolicyRequest } from './types.js';

export interface IdentityConfig {
  /** Roles that must present a signed identity. */
  requiredFor: readonly Role[];
  /** Max age of iat, seconds. Default 60. */
  windowSec?: number;
  /** Max iat ahead of our clock, seconds. Default 10. */
  futureSkewSec?: number;
  methods?: readonly string[];
}

export const DEFAULT_IDENTITY_ROLES: readonly Role[] = ['guardian', 'expert', 'moderator'];

function sameUri(a: SipUri | undefined, b: SipUri | undefined): boolean {
  return !!a && !!b && a.user === b.user && a.host === b.host && a.scheme.replace('sips', 'sip') === b.scheme.replace('sips', 'sip');
}

function tnMatches(claim: string, actual: SipUri | undefined): boolean {
  const d = actual ? telDigits(actual.user) : '';
  return d.length > 0 && telDigits(claim) === d;
}

// The same few URIs come back on every call (the council's Request-URI and To, each caller's
// From and claims): each distinct text is parsed once. Results are shared, so only read.
const uriMemo = new Map<string, SipUri | undefined>();
const URI_MEMO_MAX = 2048;
/** Longer texts are parsed every time: the memo stays small whatever callers send. */
const URI_MEMO_LEN = 256;

function sipUriOf(uri: string): SipUri | undefined {
  if (uri.length > URI_MEMO_LEN) return parseSipUri(uri);
  let u = uriMemo.get(uri);
  if (u === undefined && !uriMemo.has(uri)) {
    u = parseSipUri(uri);
    if (uriMemo.size >= URI_MEMO_MAX) uriMemo.clear();
    uriMemo.set(uri, u);
  }
  return u;
}

/** orig must name the From URI; dest must include the To URI or the Request-URI. */
export function claimsMatch(c: PassportClaims, req: PolicyRequest): boolean {
  const from = sipUriOf(parseNameAddr(req.header('From') ?? '')?.uri ?? '');
  const origOk = (c.orig.uri !== undefined && sameUri(sipUriOf(c.orig.uri), from)) || (c.orig.tn !== undefined && tnMatches(c.orig.tn, from));
  if (!origOk) return false;
  const targets = [sipUriOf(parseNameAddr(req.header('To') ?? '')?.uri ?? ''), sipUriOf(req.uri)];
  return (
    (c.dest.uri ?? []).some((d) => {
      const du = sipUriOf(d);
      return targets.some((t) => sameUri(du, t));
    }) || (c.dest.tn ?? []).some((d) => targets.some((t) => tnMatches(d, t)))
  );
}

export class IdentityGate implements Gate {
  readonly name = 'identity';
  readonly methods: readonly string[];
  private readonly verifier = new Ed25519Verifier();
  private readonly windowMs: number;
  private readonly futureMs: number;

  constructor(
    private readonly cfg: IdentityConfig,
    private readonly registry: RegistryReader,
    private readonly seen: TtlSet,
    private readonly failures: AuthFailureTracker,
    private readonly clock: Clock = systemClock,
  ) {
    this.methods = cfg.methods ?? ['INVITE'];
    this.windowMs = (cfg.windowSec ?? 60) * 1000;
    this.futureMs = (cfg.futureSkewSec ?? 10) * 1000;
  }

  async decide(req: PolicyRequest, state: ChainState): Promise<Decision> {
    const value = req.header('Identity');
    const required = state.entry ? this.cfg.requiredFor.includes(state.entry.role) : true;
    if (value === undefined) return required ? reject(428, 'Use Identity Header', 'identity-missing') : admit('identity-not-required');
    const parsed = parseIdentityHeader(value);
    if (!parsed.ok) {
      if (parsed.code === 'unsupported-alg') return this.fail(req, state, 437, 'Unsupported Credential', 'identity-unsupported-alg');
      if (parsed.code === 'bad-info') return this.fail(req, state, 436, 'Bad Identity Info', 'identity-bad-info');
      return this.fail(req, state, 438, 'Invalid Identity Header', parsed.code === 'bad-claims' ? 'identity-bad-claims' : 'identity-malformed');
    }
    const id = parsed.value;
    const found = await this.registry.byKeyId(id.kid);
    if (!found) return this.fail(req, state, 436, 'Bad Identity Info', 'identity-unknown-key');
    if (!this.verifier.verify(found.key.publicKey, id.signingInput, id.signature)) {
      return this.fail(req, state, 438, 'Invalid Identity Header', 'identity-bad-signature');
    }
    const now = this.clock.now();
    const iatMs = id.claims.iat * 1000;
    if (now - iatMs > this.windowMs) return reject(403, 'Stale Date', 'identity-expired');
    if (iatMs - now > this.futureMs) return reject(403, 'Stale Date', 'identity-future-dated');
    if (!claimsMatch(id.claims, req)) return this.fail(req, state, 438, 'Invalid Identity Header', 'identity-claims-mismatch');
    // Remember the signature for as long as its iat could still pass the window.
    const firstSeen = await this.seen.addIfAbsent(`sig:${id.signatureB64}`, this.windowMs + this.futureMs + 1000);
    if (!firstSeen) return this.fail(req, state, 438, 'Invalid Identity Header', 'identity-replayed');
    state.kid = id.kid;
    state.keyEntry = found.entry;
    return admit();
  }

  /** A refusal that counts towards the source's and the claimed user's lockout. */
  private async fail(req: PolicyRequest, state: ChainState, status: number, phrase: string, reason: string): Promise<Decision> {
    await this.failures.recordFailure(req.source.address, state.claimedUser);
    return reject(status, phrase, reason);
  }
}
