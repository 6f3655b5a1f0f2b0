/**
 * Adapters from the call code to an HA call tracker: the B2BUA session's state hooks
 * (lib/sip/call-session.ts), and an observer of FreeSWITCH-anchored calls (lib/calls, lib/council)
 * that re-records the call whenever its media session gains an endpoint or a dialog. Both also
 * carry the fencing side: whether the call may still be answered here, and what to do with it
 * when a peer has taken this instance over.
 */
import type { CallStateHooks } from '../sip/call-session.js';
import type { MediaCallObserver, MediaSession } from '../media/session.js';
import type { SrfDialog } from '../../types/drachtio-srf.js';
import type { CallTracker, FenceAction, FenceVerdict } from './node.js';
import { legFromDialog, type SeatRef, type SipLegRecord } from './records.js';

/** Whether the peer that took us over already ended this dialog (a dialog we cannot describe: no). */
function endedByPeer(v: FenceVerdict, d: SrfDialog): boolean {
  try {
    return v.endedByPeer(legFromDialog(d));
  } catch {
    return false;
  }
}

export function b2buaHooks(tracker: CallTracker): CallStateHooks {
  return {
    answered: (uas, uac) => tracker.answered([legFromDialog(uas), legFromDialog(uac)]),
    requestSent: (side) => tracker.requestSent(side),
    end: () => tracker.end(),
    mayAnswer: () => tracker.mayContinue(),
    onFenced: (fn) => tracker.onFenced((v) => fn((d) => endedByPeer(v, d))),
  };
}

/**
 * Records a FreeSWITCH-anchored call: the SIP dialogs (the session's own and any the call reports
 * separately), every channel of its media session, its council seats. The caller ends the record
 * with end() when the call is over; nothing is written after that.
 */
export class MediaCallRecorder implements MediaCallObserver {
  private sessionRef: MediaSession | undefined;
  private readonly extraDialogs = new Set<SrfDialog>();
  private readonly seats: SeatRef[] = [];
  // Channels stay in the record after their endpoint is destroyed: killing a channel that is
  // already gone costs the survivor one -ERR, missing one leaves it up until an RTP timeout.
  private readonly uuids = new Set<string>();
  private ended = false;

  constructor(private readonly tracker: CallTracker) {
    tracker.onFenced((v) => this.fenced(v));
  }

  session(s: MediaSession): void {
    this.sessionRef = s;
    s.on('changed', () => this.write());
    this.write();
  }

  dialog(d: SrfDialog): void {
    this.extraDialogs.add(d);
    d.on('destroy', () => this.extraDialogs.delete(d));
    this.write();
  }

  seat(room: string, seatId: string): void {
    this.seats.push({ room, seatId });
    this.write();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.tracker.end();
  }

  /**
   * A peer took this instance over. It BYE'd the dialogs it found in the record, killed the
   * channels and freed quota and seats; this ends (BYE) only the dialogs it did not know of (made
   * or recorded after its read). The H.323 side and the channels' ESL sockets go when the fenced
   * process exits (docs/ha.md).
   */
  private fenced(v: FenceVerdict): FenceAction {
    this.ended = true;
    let here = false;
    for (const d of this.dialogs()) {
      if (endedByPeer(v, d)) continue;
      here = true;
      try {
        (d.destroy() as unknown as Promise<unknown> | undefined)?.catch?.(() => undefined);
      } catch {
        // already gone
      }
    }
    return here ? 'ended' : 'forgotten';
  }

  private dialogs(): SrfDialog[] {
    return [...(this.sessionRef?.openDialogs ?? []), ...this.extraDialogs];
  }

  private write(): void {
    if (this.ended) return;
    const s = this.sessionRef;
    for (const u of s?.endpointUuids ?? []) this.uuids.add(u);
    const dialogs = this.dialogs();
    const legs: SipLegRecord[] = [];
    for (const d of dialogs) {
      try {
        legs.push(legFromDialog(d));
      } catch {
        // a dialog without the messages it was made from cannot be ended by a peer anyway
      }
    }
    this.tracker.update({ legs, mediaUuids: [...this.uuids], seats: this.seats });
  }
}
