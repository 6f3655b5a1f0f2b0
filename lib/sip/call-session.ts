/**
 * One call through the gateway on the SIP side (jambonz-style CallSession): it forwards an
 * admitted INVITE to its dial-plan target as a B2BUA and ends both legs together. Later issues
 * add H.323 and media legs here; the policy chain has run before a session exists.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type Srf from 'drachtio-srf';
import { dialogRequest, type GatewaySrf, type SrfRequest, type SrfResponse, type SrfDialog } from '../../types/drachtio-srf.js';
import { redactPii } from '../policy/pii.js';
import { isTextBody } from '../policy/pii-gate.js';
import type { Logger } from '../log/logger.js';
import type { ActiveCalls } from './active-calls.js';

export interface CallMetrics {
  attempts: Counter<'outcome'>;
  setup: Histogram;
  byes: Counter<'answer'>;
}

/**
 * How long the answer to a hang-up BYE is watched for. drachtio-server does not always pass a
 * BYE's 200 on to the app (docs/ha.md); the call is over when the BYE is sent either way.
 */
export const BYE_ANSWER_WINDOW_MS = 4000;

export function createCallMetrics(registry: Registry): CallMetrics {
  return {
    attempts: new Counter({ name: 'gw_calls_total', help: 'INVITEs handled, by outcome', labelNames: ['outcome'], registers: [registry] }),
    byes: new Counter({ name: 'gw_calls_byes_total', help: 'BYEs the B2BUA sent at hang-up to the other leg, by what this app saw (seen: an answer within 4 s; not_seen: none passed on; not_sent: drachtio-server refused it)', labelNames: ['answer'], registers: [registry] }),
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
 * send an in-dialog request on one side (its CSeq moves), and when the call is over; and, for
 * fencing, asked before the caller is answered and told when a peer has taken this instance over.
 */
export interface CallStateHooks {
  answered(uas: SrfDialog, uac: SrfDialog): void;
  requestSent(side: 'caller' | 'callee'): void;
  end(): void;
  /** Resolves false when the call must not be answered here any more (this instance is fenced). */
  mayAnswer?(): Promise<boolean>;
  /**
   * Registers what to do when a peer took this instance over while the call is up:
   * `endedByPeer(d)` says whether the peer already BYE'd that dialog. Returns what was done.
   */
  onFenced?(fn: (endedByPeer: (d: SrfDialog) => boolean) => 'forgotten' | 'ended'): void;
}

/** The callee answered after this instance was fenced: the caller must not get that answer. */
class FencedAnswerError extends Error {
  constructor() {
    super('fenced: a peer took this instance over; the call is not answered here');
  }
}

/** Dialog#destroy's callback form (srf's typing has only the promise form). */
type DestroyCb = (opts: Record<string, unknown>, cb: (err?: Error | null) => void) => unknown;

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
   * policy); `onEnd` runs once whenever the call ends or fails (frees quota and call slot) except
   * when a peer that took this instance over has freed it already.
   */
  async forward(target: string, headers: Record<string, string>, localSdpB: string | undefined, onEnd: () => void, escalated = false, hooks?: CallStateHooks): Promise<void> {
    const id = `${this.req.get('Call-ID')}`;
    this.calls.add(id);
    let ended = false;
    let dialogs: { uas: SrfDialog; uac: SrfDialog } | undefined;
    let uacReq: { cancel(): void } | undefined;
    const finish = (release = true): void => {
      if (ended) return;
      ended = true;
      this.calls.remove(id);
      hooks?.end();
      if (release) onEnd();
    };
    // A peer took this instance over: it BYE'd the dialogs in the call's record and freed the
    // quota. What it did not know of is ended here; what it ended is dropped without a BYE.
    hooks?.onFenced?.((endedByPeer) => {
      if (ended) return 'forgotten';
      if (!dialogs) {
        // Still setting up: the caller's INVITE transaction is ours alone, so freeing its quota
        // again (the peer freed it from the record) cannot free anyone else's.
        finish();
        if (!this.res.finalResponseSent) this.res.send(503, { headers: { 'Retry-After': '5', ...this.server(headers) } });
        try {
          uacReq?.cancel();
        } catch {
          /* the callee's answer raced the CANCEL: localSdpA refuses it and srf BYEs the callee */
        }
        return 'ended';
      }
      finish(false);
      let here = false;
      for (const d of [dialogs.uas, dialogs.uac]) {
        d.removeAllListeners();
        if (endedByPeer(d)) {
          (this.srf as unknown as { removeDialog?(x: SrfDialog): void }).removeDialog?.(d);
          continue;
        }
        here = true;
        this.bye(d);
      }
      return here ? 'ended' : 'forgotten';
    });
    try {
      const b2bua = this.srf.createB2BUA as unknown as (
        req: SrfRequest, res: SrfResponse, uri: string, opts: Srf.CreateB2BUAOptions, cbs: { cbRequest: (err: unknown, r: { cancel(): void }) => void },
      ) => Promise<{ uas: SrfDialog; uac: SrfDialog }>;
      const { uas, uac } = await b2bua.call(this.srf, this.req, this.res, target, {
        headers,
        passFailure: true,
        passProvisionalResponses: true,
        ...(localSdpB !== undefined ? { localSdpB } : {}),
        // Says which instance answered (the configured User-Agent), as our refusals do.
        responseHeaders: this.server(headers),
        // Last look before the caller gets the callee's answer: an instance that was frozen and
        // taken over meanwhile must not answer it (srf then BYEs the callee).
        ...(hooks?.mayAnswer ? {
          localSdpA: async (sdp: string) => {
            if (!(await hooks.mayAnswer!())) throw new FencedAnswerError();
            return sdp;
          },
        } : {}),
      }, { cbRequest: (_err, r) => { uacReq = r; } });
      if (ended) {
        // fenced while srf was answering: the handler has answered the caller already
        this.bye(uac);
        this.bye(uas);
        return;
      }
      dialogs = { uas, uac };
      this.observe('answered');
      hooks?.answered(uas, uac);
      const end = (other: SrfDialog): void => {
        if (ended) return;
        finish();
        this.bye(other);
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
      const wasEnded = ended;
      finish();
      const status = (err as SipError).status;
      // passFailure already relayed the far end's final response to the caller.
      if (typeof status === 'number') {
        this.observe(status === 487 && !wasEnded ? 'cancelled' : wasEnded ? 'fenced' : 'failed');
        return;
      }
      if (err instanceof FencedAnswerError) {
        this.observe('fenced');
        this.log.warn('b2bua: callee answered after this instance was fenced; not answered here', {});
      } else {
        this.observe('error');
        this.log.error('b2bua failed', { error: err instanceof Error ? err.message : String(err) });
      }
      if (!this.res.finalResponseSent) this.res.send(503, { headers: { 'Retry-After': '5', ...this.server(headers) } });
    }
  }

  private server(headers: Record<string, string>): Record<string, string> {
    const ua = Object.entries(headers).find(([k]) => k.toLowerCase() === 'user-agent')?.[1];
    return ua ? { Server: ua } : {};
  }

  /**
   * BYE on a leg; the call is over once it is sent. Counted by what this app saw of its answer
   * within BYE_ANSWER_WINDOW_MS - never waited for (drachtio-server may not pass it on).
   */
  private bye(d: SrfDialog): void {
    let done = false;
    const count = (answer: 'seen' | 'not_seen' | 'not_sent'): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.metrics.byes.inc({ answer });
    };
    const timer = setTimeout(() => count('not_seen'), BYE_ANSWER_WINDOW_MS);
    timer.unref();
    try {
      (d.destroy as unknown as DestroyCb).call(d, {}, (err) => count(err ? 'not_sent' : 'seen'));
    } catch {
      count('not_sent');
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
