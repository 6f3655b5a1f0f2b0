/**
 * One call through the gateway on the SIP side (jambonz-style CallSession): it forwards an
 * admitted INVITE to its dial-plan target as a B2BUA and ends both legs together. Later issues
 * add H.323 and media legs here; the policy chain has run before a session exists.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { dialogRequest, type GatewaySrf, type SrfRequest, type SrfResponse, type SrfDialog } from '../../types/drachtio-srf.js';
import { redactPii } from '../policy/pii.js';
import { isTextBody } from '../policy/pii-gate.js';
import type { Logger } from '../log/logger.js';
import type { ActiveCalls } from './active-calls.js';

export interface CallMetrics {
  attempts: Counter<'outcome'>;
  setup: Histogram;
}

export function createCallMetrics(registry: Registry): CallMetrics {
  return {
    attempts: new Counter({ name: 'gw_calls_total', help: 'INVITEs handled, by outcome', labelNames: ['outcome'], registers: [registry] }),
    setup: new Histogram({
      name: 'gw_call_setup_seconds',
      help: 'INVITE received to final answer sent (B2BUA: includes the far end answering)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
  };
}

interface SipError {
  status?: number;
}

/**
 * Keeps the call's state outside this process (lib/ha): told when both dialogs exist, when we
 * send an in-dialog request on one side (its CSeq moves), and when the call is over.
 */
export interface CallStateHooks {
  answered(uas: SrfDialog, uac: SrfDialog): void;
  requestSent(side: 'caller' | 'callee'): void;
  end(): void;
}

export class CallSession {
  private readonly started = process.hrtime.bigint();

  constructor(
    private readonly srf: GatewaySrf,
    private readonly req: SrfRequest,
    private readonly res: SrfResponse,
    private readonly calls: ActiveCalls,
    private readonly metrics: CallMetrics,
    private readonly log: Logger,
  ) {}

  /**
   * Forwards the call. `localSdpB` replaces the caller's offer (codec-filtered / trimmed by the
   * policy); `onEnd` runs once whenever the call ends or fails (frees quota and call slot).
   */
  async forward(target: string, headers: Record<string, string>, localSdpB: string | undefined, onEnd: () => void, escalated = false, hooks?: CallStateHooks): Promise<void> {
    const id = `${this.req.get('Call-ID')}`;
    this.calls.add(id);
    let ended = false;
    const finish = (): void => {
      if (ended) return;
      ended = true;
      this.calls.remove(id);
      hooks?.end();
      onEnd();
    };
    try {
      const { uas, uac } = await this.srf.createB2BUA(this.req, this.res, target, {
        headers,
        passFailure: true,
        passProvisionalResponses: true,
        ...(localSdpB !== undefined ? { localSdpB } : {}),
      });
      this.observe('answered');
      hooks?.answered(uas, uac);
      const end = (other: SrfDialog): void => {
        if (ended) return;
        finish();
        other.destroy();
      };
      uas.on('destroy', () => end(uac));
      uac.on('destroy', () => end(uas));
      uas.on('info', (req: SrfRequest, res: SrfResponse) => {
        hooks?.requestSent('callee');
        this.relayInfo(uac, req, res, escalated);
      });
      uac.on('info', (req: SrfRequest, res: SrfResponse) => {
        hooks?.requestSent('caller');
        this.relayInfo(uas, req, res, escalated);
      });
    } catch (err) {
      finish();
      const status = (err as SipError).status;
      // passFailure already relayed the far end's final response to the caller.
      if (typeof status === 'number') {
        this.observe(status === 487 ? 'cancelled' : 'failed');
        return;
      }
      this.observe('error');
      this.log.error('b2bua failed', { error: err instanceof Error ? err.message : String(err) });
      if (!this.res.finalResponseSent) this.res.send(503, { headers: { 'Retry-After': '5' } });
    }
  }

  /**
   * In-dialog INFO (DTMF relay, text) goes to the other leg; on an escalated call a text body is
   * redacted first, as the INVITE was.
   */
  private relayInfo(other: SrfDialog, req: SrfRequest, res: SrfResponse, escalated: boolean): void {
    const contentType = req.has('Content-Type') ? req.get('Content-Type') : undefined;
    let body = req.body ?? '';
    if (escalated && body && isTextBody(contentType)) body = redactPii(body).text;
    dialogRequest(other, { method: 'INFO', headers: contentType ? { 'Content-Type': contentType } : {}, body }).then(
      (r) => res.send(r.status, r.reason, {}),
      () => res.send(500),
    );
  }

  private observe(outcome: string): void {
    this.metrics.attempts.inc({ outcome });
    this.metrics.setup.observe(Number(process.hrtime.bigint() - this.started) / 1e9);
  }
}
