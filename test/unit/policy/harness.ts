/** A full policy chain over in-memory stores, a manual clock and a memory audit, plus a test UA. */
import { randomBytes } from 'node:crypto';
import { buildPolicyChain, memoryStores, type PolicyConfig } from '../../../lib/policy/build.js';
import { digestResponse, type DigestAlgorithm } from '../../../lib/policy/digest.js';
import { signIdentity } from '../../../lib/policy/passport.js';
import { plainRequest, type PolicyRequest, type Decision } from '../../../lib/policy/types.js';
import { DocumentRegistry } from '../../../lib/registry/store.js';
import { MemoryAuditSink } from '../../../lib/audit/sink.js';
import { DecisionMetrics } from '../../../lib/audit/metrics.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { ManualClock } from '../../../lib/state/types.js';
import type { RegistryEntry } from '../../../lib/registry/types.js';
import { makeIdentity, REALM, type TestIdentity } from './fixtures.js';
import { audioOffer } from './sdp/sdp-samples.js';

export const GW_URI = 'sip:council@gw.example.test';

export function makeHarness(extra: Partial<PolicyConfig> = {}, entries?: RegistryEntry[]) {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
  const alice = makeIdentity('T-01');
  const bob = makeIdentity('C-01');
  const carol = makeIdentity('A-01', { status: 'suspended' });
  const registry = new DocumentRegistry({ version: 1, entries: entries ?? [alice.entry, bob.entry, carol.entry] });
  const audit = new MemoryAuditSink('k', clock);
  const promRegistry = isolatedRegistry();
  const metrics = new DecisionMetrics(promRegistry);
  const stores = memoryStores(clock);
  const { chain, failures } = buildPolicyChain({ digest: { realm: REALM, nonceSecrets: ['s3cret'] }, ...extra }, { registry, audit, metrics, stores, clock });
  // Every decision in every test must leave exactly one matching audit record (the issue's
  // "each gets the right SIP response and an audit record"); checked on each call.
  const decide = chain.decide.bind(chain);
  chain.decide = async (req) => {
    const before = audit.records.length;
    const r = await decide(req);
    if (r.decision.reason === 'audit-unavailable') return r;
    const added = audit.records.slice(before);
    if (added.length !== 1) throw new Error(`expected one audit record, got ${added.length}`);
    const rec = added[0]!;
    if (rec.status !== r.decision.status || rec.decision !== r.decision.outcome || rec.gate !== r.gate || rec.reason !== r.decision.reason) {
      throw new Error(`audit record ${JSON.stringify(rec)} does not match decision ${r.gate} ${r.decision.status} ${r.decision.reason}`);
    }
    return r;
  };
  return { clock, alice, bob, carol, registry, audit, metrics, promRegistry, stores, chain, failures };
}

export interface CallOpts {
  method?: string;
  callId?: string;
  from?: string;
  to?: string;
  uri?: string;
  source?: string;
  body?: string;
  contentType?: string | null;
  headers?: Record<string, string>;
  identity?: string | null;
}

let seq = 0;

/** Builds a request; `auth` adds a digest answer to the given challenge. */
export function request(who: TestIdentity | undefined, o: CallOpts = {}, auth?: { challenge: Decision; password?: string; nc?: string; alg?: DigestAlgorithm; username?: string }, clockNow?: number): PolicyRequest {
  const method = o.method ?? 'INVITE';
  const uri = o.uri ?? GW_URI;
  const user = who?.entry.sip.username ?? 'nobody';
  const headers: Record<string, string> = {
    Via: 'SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK' + (++seq),
    'Call-ID': o.callId ?? `call-${seq}@198.51.100.7`,
    CSeq: `1 ${method}`,
    From: o.from ?? `"Alice" <sip:${user}@${REALM}>;tag=a${seq}`,
    To: o.to ?? `<${GW_URI}>`,
    'Max-Forwards': '70',
    ...(o.headers ?? {}),
  };
  const body = o.body ?? (method === 'INVITE' ? audioOffer(['PCMU/8000', 'telephone-event/8000']) : '');
  if (body && o.contentType !== null) headers['Content-Type'] = o.contentType ?? 'application/sdp';
  if (who && o.identity !== null && method === 'INVITE') {
    headers.Identity =
      o.identity ??
      signIdentity({
        kid: who.kid,
        privateKey: who.privateKey,
        orig: { uri: `sip:${user}@${REALM}` },
        dest: { uri: [GW_URI] },
        iat: Math.floor((clockNow ?? Date.UTC(2026, 5, 1, 12)) / 1000),
      });
  }
  if (auth) {
    const ch = auth.challenge.headers['Proxy-Authenticate'] ?? auth.challenge.headers['WWW-Authenticate'];
    const first = (Array.isArray(ch) ? ch : [ch ?? '']).find((c) => c.includes(`algorithm=${auth.alg ?? 'SHA-256'}`))!;
    const nonce = /nonce="([^"]+)"/.exec(first)![1]!;
    const alg = auth.alg ?? 'SHA-256';
    const cnonce = randomBytes(8).toString('hex');
    const nc = auth.nc ?? '00000001';
    const ha1 = makeIdentityHa1(who, alg, auth.password, auth.username);
    const resp = digestResponse(alg, ha1, nonce, nc, cnonce, method, uri);
    const name = method === 'REGISTER' ? 'Authorization' : 'Proxy-Authorization';
    headers[name] = `Digest username="${auth.username ?? user}", realm="${REALM}", nonce="${nonce}", uri="${uri}", response="${resp}", algorithm=${alg}, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
  }
  return plainRequest({ method, uri, headers, body, source: { address: o.source ?? '198.51.100.7', port: 5060 } });
}

import { createHash } from 'node:crypto';
function makeIdentityHa1(who: TestIdentity | undefined, alg: DigestAlgorithm, password?: string, username?: string): string {
  const u = username ?? who?.entry.sip.username ?? 'nobody';
  const pw = password ?? who?.password ?? 'x';
  return createHash(alg === 'MD5' ? 'md5' : 'sha256').update(`${u}:${REALM}:${pw}`).digest('hex');
}

/** Runs the INVITE twice: unauthenticated (challenge), then answering that challenge. */
export async function authedCall(h: ReturnType<typeof makeHarness>, who: TestIdentity, o: CallOpts = {}, a: { password?: string; alg?: DigestAlgorithm; nc?: string } = {}) {
  const callId = o.callId ?? `call-${++seq}-${randomBytes(3).toString('hex')}@198.51.100.7`;
  const first = await h.chain.decide(request(who, { ...o, callId, identity: null }));
  const req = request(who, { ...o, callId }, { challenge: first.decision, ...a }, h.clock.now());
  return { first, req, result: await h.chain.decide(req) };
}
