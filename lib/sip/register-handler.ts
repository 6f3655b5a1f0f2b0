/** srf glue for the registrar. */
import type { Logger } from '../log/logger.js';
import type { Registrar } from '../registrar/registrar.js';
import type { SrfMiddleware } from '../../types/drachtio-srf.js';
import { policyOf, type SrfLikeRequest } from '../policy/srf-adapter.js';
import { requestUser } from './dial-plan.js';
import { header } from './headers.js';

/** Runs after the policy gate admitted a REGISTER (digest proved the entry). */
export function registerHandler(registrar: Registrar, userAgent: string, log: Logger): SrfMiddleware {
  return (req, res) => {
    const entry = policyOf(req as unknown as SrfLikeRequest)?.state.entry;
    if (!entry) {
      // The chain admits REGISTER only after digest; reaching here without an entry is a bug.
      res.send(500, { headers: { Server: userAgent } });
      return;
    }
    const to = header(req, 'To') ?? '';
    const toUri = /<([^>]+)>/.exec(to)?.[1] ?? to.split(';')[0] ?? '';
    const cseq = Number((header(req, 'CSeq') ?? '').trim().split(/\s+/)[0]);
    registrar
      .register({
        entryId: entry.id,
        username: entry.sip.username,
        toUser: requestUser(toUri.trim()),
        contacts: header(req, 'Contact') !== undefined ? [header(req, 'Contact') as string] : [],
        expiresHeader: header(req, 'Expires'),
        callId: header(req, 'Call-ID') ?? '',
        cseq: Number.isFinite(cseq) ? cseq : 0,
      })
      .then((out) => {
        if (out.status === 200) {
          const headers: Record<string, string> = { Server: userAgent };
          if (out.bindings.length) headers.Contact = out.bindings.map((b) => `<${b.contact}>;expires=${b.expiresSec}`).join(', ');
          res.send(200, { headers });
          return;
        }
        res.send(out.status, out.reason, { headers: { Server: userAgent, ...(out.headers ?? {}) } });
      })
      .catch((err: unknown) => {
        log.error('registrar failed', { error: err instanceof Error ? err.message : String(err) });
        res.send(503, { headers: { 'Retry-After': '5', Server: userAgent } });
      });
  };
}
