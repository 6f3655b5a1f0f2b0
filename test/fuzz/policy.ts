/**
 * Property fuzzing of the policy parsers and the SDP filter with fast-check. Properties:
 *  - filterSdp never throws; on structured offers with random codec mixes and junk attribute
 *    lines, what it keeps parses again, names only allowed codecs, and every rtpmap/fmtp/rtcp-fb
 *    payload it keeps is in its m-line;
 *  - the SDP parser, the Authorization and Identity parsers, the name-addr/URI parsers and the
 *    PII redactor never throw on arbitrary and on mutated valid input;
 *  - redaction leaves nothing the detector would still find, on mixes of PII and filler;
 *  - the whole chain answers every random request with a SIP status from its known set (never
 *    500), never throws, and writes exactly one audit record per decision.
 *
 * Short runs happen in the unit tests; a long run: `node --import tsx test/fuzz/policy.ts --runs 200000`.
 */
import fc from 'fast-check';
import { runIfMain } from './cli.js';
import { generateKeyPairSync } from 'node:crypto';
import { parse } from 'sdp-transform';
import { filterSdp, DEFAULT_ALLOWED_CODECS } from '../../lib/sdp/filter.js';
import { parseSdp } from '../../lib/sdp/parse.js';
import { parseAuthParams, parseNameAddr, parseSipUri } from '../../lib/policy/sip-parse.js';
import { parseIdentityHeader, signIdentity } from '../../lib/policy/passport.js';
import { findPii, redactPii } from '../../lib/policy/pii.js';
import { buildPolicyChain } from '../../lib/policy/build.js';
import { digestResponse, type DigestGate } from '../../lib/policy/digest.js';
import type { KeyObject } from 'node:crypto';
import { plainRequest } from '../../lib/policy/types.js';
import { DocumentRegistry } from '../../lib/registry/store.js';
import { makeCredentials } from '../../lib/registry/credentials.js';
import { MemoryAuditSink } from '../../lib/audit/sink.js';

interface FuzzProperty {
  name: string;
  share: number;
  property: fc.IPropertyWithHooks<unknown> | fc.IAsyncPropertyWithHooks<unknown>;
}

const CODECS = ['PCMU/8000', 'PCMA/8000', 'G722/8000', 'G729/8000', 'opus/48000/2', 'H264/90000', 'VP8/90000', 'VP9/90000', 'telephone-event/8000', 'rtx/90000', 'red/90000', 'iLBC/8000', 'CN/8000'];
const ALLOWED = new Set([...DEFAULT_ALLOWED_CODECS.map((c) => c.toLowerCase()), 'rtx']);

const junkLine = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => `a=${s.replace(/[\r\n]/g, '')}`),
  fc.tuple(fc.integer({ min: 0, max: 130 }), fc.string({ maxLength: 20 })).map(([pt, s]) => `a=fmtp:${pt} ${s.replace(/[\r\n]/g, '')}`),
  fc.integer({ min: 0, max: 130 }).map((pt) => `a=rtcp-fb:${pt} nack`),
  fc.integer({ min: 0, max: 5000 }).map((n) => `b=AS:${n}`),
  fc.constantFrom('a=group:BUNDLE 0 1', 'a=mid:0', 'a=mid:1', 'a=sendrecv', 'a=ptime:20'),
);

interface Section {
  kind: string;
  codecs: string[];
  staticPts: number[];
  junk: string[];
  rtxApt: number | null;
}

const section: fc.Arbitrary<Section> = fc.record({
  kind: fc.constantFrom('audio', 'video', 'application', 'image'),
  codecs: fc.array(fc.constantFrom(...CODECS), { minLength: 1, maxLength: 6 }),
  staticPts: fc.array(fc.constantFrom(0, 3, 8, 9, 18, 34), { maxLength: 3 }),
  junk: fc.array(junkLine, { maxLength: 4 }),
  rtxApt: fc.option(fc.integer({ min: 96, max: 110 })),
});

function offer(sections: Section[], sessionJunk: string[]): string {
  const lines = ['v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', ...sessionJunk];
  sections.forEach((s, i) => {
    const dyn = s.codecs.map((_, j) => 96 + j);
    lines.push(`m=${s.kind} ${4000 + 2 * i} RTP/AVP ${[...s.staticPts, ...dyn].join(' ')}`);
    s.codecs.forEach((c, j) => lines.push(`a=rtpmap:${96 + j} ${c}`));
    if (s.rtxApt !== null) lines.push(`a=fmtp:${96 + s.codecs.length - 1} apt=${s.rtxApt}`);
    lines.push(...s.junk);
  });
  return `${lines.join('\r\n')}\r\n`;
}

function checkFiltered(text: string): void {
  const res = filterSdp(text);
  if (!res.ok) return;
  const again = parseSdp(res.sdp);
  if (!again.ok) throw new Error(`filtered SDP does not parse: ${again.reason}`);
  for (const m of parse(res.sdp).media) {
    if (m.type !== 'audio' && m.type !== 'video') throw new Error(`kept a ${m.type} stream`);
    const pts = new Set(String(m.payloads).split(' ').map(Number));
    for (const r of m.rtp) {
      if (!pts.has(r.payload)) throw new Error(`rtpmap ${r.payload} not in m-line`);
      if (!ALLOWED.has(r.codec.toLowerCase())) throw new Error(`kept ${r.codec}`);
    }
    for (const f of m.fmtp) if (!pts.has(f.payload)) throw new Error(`fmtp ${f.payload} not in m-line`);
    for (const f of m.rtcpFb ?? []) if (f.payload !== '*' && !pts.has(Number(f.payload))) throw new Error(`rtcp-fb ${f.payload} not in m-line`);
  }
}

/** Random edits of a valid string: the parsers see near-misses, not only noise. */
const mutate = (valid: string) =>
  fc.array(fc.tuple(fc.nat(valid.length), fc.nat(8), fc.string({ maxLength: 4 })), { maxLength: 5 }).map((edits) => {
    let s = valid;
    for (const [at, del, ins] of edits) s = s.slice(0, at) + ins + s.slice(at + del);
    return s;
  });

function chainFixture() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const entry = {
    id: 'T-01',
    displayName: 'T',
    role: 'guardian' as const,
    status: 'active' as const,
    sip: makeCredentials('t01', 'gw.fuzz', 'pw'),
    keys: [{ kid: 't01-k1', publicKey: String(publicKey.export({ format: 'jwk' }).x) }],
    limits: { maxConcurrentCalls: 2, maxBandwidthBps: 3_000_000 },
  };
  const audit = new MemoryAuditSink();
  const unlimited = { capacity: 1e12, refillPerSec: 1e12 };
  const { chain } = buildPolicyChain(
    { digest: { realm: 'gw.fuzz', nonceSecrets: ['x'] }, sourceRates: { INVITE: unlimited, REGISTER: unlimited, MESSAGE: unlimited }, identityRates: { INVITE: unlimited } },
    { registry: new DocumentRegistry({ version: 1, entries: [entry] }), audit },
  );
  const identity = signIdentity({ kid: 't01-k1', privateKey, orig: { uri: 'sip:t01@gw.fuzz' }, dest: { uri: ['sip:c@gw.fuzz'] }, iat: Math.floor(Date.now() / 1000) });
  return { chain, audit, identity, privateKey };
}

/** Headers of a correctly authenticated and signed INVITE from T-01 (fresh nonce and signature). */
function authHeaders(chain: ReturnType<typeof chainFixture>['chain'], privateKey: KeyObject, n: number): Record<string, string> {
  const digest = chain.gates.find((g) => g.name === 'digest') as DigestGate;
  const nonce = digest.nonces.issue(Date.now());
  const uri = 'sip:c@gw.fuzz';
  const resp = digestResponse('SHA-256', makeCredentials('t01', 'gw.fuzz', 'pw').ha1Sha256, nonce, '00000001', `c${n}`, 'INVITE', uri);
  return {
    From: '<sip:t01@gw.fuzz>;tag=1',
    To: `<${uri}>`,
    'Proxy-Authorization': `Digest username="t01", realm="gw.fuzz", nonce="${nonce}", uri="${uri}", response="${resp}", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c${n}"`,
    Identity: signIdentity({ kid: 't01-k1', privateKey, orig: { uri: 'sip:t01@gw.fuzz' }, dest: { uri: [uri] }, iat: Math.floor(Date.now() / 1000) }),
  };
}

const KNOWN_STATUSES = new Set([0, 400, 401, 403, 407, 413, 428, 436, 437, 438, 482, 488, 503, 513]);

export function properties(): FuzzProperty[] {
  const validAuth = 'Digest username="t01", realm="gw.fuzz", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="sip:c@gw.fuzz", response="0123", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="ab"';
  const fx = chainFixture();
  // Its own chain: the random-request property fails logins as t01 and would lock it out.
  const fa = chainFixture();
  return [
    {
      name: 'sdp filter: structured offers stay consistent',
      share: 0.3,
      property: fc.property(fc.array(section, { minLength: 1, maxLength: 4 }), fc.array(junkLine, { maxLength: 3 }), (secs, sj) => checkFiltered(offer(secs, sj))),
    },
    {
      name: 'sdp filter: arbitrary and mutated text never throws',
      share: 0.15,
      property: fc.property(fc.oneof(fc.string({ maxLength: 600 }), mutate(offer([{ kind: 'audio', codecs: ['PCMU/8000', 'G722/8000'], staticPts: [0], junk: [], rtxApt: null }], []))), (s) => {
        checkFiltered(s);
        checkFiltered(`v=0\r\n${s}`);
      }),
    },
    {
      name: 'header parsers never throw',
      share: 0.2,
      property: fc.property(fc.oneof(fc.string({ maxLength: 400 }), mutate(validAuth), mutate(fx.identity), mutate('"Jane" <sip:jane@example.com>;tag=1')), (s) => {
        parseAuthParams(s);
        parseIdentityHeader(s);
        parseNameAddr(s);
        parseSipUri(s);
      }),
    },
    {
      name: 'pii redaction leaves nothing detectable',
      share: 0.15,
      property: fc.property(
        fc.array(fc.oneof(fc.constantFrom('jane@example.org', '4111 1111 1111 1111', '5500-0000-0000-0004', '123-45-6789', '+1 202 555 0100', '192.0.2.44', '2001:db8::7', 'fe80::1'), fc.stringMatching(/^[a-z ,.;:]{0,12}$/)), { maxLength: 10 }),
        (parts) => {
          const r = redactPii(parts.join(' '));
          const left = findPii(r.text);
          if (left.length > 0) throw new Error(`left ${left[0]!.category} in ${JSON.stringify(r.text)}`);
        },
      ),
    },
    {
      name: 'chain: random requests get a known status and one audit record',
      share: 0.1,
      property: fc.asyncProperty(
        fc.constantFrom('INVITE', 'REGISTER', 'MESSAGE', 'INFO', 'OPTIONS', 'BYE'),
        fc.dictionary(fc.constantFrom('Proxy-Authorization', 'Authorization', 'Identity', 'From', 'To', 'Subject', 'Content-Type', 'Priority', 'X-Council-Escalation', 'X-Note'), fc.oneof(fc.string({ maxLength: 200 }), mutate(validAuth), mutate(fx.identity))),
        fc.oneof(fc.string({ maxLength: 300 }), fc.constant(offer([{ kind: 'audio', codecs: ['PCMU/8000'], staticPts: [], junk: [], rtxApt: null }], []))),
        fc.ipV4(),
        async (method, headers, body, ip) => {
          const before = fx.audit.records.length;
          const r = await fx.chain.decide(plainRequest({ method, uri: 'sip:c@gw.fuzz', headers: { 'Call-ID': `f${before}`, ...headers }, body, source: { address: ip, port: 5060 } }));
          if (!KNOWN_STATUSES.has(r.decision.status)) throw new Error(`status ${r.decision.status}`);
          const written = fx.audit.records.length - before;
          if (written !== 1) throw new Error(`${written} audit records for one decision`);
          await fx.chain.release(`f${before}`);
        },
      ),
    },
    {
      name: 'chain: authenticated INVITEs with random SDP and PII forward only allowed codecs and no PII',
      share: 0.1,
      property: fc.asyncProperty(
        fc.array(section, { minLength: 1, maxLength: 3 }),
        fc.array(fc.constantFrom('jane@example.org', '4111 1111 1111 1111', '123-45-6789', '+1 202 555 0100', '192.0.2.44', 'plain words'), { maxLength: 4 }),
        fc.boolean(),
        async (secs, pii, escalate) => {
          const n = fa.audit.records.length;
          const callId = `a${n}`;
          const subject = pii.join(' ');
          const r = await fa.chain.decide(
            plainRequest({
              method: 'INVITE',
              uri: 'sip:c@gw.fuzz',
              headers: {
                'Call-ID': callId,
                'Content-Type': 'application/sdp',
                Subject: subject,
                ...(escalate ? { 'X-Council-Escalation': 'ESCALATE' } : {}),
                ...authHeaders(fa.chain, fa.privateKey, n),
              },
              body: offer(secs, []),
            }),
          );
          await fa.chain.release(callId);
          if (!KNOWN_STATUSES.has(r.decision.status)) throw new Error(`status ${r.decision.status}`);
          if (r.decision.outcome !== 'admit') {
            if (![400, 488, 503].includes(r.decision.status)) throw new Error(`authenticated call refused by ${r.gate}: ${r.decision.reason}`);
            return;
          }
          checkFiltered(r.mutations.sdp ?? '');
          const sdp = r.mutations.sdp ?? '';
          for (const m of parse(sdp).media) for (const x of m.rtp) if (!ALLOWED.has(String(x.codec).toLowerCase())) throw new Error(`forwarded ${x.codec}`);
          const forwardedSubject = r.mutations.headers.Subject ?? subject;
          if (escalate && findPii(forwardedSubject).length > 0) throw new Error(`PII forwarded: ${forwardedSubject}`);
          // Only the free-text-ish fields can carry PII (numbers and hashes hold "4111" by chance).
          const rec = fa.audit.records[fa.audit.records.length - 1]!;
          const text = JSON.stringify([rec.gate, rec.reason, rec.method, rec.pii, rec.passed]);
          if (text.includes('4111') || text.includes('jane@') || text.includes('202 555') || text.includes('192.0.2.44')) throw new Error(`PII in audit: ${text}`);
        },
      ),
    },
  ];
}

export interface RunReport {
  readonly name: string;
  readonly runs: number;
  readonly ms: number;
}

/** Run every property; `runs` is shared out between them. Throws (with the counterexample) on failure. */
export async function run(runs: number, options: { seed?: number; log?: (line: string) => void } = {}): Promise<RunReport[]> {
  const reports: RunReport[] = [];
  for (const p of properties()) {
    const numRuns = Math.max(1, Math.round(runs * p.share));
    const t0 = performance.now();
    const details = await fc.check(p.property, { numRuns, ...(options.seed !== undefined ? { seed: options.seed } : {}) });
    if (details.failed) {
      const why = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(`${p.name}: failed after ${details.numRuns} runs (seed ${details.seed}, path ${details.counterexamplePath}): ${why}\ncounterexample: ${fc.stringify(details.counterexample)}`);
    }
    const ms = performance.now() - t0;
    reports.push({ name: p.name, runs: numRuns, ms });
    options.log?.(`${p.name}: ${numRuns} runs in ${ms.toFixed(0)} ms, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(1)} MB`);
  }
  return reports;
}

runIfMain(import.meta.url, { name: 'policy', defaultRuns: 20_000, run });
