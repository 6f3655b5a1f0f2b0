/** Registry of people and devices allowed in. Stores digest HA1s and public keys, never passwords. */

export const ROLES = ['guardian', 'expert', 'operator', 'moderator'] as const;
export type Role = (typeof ROLES)[number];

export type EntryStatus = 'active' | 'suspended';

export interface PublicKeyEntry {
  /** Key id named by the PASSporT `kid`; unique across the whole registry. */
  kid: string;
  /** Raw 32-byte Ed25519 public key, base64url without padding. */
  publicKey: string;
  createdAt?: string;
}

export interface SipCredentials {
  username: string;
  realm: string;
  /** hex MD5(username:realm:password) */
  ha1Md5: string;
  /** hex SHA-256(username:realm:password) */
  ha1Sha256: string;
  /** hex SHA-256(username:realm), for RFC 7616 userhash lookups. */
  userhashSha256?: string;
}

export interface EntryLimits {
  maxConcurrentCalls: number;
  /** Sum over the entry's active calls, bits per second. */
  maxBandwidthBps: number;
}

export interface RegistryEntry {
  id: string;
  displayName: string;
  role: Role;
  status: EntryStatus;
  sip: SipCredentials;
  keys: PublicKeyEntry[];
  limits: EntryLimits;
}

export interface RegistryDocument {
  version: 1;
  entries: RegistryEntry[];
}

export interface KeyLookup {
  entry: RegistryEntry;
  key: PublicKeyEntry;
}

/** Read side used by the gates; async so a Redis-backed registry can implement it. */
export interface RegistryReader {
  byId(id: string): Promise<RegistryEntry | undefined>;
  byUsername(username: string): Promise<RegistryEntry | undefined>;
  byKeyId(kid: string): Promise<KeyLookup | undefined>;
  list(): Promise<RegistryEntry[]>;
}

export const DEFAULT_LIMITS: EntryLimits = { maxConcurrentCalls: 2, maxBandwidthBps: 3_000_000 };
