/**
 * H.245 MultimediaSystemControlMessage (MULTIMEDIA-SYSTEM-CONTROL) as PER schemas.
 *
 * Modelled: everything an H.323 audio/video call uses (capability exchange with audio, video,
 * data and user-input capabilities, generic capabilities such as H.264, master/slave
 * determination, logical channels with H.225.0 parameters, user input, round-trip delay,
 * end session, misc commands/indications, vendor identification, function not understood /
 * supported). Kept as raw bytes: extension additions and extension alternatives we do not model
 * (they re-encode byte-exact). Not modelled and refused with a PerDecodeError: H.222/H.223/V.76
 * multiplex capabilities and parameters, MultiplexEntrySend, RequestMode, NewATMVCIndication
 * (H.324/ATM only; never sent on H.323).
 *
 * GeneralString values (alphanumeric user input, audioTelephoneEvent) are octet strings in PER
 * (not a known-multiplier character string): they are Uint8Array here; see text() in messages.ts.
 */
import {
  BOOLEAN,
  NULL,
  OID,
  charString,
  choice,
  extChoice,
  extSequence,
  integer,
  octetString,
  opaque,
  opt,
  ref,
  sequence,
  sequenceOf,
  size,
  type ChoiceSchema,
  type SequenceSchema,
  type UnknownAlternative,
  type ValueOf,
} from '../per/index.js';

const u8 = () => integer(0, 255);
const u16 = () => integer(0, 65535);
const u32 = () => integer(0, 4294967295);
/** GeneralString: octets in aligned PER. */
const GeneralString = () => octetString();

// --- non-standard ----------------------------------------------------------------------------

export const NonStandardIdentifier = choice({
  object: OID,
  h221NonStandard: sequence({ t35CountryCode: u8(), t35Extension: u8(), manufacturerCode: u16() }),
});
export const NonStandardParameter = sequence({ nonStandardIdentifier: NonStandardIdentifier, data: octetString() });
export const NonStandardMessage = extSequence({ nonStandardData: NonStandardParameter });
const nsList = () => opt(sequenceOf(NonStandardParameter));

// --- generic capabilities / messages (recursive through ParameterValue.genericParameter) -------

export type NonStandardParameterValue = ValueOf<typeof NonStandardParameter>;
export type ParameterIdentifierValue =
  | { choice: 'standard'; value: number }
  | { choice: 'h221NonStandard'; value: NonStandardParameterValue }
  | { choice: 'uuid'; value: Uint8Array }
  | { choice: 'domainBased'; value: string }
  | UnknownAlternative;
export type ParameterValueValue =
  | { choice: 'logical'; value: null }
  | { choice: 'booleanArray'; value: number }
  | { choice: 'unsignedMin'; value: number }
  | { choice: 'unsignedMax'; value: number }
  | { choice: 'unsigned32Min'; value: number }
  | { choice: 'unsigned32Max'; value: number }
  | { choice: 'octetString'; value: Uint8Array }
  | { choice: 'genericParameter'; value: GenericParameterValue[] }
  | UnknownAlternative;
export interface GenericParameterValue {
  parameterIdentifier: ParameterIdentifierValue;
  parameterValue: ParameterValueValue;
  supersedes?: ParameterIdentifierValue[];
}

export const CapabilityIdentifier = extChoice({
  standard: OID,
  h221NonStandard: NonStandardParameter,
  uuid: octetString(size(16)),
  domainBased: charString('IA5', size(1, 64)),
});
export const ParameterIdentifier: ChoiceSchema<ParameterIdentifierValue> = extChoice({
  standard: integer(0, 127),
  h221NonStandard: NonStandardParameter,
  uuid: octetString(size(16)),
  domainBased: charString('IA5', size(1, 64)),
});
export const ParameterValue: ChoiceSchema<ParameterValueValue> = extChoice({
  logical: NULL,
  booleanArray: u8(),
  unsignedMin: u16(),
  unsignedMax: u16(),
  unsigned32Min: u32(),
  unsigned32Max: u32(),
  octetString: octetString(),
  genericParameter: sequenceOf(ref<GenericParameterValue>(() => GenericParameter)),
});
export const GenericParameter: SequenceSchema<GenericParameterValue> = extSequence({
  parameterIdentifier: ParameterIdentifier,
  parameterValue: ParameterValue,
  supersedes: opt(sequenceOf(ParameterIdentifier)),
});
const params = () => opt(sequenceOf(GenericParameter));

export const GenericMessage = extSequence({
  messageIdentifier: CapabilityIdentifier,
  subMessageIdentifier: opt(integer(0, 127)),
  messageContent: params(),
});
const genericInformation = () => opt(sequenceOf(GenericMessage));

// --- data protocols (needed by DataApplicationCapability and GenericCapability.transport) ------

export const DataProtocolCapability = extChoice(
  {
    nonStandard: NonStandardParameter,
    v14buffered: NULL,
    v42lapm: NULL,
    hdlcFrameTunnelling: NULL,
    h310SeparateVCStack: NULL,
    h310SingleVCStack: NULL,
    transparent: NULL,
  },
  {
    segmentationAndReassembly: NULL,
    hdlcFrameTunnelingwSAR: NULL,
    v120: NULL,
    separateLANStack: NULL,
    v76wCompression: opaque('v76wCompression'),
    tcp: NULL,
    udp: NULL,
    sctp: opaque('SctpParam'),
    'udp-dtls-sctp': opaque('SEQUENCE OF SctpParam'),
    'tcp-dtls-sctp': opaque('SEQUENCE OF SctpParam'),
    'sctp-dtls': opaque('SctpParam'),
  },
);

export const GenericCapability = extSequence({
  capabilityIdentifier: CapabilityIdentifier,
  maxBitRate: opt(u32()),
  collapsing: params(),
  nonCollapsing: params(),
  nonCollapsingRaw: opt(octetString()),
  transport: opt(DataProtocolCapability),
});

export const T84Profile = choice({
  t84Unrestricted: NULL,
  t84Restricted: extSequence({
    qcif: BOOLEAN,
    cif: BOOLEAN,
    ccir601Seq: BOOLEAN,
    ccir601Prog: BOOLEAN,
    hdtvSeq: BOOLEAN,
    hdtvProg: BOOLEAN,
    g3FacsMH200x100: BOOLEAN,
    g3FacsMH200x200: BOOLEAN,
    g4FacsMMR200x100: BOOLEAN,
    g4FacsMMR200x200: BOOLEAN,
    jbig200x200Seq: BOOLEAN,
    jbig200x200Prog: BOOLEAN,
    jbig300x300Seq: BOOLEAN,
    jbig300x300Prog: BOOLEAN,
    digPhotoLow: BOOLEAN,
    digPhotoMedSeq: BOOLEAN,
    digPhotoMedProg: BOOLEAN,
    digPhotoHighSeq: BOOLEAN,
    digPhotoHighProg: BOOLEAN,
  }),
});

export const T38FaxProfile = extSequence(
  { fillBitRemoval: BOOLEAN, transcodingJBIG: BOOLEAN, transcodingMMR: BOOLEAN },
  {
    version: u8(),
    t38FaxRateManagement: extChoice({ localTCF: NULL, transferredTCF: NULL }),
    t38FaxUdpOptions: opt(
      sequence({
        t38FaxMaxBuffer: opt(integer()),
        t38FaxMaxDatagram: opt(integer()),
        t38FaxUdpEC: extChoice({ t38UDPFEC: NULL, t38UDPRedundancy: NULL }),
      }),
    ),
    t38FaxTcpOptions: opt(extSequence({ t38TCPBidirectionalMode: BOOLEAN })),
  },
);

export const DataApplicationCapability = extSequence({
  application: extChoice(
    {
      nonStandard: NonStandardParameter,
      t120: DataProtocolCapability,
      'dsm-cc': DataProtocolCapability,
      userData: DataProtocolCapability,
      t84: sequence({ t84Protocol: DataProtocolCapability, t84Profile: T84Profile }),
      t434: DataProtocolCapability,
      h224: DataProtocolCapability,
      nlpid: sequence({ nlpidProtocol: DataProtocolCapability, nlpidData: octetString() }),
      dsvdControl: NULL,
      h222DataPartitioning: DataProtocolCapability,
    },
    {
      t30fax: DataProtocolCapability,
      t140: DataProtocolCapability,
      t38fax: sequence({ t38FaxProtocol: DataProtocolCapability, t38FaxProfile: T38FaxProfile }),
      genericDataCapability: GenericCapability,
      dataChannel: opaque('SEQUENCE OF DataChannel'),
      extendedDataCapability: opaque('ExtendedDataCapability'),
    },
  ),
  maxBitRate: u32(),
});

// --- multiplex capability (H.225.0 only) --------------------------------------------------------

export const MediaDistributionCapability = extSequence({
  centralizedControl: BOOLEAN,
  distributedControl: BOOLEAN,
  centralizedAudio: BOOLEAN,
  distributedAudio: BOOLEAN,
  centralizedVideo: BOOLEAN,
  distributedVideo: BOOLEAN,
  centralizedData: opt(sequenceOf(DataApplicationCapability)),
  distributedData: opt(sequenceOf(DataApplicationCapability)),
});
export const MultipointCapability = extSequence({
  multicastCapability: BOOLEAN,
  multiUniCastConference: BOOLEAN,
  mediaDistributionCapability: sequenceOf(MediaDistributionCapability),
});

export const RTPPayloadType = extSequence({
  payloadDescriptor: extChoice({
    nonStandardIdentifier: NonStandardParameter,
    'rfc-number': integer(1, 32768, true),
    oid: OID,
  }),
  payloadType: opt(integer(0, 127)),
});

export const MediaPacketizationCapability = extSequence(
  { h261aVideoPacketization: BOOLEAN },
  { rtpPayloadType: opt(sequenceOf(RTPPayloadType, size(1, 256))) },
);

export const H2250Capability = extSequence(
  {
    maximumAudioDelayJitter: integer(0, 1023),
    receiveMultipointCapability: MultipointCapability,
    transmitMultipointCapability: MultipointCapability,
    receiveAndTransmitMultipointCapability: MultipointCapability,
    mcCapability: extSequence({ centralizedConferenceMC: BOOLEAN, decentralizedConferenceMC: BOOLEAN }),
    rtcpVideoControlCapability: BOOLEAN,
    mediaPacketizationCapability: MediaPacketizationCapability,
  },
  {
    transportCapability: opt(opaque('TransportCapability')),
    redundancyEncodingCapability: opt(opaque('SEQUENCE OF RedundancyEncodingCapability')),
    logicalChannelSwitchingCapability: BOOLEAN,
    t120DynamicPortCapability: BOOLEAN,
  },
);

export const MultiplexCapability = extChoice(
  {
    nonStandard: NonStandardParameter,
    h222Capability: opaque('H222Capability'),
    h223Capability: opaque('H223Capability'),
    v76Capability: opaque('V76Capability'),
  },
  { h2250Capability: H2250Capability, genericMultiplexCapability: GenericCapability },
);

// --- video ---------------------------------------------------------------------------------------

export const H261VideoCapability = extSequence(
  {
    qcifMPI: opt(integer(1, 4)),
    cifMPI: opt(integer(1, 4)),
    temporalSpatialTradeOffCapability: BOOLEAN,
    maxBitRate: integer(1, 19200),
    stillImageTransmission: BOOLEAN,
  },
  { videoBadMBsCap: BOOLEAN },
);

export const H262VideoCapability = extSequence(
  {
    'profileAndLevel-SPatML': BOOLEAN,
    'profileAndLevel-MPatLL': BOOLEAN,
    'profileAndLevel-MPatML': BOOLEAN,
    'profileAndLevel-MPatH-14': BOOLEAN,
    'profileAndLevel-MPatHL': BOOLEAN,
    'profileAndLevel-SNRatLL': BOOLEAN,
    'profileAndLevel-SNRatML': BOOLEAN,
    'profileAndLevel-SpatialatH-14': BOOLEAN,
    'profileAndLevel-HPatML': BOOLEAN,
    'profileAndLevel-HPatH-14': BOOLEAN,
    'profileAndLevel-HPatHL': BOOLEAN,
    videoBitRate: opt(integer(0, 1073741823)),
    vbvBufferSize: opt(integer(0, 262143)),
    samplesPerLine: opt(integer(0, 16383)),
    linesPerFrame: opt(integer(0, 16383)),
    framesPerSecond: opt(integer(0, 15)),
    luminanceSampleRate: opt(u32()),
  },
  { videoBadMBsCap: BOOLEAN },
);

const mpi = () => opt(integer(1, 32));
const slowMpi = () => opt(integer(1, 3600));
export const H263VideoCapability = extSequence(
  {
    sqcifMPI: mpi(),
    qcifMPI: mpi(),
    cifMPI: mpi(),
    cif4MPI: mpi(),
    cif16MPI: mpi(),
    maxBitRate: integer(1, 192400),
    unrestrictedVector: BOOLEAN,
    arithmeticCoding: BOOLEAN,
    advancedPrediction: BOOLEAN,
    pbFrames: BOOLEAN,
    temporalSpatialTradeOffCapability: BOOLEAN,
    'hrd-B': opt(integer(0, 524287)),
    bppMaxKb: opt(u16()),
  },
  {
    slowSqcifMPI: slowMpi(),
    slowQcifMPI: slowMpi(),
    slowCifMPI: slowMpi(),
    slowCif4MPI: slowMpi(),
    slowCif16MPI: slowMpi(),
    errorCompensation: BOOLEAN,
    enhancementLayerInfo: opt(opaque('EnhancementLayerInfo')),
    h263Options: opt(opaque('H263Options')),
  },
);

export const IS11172VideoCapability = extSequence(
  {
    constrainedBitstream: BOOLEAN,
    videoBitRate: opt(integer(0, 1073741823)),
    vbvBufferSize: opt(integer(0, 262143)),
    samplesPerLine: opt(integer(0, 16383)),
    linesPerFrame: opt(integer(0, 16383)),
    pictureRate: opt(integer(0, 15)),
    luminanceSampleRate: opt(u32()),
  },
  { videoBadMBsCap: BOOLEAN },
);

export const VideoCapability = extChoice(
  {
    nonStandard: NonStandardParameter,
    h261VideoCapability: H261VideoCapability,
    h262VideoCapability: H262VideoCapability,
    h263VideoCapability: H263VideoCapability,
    is11172VideoCapability: IS11172VideoCapability,
  },
  { genericVideoCapability: GenericCapability, extendedVideoCapability: opaque('ExtendedVideoCapability') },
);

// --- audio ---------------------------------------------------------------------------------------

const frames = () => integer(1, 256);
export const IS11172AudioCapability = extSequence({
  audioLayer1: BOOLEAN,
  audioLayer2: BOOLEAN,
  audioLayer3: BOOLEAN,
  audioSampling32k: BOOLEAN,
  audioSampling44k1: BOOLEAN,
  audioSampling48k: BOOLEAN,
  singleChannel: BOOLEAN,
  twoChannels: BOOLEAN,
  bitRate: integer(1, 448),
});
export const IS13818AudioCapability = extSequence({
  audioLayer1: BOOLEAN,
  audioLayer2: BOOLEAN,
  audioLayer3: BOOLEAN,
  audioSampling16k: BOOLEAN,
  audioSampling22k05: BOOLEAN,
  audioSampling24k: BOOLEAN,
  audioSampling32k: BOOLEAN,
  audioSampling44k1: BOOLEAN,
  audioSampling48k: BOOLEAN,
  singleChannel: BOOLEAN,
  twoChannels: BOOLEAN,
  'threeChannels2-1': BOOLEAN,
  'threeChannels3-0': BOOLEAN,
  'fourChannels2-0-2-0': BOOLEAN,
  'fourChannels2-2': BOOLEAN,
  'fourChannels3-1': BOOLEAN,
  'fiveChannels3-0-2-0': BOOLEAN,
  'fiveChannels3-2': BOOLEAN,
  lowFrequencyEnhancement: BOOLEAN,
  multilingual: BOOLEAN,
  bitRate: integer(1, 1130),
});
export const GSMAudioCapability = extSequence({ audioUnitSize: frames(), comfortNoise: BOOLEAN, scrambled: BOOLEAN });
export const G729Extensions = extSequence({
  audioUnit: opt(frames()),
  annexA: BOOLEAN,
  annexB: BOOLEAN,
  annexD: BOOLEAN,
  annexE: BOOLEAN,
  annexF: BOOLEAN,
  annexG: BOOLEAN,
  annexH: BOOLEAN,
});

export const AudioCapability = extChoice(
  {
    nonStandard: NonStandardParameter,
    g711Alaw64k: frames(),
    g711Alaw56k: frames(),
    g711Ulaw64k: frames(),
    g711Ulaw56k: frames(),
    'g722-64k': frames(),
    'g722-56k': frames(),
    'g722-48k': frames(),
    g7231: sequence({ 'maxAl-sduAudioFrames': frames(), silenceSuppression: BOOLEAN }),
    g728: frames(),
    g729: frames(),
    g729AnnexA: frames(),
    is11172AudioCapability: IS11172AudioCapability,
    is13818AudioCapability: IS13818AudioCapability,
  },
  {
    g729wAnnexB: frames(),
    g729AnnexAwAnnexB: frames(),
    g7231AnnexCCapability: opaque('G7231AnnexCCapability'),
    gsmFullRate: GSMAudioCapability,
    gsmHalfRate: GSMAudioCapability,
    gsmEnhancedFullRate: GSMAudioCapability,
    genericAudioCapability: GenericCapability,
    g729Extensions: G729Extensions,
    vbd: opaque('VBDCapability'),
    audioTelephonyEvent: opaque('NoPTAudioTelephonyEventCapability'),
    audioTone: opaque('NoPTAudioToneCapability'),
    extendedAudioCapability: opaque('ExtendedAudioCapability'),
  },
);

// --- user input, conference, capability table -------------------------------------------------

export const UserInputCapability = extChoice(
  {
    nonStandard: sequenceOf(NonStandardParameter, size(1, 16)),
    basicString: NULL,
    iA5String: NULL,
    generalString: NULL,
    dtmf: NULL,
    hookflash: NULL,
  },
  {
    extendedAlphanumeric: NULL,
    encryptedBasicString: NULL,
    encryptedIA5String: NULL,
    encryptedGeneralString: NULL,
    secureDTMF: NULL,
    genericUserInputCapability: GenericCapability,
  },
);

export const ConferenceCapability = extSequence(
  { nonStandardData: nsList(), chairControlCapability: BOOLEAN },
  { videoIndicateMixingCapability: BOOLEAN, multipointVisualizationCapability: opt(BOOLEAN) },
);

export const AudioTelephonyEventCapability = extSequence({
  dynamicRTPPayloadType: integer(96, 127),
  audioTelephoneEvent: GeneralString(),
});
export const AudioToneCapability = extSequence({ dynamicRTPPayloadType: integer(96, 127) });

export const CapabilityTableEntryNumber = integer(1, 65535);
export const AlternativeCapabilitySet = sequenceOf(CapabilityTableEntryNumber, size(1, 256));

export const Capability = extChoice(
  {
    nonStandard: NonStandardParameter,
    receiveVideoCapability: VideoCapability,
    transmitVideoCapability: VideoCapability,
    receiveAndTransmitVideoCapability: VideoCapability,
    receiveAudioCapability: AudioCapability,
    transmitAudioCapability: AudioCapability,
    receiveAndTransmitAudioCapability: AudioCapability,
    receiveDataApplicationCapability: DataApplicationCapability,
    transmitDataApplicationCapability: DataApplicationCapability,
    receiveAndTransmitDataApplicationCapability: DataApplicationCapability,
    h233EncryptionTransmitCapability: BOOLEAN,
    h233EncryptionReceiveCapability: extSequence({ h233IVResponseTime: u8() }),
  },
  {
    conferenceCapability: ConferenceCapability,
    h235SecurityCapability: opaque('H235SecurityCapability'),
    maxPendingReplacementFor: u8(),
    receiveUserInputCapability: UserInputCapability,
    transmitUserInputCapability: UserInputCapability,
    receiveAndTransmitUserInputCapability: UserInputCapability,
    genericControlCapability: GenericCapability,
    receiveMultiplexedStreamCapability: opaque('MultiplexedStreamCapability'),
    transmitMultiplexedStreamCapability: opaque('MultiplexedStreamCapability'),
    receiveAndTransmitMultiplexedStreamCapability: opaque('MultiplexedStreamCapability'),
    receiveRTPAudioTelephonyEventCapability: AudioTelephonyEventCapability,
    receiveRTPAudioToneCapability: AudioToneCapability,
    depFecCapability: opaque('DepFECCapability'),
    multiplePayloadStreamCapability: opaque('MultiplePayloadStreamCapability'),
    fecCapability: opaque('FECCapability'),
    redundancyEncodingCap: opaque('RedundancyEncodingCapability'),
    oneOfCapabilities: AlternativeCapabilitySet,
  },
);

export const CapabilityTableEntry = sequence({ capabilityTableEntryNumber: CapabilityTableEntryNumber, capability: opt(Capability) });
export const CapabilityDescriptor = sequence({
  capabilityDescriptorNumber: u8(),
  simultaneousCapabilities: opt(sequenceOf(AlternativeCapabilitySet, size(1, 256))),
});

// --- capability exchange and master/slave messages ---------------------------------------------

export const SequenceNumber = u8();
export const H245_PROTOCOL_ID_V15 = '0.0.8.245.0.15';

export const TerminalCapabilitySet = extSequence(
  {
    sequenceNumber: SequenceNumber,
    protocolIdentifier: OID,
    multiplexCapability: opt(MultiplexCapability),
    capabilityTable: opt(sequenceOf(CapabilityTableEntry, size(1, 256))),
    capabilityDescriptors: opt(sequenceOf(CapabilityDescriptor, size(1, 256))),
  },
  { genericInformation: genericInformation() },
);
export const TerminalCapabilitySetAck = extSequence({ sequenceNumber: SequenceNumber }, { genericInformation: genericInformation() });
export const TerminalCapabilitySetReject = extSequence(
  {
    sequenceNumber: SequenceNumber,
    cause: extChoice({
      unspecified: NULL,
      undefinedTableEntryUsed: NULL,
      descriptorCapacityExceeded: NULL,
      tableEntryCapacityExceeded: choice({ highestEntryNumberProcessed: CapabilityTableEntryNumber, noneProcessed: NULL }),
    }),
  },
  { genericInformation: genericInformation() },
);
export const TerminalCapabilitySetRelease = extSequence({}, { genericInformation: genericInformation() });

export const MasterSlaveDetermination = extSequence({ terminalType: u8(), statusDeterminationNumber: integer(0, 16777215) });
export const MasterSlaveDeterminationAck = extSequence({ decision: choice({ master: NULL, slave: NULL }) });
export const MasterSlaveDeterminationReject = extSequence({ cause: extChoice({ identicalNumbers: NULL }) });
export const MasterSlaveDeterminationRelease = extSequence({});

// --- logical channels --------------------------------------------------------------------------

export const LogicalChannelNumber = integer(1, 65535);

const ipv4 = () => extSequence({ network: octetString(size(4)), tsapIdentifier: u16() });
const ipv6 = () => extSequence({ network: octetString(size(16)), tsapIdentifier: u16() });
export const UnicastAddress = extChoice(
  {
    iPAddress: ipv4(),
    iPXAddress: extSequence({ node: octetString(size(6)), netnum: octetString(size(4)), tsapIdentifier: octetString(size(2)) }),
    iP6Address: ipv6(),
    netBios: octetString(size(16)),
    iPSourceRouteAddress: extSequence({
      routing: choice({ strict: NULL, loose: NULL }),
      network: octetString(size(4)),
      tsapIdentifier: u16(),
      route: sequenceOf(octetString(size(4))),
    }),
  },
  { nsap: octetString(size(1, 20)), nonStandardAddress: NonStandardParameter },
);
export const MulticastAddress = extChoice(
  { iPAddress: ipv4(), iP6Address: ipv6() },
  { nsap: octetString(size(1, 20)), nonStandardAddress: NonStandardParameter },
);
/** H.245 TransportAddress (not the H.225.0 one). */
export const H245TransportAddress = extChoice({ unicastAddress: UnicastAddress, multicastAddress: MulticastAddress });

export const TerminalLabel = extSequence({ mcuNumber: integer(0, 192), terminalNumber: integer(0, 192) });

export const EncryptionMode = extChoice({ nonStandard: NonStandardParameter, h233Encryption: NULL });

export const DataType = extChoice(
  {
    nonStandard: NonStandardParameter,
    nullData: NULL,
    videoData: VideoCapability,
    audioData: AudioCapability,
    data: DataApplicationCapability,
    encryptionData: EncryptionMode,
  },
  {
    h235Control: NonStandardParameter,
    h235Media: opaque('H235Media'),
    multiplexedStream: opaque('MultiplexedStreamParameter'),
    redundancyEncoding: opaque('RedundancyEncoding'),
    multiplePayloadStream: opaque('MultiplePayloadStream'),
    depFec: opaque('DepFECData'),
    fec: opaque('FECData'),
  },
);

export const H2250LogicalChannelParameters = extSequence(
  {
    nonStandard: nsList(),
    sessionID: u8(),
    associatedSessionID: opt(integer(1, 255)),
    mediaChannel: opt(H245TransportAddress),
    mediaGuaranteedDelivery: opt(BOOLEAN),
    mediaControlChannel: opt(H245TransportAddress),
    mediaControlGuaranteedDelivery: opt(BOOLEAN),
    silenceSuppression: opt(BOOLEAN),
    destination: opt(TerminalLabel),
    dynamicRTPPayloadType: opt(integer(96, 127)),
    mediaPacketization: opt(extChoice({ h261aVideoPacketization: NULL }, { rtpPayloadType: RTPPayloadType })),
  },
  {
    transportCapability: opt(opaque('TransportCapability')),
    redundancyEncoding: opt(opaque('RedundancyEncoding')),
    source: opt(TerminalLabel),
    nominalAudioLevel: opt(integer(0, 63)),
  },
);

export const H222LogicalChannelParameters = extSequence({
  resourceID: u16(),
  subChannelID: integer(0, 8191),
  'pcr-pid': opt(integer(0, 8191)),
  programDescriptors: opt(octetString()),
  streamDescriptors: opt(octetString()),
});

export const OpenLogicalChannel = extSequence(
  {
    forwardLogicalChannelNumber: LogicalChannelNumber,
    forwardLogicalChannelParameters: extSequence(
      {
        portNumber: opt(u16()),
        dataType: DataType,
        multiplexParameters: extChoice(
          {
            h222LogicalChannelParameters: H222LogicalChannelParameters,
            h223LogicalChannelParameters: opaque('H223LogicalChannelParameters'),
            v76LogicalChannelParameters: opaque('V76LogicalChannelParameters'),
          },
          { h2250LogicalChannelParameters: H2250LogicalChannelParameters, none: NULL },
        ),
      },
      { forwardLogicalChannelDependency: opt(LogicalChannelNumber), replacementFor: opt(LogicalChannelNumber) },
    ),
    reverseLogicalChannelParameters: opt(
      extSequence(
        {
          dataType: DataType,
          multiplexParameters: opt(
            extChoice(
              {
                h223LogicalChannelParameters: opaque('H223LogicalChannelParameters'),
                v76LogicalChannelParameters: opaque('V76LogicalChannelParameters'),
              },
              { h2250LogicalChannelParameters: H2250LogicalChannelParameters },
            ),
          ),
        },
        { reverseLogicalChannelDependency: opt(LogicalChannelNumber), replacementFor: opt(LogicalChannelNumber) },
      ),
    ),
  },
  {
    separateStack: opt(opaque('NetworkAccessParameters')),
    encryptionSync: opt(opaque('EncryptionSync')),
    genericInformation: genericInformation(),
  },
);

export const H2250LogicalChannelAckParameters = extSequence(
  {
    nonStandard: nsList(),
    sessionID: opt(integer(1, 255)),
    mediaChannel: opt(H245TransportAddress),
    mediaControlChannel: opt(H245TransportAddress),
    dynamicRTPPayloadType: opt(integer(96, 127)),
  },
  {
    flowControlToZero: BOOLEAN,
    portNumber: opt(u16()),
    multiplePayloadStream: opt(opaque('MultiplePayloadStream')),
  },
);

export const OpenLogicalChannelAck = extSequence(
  {
    forwardLogicalChannelNumber: LogicalChannelNumber,
    reverseLogicalChannelParameters: opt(
      extSequence(
        {
          reverseLogicalChannelNumber: LogicalChannelNumber,
          portNumber: opt(u16()),
          multiplexParameters: opt(
            extChoice(
              { h222LogicalChannelParameters: H222LogicalChannelParameters },
              { h2250LogicalChannelParameters: H2250LogicalChannelParameters },
            ),
          ),
        },
        { replacementFor: opt(LogicalChannelNumber) },
      ),
    ),
  },
  {
    separateStack: opt(opaque('NetworkAccessParameters')),
    forwardMultiplexAckParameters: opt(extChoice({ h2250LogicalChannelAckParameters: H2250LogicalChannelAckParameters })),
    encryptionSync: opt(opaque('EncryptionSync')),
    genericInformation: genericInformation(),
    dtlsSecurityCapability: opt(opaque('DTLSSecurityCapability')),
  },
);

export const OpenLogicalChannelRejectCause = extChoice(
  {
    unspecified: NULL,
    unsuitableReverseParameters: NULL,
    dataTypeNotSupported: NULL,
    dataTypeNotAvailable: NULL,
    unknownDataType: NULL,
    dataTypeALCombinationNotSupported: NULL,
  },
  {
    multicastChannelNotAllowed: NULL,
    insufficientBandwidth: NULL,
    separateStackEstablishmentFailed: NULL,
    invalidSessionID: NULL,
    masterSlaveConflict: NULL,
    waitForCommunicationMode: NULL,
    invalidDependentChannel: NULL,
    replacementForRejected: NULL,
    securityDenied: NULL,
    qoSControlNotSupported: NULL,
  },
);
export const OpenLogicalChannelReject = extSequence(
  { forwardLogicalChannelNumber: LogicalChannelNumber, cause: OpenLogicalChannelRejectCause },
  { genericInformation: genericInformation() },
);
export const OpenLogicalChannelConfirm = extSequence(
  { forwardLogicalChannelNumber: LogicalChannelNumber },
  { genericInformation: genericInformation() },
);

export const CloseLogicalChannel = extSequence(
  { forwardLogicalChannelNumber: LogicalChannelNumber, source: choice({ user: NULL, lcse: NULL }) },
  { reason: extChoice({ unknown: NULL, reopen: NULL, reservationFailure: NULL }, { networkErrorCode: u8() }) },
);
export const CloseLogicalChannelAck = extSequence({ forwardLogicalChannelNumber: LogicalChannelNumber });

export const RequestChannelClose = extSequence(
  { forwardLogicalChannelNumber: LogicalChannelNumber },
  {
    qosCapability: opt(opaque('QOSCapability')),
    reason: extChoice({ unknown: NULL, normal: NULL, reopen: NULL, reservationFailure: NULL }, { networkErrorCode: u8() }),
  },
);
export const RequestChannelCloseAck = extSequence({ forwardLogicalChannelNumber: LogicalChannelNumber });
export const RequestChannelCloseReject = extSequence({
  forwardLogicalChannelNumber: LogicalChannelNumber,
  cause: extChoice({ unspecified: NULL }),
});
export const RequestChannelCloseRelease = extSequence({ forwardLogicalChannelNumber: LogicalChannelNumber });

// --- H.223 multiplex table (only the simple acknowledgements are modelled) ---------------------

const entryNumbers = () => sequenceOf(integer(1, 15), size(1, 15));
export const MultiplexEntrySendAck = extSequence({ sequenceNumber: SequenceNumber, multiplexTableEntryNumber: entryNumbers() });
export const MultiplexEntrySendReject = extSequence({
  sequenceNumber: SequenceNumber,
  rejectionDescriptions: sequenceOf(
    extSequence({ multiplexTableEntryNumber: integer(1, 15), cause: extChoice({ unspecifiedCause: NULL, descriptorTooComplex: NULL }) }),
    size(1, 15),
  ),
});
export const MultiplexEntrySendRelease = extSequence({ multiplexTableEntryNumber: entryNumbers() });
export const RequestMultiplexEntry = extSequence({ entryNumbers: entryNumbers() });
export const RequestMultiplexEntryAck = extSequence({ entryNumbers: entryNumbers() });
export const RequestMultiplexEntryReject = extSequence({
  entryNumbers: entryNumbers(),
  rejectionDescriptions: sequenceOf(
    extSequence({ multiplexTableEntryNumber: integer(1, 15), cause: extChoice({ unspecifiedCause: NULL }) }),
    size(1, 15),
  ),
});
export const RequestMultiplexEntryRelease = extSequence({ entryNumbers: entryNumbers() });

// --- request mode (responses only), round trip, maintenance loop --------------------------------

export const RequestModeAck = extSequence({
  sequenceNumber: SequenceNumber,
  response: extChoice({ willTransmitMostPreferredMode: NULL, willTransmitLessPreferredMode: NULL }),
});
export const RequestModeReject = extSequence({
  sequenceNumber: SequenceNumber,
  cause: extChoice({ modeUnavailable: NULL, multipointConstraint: NULL, requestDenied: NULL }),
});
export const RequestModeRelease = extSequence({});

export const RoundTripDelayRequest = extSequence({ sequenceNumber: SequenceNumber });
export const RoundTripDelayResponse = extSequence({ sequenceNumber: SequenceNumber });

const loopType = () => extChoice({ systemLoop: NULL, mediaLoop: LogicalChannelNumber, logicalChannelLoop: LogicalChannelNumber });
export const MaintenanceLoopRequest = extSequence({ type: loopType() });
export const MaintenanceLoopAck = extSequence({ type: loopType() });
export const MaintenanceLoopReject = extSequence({ type: loopType(), cause: extChoice({ canNotPerformLoop: NULL }) });
export const MaintenanceLoopOffCommand = extSequence({});

// --- commands ------------------------------------------------------------------------------------

export const SendTerminalCapabilitySet = extChoice({
  specificRequest: extSequence({
    multiplexCapability: BOOLEAN,
    capabilityTableEntryNumbers: opt(sequenceOf(CapabilityTableEntryNumber, size(1, 65535))),
    capabilityDescriptorNumbers: opt(sequenceOf(u8(), size(1, 256))),
  }),
  genericRequest: NULL,
});

export const EncryptionCommand = extChoice({
  encryptionSE: octetString(),
  encryptionIVRequest: NULL,
  encryptionAlgorithmID: sequence({ h233AlgorithmIdentifier: SequenceNumber, associatedAlgorithm: NonStandardParameter }),
});

const flowScope = () => choice({ logicalChannelNumber: LogicalChannelNumber, resourceID: u16(), wholeMultiplex: NULL });
const flowRestriction = () => choice({ maximumBitRate: integer(0, 16777215), noRestriction: NULL });
export const FlowControlCommand = extSequence({ scope: flowScope(), restriction: flowRestriction() });

export const EndSessionCommand = extChoice(
  {
    nonStandard: NonStandardParameter,
    disconnect: NULL,
    gstnOptions: extChoice({ telephonyMode: NULL, v8bis: NULL, v34DSVD: NULL, v34DuplexFAX: NULL, v34H324: NULL }),
  },
  {
    isdnOptions: extChoice({ telephonyMode: NULL, v140: NULL, terminalOnHold: NULL }),
    genericInformation: sequenceOf(GenericMessage),
  },
);

export const MiscellaneousCommand = extSequence(
  {
    logicalChannelNumber: LogicalChannelNumber,
    type: extChoice(
      {
        equaliseDelay: NULL,
        zeroDelay: NULL,
        multipointModeCommand: NULL,
        cancelMultipointModeCommand: NULL,
        videoFreezePicture: NULL,
        videoFastUpdatePicture: NULL,
        videoFastUpdateGOB: sequence({ firstGOB: integer(0, 17), numberOfGOBs: integer(1, 18) }),
        videoTemporalSpatialTradeOff: integer(0, 31),
        videoSendSyncEveryGOB: NULL,
        videoSendSyncEveryGOBCancel: NULL,
      },
      {
        videoFastUpdateMB: extSequence({
          firstGOB: opt(u8()),
          firstMB: opt(integer(1, 8192)),
          numberOfMBs: integer(1, 8192),
        }),
        maxH223MUXPDUsize: integer(1, 65535),
        encryptionUpdate: opaque('EncryptionSync'),
        encryptionUpdateRequest: opaque('EncryptionUpdateRequest'),
        switchReceiveMediaOff: NULL,
        switchReceiveMediaOn: NULL,
        progressiveRefinementStart: opaque('progressiveRefinementStart'),
        progressiveRefinementAbortOne: NULL,
        progressiveRefinementAbortContinuous: NULL,
        videoBadMBs: opaque('videoBadMBs'),
        lostPicture: opaque('SEQUENCE OF PictureReference'),
        lostPartialPicture: opaque('lostPartialPicture'),
        recoveryReferencePicture: opaque('SEQUENCE OF PictureReference'),
        encryptionUpdateCommand: opaque('encryptionUpdateCommand'),
        encryptionUpdateAck: extSequence({ synchFlag: u8() }),
      },
    ),
  },
  { direction: opt(extChoice({ masterToSlave: NULL, slaveToMaster: NULL })) },
);

// --- indications ---------------------------------------------------------------------------------

export const FunctionNotSupported = extSequence({
  cause: extChoice({ syntaxError: NULL, semanticError: NULL, unknownFunction: NULL }),
  returnedFunction: opt(octetString()),
});

export const MiscellaneousIndication = extSequence({
  logicalChannelNumber: LogicalChannelNumber,
  type: extChoice(
    {
      logicalChannelActive: NULL,
      logicalChannelInactive: NULL,
      multipointConference: NULL,
      cancelMultipointConference: NULL,
      multipointZeroComm: NULL,
      cancelMultipointZeroComm: NULL,
      multipointSecondaryStatus: NULL,
      cancelMultipointSecondaryStatus: NULL,
      videoIndicateReadyToActivate: NULL,
      videoTemporalSpatialTradeOff: integer(0, 31),
    },
    {
      videoNotDecodedMBs: extSequence({ firstMB: integer(1, 8192), numberOfMBs: integer(1, 8192), temporalReference: u8() }),
      transportCapability: opaque('TransportCapability'),
    },
  ),
});

export const JitterIndication = extSequence({
  scope: flowScope(),
  estimatedReceivedJitterMantissa: integer(0, 3),
  estimatedReceivedJitterExponent: integer(0, 7),
  skippedFrameCount: opt(integer(0, 15)),
  additionalDecoderBuffer: opt(integer(0, 262143)),
});

export const H223SkewIndication = extSequence({
  logicalChannelNumber1: LogicalChannelNumber,
  logicalChannelNumber2: LogicalChannelNumber,
  skew: integer(0, 4095),
});
export const H2250MaximumSkewIndication = extSequence({
  logicalChannelNumber1: LogicalChannelNumber,
  logicalChannelNumber2: LogicalChannelNumber,
  maximumSkew: integer(0, 4095),
});
export const MCLocationIndication = extSequence({ signalAddress: H245TransportAddress });
export const VendorIdentification = extSequence({
  vendor: NonStandardIdentifier,
  productNumber: opt(octetString(size(1, 256))),
  versionNumber: opt(octetString(size(1, 256))),
});
export const FlowControlIndication = extSequence({ scope: flowScope(), restriction: flowRestriction() });

/** DTMF digits and the rest of the signalType alphabet. */
export const SIGNAL_ALPHABET = '0123456789#*ABCD!';

export const UserInputIndication = extChoice(
  { nonStandard: NonStandardParameter, alphanumeric: GeneralString() },
  {
    userInputSupportIndication: extChoice(
      { nonStandard: NonStandardParameter, basicString: NULL, iA5String: NULL, generalString: NULL },
      { encryptedBasicString: NULL, encryptedIA5String: NULL, encryptedGeneralString: NULL },
    ),
    signal: extSequence(
      {
        signalType: charString('IA5', size(1), SIGNAL_ALPHABET),
        duration: opt(integer(1, 65535)),
        rtp: opt(
          extSequence({
            timestamp: opt(u32()),
            expirationTime: opt(u32()),
            logicalChannelNumber: LogicalChannelNumber,
          }),
        ),
      },
      {
        rtpPayloadIndication: opt(NULL),
        paramS: opt(opaque('Params')),
        encryptedSignalType: opt(octetString(size(1))),
        algorithmOID: opt(OID),
      },
    ),
    signalUpdate: extSequence({
      duration: integer(1, 65535),
      rtp: opt(extSequence({ logicalChannelNumber: LogicalChannelNumber })),
    }),
    extendedAlphanumeric: extSequence(
      { alphanumeric: GeneralString(), rtpPayloadIndication: opt(NULL) },
      { encryptedAlphanumeric: opt(opaque('encryptedAlphanumeric')) },
    ),
    encryptedAlphanumeric: opaque('encryptedAlphanumeric'),
    genericInformation: sequenceOf(GenericMessage),
  },
);

// --- top level -----------------------------------------------------------------------------------

export const RequestMessage = extChoice(
  {
    nonStandard: NonStandardMessage,
    masterSlaveDetermination: MasterSlaveDetermination,
    terminalCapabilitySet: TerminalCapabilitySet,
    openLogicalChannel: OpenLogicalChannel,
    closeLogicalChannel: CloseLogicalChannel,
    requestChannelClose: RequestChannelClose,
    multiplexEntrySend: opaque('MultiplexEntrySend'),
    requestMultiplexEntry: RequestMultiplexEntry,
    requestMode: opaque('RequestMode'),
    roundTripDelayRequest: RoundTripDelayRequest,
    maintenanceLoopRequest: MaintenanceLoopRequest,
  },
  {
    communicationModeRequest: opaque('CommunicationModeRequest'),
    conferenceRequest: opaque('ConferenceRequest'),
    multilinkRequest: opaque('MultilinkRequest'),
    logicalChannelRateRequest: opaque('LogicalChannelRateRequest'),
    genericRequest: GenericMessage,
  },
);

export const ResponseMessage = extChoice(
  {
    nonStandard: NonStandardMessage,
    masterSlaveDeterminationAck: MasterSlaveDeterminationAck,
    masterSlaveDeterminationReject: MasterSlaveDeterminationReject,
    terminalCapabilitySetAck: TerminalCapabilitySetAck,
    terminalCapabilitySetReject: TerminalCapabilitySetReject,
    openLogicalChannelAck: OpenLogicalChannelAck,
    openLogicalChannelReject: OpenLogicalChannelReject,
    closeLogicalChannelAck: CloseLogicalChannelAck,
    requestChannelCloseAck: RequestChannelCloseAck,
    requestChannelCloseReject: RequestChannelCloseReject,
    multiplexEntrySendAck: MultiplexEntrySendAck,
    multiplexEntrySendReject: MultiplexEntrySendReject,
    requestMultiplexEntryAck: RequestMultiplexEntryAck,
    requestMultiplexEntryReject: RequestMultiplexEntryReject,
    requestModeAck: RequestModeAck,
    requestModeReject: RequestModeReject,
    roundTripDelayResponse: RoundTripDelayResponse,
    maintenanceLoopAck: MaintenanceLoopAck,
    maintenanceLoopReject: MaintenanceLoopReject,
  },
  {
    communicationModeResponse: opaque('CommunicationModeResponse'),
    conferenceResponse: opaque('ConferenceResponse'),
    multilinkResponse: opaque('MultilinkResponse'),
    logicalChannelRateAcknowledge: opaque('LogicalChannelRateAcknowledge'),
    logicalChannelRateReject: opaque('LogicalChannelRateReject'),
    genericResponse: GenericMessage,
  },
);

export const CommandMessage = extChoice(
  {
    nonStandard: NonStandardMessage,
    maintenanceLoopOffCommand: MaintenanceLoopOffCommand,
    sendTerminalCapabilitySet: SendTerminalCapabilitySet,
    encryptionCommand: EncryptionCommand,
    flowControlCommand: FlowControlCommand,
    endSessionCommand: EndSessionCommand,
    miscellaneousCommand: MiscellaneousCommand,
  },
  {
    communicationModeCommand: opaque('CommunicationModeCommand'),
    conferenceCommand: opaque('ConferenceCommand'),
    h223MultiplexReconfiguration: opaque('H223MultiplexReconfiguration'),
    newATMVCCommand: opaque('NewATMVCCommand'),
    mobileMultilinkReconfigurationCommand: opaque('MobileMultilinkReconfigurationCommand'),
    genericCommand: GenericMessage,
  },
);

export type RequestMessageValue = ValueOf<typeof RequestMessage>;
export type ResponseMessageValue = ValueOf<typeof ResponseMessage>;
export type CommandMessageValue = ValueOf<typeof CommandMessage>;
export type FunctionNotUnderstoodValue =
  | { choice: 'request'; value: RequestMessageValue }
  | { choice: 'response'; value: ResponseMessageValue }
  | { choice: 'command'; value: CommandMessageValue };

export const FunctionNotUnderstood: ChoiceSchema<FunctionNotUnderstoodValue> = choice({
  request: ref<RequestMessageValue>(() => RequestMessage),
  response: ref<ResponseMessageValue>(() => ResponseMessage),
  command: ref<CommandMessageValue>(() => CommandMessage),
}) as ChoiceSchema<FunctionNotUnderstoodValue>;

export const IndicationMessage = extChoice(
  {
    nonStandard: NonStandardMessage,
    functionNotUnderstood: FunctionNotUnderstood,
    masterSlaveDeterminationRelease: MasterSlaveDeterminationRelease,
    terminalCapabilitySetRelease: TerminalCapabilitySetRelease,
    openLogicalChannelConfirm: OpenLogicalChannelConfirm,
    requestChannelCloseRelease: RequestChannelCloseRelease,
    multiplexEntrySendRelease: MultiplexEntrySendRelease,
    requestMultiplexEntryRelease: RequestMultiplexEntryRelease,
    requestModeRelease: RequestModeRelease,
    miscellaneousIndication: MiscellaneousIndication,
    jitterIndication: JitterIndication,
    h223SkewIndication: H223SkewIndication,
    newATMVCIndication: opaque('NewATMVCIndication'),
    userInput: UserInputIndication,
  },
  {
    h2250MaximumSkewIndication: H2250MaximumSkewIndication,
    mcLocationIndication: MCLocationIndication,
    conferenceIndication: opaque('ConferenceIndication'),
    vendorIdentification: VendorIdentification,
    functionNotSupported: FunctionNotSupported,
    multilinkIndication: opaque('MultilinkIndication'),
    logicalChannelRateRelease: opaque('LogicalChannelRateRelease'),
    flowControlIndication: FlowControlIndication,
    mobileMultilinkReconfigurationIndication: opaque('MobileMultilinkReconfigurationIndication'),
    genericIndication: GenericMessage,
  },
);

export const MultimediaSystemControlMessage = extChoice({
  request: RequestMessage,
  response: ResponseMessage,
  command: CommandMessage,
  indication: IndicationMessage,
});

export type MultimediaSystemControlMessageValue = ValueOf<typeof MultimediaSystemControlMessage>;
export type IndicationMessageValue = ValueOf<typeof IndicationMessage>;
export type TerminalCapabilitySetValue = ValueOf<typeof TerminalCapabilitySet>;
export type CapabilityValue = ValueOf<typeof Capability>;
export type CapabilityTableEntryValue = ValueOf<typeof CapabilityTableEntry>;
export type AudioCapabilityValue = ValueOf<typeof AudioCapability>;
export type VideoCapabilityValue = ValueOf<typeof VideoCapability>;
export type DataTypeValue = ValueOf<typeof DataType>;
export type OpenLogicalChannelValue = ValueOf<typeof OpenLogicalChannel>;
export type OpenLogicalChannelAckValue = ValueOf<typeof OpenLogicalChannelAck>;
export type OpenLogicalChannelRejectValue = ValueOf<typeof OpenLogicalChannelReject>;
export type H2250LogicalChannelParametersValue = ValueOf<typeof H2250LogicalChannelParameters>;
export type H2250LogicalChannelAckParametersValue = ValueOf<typeof H2250LogicalChannelAckParameters>;
export type H245TransportAddressValue = ValueOf<typeof H245TransportAddress>;
export type UserInputIndicationValue = ValueOf<typeof UserInputIndication>;
export type GenericCapabilityValue = ValueOf<typeof GenericCapability>;
export type H2250CapabilityValue = ValueOf<typeof H2250Capability>;
