/** Adapts an HA call tracker to the B2BUA session's state hooks (lib/sip/call-session.ts). */
import type { CallStateHooks } from '../sip/call-session.js';
import type { CallTracker } from './node.js';
import { legFromDialog } from './records.js';

export function b2buaHooks(tracker: CallTracker): CallStateHooks {
  return {
    answered: (uas, uac) => tracker.answered([legFromDialog(uas), legFromDialog(uac)]),
    requestSent: (side) => tracker.requestSent(side),
    end: () => tracker.end(),
  };
}
