/** Shared test fixtures: registry entries with real Ed25519 keys made with node:crypto. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { makeCredentials } from '../../../lib/registry/credentials.js';
import type { RegistryEntry, Role } from '../../../lib/registry/types.js';

export const REALM = 'gw.example.test';

export interface TestIdentity {
  entry: RegistryEntry;
  password: string;
  privateKey: KeyObject;
  kid: string;
}

export function rawPublicKey(pub: KeyObject): string {
  const jwk = pub.export({ format: 'jwk' });
  return String(jwk.x);
}

export function makeIdentity(id: string, opts: { role?: Role; status?: 'active' | 'suspended'; maxCalls?: number; maxBps?: number } = {}): TestIdentity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const username = id.toLowerCase();
  const password = `pw-${id}-secret`;
  const kid = `${username}-k1`;
  return {
    password,
    privateKey,
    kid,
    entry: {
      id,
      displayName: `Guardian ${id}`,
      role: opts.role ?? 'guardian',
      status: opts.status ?? 'active',
      sip: makeCredentials(username, REALM, password),
      keys: [{ kid, publicKey: rawPublicKey(publicKey) }],
      limits: { maxConcurrentCalls: opts.maxCalls ?? 2, maxBandwidthBps: opts.maxBps ?? 3_000_000 },
    },
  };
}
