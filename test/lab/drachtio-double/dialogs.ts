/** Dialog state the double keeps so apps can send in-dialog requests by dialog id. */
import type { Peer } from './transactions.js';

export interface Dialog {
  /** `<Call-ID>;from-tag=<From tag of the dialog-creating INVITE>` */
  id: string;
  role: 'uas' | 'uac';
  callId: string;
  localTag: string;
  remoteTag: string;
  /** name-addr without tag, as it goes into From (our side) / To (their side) of our requests */
  localUri: string;
  remoteUri: string;
  remoteTarget: string;
  /** Route set for our requests, in order. */
  routeSet: string[];
  localCseq: number;
  /** CSeq number of the dialog-creating INVITE (ACK reuses it). */
  inviteCseq: number;
  peer: Peer;
  /** Control connection id of the owning app. */
  appId: number;
  state: 'early' | 'confirmed';
  /** Transaction id of the INVITE; the first ACK is reported on it. */
  inviteTxnId: string;
  /** Server transaction of the latest INVITE (initial or re-INVITE) whose 2xx awaits an ACK. */
  lastInviteTxnId?: string;
  firstAckSeen: boolean;
}

export function dialogIdOf(callId: string, creatorFromTag: string): string {
  return `${callId};from-tag=${creatorFromTag}`;
}

export class DialogStore {
  private byId = new Map<string, Dialog>();
  private byTags = new Map<string, Dialog>();

  private static tagKey(callId: string, localTag: string, remoteTag: string): string {
    return `${callId}\n${localTag}\n${remoteTag}`;
  }

  add(d: Dialog): void {
    this.byId.set(d.id, d);
    this.byTags.set(DialogStore.tagKey(d.callId, d.localTag, d.remoteTag), d);
  }

  get(id: string): Dialog | undefined {
    return this.byId.get(id);
  }

  /** Lookup for a request/response from the network: local tag is ours. */
  find(callId: string, localTag: string | undefined, remoteTag: string | undefined): Dialog | undefined {
    if (localTag === undefined || remoteTag === undefined) return undefined;
    return this.byTags.get(DialogStore.tagKey(callId, localTag, remoteTag));
  }

  remove(d: Dialog): void {
    this.byId.delete(d.id);
    this.byTags.delete(DialogStore.tagKey(d.callId, d.localTag, d.remoteTag));
  }

  get size(): number {
    return this.byId.size;
  }

  all(): Dialog[] {
    return [...this.byId.values()];
  }
}
