/** Shared test fixtures: registry entries with real Ed25519 keys (built by the lab's labPerson). */
import { labPerson, type LabPerson } from '../../lab/policy-lab.js';
import type { Role } from '../../../lib/registry/types.js';

export { rawPublicKey } from '../../lab/policy-lab.js';

export const REALM = 'gw.example.test';

export type TestIdentity = LabPerson;

/** A guardian (by default) in REALM with a concurrent-call cap of 2 unless told otherwise. */
export function makeIdentity(id: string, opts: { role?: Role; status?: 'active' | 'suspended'; maxCalls?: number; maxBps?: number } = {}): TestIdentity {
  return labPerson(id, REALM, { role: 'guardian', maxCalls: 2, ...opts });
}
