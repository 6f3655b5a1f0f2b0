/** One RAS message of every type we can encode, with distinctive values for wire checks. */
import { H225_PROTOCOL_ID, GNUGK_VENDOR_OID, alias, gatewayEndpointType, ipAddress, ras } from '../../../lib/h323/ras/messages.js';
import type { RasMessageValue } from '../../../lib/h323/ras/schema.js';

const guid = Uint8Array.from(Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'));
const conf = Uint8Array.from(Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex'));
const gw = ipAddress('192.0.2.10', 1720);
const rasAddr = ipAddress('192.0.2.10', 1719);
const nsd = { nonStandardIdentifier: { choice: 'h221NonStandard' as const, value: { t35CountryCode: 138, t35Extension: 1, manufacturerCode: 2 } }, data: Uint8Array.from([0x47, 0x57]) };

export const RAS_SAMPLES: RasMessageValue[] = [
  ras('gatekeeperRequest', { requestSeqNum: 11, protocolIdentifier: H225_PROTOCOL_ID, rasAddress: rasAddr, endpointType: gatewayEndpointType(['9', '44']), endpointAlias: [alias.h323Id('council-gw')], supportsAssignedGK: false }),
  ras('gatekeeperConfirm', { requestSeqNum: 11, protocolIdentifier: H225_PROTOCOL_ID, gatekeeperIdentifier: 'OracleGK', rasAddress: ipAddress('127.0.0.1', 1719) }),
  ras('gatekeeperReject', { requestSeqNum: 12, protocolIdentifier: H225_PROTOCOL_ID, rejectReason: { choice: 'terminalExcluded', value: null } }),
  ras('registrationRequest', {
    requestSeqNum: 13, protocolIdentifier: H225_PROTOCOL_ID, discoveryComplete: true, callSignalAddress: [gw], rasAddress: [rasAddr],
    terminalType: gatewayEndpointType(['9']), terminalAlias: [alias.h323Id('council-gw'), alias.dialledDigits('9000')], gatekeeperIdentifier: 'OracleGK',
    endpointVendor: { vendor: { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 77 }, productId: new TextEncoder().encode('council-gateway') },
    timeToLive: 300, keepAlive: false, willSupplyUUIEs: false, maintainConnection: false, supportsAssignedGK: false,
  }),
  ras('registrationConfirm', { requestSeqNum: 13, protocolIdentifier: H225_PROTOCOL_ID, callSignalAddress: [ipAddress('127.0.0.1', 1720)], gatekeeperIdentifier: 'OracleGK', endpointIdentifier: '3_endp', timeToLive: 60, willRespondToIRR: false, maintainConnection: false }),
  ras('registrationReject', { requestSeqNum: 14, protocolIdentifier: H225_PROTOCOL_ID, rejectReason: { choice: 'duplicateAlias', value: [alias.dialledDigits('9000')] } }),
  ras('unregistrationRequest', { requestSeqNum: 15, callSignalAddress: [gw], endpointAlias: [alias.url('h323:gw@example.org')], endpointIdentifier: '3_endp', reason: { choice: 'maintenance', value: null } }),
  ras('unregistrationConfirm', { requestSeqNum: 15, nonStandardData: nsd }),
  ras('unregistrationReject', { requestSeqNum: 16, rejectReason: { choice: 'callInProgress', value: null } }),
  ras('admissionRequest', {
    requestSeqNum: 17, callType: { choice: 'pointToPoint', value: null }, callModel: { choice: 'direct', value: null }, endpointIdentifier: '3_endp',
    destinationInfo: [alias.dialledDigits('1001')], srcInfo: [alias.email('expert@example.org')], srcCallSignalAddress: gw, bandWidth: 1280,
    callReferenceValue: 77, conferenceID: conf, activeMC: false, answerCall: false, canMapAlias: true, callIdentifier: { guid }, willSupplyUUIEs: false, canMapSrcAlias: false,
  }),
  ras('admissionConfirm', { requestSeqNum: 17, bandWidth: 1280, callModel: { choice: 'gatekeeperRouted', value: null }, destCallSignalAddress: ipAddress('127.0.0.1', 1720), irrFrequency: 120, willRespondToIRR: false, uuiesRequested: { setup: false, callProceeding: false, connect: false, alerting: false, information: false, releaseComplete: false, facility: false, progress: false, empty: false } }),
  ras('admissionReject', { requestSeqNum: 18, rejectReason: { choice: 'calledPartyNotRegistered', value: null } }),
  ras('bandwidthRequest', { requestSeqNum: 19, endpointIdentifier: '3_endp', conferenceID: conf, callReferenceValue: 77, bandWidth: 3840, callIdentifier: { guid }, answeredCall: false }),
  ras('bandwidthConfirm', { requestSeqNum: 19, bandWidth: 3840 }),
  ras('bandwidthReject', { requestSeqNum: 20, rejectReason: { choice: 'insufficientResources', value: null }, allowedBandWidth: 640 }),
  ras('disengageRequest', { requestSeqNum: 21, endpointIdentifier: '3_endp', conferenceID: conf, callReferenceValue: 77, disengageReason: { choice: 'normalDrop', value: null }, callIdentifier: { guid }, answeredCall: true }),
  ras('disengageConfirm', { requestSeqNum: 21, nonStandardData: nsd }),
  ras('disengageReject', { requestSeqNum: 22, rejectReason: { choice: 'requestToDropOther', value: null } }),
  ras('locationRequest', {
    requestSeqNum: 23, destinationInfo: [alias.dialledDigits('9123')], nonStandardData: nsd, replyAddress: ipAddress('127.0.0.1', 1719),
    sourceInfo: [alias.dialledDigits('1001'), alias.h323Id('ep1001')], canMapAlias: true, gatekeeperIdentifier: 'OracleGK',
    genericData: [{ id: { choice: 'oid', value: GNUGK_VENDOR_OID } }], hopCount: 3, callIdentifier: { guid }, canMapSrcAlias: false,
  }),
  ras('locationConfirm', { requestSeqNum: 23, callSignalAddress: gw, rasAddress: rasAddr, destinationInfo: [alias.dialledDigits('9123')], destinationType: { gateway: {}, mc: false, undefinedNode: false } }),
  ras('locationReject', { requestSeqNum: 24, rejectReason: { choice: 'hopCountExceeded', value: null } }),
  ras('infoRequest', { requestSeqNum: 25, callReferenceValue: 0, replyAddress: ipAddress('127.0.0.1', 1719), callIdentifier: { guid: new Uint8Array(16) } }),
  ras('infoRequestResponse', { requestSeqNum: 25, endpointType: gatewayEndpointType(['9']), endpointIdentifier: '3_endp', rasAddress: rasAddr, callSignalAddress: [gw], endpointAlias: [alias.h323Id('council-gw')], needResponse: false, unsolicited: false }),
  ras('nonStandardMessage', { requestSeqNum: 26, nonStandardData: nsd }),
  ras('unknownMessageResponse', { requestSeqNum: 27, messageNotUnderstood: Uint8Array.from([0xde, 0xad]) }),
  ras('requestInProgress', { requestSeqNum: 23, delay: 4000 }),
  ras('resourcesAvailableIndicate', { requestSeqNum: 28, protocolIdentifier: H225_PROTOCOL_ID, endpointIdentifier: '3_endp', protocols: [{ choice: 'voice', value: {} }], almostOutOfResources: true }),
  ras('resourcesAvailableConfirm', { requestSeqNum: 28, protocolIdentifier: H225_PROTOCOL_ID }),
  ras('infoRequestAck', { requestSeqNum: 29, nonStandardData: nsd }),
  ras('infoRequestNak', { requestSeqNum: 30, nakReason: { choice: 'notRegistered', value: null } }),
];
