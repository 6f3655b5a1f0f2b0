/**
 * Out-of-dialog MESSAGE (pager-mode IM, RFC 3428) after the policy chain: forwarded to the
 * dial-plan target with the chain's redactions applied (escalated calls: body and headers), and
 * the far end's final status relayed back. Nothing of the original body leaves when the chain
 * redacted it.
 */
import type { GatewaySrf, SrfRequest, SrfResponse } from '../../types/drachtio-srf.js';
import type { Logger } from '../log/logger.js';
import { forwardingFor, policyOf, type SrfLikeRequest } from '../policy/srf-adapter.js';
import { forwardedHeaders, mergeHeaders } from './headers.js';

export function relayMessage(
  srf: GatewaySrf,
  req: SrfRequest,
  res: SrfResponse,
  target: string,
  opts: { forwardHeaders: readonly string[]; userAgent: string; log: Logger },
): void {
  const decided = policyOf(req as unknown as SrfLikeRequest);
  const fwd = decided ? forwardingFor(decided) : { headers: {} as Record<string, string> };
  const contentType = req.has('Content-Type') ? req.get('Content-Type') : 'text/plain';
  const headers = mergeHeaders(forwardedHeaders(req, opts.forwardHeaders), fwd.headers, { 'Content-Type': contentType, 'User-Agent': opts.userAgent });
  const body = fwd.body ?? req.body ?? '';
  const failed = (err: unknown): void => {
    opts.log.warn('MESSAGE relay failed', { error: err instanceof Error ? err.message : String(err) });
    res.send(503, { headers: { 'Retry-After': '5', Server: opts.userAgent } });
  };
  try {
    srf.request(target, { method: 'MESSAGE', headers, body }, (err, sent) => {
      if (err || !sent) return failed(err ?? new Error('request not sent'));
      sent.on('response', (r) => {
        res.send(r.status, r.reason, { headers: { Server: opts.userAgent } });
      });
    });
  } catch (err) {
    failed(err);
  }
}
