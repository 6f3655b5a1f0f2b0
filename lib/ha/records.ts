/**
 * What a surviving instance needs to end a dead instance's call without ever having seen it:
 * per SIP leg the dialog as RFC 3261 12.2.1.1 builds an in-dialog request from it (Call-ID, tags,
 * URIs, remote target, route set, next local CSeq), the FreeSWITCH channel UUIDs, and the ledger
 * key of the quota reservation. Records are JSON in Redis (lib/ha/store.ts); nothing here is
 * logged (URIs can name people).
 */
import type { SrfDialog } from '../../types/drachtio-srf.js';

export interface SipLegRecord {
  /** 'caller' = the dialog where we are UAS; 'callee' = the one we started (UAC). */
  side: 'caller' | 'callee';
  callId: string;
  localTag: string;
  remoteTag: string;
  /** name-addr (no tag) that goes into From of our requests. */
  localUri: string;
  /** name-addr (no tag) that goes into To of our requests. */
  remoteUri: string;
  /** Request-URI of our requests: the peer's Contact. */
  remoteTarget: string;
  /** Route set for our requests, in order (empty when nobody Record-Routed). */
  routeSet: string[];
  /** Highest CSeq number we have used in this dialog (0: none yet). The BYE takes the next one. */
  localCseq: number;
}

export interface CallRecord {
  v: 1;
  /** Instance that handles the call. */
  instance: string;
  /** Caller's Call-ID: also the call ledger key of its quota reservation. */
  callId: string;
  /**
   * The call reserved no quota (H.323 callers: their key is a per-instance id that a SIP caller
   * could also pick as Call-ID, whose reservation a takeover must not release).
   */
  noQuota?: true;
  /** sip-h323 / h323-sip / council: anchored on FreeSWITCH (lib/calls, lib/council). */
  kind: 'sip-b2bua' | 'sip-h323' | 'h323-sip' | 'council';
  /** ms since the epoch */
  startedAt: number;
  state: 'setup' | 'answered';
  legs: SipLegRecord[];
  /** FreeSWITCH channel UUIDs to uuid_kill (empty for a plain B2BUA call). */
  mediaUuids: string[];
  /**
   * Council seats the call holds in the shared membership. Seats have no expiry (a seat is held
   * until its call ends), so a dead instance's seats stay taken unless the survivor frees them.
   */
  seats?: SeatRef[];
}

export interface SeatRef {
  room: string;
  seatId: string;
}

function stripTag(nameAddr: string): string {
  return nameAddr.replace(/;\s*tag=[^;>]*/i, '').trim();
}

/** Values of a possibly repeated, comma-joined header (Record-Route), keeping <...> whole. */
function headerList(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    let depth = 0;
    let cur = '';
    for (const ch of value) {
      if (ch === '<') depth++;
      if (ch === '>') depth--;
      if (ch === ',' && depth === 0) {
        if (cur.trim()) out.push(cur.trim());
        cur = '';
      } else cur += ch;
    }
    if (cur.trim()) out.push(cur.trim());
  }
  return out;
}

function cseqNumber(value: string | undefined): number {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** The minimal view of an srf message this module reads (srf's typings differ by class). */
interface HeaderSource {
  has(name: string): boolean;
  get(name: string): string;
}

function recordRoutes(m: HeaderSource): string[] {
  if (!m.has('Record-Route')) return [];
  return headerList([m.get('Record-Route')]);
}

/**
 * The leg record of an srf dialog. UAS (caller side): From/To swap, the route set is the
 * INVITE's Record-Route in order, the target its Contact. UAC (callee side): our INVITE's From,
 * the 200's To, the 200's Record-Route reversed, the 200's Contact, the INVITE's CSeq.
 */
export function legFromDialog(d: SrfDialog): SipLegRecord {
  const dlg = d as unknown as {
    type: 'uas' | 'uac';
    sip: { callId: string; localTag: string; remoteTag: string };
    remote: { uri: string };
    req: HeaderSource;
    res: HeaderSource;
  };
  if (dlg.type === 'uas') {
    return {
      side: 'caller',
      callId: dlg.sip.callId,
      localTag: dlg.sip.localTag,
      remoteTag: dlg.sip.remoteTag,
      localUri: stripTag(dlg.req.get('To')),
      remoteUri: stripTag(dlg.req.get('From')),
      remoteTarget: dlg.remote.uri,
      routeSet: recordRoutes(dlg.req),
      localCseq: 0,
    };
  }
  return {
    side: 'callee',
    callId: dlg.sip.callId,
    localTag: dlg.sip.localTag,
    remoteTag: dlg.sip.remoteTag,
    localUri: stripTag(dlg.req.get('From')),
    remoteUri: stripTag(dlg.res.get('To')),
    remoteTarget: dlg.remote.uri,
    routeSet: recordRoutes(dlg.res).reverse(),
    localCseq: cseqNumber(dlg.req.get('CSeq')),
  };
}

/** The headers of the BYE a survivor sends for a leg it never owned. */
export function byeHeaders(leg: SipLegRecord): Record<string, string> {
  return {
    'Call-ID': leg.callId,
    From: `${leg.localUri};tag=${leg.localTag}`,
    To: `${leg.remoteUri};tag=${leg.remoteTag}`,
    CSeq: `${nextCseq(leg)} BYE`,
  };
}

/**
 * A fresh dialog (no request of ours yet) starts from a CSeq the far end has never seen from us,
 * so any value is in order; 1 keeps it obvious on the wire.
 */
export function nextCseq(leg: SipLegRecord): number {
  return leg.localCseq + 1;
}

export function parseRecord(json: string): CallRecord | undefined {
  try {
    const r = JSON.parse(json) as Partial<CallRecord>;
    if (r.v !== 1 || typeof r.callId !== 'string' || typeof r.instance !== 'string' || !Array.isArray(r.legs) || !Array.isArray(r.mediaUuids)) return undefined;
    return r as CallRecord;
  } catch {
    return undefined;
  }
}
