/**
 * Building Q.931 messages for H.225.0 call signalling, and checking that received ones carry the
 * IEs the call layer relies on. IEs are placed in ascending identifier order (Q.931 4.5.1).
 */
import { IeId, MessageType, USER_USER_PD_X208, type MessageTypeName } from './constants.js';
import type {
  BearerCapabilityIe,
  CalledPartyNumberIe,
  CallingPartyNumberIe,
  CallStateIe,
  CauseIe,
  ProgressIndicatorIe,
  Q931Ie,
  UnknownIe,
} from './ie.js';
import { ieIdentifier } from './ie.js';
import type { CallReference, Q931Message } from './message.js';

type Fields<T> = Omit<T, 'kind'>;

export interface MessageFields {
  readonly callReference: CallReference;
  readonly bearerCapability?: Fields<BearerCapabilityIe>;
  readonly cause?: Fields<CauseIe>;
  readonly callState?: Fields<CallStateIe>;
  readonly progressIndicator?: Fields<ProgressIndicatorIe>;
  readonly display?: string;
  readonly callingPartyNumber?: Fields<CallingPartyNumberIe>;
  readonly calledPartyNumber?: Fields<CalledPartyNumberIe>;
  /** The H.225.0 H323-UserInformation bytes (PER); sent with protocol discriminator 5. */
  readonly userUser?: Uint8Array;
  /** Other codeset-0 IEs (Facility 0x1C, Notification indicator 0x27, Keypad 0x2C, ...). */
  readonly otherIes?: readonly UnknownIe[];
}

/** What H.323 endpoints send in Setup: ITU-T speech, circuit mode, 64 kbit/s, layer 1 H.221/H.242. */
export const H323_SPEECH_BEARER: Fields<BearerCapabilityIe> = {
  codingStandard: 0,
  transferCapability: 0,
  transferMode: 0,
  transferRate: 0x10,
  layer1Protocol: 5,
};

/** An H.225.0 call reference: 2 octets, 15-bit value. */
export function callReference(value: number, fromDestination = false): CallReference {
  return { length: 2, value, flag: fromDestination };
}

export function buildMessage(type: MessageTypeName | number, f: MessageFields): Q931Message {
  const ies: Q931Ie[] = [];
  if (f.bearerCapability) ies.push({ kind: 'bearerCapability', ...f.bearerCapability });
  if (f.cause) ies.push({ kind: 'cause', ...f.cause });
  if (f.callState) ies.push({ kind: 'callState', ...f.callState });
  if (f.progressIndicator) ies.push({ kind: 'progressIndicator', ...f.progressIndicator });
  if (f.display !== undefined) ies.push({ kind: 'display', text: f.display });
  if (f.callingPartyNumber) ies.push({ kind: 'callingPartyNumber', ...f.callingPartyNumber });
  if (f.calledPartyNumber) ies.push({ kind: 'calledPartyNumber', ...f.calledPartyNumber });
  if (f.userUser) ies.push({ kind: 'userUser', protocolDiscriminator: USER_USER_PD_X208, payload: f.userUser });
  for (const ie of f.otherIes ?? []) ies.push(ie);
  // Stable sort keeps the order of equal identifiers (repeated IEs) as given.
  ies.sort((a, b) => (ieIdentifier(a)?.id ?? 0) - (ieIdentifier(b)?.id ?? 0));
  return {
    callReference: f.callReference,
    messageType: typeof type === 'number' ? type : MessageType[type],
    ies,
  };
}

/**
 * IEs the H.225.0 call layer needs per message (by IE identifier). Missing ones mean the peer's
 * message cannot be acted on; the caller answers with ReleaseComplete or Status (cause 96).
 */
const mandatory: ReadonlyMap<number, readonly number[]> = new Map([
  [MessageType.Setup, [IeId.BearerCapability, IeId.UserUser]],
  [MessageType.CallProceeding, [IeId.UserUser]],
  [MessageType.Alerting, [IeId.UserUser]],
  [MessageType.Connect, [IeId.UserUser]],
  [MessageType.Progress, [IeId.ProgressIndicator, IeId.UserUser]],
  [MessageType.Facility, [IeId.UserUser]],
  [MessageType.ReleaseComplete, [IeId.UserUser]],
  [MessageType.Status, [IeId.Cause, IeId.CallState]],
  [MessageType.Notify, [IeId.NotificationIndicator]],
]);

/** Codeset-0 identifiers of required IEs that are absent (or present but not understood). */
export function missingMandatoryIes(msg: Q931Message): number[] {
  const need = mandatory.get(msg.messageType) ?? [];
  const have = new Set<number>();
  for (const ie of msg.ies) {
    const idf = ieIdentifier(ie);
    if (!idf || idf.codeset !== 0) continue;
    // A typed IE kept as unknown (contents not understood) does not count, except IEs we never type.
    if (ie.kind === 'unknown' && ie.problem !== undefined) continue;
    have.add(idf.id);
  }
  return need.filter((id) => !have.has(id));
}
