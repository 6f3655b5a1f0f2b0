/**
 * The H.225.0 call-signalling messages an endpoint sends, as complete Q.931 messages with their
 * UUIE: Setup, CallProceeding, Alerting, Connect, Progress, Facility, Information, Notify,
 * ReleaseComplete, Status, StatusInquiry and the empty Facility used to carry tunnelled H.245.
 */
import { buildMessage, H323_SPEECH_BEARER, type MessageFields } from '../q931/build.js';
import type { CallReference, Q931Message } from '../q931/message.js';
import type { MessageTypeName } from '../q931/constants.js';
import type { AliasAddressValue, EndpointTypeValue, TransportAddressValue } from './common-types.js';
import { encodeH225, endpointType, h225Pdu, H225_CS_PROTOCOL_ID } from './codec.js';
import type { FacilityReasonValue, H323UserInformationValue, ReleaseCompleteReasonValue, UuieBody, UuieType } from './schema.js';

export interface CallIdentity {
  /** 16 octets. */
  readonly callIdentifier: Uint8Array;
  /** 16 octets. */
  readonly conferenceID: Uint8Array;
}

export interface Tunnel {
  readonly h245Tunnelling: boolean;
  /** PER-encoded H.245 messages to tunnel in this PDU. */
  readonly h245Control?: readonly Uint8Array[];
}

export interface CommonOptions extends Tunnel {
  readonly fastStart?: readonly Uint8Array[];
  readonly h245Address?: TransportAddressValue;
  readonly endpointType?: EndpointTypeValue;
  readonly display?: string;
}

export interface SetupOptions extends CommonOptions {
  readonly sourceAddress?: readonly AliasAddressValue[];
  readonly destinationAddress?: readonly AliasAddressValue[];
  readonly destCallSignalAddress?: TransportAddressValue;
  readonly sourceCallSignalAddress?: TransportAddressValue;
  readonly callingNumber?: string;
  /** Calling party number type of number (0 unknown, the default; 1 international). */
  readonly callingNumberType?: number;
  readonly calledNumber?: string;
  readonly mediaWaitForConnect?: boolean;
  /** Setup-UUIE displayName (BMP, 1..80 characters); the Q.931 Display IE is `display`. */
  readonly displayName?: string;
}

function q931(type: MessageTypeName, cr: CallReference, info: H323UserInformationValue, extra: Omit<MessageFields, 'callReference' | 'userUser'> = {}): Q931Message {
  return buildMessage(type, { ...extra, callReference: cr, userUser: encodeH225(info) });
}

function pdu<K extends UuieType>(type: K, body: UuieBody<K>, t: Tunnel): H323UserInformationValue {
  return h225Pdu(type, body, { h245Tunnelling: t.h245Tunnelling, ...(t.h245Control ? { h245Control: t.h245Control } : {}) });
}

const fs = (o: CommonOptions) => (o.fastStart && o.fastStart.length > 0 ? { fastStart: [...o.fastStart] } : {});
const h245 = (o: CommonOptions) => (o.h245Address ? { h245Address: o.h245Address } : {});

export function setupMessage(cr: CallReference, ids: CallIdentity, o: SetupOptions): Q931Message {
  const body: UuieBody<'setup'> = {
    protocolIdentifier: H225_CS_PROTOCOL_ID,
    ...h245(o),
    ...(o.sourceAddress ? { sourceAddress: [...o.sourceAddress] } : {}),
    sourceInfo: o.endpointType ?? endpointType(),
    ...(o.destinationAddress ? { destinationAddress: [...o.destinationAddress] } : {}),
    ...(o.destCallSignalAddress ? { destCallSignalAddress: o.destCallSignalAddress } : {}),
    activeMC: false,
    conferenceID: ids.conferenceID,
    conferenceGoal: { choice: 'create', value: null },
    callType: { choice: 'pointToPoint', value: null },
    ...(o.sourceCallSignalAddress ? { sourceCallSignalAddress: o.sourceCallSignalAddress } : {}),
    callIdentifier: { guid: ids.callIdentifier },
    ...fs(o),
    mediaWaitForConnect: o.mediaWaitForConnect ?? false,
    canOverlapSend: false,
    multipleCalls: false,
    maintainConnection: false,
    ...(o.displayName ? { displayName: [{ name: o.displayName }] } : {}),
  };
  return q931('Setup', cr, pdu('setup', body, o), {
    bearerCapability: H323_SPEECH_BEARER,
    ...(o.display !== undefined ? { display: o.display } : {}),
    ...(o.callingNumber ? { callingPartyNumber: { numberType: o.callingNumberType ?? 0, numberingPlan: 1, digits: o.callingNumber } } : {}),
    ...(o.calledNumber ? { calledPartyNumber: { numberType: 0, numberingPlan: 1, digits: o.calledNumber } } : {}),
  });
}

export function callProceedingMessage(cr: CallReference, ids: CallIdentity, o: CommonOptions): Q931Message {
  const body: UuieBody<'callProceeding'> = {
    protocolIdentifier: H225_CS_PROTOCOL_ID,
    destinationInfo: o.endpointType ?? endpointType(),
    ...h245(o),
    callIdentifier: { guid: ids.callIdentifier },
    ...fs(o),
    multipleCalls: false,
    maintainConnection: false,
  };
  return q931('CallProceeding', cr, pdu('callProceeding', body, o));
}

export function alertingMessage(cr: CallReference, ids: CallIdentity, o: CommonOptions): Q931Message {
  const body: UuieBody<'alerting'> = {
    protocolIdentifier: H225_CS_PROTOCOL_ID,
    destinationInfo: o.endpointType ?? endpointType(),
    ...h245(o),
    callIdentifier: { guid: ids.callIdentifier },
    ...fs(o),
    multipleCalls: false,
    maintainConnection: false,
  };
  return q931('Alerting', cr, pdu('alerting', body, o), o.display !== undefined ? { display: o.display } : {});
}

export function progressMessage(cr: CallReference, ids: CallIdentity, o: CommonOptions): Q931Message {
  const body: UuieBody<'progress'> = {
    protocolIdentifier: H225_CS_PROTOCOL_ID,
    destinationInfo: o.endpointType ?? endpointType(),
    ...h245(o),
    callIdentifier: { guid: ids.callIdentifier },
    ...fs(o),
    multipleCalls: false,
    maintainConnection: false,
  };
  return q931('Progress', cr, pdu('progress', body, o), { progressIndicator: { codingStandard: 0, location: 1, description: 8 } });
}

export function connectMessage(cr: CallReference, ids: CallIdentity, o: CommonOptions & { fastConnectRefused?: boolean }): Q931Message {
  const body: UuieBody<'connect'> = {
    protocolIdentifier: H225_CS_PROTOCOL_ID,
    ...h245(o),
    destinationInfo: o.endpointType ?? endpointType(),
    conferenceID: ids.conferenceID,
    callIdentifier: { guid: ids.callIdentifier },
    ...fs(o),
    multipleCalls: false,
    maintainConnection: false,
    ...(o.fastConnectRefused ? { fastConnectRefused: null } : {}),
  };
  return q931('Connect', cr, pdu('connect', body, o), o.display !== undefined ? { display: o.display } : {});
}

export interface ReleaseOptions extends Tunnel {
  /** Q.850 cause value (Cause IE). */
  readonly cause?: number;
  readonly reason?: ReleaseCompleteReasonValue;
}

export function releaseCompleteMessage(cr: CallReference, ids: CallIdentity | undefined, o: ReleaseOptions): Q931Message {
  const body: UuieBody<'releaseComplete'> = {
    protocolIdentifier: H225_CS_PROTOCOL_ID,
    ...(o.reason ? { reason: o.reason } : {}),
    ...(ids ? { callIdentifier: { guid: ids.callIdentifier } } : {}),
  };
  return q931(
    'ReleaseComplete',
    cr,
    pdu('releaseComplete', body, o),
    o.cause !== undefined ? { cause: { codingStandard: 0, location: 0, value: o.cause } } : {},
  );
}

export interface FacilityOptions extends Tunnel {
  readonly reason: FacilityReasonValue;
  readonly h245Address?: TransportAddressValue;
  readonly alternativeAddress?: TransportAddressValue;
  readonly conferenceID?: Uint8Array;
}

export function facilityMessage(cr: CallReference, ids: CallIdentity, o: FacilityOptions): Q931Message {
  const body: UuieBody<'facility'> = {
    protocolIdentifier: H225_CS_PROTOCOL_ID,
    ...(o.alternativeAddress ? { alternativeAddress: o.alternativeAddress } : {}),
    ...(o.conferenceID ? { conferenceID: o.conferenceID } : {}),
    reason: o.reason,
    callIdentifier: { guid: ids.callIdentifier },
    ...(o.h245Address ? { h245Address: o.h245Address } : {}),
    multipleCalls: false,
    maintainConnection: false,
  };
  return q931('Facility', cr, pdu('facility', body, o));
}

/** Facility with an empty body: the carrier for tunnelled H.245 (H.323 8.2.1). */
export function tunnelMessage(cr: CallReference, h245Control: readonly Uint8Array[]): Q931Message {
  return q931('Facility', cr, h225Pdu('empty', null, { h245Tunnelling: true, h245Control }));
}

export function informationMessage(cr: CallReference, ids: CallIdentity, o: Tunnel & { digits?: string }): Q931Message {
  const body: UuieBody<'information'> = { protocolIdentifier: H225_CS_PROTOCOL_ID, callIdentifier: { guid: ids.callIdentifier } };
  return q931(
    'Information',
    cr,
    pdu('information', body, o),
    o.digits ? { calledPartyNumber: { numberType: 0, numberingPlan: 1, digits: o.digits } } : {},
  );
}

export function notifyMessage(cr: CallReference, ids: CallIdentity, o: Tunnel & { notification?: number }): Q931Message {
  const body: UuieBody<'notify'> = { protocolIdentifier: H225_CS_PROTOCOL_ID, callIdentifier: { guid: ids.callIdentifier } };
  return q931('Notify', cr, pdu('notify', body, o), {
    otherIes: [{ kind: 'unknown', codeset: 0, id: 0x27, contents: Uint8Array.of(0x80 | (o.notification ?? 1)) }],
  });
}

/** Status (answer to StatusEnquiry): cause 30 and our call state (Q.931 5.8.11). */
export function statusMessage(cr: CallReference, ids: CallIdentity, o: Tunnel & { callState: number; cause?: number }): Q931Message {
  const body: UuieBody<'status'> = { protocolIdentifier: H225_CS_PROTOCOL_ID, callIdentifier: { guid: ids.callIdentifier } };
  return q931('Status', cr, pdu('status', body, o), {
    cause: { codingStandard: 0, location: 0, value: o.cause ?? 30 },
    callState: { codingStandard: 0, value: o.callState },
  });
}

export function statusInquiryMessage(cr: CallReference, ids: CallIdentity, o: Tunnel): Q931Message {
  const body: UuieBody<'statusInquiry'> = { protocolIdentifier: H225_CS_PROTOCOL_ID, callIdentifier: { guid: ids.callIdentifier } };
  return q931('StatusEnquiry', cr, pdu('statusInquiry', body, o));
}
