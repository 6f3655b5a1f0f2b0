/**
 * A registry of people with real Ed25519 keys and digest credentials, written to a temp file for
 * a gateway under test, plus helpers to sign Identity headers the way a caller's client would.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCredentials } from '../../lib/registry/credentials.js';
import { signIdentity } from '../../lib/policy/passport.js';
import type { RegistryEntry, Role } from '../../lib/registry/types.js';

export interface LabPerson {
  id: string;
  username: string;
  password: string;
  kid: string;
  privateKey: KeyObject;
  entry: RegistryEntry;
}

/** Raw 32-byte Ed25519 public key, base64url, as the registry stores it. */
export function rawPublicKey(pub: KeyObject): string {
  return String(pub.export({ format: 'jwk' }).x);
}

export function labPerson(id: string, realm: string, opts: { role?: Role; status?: 'active' | 'suspended'; maxCalls?: number; maxBps?: number } = {}): LabPerson {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const username = id.toLowerCase();
  const password = `pw-${username}-x7`;
  const kid = `${username}-k1`;
  return {
    id,
    username,
    password,
    kid,
    privateKey,
    entry: {
      id,
      displayName: `Person ${id}`,
      role: opts.role ?? 'expert',
      status: opts.status ?? 'active',
      sip: makeCredentials(username, realm, password),
      keys: [{ kid, publicKey: rawPublicKey(publicKey) }],
      limits: { maxConcurrentCalls: opts.maxCalls ?? 4, maxBandwidthBps: opts.maxBps ?? 3_000_000 },
    },
  };
}

export function writeRegistry(people: readonly LabPerson[]): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gw-reg-'));
  const file = join(dir, 'registry.json');
  writeFileSync(file, JSON.stringify({ version: 1, entries: people.map((p) => p.entry) }, null, 2));
  return { file, dir };
}

/**
 * The JWS part of an Identity header (the scenario adds ;info=<...kid...>;alg=EdDSA): signed by
 * `signer`'s key under `kid` (default the signer's own), claiming orig = the caller's From URI.
 */
export function identityJws(opts: { signer: LabPerson; kid?: string; fromUser: string; fromHost: string; toUser: string; toHost: string; iat?: number }): string {
  const header = signIdentity({
    kid: opts.kid ?? opts.signer.kid,
    privateKey: opts.signer.privateKey,
    orig: { uri: `sip:${opts.fromUser}@${opts.fromHost}` },
    dest: { uri: [`sip:${opts.toUser}@${opts.toHost}`] },
    iat: opts.iat ?? Math.floor(Date.now() / 1000),
  });
  return header.split(';')[0] as string;
}
