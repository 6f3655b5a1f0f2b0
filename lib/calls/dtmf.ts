/**
 * DTMF across the gateway (issue: RFC 2833 telephone-event <-> H.245 UserInputIndication).
 * FreeSWITCH decodes the SIP side's telephone-events into `dtmf` events on the endpoint and
 * generates them with uuid_send_dtmf; the H.323 side speaks UserInputIndication through the call.
 */
import type { Endpoint } from '../../types/drachtio-fsmrf.js';
import type { H323Call } from '../h323/call/index.js';
import type { Logger } from '../log/logger.js';

const DIGIT = /^[0-9*#A-Da-d]$/;

/** Relays digits both ways between a FreeSWITCH endpoint (SIP leg) and an H.323 call until either ends. */
export function relayDtmf(sipLeg: Endpoint, h323: H323Call, log?: Logger): void {
  sipLeg.on('dtmf', (d: { dtmf: string; duration: string }) => {
    if (DIGIT.test(d.dtmf)) h323.sendDtmf(d.dtmf);
  });
  h323.on('dtmf', (digits: string) => {
    for (const digit of digits) {
      if (!DIGIT.test(digit)) continue;
      sipLeg.api('uuid_send_dtmf', `${sipLeg.uuid} ${digit}`).catch((err: unknown) => {
        log?.warn('DTMF towards the SIP side failed', { error: err instanceof Error ? err.message : String(err) });
      });
    }
  });
}
