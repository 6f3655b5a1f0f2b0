/**
 * Policy benchmark (in-process): whole-chain INVITE decisions with digest (SHA-256), PASSporT
 * signature verification, anti-Sybil, rate limits, PII scan, codec filter and bandwidth check,
 * plus Ed25519 verification rates of node:crypto and @noble/ed25519 side by side.
 *
 * Requests are prepared before timing (each with a fresh nonce and a fresh signature, as real
 * calls would have); only chain.decide() is timed. The audit sink is the in-memory one here
 * (hashing included, no disk); a second run uses the durable file log to show what fsync costs.
 * The last line (SUMMARY) repeats the headline: median and p99 per INVITE and decisions/s.
 *
 *   npm run bench -- policy            (or: node --import tsx bench/policy.ts)
 *   flags: --quick (fewer iterations), --chain-only (skip the verify and durable-audit parts)
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ed from '@noble/ed25519';
import { buildPolicyChain } from '../lib/policy/build.js';
import { DigestGate, digestResponse } from '../lib/policy/digest.js';
import { Ed25519Verifier, parseIdentityHeader, signIdentity } from '../lib/policy/passport.js';
import { plainRequest, type PolicyRequest } from '../lib/policy/types.js';
import { makeCredentials } from '../lib/registry/credentials.js';
import { DocumentRegistry } from '../lib/registry/store.js';
import type { RegistryEntry } from '../lib/registry/types.js';
import { MemoryAuditSink, type AuditSink } from '../lib/audit/sink.js';
import { AuditLog } from '../lib/audit/log.js';

const REALM = 'bench.gw.test';
const URI = 'sip:council@bench.gw.test';
const SDP = [
  'v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0',
  'm=audio 4000 RTP/AVP 111 0 8 9 101', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:9 G722/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
  'm=video 4002 RTP/AVP 96 98', 'b=AS:1500', 'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack', 'a=rtpmap:98 H264/90000', '',
].join('\r\n');

interface Person {
  entry: RegistryEntry;
  password: string;
  key: ReturnType<typeof generateKeyPairSync>['privateKey'];
}

function people(n: number): Person[] {
  return Array.from({ length: n }, (_, i) => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const id = `G-${String(i).padStart(3, '0')}`;
    const user = id.toLowerCase();
    const password = randomBytes(9).toString('base64url');
    return {
      password,
      key: privateKey,
      entry: {
        id,
        displayName: `Guardian ${i}`,
        role: 'guardian',
        status: 'active',
        sip: makeCredentials(user, REALM, password),
        keys: [{ kid: `${user}-k1`, publicKey: String(publicKey.export({ format: 'jwk' }).x) }],
        limits: { maxConcurrentCalls: 4, maxBandwidthBps: 3_000_000 },
      },
    };
  });
}

function setup(audit: AuditSink, who: Person[]) {
  const registry = new DocumentRegistry({ version: 1, entries: who.map((p) => p.entry) });
  const unlimited = { capacity: 1e12, refillPerSec: 1e12 };
  return buildPolicyChain(
    {
      digest: { realm: REALM, nonceSecrets: [randomBytes(32)] },
      sourceRates: { INVITE: unlimited, REGISTER: unlimited },
      identityRates: { INVITE: unlimited, REGISTER: unlimited },
    },
    { registry, audit },
  );
}

function prepare(chain: ReturnType<typeof setup>['chain'], who: Person[], n: number): PolicyRequest[] {
  const digest = chain.gates.find((g) => g.name === 'digest') as DigestGate;
  const out: PolicyRequest[] = [];
  for (let i = 0; i < n; i++) {
    const p = who[i % who.length]!;
    const user = p.entry.sip.username;
    const nonce = digest.nonces.issue(Date.now());
    const cnonce = randomBytes(8).toString('hex');
    const resp = digestResponse('SHA-256', p.entry.sip.ha1Sha256, nonce, '00000001', cnonce, 'INVITE', URI);
    out.push(
      plainRequest({
        method: 'INVITE',
        uri: URI,
        source: { address: `198.51.100.${(i % 250) + 1}`, port: 5060 },
        body: SDP,
        headers: {
          Via: `SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK${i}`,
          'Call-ID': `bench-${i}-${cnonce}`,
          CSeq: '2 INVITE',
          From: `"Guardian" <sip:${user}@${REALM}>;tag=${i}`,
          To: `<${URI}>`,
          'Max-Forwards': '70',
          'Content-Type': 'application/sdp',
          Subject: 'council session',
          'X-Council-Escalation': i % 4 === 0 ? 'ESCALATE' : 'none',
          'Proxy-Authorization': `Digest username="${user}", realm="${REALM}", nonce="${nonce}", uri="${URI}", response="${resp}", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="${cnonce}"`,
          Identity: signIdentity({ kid: p.entry.keys[0]!.kid, privateKey: p.key, orig: { uri: `sip:${user}@${REALM}` }, dest: { uri: [URI] }, iat: Math.floor(Date.now() / 1000) }),
        },
      }),
    );
  }
  return out;
}

const pct = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function chainBench(n: number): Promise<void> {
  const who = people(50);
  const { chain } = setup(new MemoryAuditSink(), who);
  const reqs = prepare(chain, who, n);
  const warm = Math.min(500, Math.floor(n / 10));
  const lat: number[] = [];
  let admitted = 0;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < reqs.length; i++) {
    const s = process.hrtime.bigint();
    const r = await chain.decide(reqs[i]!);
    const us = Number(process.hrtime.bigint() - s) / 1000;
    if (i >= warm) lat.push(us);
    if (r.decision.outcome === 'admit') admitted++;
    else throw new Error(`bench request refused: ${r.gate} ${r.decision.reason}`);
    // The identity gate names the key only after its signature verified: every INVITE timed
    // here paid for one Ed25519 verify (fresh nonce and signature, so no replay cache answered).
    if (!r.state.kid || !r.state.entry) throw new Error('bench request admitted without a verified identity and digest');
    await chain.release(reqs[i]!.callId);
  }
  const totalS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = (cpu.user + cpu.system) / reqs.length;
  lat.sort((a, b) => a - b);
  const median = pct(lat, 0.5);
  // For scale: the one EdDSA verify every INVITE needs, timed the same way right after.
  const v = new Ed25519Verifier();
  const sample = parseIdentityHeader(reqs[0]!.header('Identity')!);
  if (!sample.ok) throw new Error('bench identity did not parse');
  const pub = who[0]!.entry.keys[0]!.publicKey;
  const vl: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const s = process.hrtime.bigint();
    v.verify(pub, sample.value.signingInput, sample.value.signature);
    vl.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  vl.sort((a, b) => a - b);
  const rate = Math.round(admitted / totalS);
  summary = `policy chain per INVITE (digest + EdDSA verify + anti-Sybil + rates + PII + codec filter + quota + audit record): median ${median.toFixed(1)} us, p99 ${pct(lat, 0.99).toFixed(1)} us, ${rate} decisions/s [target median <= 150 us: ${median <= 150 ? 'met' : 'NOT met'}]`;
  process.stdout.write(
    `whole chain, INVITE with digest + EdDSA PASSporT + codec filter + bandwidth (memory audit):\n` +
      `  ${admitted} decisions in ${totalS.toFixed(2)} s = ${rate} decisions/s (sequential, one core)\n` +
      `  CPU time (user+sys, whole process, includes release and loop) ${cpuUs.toFixed(1)} us per decision\n` +
      `  per INVITE: median ${median.toFixed(1)} us, p99 ${pct(lat, 0.99).toFixed(1)} us, max ${lat[lat.length - 1]!.toFixed(1)} us` +
      `  [target median <= 150 us: ${median <= 150 ? 'met' : 'NOT met'}]\n` +
      `  for scale: one node:crypto Ed25519 verify alone, median ${pct(vl, 0.5).toFixed(1)} us; load average ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores\n`,
  );
}

async function durableBench(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-audit-'));
  try {
    const log = await AuditLog.open({ dir, idKey: randomBytes(32) });
    const who = people(50);
    const { chain } = setup(log, who);
    const reqs = prepare(chain, who, n);
    let t0 = process.hrtime.bigint();
    const half = Math.floor(n / 2);
    for (let i = 0; i < half; i++) await chain.decide(reqs[i]!);
    const seqS = Number(process.hrtime.bigint() - t0) / 1e9;
    t0 = process.hrtime.bigint();
    // 32 calls in flight: records share fdatasync batches (group commit).
    let next = half;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < n) await chain.decide(reqs[next++]!);
      }),
    );
    const conS = Number(process.hrtime.bigint() - t0) / 1e9;
    await log.close();
    process.stdout.write(
      `durable file audit (fdatasync per batch), ${dir.startsWith('/tmp') ? 'tmpdir' : dir}:\n` +
        `  sequential: ${Math.round(half / seqS)} decisions/s (${((seqS / half) * 1e6).toFixed(0)} us each: one fdatasync per decision)\n` +
        `  32 in flight: ${Math.round((n - half) / conS)} decisions/s (group commit)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function verifyBench(ms: number): Promise<void> {
  ed.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest());
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = String(publicKey.export({ format: 'jwk' }).x);
  const pubBytes = Buffer.from(pub, 'base64url');
  const samples = Array.from({ length: 64 }, (_, i) => {
    const p = parseIdentityHeader(signIdentity({ kid: 'k', privateKey, orig: { tn: '1' }, dest: { tn: [String(i)] }, iat: i }));
    if (!p.ok) throw new Error('sign');
    return p.value;
  });
  const rate = (f: (i: number) => boolean): number => {
    let n = 0;
    const end = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
    while (process.hrtime.bigint() < end) {
      for (let k = 0; k < 16; k++, n++) if (!f(n)) throw new Error('verify failed');
    }
    return n / (ms / 1000);
  };
  const v = new Ed25519Verifier();
  const node = rate((i) => v.verify(pub, samples[i % 64]!.signingInput, samples[i % 64]!.signature));
  const noble = rate((i) => ed.verify(samples[i % 64]!.signature, samples[i % 64]!.signingInput, pubBytes));
  process.stdout.write(
    `Ed25519 verify, same 64 PASSporTs:\n` +
      `  node:crypto      ${Math.round(node)} verifies/s\n` +
      `  @noble/ed25519   ${Math.round(noble)} verifies/s (sync, SHA-512 from node:crypto)\n` +
      `  node:crypto is ${(node / noble).toFixed(1)}x faster -> used on the hot path; noble cross-checks in tests\n`,
  );
}

/** The headline figures, printed again last so they are not lost in the detail. */
let summary = '';

export async function run(args: string[] = []): Promise<void> {
  const quick = args.includes('--quick');
  const chainOnly = args.includes('--chain-only');
  if (!chainOnly) await verifyBench(quick ? 300 : 1000);
  await chainBench(quick ? 2000 : 10_000);
  if (!chainOnly) await durableBench(quick ? 200 : 1000);
  process.stdout.write(`\nSUMMARY ${summary}; load average ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores\n`);
}

const invoked = process.argv[1] ? pathToFileURL(process.argv[1]).href : '';
if (import.meta.url === invoked) {
  run(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
