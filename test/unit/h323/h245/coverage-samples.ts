/**
 * One value for (nearly) every H.245 message and capability kind the schema models, beyond what
 * the call layer sends: the tshark schema-coverage test encodes them all.
 */
import { command, indication, request, response, h245Address, openLogicalChannel, text, terminalCapabilitySet } from '../../../../lib/h323/h245/messages.js';
import type { MultimediaSystemControlMessageValue, TerminalCapabilitySetValue } from '../../../../lib/h323/h245/schema.js';

export interface CoverageSample {
  /** tshark's name for the inner message. */
  readonly name: string;
  readonly msg: MultimediaSystemControlMessageValue;
  /** Field values tshark must show ("field: value" prefix match). */
  readonly shows?: readonly string[];
}

const ns = { nonStandardIdentifier: { choice: 'h221NonStandard' as const, value: { t35CountryCode: 9, t35Extension: 0, manufacturerCode: 61 } }, data: Uint8Array.of(1, 2) };

function wideTcs(): TerminalCapabilitySetValue {
  const tcs = terminalCapabilitySet({ sequenceNumber: 7, codecs: ['PCMU'] });
  const more: NonNullable<TerminalCapabilitySetValue['capabilityTable']> = [
    { capabilityTableEntryNumber: 20, capability: { choice: 'receiveAudioCapability', value: { choice: 'g7231', value: { 'maxAl-sduAudioFrames': 1, silenceSuppression: false } } } },
    { capabilityTableEntryNumber: 21, capability: { choice: 'receiveAudioCapability', value: { choice: 'g728', value: 4 } } },
    { capabilityTableEntryNumber: 22, capability: { choice: 'receiveAudioCapability', value: { choice: 'gsmFullRate', value: { audioUnitSize: 1, comfortNoise: false, scrambled: false } } } },
    {
      capabilityTableEntryNumber: 23,
      capability: { choice: 'receiveAudioCapability', value: { choice: 'g729Extensions', value: { audioUnit: 2, annexA: true, annexB: true, annexD: false, annexE: false, annexF: false, annexG: false, annexH: false } } },
    },
    { capabilityTableEntryNumber: 24, capability: { choice: 'receiveAudioCapability', value: { choice: 'g729wAnnexB', value: 2 } } },
    {
      capabilityTableEntryNumber: 25,
      capability: { choice: 'receiveVideoCapability', value: { choice: 'h261VideoCapability', value: { qcifMPI: 1, cifMPI: 2, temporalSpatialTradeOffCapability: false, maxBitRate: 3840, stillImageTransmission: false } } },
    },
    {
      capabilityTableEntryNumber: 26,
      capability: {
        choice: 'receiveAndTransmitDataApplicationCapability',
        value: {
          application: {
            choice: 't38fax',
            value: {
              t38FaxProtocol: { choice: 'udp', value: null },
              t38FaxProfile: {
                fillBitRemoval: false,
                transcodingJBIG: false,
                transcodingMMR: false,
                version: 0,
                t38FaxRateManagement: { choice: 'transferredTCF', value: null },
                t38FaxUdpOptions: { t38FaxMaxBuffer: 200, t38FaxMaxDatagram: 72, t38FaxUdpEC: { choice: 't38UDPRedundancy', value: null } },
              },
            },
          },
          maxBitRate: 144,
        },
      },
    },
    { capabilityTableEntryNumber: 27, capability: { choice: 'conferenceCapability', value: { chairControlCapability: false, videoIndicateMixingCapability: false } } },
    { capabilityTableEntryNumber: 28, capability: { choice: 'receiveRTPAudioToneCapability', value: { dynamicRTPPayloadType: 102 } } },
    { capabilityTableEntryNumber: 29, capability: { choice: 'nonStandard', value: ns } },
    { capabilityTableEntryNumber: 30 },
  ];
  return { ...tcs, capabilityTable: [...(tcs.capabilityTable ?? []), ...more] };
}

export function coverageSamples(): CoverageSample[] {
  return [
    {
      name: 'openLogicalChannel',
      msg: request('openLogicalChannel', openLogicalChannel({ channel: 103, codec: 'H264', rtcp: { host: '10.0.0.5', port: 7003 } })),
      shows: ['genericVideoCapability', 'sessionID: 2', 'maxBitRate: 3840'],
    },
    {
      name: 'openLogicalChannel',
      msg: request('openLogicalChannel', openLogicalChannel({ channel: 4, codec: 'H263', reverse: true, rtp: { host: '10.0.0.5', port: 7002 }, rtcp: { host: '10.0.0.5', port: 7003 } })),
      shows: ['h263VideoCapability', 'qcifMPI: 1', 'cifMPI: 1', 'tsapIdentifier: 7002'],
    },
    { name: 'terminalCapabilitySet', msg: request('terminalCapabilitySet', wideTcs()), shows: ['g7231', 'g728: 4', 'gsmFullRate', 'h261VideoCapability', 't38fax', 'dynamicRTPPayloadType: 102'] },
    { name: 'nonStandard', msg: request('nonStandard', { nonStandardData: ns }) },
    { name: 'requestChannelClose', msg: request('requestChannelClose', { forwardLogicalChannelNumber: 5, reason: { choice: 'normal', value: null } }) },
    { name: 'requestMultiplexEntry', msg: request('requestMultiplexEntry', { entryNumbers: [1, 2] }) },
    { name: 'maintenanceLoopRequest', msg: request('maintenanceLoopRequest', { type: { choice: 'mediaLoop', value: 3 } }) },
    { name: 'genericRequest', msg: request('genericRequest', { messageIdentifier: { choice: 'standard', value: '0.0.8.460.18' }, subMessageIdentifier: 1 }) },
    { name: 'requestChannelCloseAck', msg: response('requestChannelCloseAck', { forwardLogicalChannelNumber: 5 }) },
    { name: 'requestChannelCloseReject', msg: response('requestChannelCloseReject', { forwardLogicalChannelNumber: 5, cause: { choice: 'unspecified', value: null } }) },
    { name: 'multiplexEntrySendAck', msg: response('multiplexEntrySendAck', { sequenceNumber: 1, multiplexTableEntryNumber: [1] }) },
    {
      name: 'multiplexEntrySendReject',
      msg: response('multiplexEntrySendReject', { sequenceNumber: 1, rejectionDescriptions: [{ multiplexTableEntryNumber: 2, cause: { choice: 'descriptorTooComplex', value: null } }] }),
    },
    { name: 'requestMultiplexEntryAck', msg: response('requestMultiplexEntryAck', { entryNumbers: [3] }) },
    { name: 'requestModeAck', msg: response('requestModeAck', { sequenceNumber: 4, response: { choice: 'willTransmitMostPreferredMode', value: null } }) },
    { name: 'requestModeReject', msg: response('requestModeReject', { sequenceNumber: 4, cause: { choice: 'modeUnavailable', value: null } }) },
    { name: 'maintenanceLoopAck', msg: response('maintenanceLoopAck', { type: { choice: 'systemLoop', value: null } }) },
    { name: 'maintenanceLoopReject', msg: response('maintenanceLoopReject', { type: { choice: 'systemLoop', value: null }, cause: { choice: 'canNotPerformLoop', value: null } }) },
    { name: 'maintenanceLoopOffCommand', msg: command('maintenanceLoopOffCommand', {}) },
    {
      name: 'sendTerminalCapabilitySet',
      msg: command('sendTerminalCapabilitySet', { choice: 'specificRequest', value: { multiplexCapability: true, capabilityTableEntryNumbers: [1, 2] } }),
    },
    { name: 'encryptionCommand', msg: command('encryptionCommand', { choice: 'encryptionIVRequest', value: null }) },
    {
      name: 'flowControlCommand',
      msg: command('flowControlCommand', { scope: { choice: 'logicalChannelNumber', value: 101 }, restriction: { choice: 'maximumBitRate', value: 640 } }),
      shows: ['maximumBitRate: 640'],
    },
    { name: 'miscellaneousCommand', msg: command('miscellaneousCommand', { logicalChannelNumber: 102, type: { choice: 'videoFastUpdatePicture', value: null } }) },
    {
      name: 'miscellaneousCommand',
      msg: command('miscellaneousCommand', { logicalChannelNumber: 102, type: { choice: 'videoFastUpdateMB', value: { firstMB: 1, numberOfMBs: 9 } } }),
    },
    { name: 'functionNotUnderstood', msg: indication('functionNotUnderstood', { choice: 'request', value: { choice: 'roundTripDelayRequest', value: { sequenceNumber: 3 } } }) },
    { name: 'masterSlaveDeterminationRelease', msg: indication('masterSlaveDeterminationRelease', {}) },
    { name: 'terminalCapabilitySetRelease', msg: indication('terminalCapabilitySetRelease', {}) },
    { name: 'openLogicalChannelConfirm', msg: indication('openLogicalChannelConfirm', { forwardLogicalChannelNumber: 7 }) },
    { name: 'requestChannelCloseRelease', msg: indication('requestChannelCloseRelease', { forwardLogicalChannelNumber: 7 }) },
    { name: 'multiplexEntrySendRelease', msg: indication('multiplexEntrySendRelease', { multiplexTableEntryNumber: [1] }) },
    { name: 'requestMultiplexEntryRelease', msg: indication('requestMultiplexEntryRelease', { entryNumbers: [1] }) },
    { name: 'requestModeRelease', msg: indication('requestModeRelease', {}) },
    { name: 'miscellaneousIndication', msg: indication('miscellaneousIndication', { logicalChannelNumber: 101, type: { choice: 'logicalChannelInactive', value: null } }) },
    {
      name: 'jitterIndication',
      msg: indication('jitterIndication', { scope: { choice: 'wholeMultiplex', value: null }, estimatedReceivedJitterMantissa: 2, estimatedReceivedJitterExponent: 3, skippedFrameCount: 1 }),
    },
    { name: 'h223SkewIndication', msg: indication('h223SkewIndication', { logicalChannelNumber1: 1, logicalChannelNumber2: 2, skew: 40 }) },
    { name: 'h2250MaximumSkewIndication', msg: indication('h2250MaximumSkewIndication', { logicalChannelNumber1: 1, logicalChannelNumber2: 2, maximumSkew: 80 }) },
    { name: 'mcLocationIndication', msg: indication('mcLocationIndication', { signalAddress: h245Address('10.0.0.9', 1720) }) },
    {
      name: 'vendorIdentification',
      msg: indication('vendorIdentification', { vendor: { choice: 'h221NonStandard', value: { t35CountryCode: 9, t35Extension: 0, manufacturerCode: 61 } }, productNumber: text('gw'), versionNumber: text('1') }),
    },
    { name: 'functionNotSupported', msg: indication('functionNotSupported', { cause: { choice: 'unknownFunction', value: null }, returnedFunction: Uint8Array.of(0x20, 0x80) }) },
    {
      name: 'flowControlIndication',
      msg: indication('flowControlIndication', { scope: { choice: 'resourceID', value: 1 }, restriction: { choice: 'noRestriction', value: null } }),
    },
    { name: 'userInput', msg: indication('userInput', { choice: 'signalUpdate', value: { duration: 250 } }) },
    { name: 'userInput', msg: indication('userInput', { choice: 'userInputSupportIndication', value: { choice: 'basicString', value: null } }) },
    { name: 'userInput', msg: indication('userInput', { choice: 'extendedAlphanumeric', value: { alphanumeric: text('42') } }) },
    {
      name: 'genericIndication',
      msg: indication('genericIndication', {
        messageIdentifier: { choice: 'standard', value: '0.0.8.460.18' },
        messageContent: [{ parameterIdentifier: { choice: 'standard', value: 1 }, parameterValue: { choice: 'unsigned32Max', value: 7 } }],
      }),
    },
    {
      name: 'closeLogicalChannel',
      msg: request('closeLogicalChannel', { forwardLogicalChannelNumber: 101, source: { choice: 'lcse', value: null }, reason: { choice: 'reopen', value: null } }),
    },
  ];
}
