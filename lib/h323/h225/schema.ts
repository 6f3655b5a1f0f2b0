/**
 * H.225.0 call signalling PDU (H323-UserInformation / H323-UU-PDU, version 7 module) as PER
 * schemas: the UUIEs carried in the Q.931 User-user IE. Field names are the ASN.1 names, so
 * values read like tshark decodes. Extension additions are listed in order (PER identifies them
 * by position); types we do not model (H.235 tokens, H245Security) are kept as raw open-type
 * bytes where they are extension additions.
 */
import {
  BOOLEAN,
  NULL,
  charString,
  enumerated,
  extChoice,
  extSequence,
  integer,
  octetString,
  opaque,
  opt,
  sequence,
  sequenceOf,
  size,
  type ValueOf,
} from '../per/index.js';
import {
  AliasAddress,
  CallCapacity,
  CallIdentifier,
  CallLinkage,
  CallReferenceValue,
  CallType,
  CircuitInfo,
  ConferenceIdentifier,
  CryptoTokens,
  EndpointIdentifier,
  EndpointType,
  FeatureSet,
  GenericData,
  NonStandardParameter,
  ProtocolIdentifier,
  QseriesOptions,
  ReleaseCompleteReason,
  ServiceControlSession,
  SupportedProtocols,
  Tokens,
  TransportAddress,
  TunnelledProtocol,
} from './common-types.js';

const aliases = () => sequenceOf(AliasAddress);
const octets = () => sequenceOf(octetString());
/** H245Security (nonStandard / noSecurity / tls / ipsec): carried, not modelled. */
const H245SecurityOpaque = opaque('H245Security');

export const PresentationIndicator = extChoice({ presentationAllowed: NULL, presentationRestricted: NULL, addressNotAvailable: NULL });
export const ScreeningIndicator = enumerated(
  ['userProvidedNotScreened', 'userProvidedVerifiedAndPassed', 'userProvidedVerifiedAndFailed', 'networkProvided'],
  [],
);
export const DisplayName = sequence({ language: opt(charString('IA5')), name: charString('BMP', size(1, 80)) });
const displayNames = () => opt(sequenceOf(DisplayName));

export const ExtendedAliasAddress = extSequence({
  address: AliasAddress,
  presentationIndicator: opt(PresentationIndicator),
  screeningIndicator: opt(ScreeningIndicator),
});

export const ScnConnectionType = extChoice({
  unknown: NULL,
  bChannel: NULL,
  hybrid2x64: NULL,
  hybrid384: NULL,
  hybrid1536: NULL,
  hybrid1920: NULL,
  multirate: NULL,
});
export const ScnConnectionAggregation = extChoice({
  auto: NULL,
  none: NULL,
  h221: NULL,
  'bonded-mode1': NULL,
  'bonded-mode2': NULL,
  'bonded-mode3': NULL,
});

export const ConferenceGoal = extChoice(
  { create: NULL, join: NULL, invite: NULL },
  { 'capability-negotiation': NULL, callIndependentSupplementaryService: NULL },
);

export const Setup = extSequence(
  {
    protocolIdentifier: ProtocolIdentifier,
    h245Address: opt(TransportAddress),
    sourceAddress: opt(aliases()),
    sourceInfo: EndpointType,
    destinationAddress: opt(aliases()),
    destCallSignalAddress: opt(TransportAddress),
    destExtraCallInfo: opt(aliases()),
    destExtraCRV: opt(sequenceOf(CallReferenceValue)),
    activeMC: BOOLEAN,
    conferenceID: ConferenceIdentifier,
    conferenceGoal: ConferenceGoal,
    callServices: opt(QseriesOptions),
    callType: CallType,
  },
  {
    sourceCallSignalAddress: opt(TransportAddress),
    remoteExtensionAddress: opt(AliasAddress),
    callIdentifier: CallIdentifier,
    h245SecurityCapability: opt(opaque('SEQUENCE OF H245Security')),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(octets()),
    mediaWaitForConnect: BOOLEAN,
    canOverlapSend: BOOLEAN,
    endpointIdentifier: opt(EndpointIdentifier),
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    connectionParameters: opt(
      extSequence({
        connectionType: ScnConnectionType,
        numberOfScnConnections: integer(0, 65535),
        connectionAggregation: ScnConnectionAggregation,
      }),
    ),
    language: opt(sequenceOf(charString('IA5', size(1, 32)))),
    presentationIndicator: opt(PresentationIndicator),
    screeningIndicator: opt(ScreeningIndicator),
    serviceControl: opt(sequenceOf(ServiceControlSession)),
    symmetricOperationRequired: opt(NULL),
    capacity: opt(CallCapacity),
    circuitInfo: opt(CircuitInfo),
    desiredProtocols: opt(sequenceOf(SupportedProtocols)),
    neededFeatures: opt(sequenceOf(GenericData)),
    desiredFeatures: opt(sequenceOf(GenericData)),
    supportedFeatures: opt(sequenceOf(GenericData)),
    parallelH245Control: opt(octets()),
    additionalSourceAddresses: opt(sequenceOf(ExtendedAliasAddress)),
    hopCount: opt(integer(1, 31)),
    displayName: displayNames(),
  },
);

export const CallProceeding = extSequence(
  {
    protocolIdentifier: ProtocolIdentifier,
    destinationInfo: EndpointType,
    h245Address: opt(TransportAddress),
  },
  {
    callIdentifier: CallIdentifier,
    h245SecurityMode: opt(H245SecurityOpaque),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(octets()),
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    fastConnectRefused: opt(NULL),
    featureSet: opt(FeatureSet),
  },
);

export const Connect = extSequence(
  {
    protocolIdentifier: ProtocolIdentifier,
    h245Address: opt(TransportAddress),
    destinationInfo: EndpointType,
    conferenceID: ConferenceIdentifier,
  },
  {
    callIdentifier: CallIdentifier,
    h245SecurityMode: opt(H245SecurityOpaque),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(octets()),
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    language: opt(sequenceOf(charString('IA5', size(1, 32)))),
    connectedAddress: opt(aliases()),
    presentationIndicator: opt(PresentationIndicator),
    screeningIndicator: opt(ScreeningIndicator),
    fastConnectRefused: opt(NULL),
    serviceControl: opt(sequenceOf(ServiceControlSession)),
    capacity: opt(CallCapacity),
    featureSet: opt(FeatureSet),
    displayName: displayNames(),
  },
);

export const Alerting = extSequence(
  {
    protocolIdentifier: ProtocolIdentifier,
    destinationInfo: EndpointType,
    h245Address: opt(TransportAddress),
  },
  {
    callIdentifier: CallIdentifier,
    h245SecurityMode: opt(H245SecurityOpaque),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(octets()),
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    alertingAddress: opt(aliases()),
    presentationIndicator: opt(PresentationIndicator),
    screeningIndicator: opt(ScreeningIndicator),
    fastConnectRefused: opt(NULL),
    serviceControl: opt(sequenceOf(ServiceControlSession)),
    capacity: opt(CallCapacity),
    featureSet: opt(FeatureSet),
    displayName: displayNames(),
  },
);

export const Information = extSequence(
  { protocolIdentifier: ProtocolIdentifier },
  {
    callIdentifier: CallIdentifier,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(octets()),
    fastConnectRefused: opt(NULL),
    circuitInfo: opt(CircuitInfo),
  },
);

export const ReleaseComplete = extSequence(
  {
    protocolIdentifier: ProtocolIdentifier,
    reason: opt(ReleaseCompleteReason),
  },
  {
    callIdentifier: CallIdentifier,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    busyAddress: opt(aliases()),
    presentationIndicator: opt(PresentationIndicator),
    screeningIndicator: opt(ScreeningIndicator),
    capacity: opt(CallCapacity),
    serviceControl: opt(sequenceOf(ServiceControlSession)),
    featureSet: opt(FeatureSet),
    destinationInfo: opt(EndpointType),
    displayName: displayNames(),
  },
);

export const FacilityReason = extChoice(
  { routeCallToGatekeeper: NULL, callForwarded: NULL, routeCallToMC: NULL, undefinedReason: NULL },
  {
    conferenceListChoice: NULL,
    startH245: NULL,
    noH245: NULL,
    newTokens: NULL,
    featureSetUpdate: NULL,
    forwardedElements: NULL,
    transportedInformation: NULL,
  },
);

export const ConferenceList = extSequence({
  conferenceID: opt(ConferenceIdentifier),
  conferenceAlias: opt(AliasAddress),
  nonStandardData: opt(NonStandardParameter),
});

export const Facility = extSequence(
  {
    protocolIdentifier: ProtocolIdentifier,
    alternativeAddress: opt(TransportAddress),
    alternativeAliasAddress: opt(aliases()),
    conferenceID: opt(ConferenceIdentifier),
    reason: FacilityReason,
  },
  {
    callIdentifier: CallIdentifier,
    destExtraCallInfo: opt(aliases()),
    remoteExtensionAddress: opt(AliasAddress),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    conferences: opt(sequenceOf(ConferenceList)),
    h245Address: opt(TransportAddress),
    fastStart: opt(octets()),
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    fastConnectRefused: opt(NULL),
    serviceControl: opt(sequenceOf(ServiceControlSession)),
    circuitInfo: opt(CircuitInfo),
    featureSet: opt(FeatureSet),
    destinationInfo: opt(EndpointType),
    h245SecurityMode: opt(H245SecurityOpaque),
  },
);

/**
 * Progress-UUIE has H245Security and the H.235 tokens in its ROOT: they cannot be skipped without
 * their schemas, so a Progress carrying them fails to decode (clear PerDecodeError), never mis-decodes.
 */
export const Progress = extSequence(
  {
    protocolIdentifier: ProtocolIdentifier,
    destinationInfo: EndpointType,
    h245Address: opt(TransportAddress),
    callIdentifier: CallIdentifier,
    h245SecurityMode: opt(H245SecurityOpaque),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    fastStart: opt(octets()),
  },
  {
    multipleCalls: BOOLEAN,
    maintainConnection: BOOLEAN,
    fastConnectRefused: opt(NULL),
  },
);

/** Status, StatusInquiry and SetupAcknowledge share this shape (tokens in the root: see Progress). */
const statusLike = () =>
  extSequence({
    protocolIdentifier: ProtocolIdentifier,
    callIdentifier: CallIdentifier,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
  });
export const Status = statusLike();
export const StatusInquiry = statusLike();
export const SetupAcknowledge = statusLike();

export const Notify = extSequence(
  {
    protocolIdentifier: ProtocolIdentifier,
    callIdentifier: CallIdentifier,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
  },
  {
    connectedAddress: opt(aliases()),
    presentationIndicator: opt(PresentationIndicator),
    screeningIndicator: opt(ScreeningIndicator),
    destinationInfo: opt(EndpointType),
    displayName: displayNames(),
  },
);

export const StimulusControl = extSequence({
  nonStandard: opt(NonStandardParameter),
  isText: opt(NULL),
  h248Message: opt(octetString()),
});

export const H323MessageBody = extChoice(
  {
    setup: Setup,
    callProceeding: CallProceeding,
    connect: Connect,
    alerting: Alerting,
    information: Information,
    releaseComplete: ReleaseComplete,
    facility: Facility,
  },
  {
    progress: Progress,
    empty: NULL,
    status: Status,
    statusInquiry: StatusInquiry,
    setupAcknowledge: SetupAcknowledge,
    notify: Notify,
  },
);

export const H323UUPDU = extSequence(
  {
    'h323-message-body': H323MessageBody,
    nonStandardData: opt(NonStandardParameter),
  },
  {
    h4501SupplementaryService: opt(octets()),
    h245Tunnelling: BOOLEAN,
    h245Control: opt(octets()),
    nonStandardControl: opt(sequenceOf(NonStandardParameter)),
    callLinkage: opt(CallLinkage),
    tunnelledSignallingMessage: opt(
      extSequence({
        tunnelledProtocolID: TunnelledProtocol,
        messageContent: octets(),
        tunnellingRequired: opt(NULL),
        nonStandardData: opt(NonStandardParameter),
      }),
    ),
    provisionalRespToH245Tunnelling: opt(NULL),
    stimulusControl: opt(StimulusControl),
    genericData: opt(sequenceOf(GenericData)),
  },
);

export const H323UserInformation = extSequence({
  'h323-uu-pdu': H323UUPDU,
  'user-data': opt(
    extSequence({
      'protocol-discriminator': integer(0, 255),
      'user-information': octetString(size(1, 131)),
    }),
  ),
});

export type H323UserInformationValue = ValueOf<typeof H323UserInformation>;
export type H323UUPDUValue = ValueOf<typeof H323UUPDU>;
export type H323MessageBodyValue = ValueOf<typeof H323MessageBody>;
export type UuieType = Exclude<H323MessageBodyValue['choice'], '$unknown'>;
export type UuieBody<K extends UuieType> = Extract<H323MessageBodyValue, { choice: K }>['value'];
export type SetupValue = ValueOf<typeof Setup>;
export type CallProceedingValue = ValueOf<typeof CallProceeding>;
export type AlertingValue = ValueOf<typeof Alerting>;
export type ConnectValue = ValueOf<typeof Connect>;
export type ReleaseCompleteValue = ValueOf<typeof ReleaseComplete>;
export type FacilityValue = ValueOf<typeof Facility>;
export type ProgressValue = ValueOf<typeof Progress>;
export type FacilityReasonValue = ValueOf<typeof FacilityReason>;
export type ReleaseCompleteReasonValue = ValueOf<typeof ReleaseCompleteReason>;
