/** Messages as our stack builds them, for the tshark proof, round-trip tests and fuzz seeds. */
import { encodeQ931, callReference, type Q931Message } from '../../../../lib/h323/q931/index.js';
import { encodeTpkt } from '../../../../lib/h323/tpkt/index.js';
import { ipTransport } from '../../../../lib/h323/h225/codec.js';
import {
  alertingMessage,
  callProceedingMessage,
  connectMessage,
  facilityMessage,
  informationMessage,
  notifyMessage,
  progressMessage,
  releaseCompleteMessage,
  setupMessage,
  statusInquiryMessage,
  statusMessage,
  tunnelMessage,
  type CallIdentity,
} from '../../../../lib/h323/h225/build.js';
import { encodeH245 } from '../../../../lib/h323/h245/codec.js';
import {
  command,
  indication,
  openLogicalChannel,
  openLogicalChannelAck,
  request,
  response,
  terminalCapabilitySet,
  userInputAlphanumeric,
  userInputSignal,
} from '../../../../lib/h323/h245/messages.js';
import { OpenLogicalChannel, type MultimediaSystemControlMessageValue } from '../../../../lib/h323/h245/schema.js';
import { encode } from '../../../../lib/h323/per/index.js';
import { answerFastStart, offerFastStart, parseFastStartOffer } from '../../../../lib/h323/call/faststart.js';

export const IDS: CallIdentity = {
  callIdentifier: Uint8Array.from(Buffer.from('a47883d020e9f11189fb02fc00000001', 'hex')),
  conferenceID: Uint8Array.from(Buffer.from('ae7883d020e9f11189fb02fc00000001', 'hex')),
};
export const CR_OUT = callReference(0x1234);
export const CR_BACK = callReference(0x1234, true);

export const tcs = terminalCapabilitySet({
  sequenceNumber: 1,
  codecs: ['PCMA', 'PCMU', 'G729', 'G729A', 'G722', 'H263', 'H264'],
  telephoneEventPayloadType: 101,
});

/** Every H.245 message type we send, with the value tshark must show. */
export interface H245Sample {
  readonly name: string;
  readonly msg: MultimediaSystemControlMessageValue;
}

export function h245Samples(): H245Sample[] {
  return [
    { name: 'terminalCapabilitySet', msg: request('terminalCapabilitySet', tcs) },
    { name: 'terminalCapabilitySetAck', msg: response('terminalCapabilitySetAck', { sequenceNumber: 1 }) },
    { name: 'terminalCapabilitySetReject', msg: response('terminalCapabilitySetReject', { sequenceNumber: 2, cause: { choice: 'unspecified', value: null } }) },
    { name: 'masterSlaveDetermination', msg: request('masterSlaveDetermination', { terminalType: 50, statusDeterminationNumber: 3569041 }) },
    { name: 'masterSlaveDeterminationAck', msg: response('masterSlaveDeterminationAck', { decision: { choice: 'slave', value: null } }) },
    { name: 'masterSlaveDeterminationReject', msg: response('masterSlaveDeterminationReject', { cause: { choice: 'identicalNumbers', value: null } }) },
    {
      name: 'openLogicalChannel',
      msg: request('openLogicalChannel', openLogicalChannel({ channel: 101, codec: 'PCMA', rtcp: { host: '127.0.0.1', port: 5001 } })),
    },
    {
      name: 'openLogicalChannelAck',
      msg: response('openLogicalChannelAck', openLogicalChannelAck(101, { host: '127.0.0.1', port: 6000 }, { host: '127.0.0.1', port: 6001 })),
    },
    {
      name: 'openLogicalChannelReject',
      msg: response('openLogicalChannelReject', { forwardLogicalChannelNumber: 102, cause: { choice: 'dataTypeNotSupported', value: null } }),
    },
    { name: 'closeLogicalChannel', msg: request('closeLogicalChannel', { forwardLogicalChannelNumber: 101, source: { choice: 'user', value: null } }) },
    { name: 'closeLogicalChannelAck', msg: response('closeLogicalChannelAck', { forwardLogicalChannelNumber: 101 }) },
    { name: 'userInput', msg: indication('userInput', userInputAlphanumeric('123#')) },
    { name: 'userInput', msg: indication('userInput', userInputSignal('7', 160)) },
    { name: 'roundTripDelayRequest', msg: request('roundTripDelayRequest', { sequenceNumber: 9 }) },
    { name: 'roundTripDelayResponse', msg: response('roundTripDelayResponse', { sequenceNumber: 9 }) },
    { name: 'endSessionCommand', msg: command('endSessionCommand', { choice: 'disconnect', value: null }) },
  ];
}

export function fastStartProposal(): Uint8Array[] {
  return [
    encode(OpenLogicalChannel, openLogicalChannel({ channel: 1, codec: 'PCMA', rtcp: { host: '127.0.0.1', port: 5001 } })),
    encode(
      OpenLogicalChannel,
      openLogicalChannel({ channel: 2, codec: 'PCMA', reverse: true, rtp: { host: '127.0.0.1', port: 5000 }, rtcp: { host: '127.0.0.1', port: 5001 } }),
    ),
  ];
}

/** Audio (PCMA) and video (H.264 as H.241 generic capability, H.263) proposals; video on 5002/5003. */
export function videoFastStartProposal(): Uint8Array[] {
  return offerFastStart(['PCMA', 'H264', 'H263'], { host: '127.0.0.1', port: 5000 }, { host: '127.0.0.1', port: 5002 });
}

/** Our callee's answer to videoFastStartProposal(): PCMA on 6000/6001, H.264 on 6002/6003. */
export function videoFastStartAnswer(): Uint8Array[] {
  const choice = answerFastStart(parseFastStartOffer(videoFastStartProposal()), ['PCMA', 'H264'], { host: '127.0.0.1', port: 6000 }, { host: '127.0.0.1', port: 6002 });
  if (!choice?.video) throw new Error('no video fastStart answer');
  return choice.accepted;
}

/** The answer our callee builds for fastStartProposal(): G.711 A-law, we receive on 6000/6001. */
export function fastStartAnswer(): Uint8Array[] {
  const choice = answerFastStart(parseFastStartOffer(fastStartProposal()), ['PCMA'], { host: '127.0.0.1', port: 6000 });
  if (!choice) throw new Error('no fastStart answer');
  return choice.accepted;
}

export interface CallSample {
  readonly label: string;
  readonly fromClient: boolean;
  readonly msg: Q931Message;
  /** tshark "h323-message-body" value. */
  readonly body: string;
}

export function callSamples(): CallSample[] {
  const h245 = h245Samples().map((s) => encodeH245(s.msg));
  const t = { h245Tunnelling: true };
  const h245Addr = ipTransport('127.0.0.1', 1800);
  return [
    {
      label: 'setup fastStart',
      fromClient: true,
      body: 'setup',
      msg: setupMessage(CR_OUT, IDS, {
        ...t,
        fastStart: fastStartProposal(),
        sourceAddress: [{ choice: 'dialledDigits', value: '1001' }, { choice: 'h323-ID', value: 'gw' }],
        destinationAddress: [{ choice: 'dialledDigits', value: '9123' }],
        destCallSignalAddress: ipTransport('127.0.0.1', 1720),
        sourceCallSignalAddress: ipTransport('127.0.0.1', 45500),
        callingNumber: '1001',
        calledNumber: '9123',
        display: 'gw',
      }),
    },
    { label: 'callProceeding', fromClient: false, body: 'callProceeding', msg: callProceedingMessage(CR_BACK, IDS, t) },
    { label: 'progress', fromClient: false, body: 'progress', msg: progressMessage(CR_BACK, IDS, t) },
    { label: 'alerting with the fastStart answer', fromClient: false, body: 'alerting', msg: alertingMessage(CR_BACK, IDS, { ...t, fastStart: fastStartAnswer() }) },
    {
      label: 'connect + tunnelled TCS/MSD',
      fromClient: false,
      body: 'connect',
      msg: connectMessage(CR_BACK, IDS, { ...t, h245Control: [h245[0]!, h245[3]!] }),
    },
    { label: 'connect with h245Address', fromClient: false, body: 'connect', msg: connectMessage(CR_BACK, IDS, { h245Tunnelling: false, h245Address: h245Addr }) },
    { label: 'tunnel carrier', fromClient: true, body: 'empty', msg: tunnelMessage(CR_OUT, h245) },
    {
      label: 'facility startH245',
      fromClient: true,
      body: 'facility',
      msg: facilityMessage(CR_OUT, IDS, { h245Tunnelling: false, reason: { choice: 'startH245', value: null }, h245Address: h245Addr }),
    },
    {
      label: 'facility routeCallToGatekeeper',
      fromClient: false,
      body: 'facility',
      msg: facilityMessage(CR_BACK, IDS, {
        h245Tunnelling: false,
        reason: { choice: 'routeCallToGatekeeper', value: null },
        alternativeAddress: ipTransport('127.0.0.1', 1720),
      }),
    },
    { label: 'information', fromClient: true, body: 'information', msg: informationMessage(CR_OUT, IDS, { ...t, digits: '5' }) },
    { label: 'notify', fromClient: false, body: 'notify', msg: notifyMessage(CR_BACK, IDS, t) },
    { label: 'statusInquiry', fromClient: true, body: 'statusInquiry', msg: statusInquiryMessage(CR_OUT, IDS, t) },
    { label: 'status', fromClient: false, body: 'status', msg: statusMessage(CR_BACK, IDS, { ...t, callState: 10 }) },
    {
      label: 'releaseComplete',
      fromClient: true,
      body: 'releaseComplete',
      msg: releaseCompleteMessage(CR_OUT, IDS, { ...t, cause: 16, reason: { choice: 'destinationRejection', value: null } }),
    },
    { label: 'setup audio+video fastStart', fromClient: true, body: 'setup', msg: setupMessage(CR_OUT, IDS, { ...t, fastStart: videoFastStartProposal(), calledNumber: '9123' }) },
    { label: 'alerting with the audio+video fastStart answer', fromClient: false, body: 'alerting', msg: alertingMessage(CR_BACK, IDS, { ...t, fastStart: videoFastStartAnswer() }) },
  ];
}

/** TPKT-framed Q.931 bytes of a sample. */
export function framed(msg: Q931Message): Uint8Array {
  const q = encodeQ931(msg);
  if (!q.ok) throw new Error(q.error.message);
  const t = encodeTpkt(q.value);
  if (!t.ok) throw new Error(t.error.message);
  return t.value;
}
