/**
 * Where an incoming H.323 call goes on the SIP side: the dialled alias names a registry identity
 * with a live registration (its newest contact), or matches a SIP route of the dial plan. Each
 * answer is one audit record (gate `h323-route`), like every decision on the SIP side.
 */
import type { AuditSink } from '../audit/sink.js';
import type { DialPlanRoute } from '../config/gateway-config.js';
import type { Logger } from '../log/logger.js';
import type { RegistryReader } from '../registry/types.js';
import { parseContact, type Registrar } from '../registrar/registrar.js';
import { matchRoute } from '../sip/dial-plan.js';
import type { ExpertLookup, ExpertTarget } from '../calls/h323-to-sip.js';

export interface ExpertLookupDeps {
  registry?: RegistryReader;
  registrar: Registrar;
  /** Read at every lookup, so a SIGHUP-reloaded dial plan applies to the next call. */
  dialPlan: () => readonly DialPlanRoute[];
  audit?: AuditSink;
  log: Logger;
}

export function createExpertLookup(d: ExpertLookupDeps): ExpertLookup {
  return async (alias) => {
    const t0 = process.hrtime.bigint();
    let answer: ExpertTarget = undefined;
    let reason = 'unknown-alias';
    const entry = d.registry ? await d.registry.byUsername(alias) : undefined;
    if (entry && entry.status === 'active') {
      const b = (await d.registrar.lookup(entry.id))[0];
      answer = b ? (parseContact(b.contact)?.uri ?? b.contact) : { notRegistered: true };
      reason = b ? 'registered-expert' : 'not-registered';
    } else {
      const m = matchRoute(d.dialPlan().filter((r) => r.sipTarget), alias);
      if (m) {
        answer = m.target;
        reason = 'dial-plan';
      }
    }
    const admitted = typeof answer === 'string';
    await d.audit
      ?.append({
        gate: 'h323-route', decision: admitted ? 'admit' : 'reject', status: admitted ? 0 : 404, reason, method: 'SETUP',
        ...(entry ? { identity: entry.id } : {}), latencyUs: Number(process.hrtime.bigint() - t0) / 1000,
      })
      .catch((err: unknown) => d.log.error('audit of an H.323 routing decision failed', { error: String(err) }));
    return answer;
  };
}
