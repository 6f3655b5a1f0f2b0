import { createHash } from 'node:crypto';
import type { SipCredentials } from './types.js';

/** Digest HA1 values for a new password; the password itself is not kept anywhere. */
export function makeCredentials(username: string, realm: string, password: string): SipCredentials {
  const a1 = `${username}:${realm}:${password}`;
  return {
    username,
    realm,
    ha1Md5: createHash('md5').update(a1).digest('hex'),
    ha1Sha256: createHash('sha256').update(a1).digest('hex'),
    userhashSha256: createHash('sha256').update(`${username}:${realm}`).digest('hex'),
  };
}
