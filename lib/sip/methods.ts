/**
 * Handlers for what the gateway does not route to a call: OPTIONS (keep-alive and monitoring
 * probes) and every method the gateway recognises but does not serve yet.
 */
import { Counter, type Registry } from 'prom-client';
import type { SrfRequest, SrfResponse } from '../../types/drachtio-srf.js';

/** Methods the gateway serves; sent in Allow on OPTIONS and 405 answers. */
export const ALLOWED_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'INFO', 'UPDATE'] as const;

/** Out-of-dialog methods drachtio routes to us that we refuse (RFC 3261 8.2.1: 405 + Allow). */
export const REFUSED_METHODS = ['SUBSCRIBE', 'PUBLISH', 'REFER', 'NOTIFY', 'MESSAGE', 'INFO', 'UPDATE', 'PRACK', 'REGISTER'] as const;

export class MethodHandlers {
  private readonly refused: Counter<'method'>;

  constructor(registry: Registry, private readonly userAgent: string, private readonly isDraining: () => boolean) {
    this.refused = new Counter({ name: 'gw_sip_requests_refused_total', help: 'Out-of-dialog requests refused because the gateway does not serve the method', labelNames: ['method'], registers: [registry] });
  }

  /** OPTIONS: 200 with our capabilities; 503 while draining so monitors move traffic away. */
  options = (_req: SrfRequest, res: SrfResponse): void => {
    if (this.isDraining()) {
      res.send(503, { headers: { 'Retry-After': '30', Server: this.userAgent } });
      return;
    }
    res.send(200, {
      headers: {
        Allow: ALLOWED_METHODS.join(', '),
        Accept: 'application/sdp',
        Supported: '',
        Server: this.userAgent,
      },
    });
  };

  /**
   * A method we recognise but do not serve out of dialog. A request carrying a To tag belongs to
   * a dialog; if srf's dialog layer did not claim it, that dialog is unknown here: 481.
   */
  refuse = (req: SrfRequest, res: SrfResponse): void => {
    this.refused.inc({ method: req.method });
    const to = req.get('To') ?? '';
    if (/;\s*tag=/i.test(to)) {
      res.send(481, { headers: { Server: this.userAgent } });
      return;
    }
    res.send(405, { headers: { Allow: ALLOWED_METHODS.join(', '), Server: this.userAgent } });
  };
}
