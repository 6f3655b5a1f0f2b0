/**
 * Thin drachtio-srf adapters: build the policy context from an srf request, run the chain and
 * either answer (reject / challenge) or hand the decision on to the next middleware in
 * `req.locals.policy`. The B2BUA/registrar reads the mutations from there (redacted headers,
 * filtered SDP, redacted body) when it builds the outgoing request.
 */
import type Srf from 'drachtio-srf';
import type { PolicyChain, ChainResult } from './chain.js';
import type { HeaderValues, PolicyRequest, Transport } from './types.js';
import { componentLogger } from '../log/logger.js';

type SrfRequest = Srf.SrfRequest;
type SrfResponse = Srf.SrfResponse;
// drachtio-srf types `next` as the bare Function type; accepting the same keeps
// srf.use('invite', policyMiddleware(chain)) type-checking against its declarations.
type Next = Function;

/** Fields of an srf request the adapter reads (a subset, so tests can pass a plain object). */
export type SrfLikeRequest = Pick<SrfRequest, 'method' | 'uri' | 'get' | 'has' | 'source_address' | 'source_port' | 'protocol' | 'body'> & {
  headers?: Record<string, string>;
  callId?: string;
  locals?: Record<string, unknown>;
};

export type SrfLikeResponse = Pick<SrfResponse, 'send'>;

const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

export function contextFromSrf(req: SrfLikeRequest): PolicyRequest {
  const proto = String(req.protocol ?? '').toLowerCase() as Transport;
  const header = (name: string): string | undefined => {
    try {
      return req.has(name) ? req.get(name) : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    method: String(req.method ?? '').toUpperCase(),
    uri: String(req.uri ?? ''),
    callId: req.callId ?? header('Call-ID') ?? '',
    header,
    headerNames: () => Object.keys(req.headers ?? {}),
    source: {
      address: String(req.source_address ?? ''),
      port: Number(req.source_port) || 0,
      transport: TRANSPORTS.includes(proto) ? proto : 'unknown',
    },
    body: typeof req.body === 'string' ? req.body : '',
  };
}

/**
 * drachtio-srf merges repeated values of one header into a single comma-joined line, which RFC
 * 3261 (7.3.1) forbids for WWW-Authenticate / Proxy-Authenticate. srf writes a header as
 * `Name: value\r\n`, so a multi-valued header is passed as values joined by `\r\nName: `,
 * which puts each challenge on its own line. `first` sends only the first value (SHA-256) for
 * peers that mis-handle several challenges.
 */
export type MultiValueMode = 'lines' | 'first';

export function headersForSrf(headers: HeaderValues, mode: MultiValueMode = 'lines'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(headers)) {
    if (!Array.isArray(v)) out[name] = v;
    else if (v.length > 0) out[name] = mode === 'first' ? v[0]! : v.join(`\r\n${name}: `);
  }
  return out;
}

/** Where the admitted decision is left for the next middleware. */
export function policyOf(req: { locals?: Record<string, unknown> }): ChainResult | undefined {
  return req.locals?.policy as ChainResult | undefined;
}

/**
 * What an admitted request should carry when forwarded: for srf.createB2BUA(req, res, uri,
 * { headers, localSdpB }) and for srf.request(..., { headers, body }) of a MESSAGE/INFO.
 * Headers are only the ones the chain changed (redacted); localSdpB is the filtered/trimmed
 * offer; body the redacted text body.
 */
export function forwardingFor(result: ChainResult): { headers: Record<string, string>; localSdpB?: string; body?: string } {
  const m = result.mutations;
  return {
    headers: { ...m.headers },
    ...(m.sdp !== undefined ? { localSdpB: m.sdp } : {}),
    ...(m.body !== undefined ? { body: m.body } : {}),
  };
}

/** `srf.use('invite', policyMiddleware(chain))`, same for 'register' and 'message'. */
export function policyMiddleware(chain: PolicyChain, opts: { multiValue?: MultiValueMode } = {}): (req: SrfLikeRequest, res: SrfLikeResponse, next: Next) => void {
  const log = componentLogger('policy-srf');
  return (req, res, next) => {
    chain
      .decide(contextFromSrf(req))
      .then((result) => {
        const d = result.decision;
        if (d.outcome === 'admit') {
          req.locals = { ...(req.locals ?? {}), policy: result };
          next();
          return;
        }
        res.send(d.status, d.reasonPhrase, { headers: headersForSrf(d.headers, opts.multiValue) });
      })
      .catch((err: unknown) => {
        // decide() does not throw by design; if it ever does, answer rather than hang the caller.
        log.error('policy chain threw', { error: (err as Error).message });
        try {
          res.send(503, 'Service Unavailable', { headers: { 'Retry-After': '5' } });
        } catch {
          /* the response may already be gone */
        }
      });
  };
}
