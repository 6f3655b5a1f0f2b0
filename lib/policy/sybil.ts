/**
 * Anti-Sybil gate: the digest credential and the signing key must belong to the same active
 * registry entry (one person cannot borrow another's key, and a key never speaks for two
 * identities - the registry refuses to load a key twice), and each identity holds at most its
 * configured number of concurrent calls. The call slot is taken here atomically; the chain
 * releases it if a later gate refuses the call, the application when the call ends.
 */
import type { CallLedger } from '../state/types.js';
import { admit, reject, type ChainState, type Decision, type Gate, type PolicyRequest } from './types.js';

export class SybilGate implements Gate {
  readonly name = 'anti-sybil';
  readonly methods: readonly string[] = ['INVITE'];
  constructor(private readonly ledger: CallLedger) {}

  async decide(req: PolicyRequest, state: ChainState): Promise<Decision> {
    const entry = state.entry;
    if (!entry) return reject(403, 'Forbidden', 'not-authenticated');
    if (state.keyEntry && state.keyEntry.id !== entry.id) return reject(403, 'Forbidden', 'key-identity-mismatch');
    if (state.keyEntry && state.keyEntry.status !== 'active') return reject(403, 'Forbidden', 'key-owner-suspended');
    // The call ledger is keyed by Call-ID; without one every such call would collide.
    if (!req.callId) return reject(400, 'Bad Request', 'missing-call-id');
    const r = await this.ledger.tryAdd(entry.id, req.callId, entry.limits.maxConcurrentCalls);
    // RFC 3261 8.2.2.2: a second initial INVITE with an active call's Call-ID is a merged request.
    if (r.duplicate) return reject(482, 'Loop Detected', 'duplicate-call-id');
    if (!r.ok) return reject(403, 'Call Limit Reached', 'concurrent-call-cap');
    state.reserved = true;
    return admit();
  }
}
