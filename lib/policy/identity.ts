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

/** orig must name the From URI; dest must include the To URI or the Request-URI. */
export function claimsMatch(c: PassportClaims, req: PolicyRequest): boolean {
  // Each request URI is parsed once, however many claims are compared with it.
  const from = parseSipUri(parseNameAddr(req.header('From') ?? '')?.uri ?? '');
  const origOk = (c.orig.uri !== undefined && sameUri(parseSipUri(c.orig.uri), from)) || (c.orig.tn !== undefined && tnMatches(c.orig.tn, from));
  if (!origOk) return false;
  const targets = [parseSipUri(parseNameAddr(req.header('To') ?? '')?.uri ?? ''), parseSipUri(req.uri)];
  return (
    (c.dest.uri ?? []).some((d) => {
      const du = parseSipUri(d);
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
    const src = req.source.address;
    const fail = async (status: number, phrase: string, reason: string): Promise<Decision> => {
      await this.failures.recordFailure(src, state.claimedUser);
      return reject(status, phrase, reason);
    };
    const parsed = parseIdentityHeader(value);
    if (!parsed.ok) {
      if (parsed.code === 'unsupported-alg') return fail(437, 'Unsupported Credential', 'identity-unsupported-alg');
      if (parsed.code === 'bad-info') return fail(436, 'Bad Identity Info', 'identity-bad-info');
      return fail(438, 'Invalid Identity Header', parsed.code === 'bad-claims' ? 'identity-bad-claims' : 'identity-malformed');
    }
    const id = parsed.value;
    const found = await this.registry.byKeyId(id.kid);
    if (!found) return fail(436, 'Bad Identity Info', 'identity-unknown-key');
    if (!this.verifier.verify(found.key.publicKey, id.signingInput, id.signature)) {
      return fail(438, 'Invalid Identity Header', 'identity-bad-signature');
    }
    const now = this.clock.now();
    const iatMs = id.claims.iat * 1000;
    if (now - iatMs > this.windowMs) return reject(403, 'Stale Date', 'identity-expired');
    if (iatMs - now > this.futureMs) return reject(403, 'Stale Date', 'identity-future-dated');
    if (!claimsMatch(id.claims, req)) return fail(438, 'Invalid Identity Header', 'identity-claims-mismatch');
    // Remember the signature for as long as its iat could still pass the window.
    const firstSeen = await this.seen.addIfAbsent(`sig:${id.signatureB64}`, this.windowMs + this.futureMs + 1000);
    if (!firstSeen) return fail(438, 'Invalid Identity Header', 'identity-replayed');
    state.kid = id.kid;
    state.keyEntry = found.entry;
    return admit();
  }
}
