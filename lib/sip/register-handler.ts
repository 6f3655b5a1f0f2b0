/** srf glue for the registrar, and the header copying the B2BUA uses. */
import type { Logger } from '../log/logger.js';
import type { Registrar } from '../registrar/registrar.js';
import type { SrfMiddleware, SrfRequest } from '../../types/drachtio-srf.js';
import { policyOf, type SrfLikeRequest } from '../policy/srf-adapter.js';
import { requestUser } from './dial-plan.js';

function header(req: SrfRequest, name: string): string | undefined {
  try {
    return req.has(name) ? req.get(name) : undefined;
  } catch {
    return undefined;
  }
}

/** Copies the named request headers that are present (redaction applied on top by the caller). */
export function forwardedHeaders(req: SrfRequest, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = header(req, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

/**
 * Merges header maps case-insensitively, later maps winning. srf reports header names in lower
 * case while configs name them canonically; two spellings of one header would otherwise both be
 * sent - and an unredacted copy must never ride along with the redacted one.
 */
export function mergeHeaders(...maps: ReadonlyArray<Record<string, string>>): Record<string, string> {
  const out = new Map<string, [string, string]>();
  for (const m of maps) for (const [k, v] of Object.entries(m)) out.set(k.toLowerCase(), [out.get(k.toLowerCase())?.[0] ?? k, v]);
  return Object.fromEntries([...out.values()]);
}

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
