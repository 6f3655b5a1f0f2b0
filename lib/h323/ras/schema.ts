/**
 * H.225.0 RAS messages (RasMessage CHOICE, version 7 module) as PER schemas. Field names are the
 * ASN.1 names so values read like tshark/H323Plus decodes. Extension additions are listed in
 * order: PER identifies them by position.
 */
import { BOOLEAN, NULL, OID, extChoice, extSequence, integer, octetString, opaque, opt, sequenceOf, type ValueOf } from '../per/index.js';
import {
  AliasAddress,
  AlternateGK,
  AlternateTransportAddresses,
  AltGKInfo,
  AuthenticationMechanismOpaque,
  AuthenticationMechanisms,
  BandWidth,
  BandwidthDetails,
  CallCapacity,
  CallCreditCapability,
  CallIdentifier,
  CallLinkage,
  CallModel,
  CallReferenceValue,
  CallTerminationCause,
  CallType,
  CapacityReportingCapability,
  CapacityReportingSpecification,
  CircuitInfo,
  ConferenceIdentifier,
  CryptoTokens,
  DataRate,
  AddressPattern,
  Endpoint,
  EndpointIdentifier,
  EndpointType,
  FeatureSet,
  GatekeeperIdentifier,
  GenericData,
  ICV,
  Language,
  NonStandardParameter,
  PartyNumber,
  ProtocolIdentifier,
  QseriesOptions,
  RasUsageInfoTypes,
  RasUsageInformation,
  RasUsageSpecification,
  RehomingModel,
  RequestSeqNum,
  RTPSession,
  SecurityErrors,
  SecurityErrors2,
  ServiceControlSession,
  SupportedPrefix,
  SupportedProtocols,
  TimeToLive,
  Tokens,
  TransportAddress,
  TransportChannelInfo,
  TransportQOS,
  TunnelledProtocol,
  UseSpecifiedTransport,
  UUIEsRequested,
  VendorIdentifier,
} from '../h225/common-types.js';

const aliases = () => sequenceOf(AliasAddress);
const transports = () => sequenceOf(TransportAddress);
const generic = () => opt(sequenceOf(GenericData));

export const GatekeeperRequest = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    rasAddress: TransportAddress,
    endpointType: EndpointType,
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    callServices: opt(QseriesOptions),
    endpointAlias: opt(aliases()),
  },
  {
    alternateEndpoints: opt(sequenceOf(Endpoint)),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    authenticationCapability: opt(AuthenticationMechanisms),
    algorithmOIDs: opt(sequenceOf(OID)),
    integrity: opt(opaque('SEQUENCE OF IntegrityMechanism')),
    integrityCheckValue: opt(ICV),
    supportsAltGK: opt(NULL),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    supportsAssignedGK: BOOLEAN,
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const GatekeeperConfirm = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    rasAddress: TransportAddress,
  },
  {
    alternateGatekeeper: opt(sequenceOf(AlternateGK)),
    authenticationMode: opt(AuthenticationMechanismOpaque),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    algorithmOID: opt(OID),
    integrity: opt(opaque('SEQUENCE OF IntegrityMechanism')),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    assignedGatekeeper: opt(AlternateGK),
    rehomingModel: opt(RehomingModel),
  },
);

export const GatekeeperRejectReason = extChoice(
  { resourceUnavailable: NULL, terminalExcluded: NULL, invalidRevision: NULL, undefinedReason: NULL },
  { securityDenial: NULL, genericDataReason: NULL, neededFeatureNotSupported: NULL, securityError: SecurityErrors },
);

export const GatekeeperReject = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    rejectReason: GatekeeperRejectReason,
  },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: generic(),
  },
);

export const RegistrationRequest = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    discoveryComplete: BOOLEAN,
    callSignalAddress: transports(),
    rasAddress: transports(),
    terminalType: EndpointType,
    terminalAlias: opt(aliases()),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    endpointVendor: VendorIdentifier,
  },
  {
    alternateEndpoints: opt(sequenceOf(Endpoint)),
    timeToLive: opt(TimeToLive),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    keepAlive: BOOLEAN,
    endpointIdentifier: opt(EndpointIdentifier),
    willSupplyUUIEs: BOOLEAN,
    maintainConnection: BOOLEAN,
    alternateTransportAddresses: opt(AlternateTransportAddresses),
    additiveRegistration: opt(NULL),
    terminalAliasPattern: opt(sequenceOf(AddressPattern)),
    supportsAltGK: opt(NULL),
    usageReportingCapability: opt(RasUsageInfoTypes),
    multipleCalls: opt(BOOLEAN),
    supportedH248Packages: opt(sequenceOf(octetString())),
    callCreditCapability: opt(CallCreditCapability),
    capacityReportingCapability: opt(CapacityReportingCapability),
    capacity: opt(CallCapacity),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    restart: opt(NULL),
    supportsACFSequences: opt(NULL),
    supportsAssignedGK: BOOLEAN,
    assignedGatekeeper: opt(AlternateGK),
    transportQOS: opt(TransportQOS),
    language: opt(Language),
  },
);

export const RegistrationConfirm = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    callSignalAddress: transports(),
    terminalAlias: opt(aliases()),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    endpointIdentifier: EndpointIdentifier,
  },
  {
    alternateGatekeeper: opt(sequenceOf(AlternateGK)),
    timeToLive: opt(TimeToLive),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    willRespondToIRR: BOOLEAN,
    preGrantedARQ: opt(
      extSequence(
        {
          makeCall: BOOLEAN,
          useGKCallSignalAddressToMakeCall: BOOLEAN,
          answerCall: BOOLEAN,
          useGKCallSignalAddressToAnswer: BOOLEAN,
        },
        {
          irrFrequencyInCall: opt(integer(1, 65535)),
          totalBandwidthRestriction: opt(BandWidth),
          alternateTransportAddresses: opt(AlternateTransportAddresses),
          useSpecifiedTransport: opt(UseSpecifiedTransport),
        },
      ),
    ),
    maintainConnection: BOOLEAN,
    serviceControl: opt(sequenceOf(ServiceControlSession)),
    supportsAdditiveRegistration: opt(NULL),
    terminalAliasPattern: opt(sequenceOf(AddressPattern)),
    supportedPrefixes: opt(sequenceOf(SupportedPrefix)),
    usageSpec: opt(sequenceOf(RasUsageSpecification)),
    featureServerAlias: opt(AliasAddress),
    capacityReportingSpec: opt(CapacityReportingSpecification),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    assignedGatekeeper: opt(AlternateGK),
    rehomingModel: opt(RehomingModel),
    transportQOS: opt(TransportQOS),
  },
);

export const RegistrationRejectReason = extChoice(
  {
    discoveryRequired: NULL,
    invalidRevision: NULL,
    invalidCallSignalAddress: NULL,
    invalidRASAddress: NULL,
    duplicateAlias: aliases(),
    invalidTerminalType: NULL,
    undefinedReason: NULL,
    transportNotSupported: NULL,
  },
  {
    transportQOSNotSupported: NULL,
    resourceUnavailable: NULL,
    invalidAlias: NULL,
    securityDenial: NULL,
    fullRegistrationRequired: NULL,
    additiveRegistrationNotSupported: NULL,
    invalidTerminalAliases: extSequence({
      terminalAlias: opt(aliases()),
      terminalAliasPattern: opt(sequenceOf(AddressPattern)),
      supportedPrefixes: opt(sequenceOf(SupportedPrefix)),
    }),
    genericDataReason: NULL,
    neededFeatureNotSupported: NULL,
    securityError: SecurityErrors,
    registerWithAssignedGK: NULL,
  },
);

export const RegistrationReject = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    rejectReason: RegistrationRejectReason,
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
  },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const UnregRequestReason = extChoice(
  { reregistrationRequired: NULL, ttlExpired: NULL, securityDenial: NULL, undefinedReason: NULL },
  { maintenance: NULL, securityError: SecurityErrors2, registerWithAssignedGK: NULL },
);

export const UnregistrationRequest = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    callSignalAddress: transports(),
    endpointAlias: opt(aliases()),
    nonStandardData: opt(NonStandardParameter),
    endpointIdentifier: opt(EndpointIdentifier),
  },
  {
    alternateEndpoints: opt(sequenceOf(Endpoint)),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    reason: opt(UnregRequestReason),
    endpointAliasPattern: opt(sequenceOf(AddressPattern)),
    supportedPrefixes: opt(sequenceOf(SupportedPrefix)),
    alternateGatekeeper: opt(sequenceOf(AlternateGK)),
    genericData: generic(),
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const UnregistrationConfirm = extSequence(
  { requestSeqNum: RequestSeqNum, nonStandardData: opt(NonStandardParameter) },
  {
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    genericData: generic(),
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const UnregRejectReason = extChoice(
  { notCurrentlyRegistered: NULL, callInProgress: NULL, undefinedReason: NULL },
  { permissionDenied: NULL, securityDenial: NULL, securityError: SecurityErrors2 },
);

export const UnregistrationReject = extSequence(
  { requestSeqNum: RequestSeqNum, rejectReason: UnregRejectReason, nonStandardData: opt(NonStandardParameter) },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    genericData: generic(),
  },
);

export const AdmissionRequest = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    callType: CallType,
    callModel: opt(CallModel),
    endpointIdentifier: EndpointIdentifier,
    destinationInfo: opt(aliases()),
    destCallSignalAddress: opt(TransportAddress),
    destExtraCallInfo: opt(aliases()),
    srcInfo: aliases(),
    srcCallSignalAddress: opt(TransportAddress),
    bandWidth: BandWidth,
    callReferenceValue: CallReferenceValue,
    nonStandardData: opt(NonStandardParameter),
    callServices: opt(QseriesOptions),
    conferenceID: ConferenceIdentifier,
    activeMC: BOOLEAN,
    answerCall: BOOLEAN,
  },
  {
    canMapAlias: BOOLEAN,
    callIdentifier: CallIdentifier,
    srcAlternatives: opt(sequenceOf(Endpoint)),
    destAlternatives: opt(sequenceOf(Endpoint)),
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    transportQOS: opt(TransportQOS),
    willSupplyUUIEs: BOOLEAN,
    callLinkage: opt(CallLinkage),
    gatewayDataRate: opt(DataRate),
    capacity: opt(CallCapacity),
    circuitInfo: opt(CircuitInfo),
    desiredProtocols: opt(sequenceOf(SupportedProtocols)),
    desiredTunnelledProtocol: opt(TunnelledProtocol),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    canMapSrcAlias: BOOLEAN,
  },
);

export const AdmissionConfirm = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    bandWidth: BandWidth,
    callModel: CallModel,
    destCallSignalAddress: TransportAddress,
    irrFrequency: opt(integer(1, 65535)),
    nonStandardData: opt(NonStandardParameter),
  },
  {
    destinationInfo: opt(aliases()),
    destExtraCallInfo: opt(aliases()),
    destinationType: opt(EndpointType),
    remoteExtensionAddress: opt(aliases()),
    alternateEndpoints: opt(sequenceOf(Endpoint)),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    transportQOS: opt(TransportQOS),
    willRespondToIRR: BOOLEAN,
    uuiesRequested: UUIEsRequested,
    language: opt(Language),
    alternateTransportAddresses: opt(AlternateTransportAddresses),
    useSpecifiedTransport: opt(UseSpecifiedTransport),
    circuitInfo: opt(CircuitInfo),
    usageSpec: opt(sequenceOf(RasUsageSpecification)),
    supportedProtocols: opt(sequenceOf(SupportedProtocols)),
    serviceControl: opt(sequenceOf(ServiceControlSession)),
    multipleCalls: opt(BOOLEAN),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    modifiedSrcInfo: opt(aliases()),
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const AdmissionRejectReason = extChoice(
  {
    calledPartyNotRegistered: NULL,
    invalidPermission: NULL,
    requestDenied: NULL,
    undefinedReason: NULL,
    callerNotRegistered: NULL,
    routeCallToGatekeeper: NULL,
    invalidEndpointIdentifier: NULL,
    resourceUnavailable: NULL,
  },
  {
    securityDenial: NULL,
    qosControlNotSupported: NULL,
    incompleteAddress: NULL,
    aliasesInconsistent: NULL,
    routeCallToSCN: sequenceOf(PartyNumber),
    exceedsCallCapacity: NULL,
    collectDestination: NULL,
    collectPIN: NULL,
    genericDataReason: NULL,
    neededFeatureNotSupported: NULL,
    securityError: SecurityErrors2,
    securityDHmismatch: NULL,
    noRouteToDestination: NULL,
    unallocatedNumber: NULL,
    registerWithAssignedGK: NULL,
  },
);

export const AdmissionReject = extSequence(
  { requestSeqNum: RequestSeqNum, rejectReason: AdmissionRejectReason, nonStandardData: opt(NonStandardParameter) },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    callSignalAddress: opt(transports()),
    integrityCheckValue: opt(ICV),
    serviceControl: opt(sequenceOf(ServiceControlSession)),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const BandwidthRequest = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    endpointIdentifier: EndpointIdentifier,
    conferenceID: ConferenceIdentifier,
    callReferenceValue: CallReferenceValue,
    callType: opt(CallType),
    bandWidth: BandWidth,
    nonStandardData: opt(NonStandardParameter),
  },
  {
    callIdentifier: CallIdentifier,
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    answeredCall: BOOLEAN,
    callLinkage: opt(CallLinkage),
    capacity: opt(CallCapacity),
    usageInformation: opt(RasUsageInformation),
    bandwidthDetails: opt(sequenceOf(BandwidthDetails)),
    genericData: generic(),
    transportQOS: opt(TransportQOS),
  },
);

export const BandwidthConfirm = extSequence(
  { requestSeqNum: RequestSeqNum, bandWidth: BandWidth, nonStandardData: opt(NonStandardParameter) },
  {
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    capacity: opt(CallCapacity),
    genericData: generic(),
    transportQOS: opt(TransportQOS),
  },
);

export const BandRejectReason = extChoice(
  {
    notBound: NULL,
    invalidConferenceID: NULL,
    invalidPermission: NULL,
    insufficientResources: NULL,
    invalidRevision: NULL,
    undefinedReason: NULL,
  },
  { securityDenial: NULL, securityError: SecurityErrors2 },
);

export const BandwidthReject = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    rejectReason: BandRejectReason,
    allowedBandWidth: BandWidth,
    nonStandardData: opt(NonStandardParameter),
  },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    genericData: generic(),
  },
);

export const LocationRequest = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    endpointIdentifier: opt(EndpointIdentifier),
    destinationInfo: aliases(),
    nonStandardData: opt(NonStandardParameter),
    replyAddress: TransportAddress,
  },
  {
    sourceInfo: opt(aliases()),
    canMapAlias: BOOLEAN,
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    desiredProtocols: opt(sequenceOf(SupportedProtocols)),
    desiredTunnelledProtocol: opt(TunnelledProtocol),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    hopCount: opt(integer(1, 255)),
    circuitInfo: opt(CircuitInfo),
    callIdentifier: opt(CallIdentifier),
    bandWidth: opt(BandWidth),
    sourceEndpointInfo: opt(aliases()),
    canMapSrcAlias: BOOLEAN,
    language: opt(Language),
  },
);

export const LocationConfirm = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    callSignalAddress: TransportAddress,
    rasAddress: TransportAddress,
    nonStandardData: opt(NonStandardParameter),
  },
  {
    destinationInfo: opt(aliases()),
    destExtraCallInfo: opt(aliases()),
    destinationType: opt(EndpointType),
    remoteExtensionAddress: opt(aliases()),
    alternateEndpoints: opt(sequenceOf(Endpoint)),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    alternateTransportAddresses: opt(AlternateTransportAddresses),
    supportedProtocols: opt(sequenceOf(SupportedProtocols)),
    multipleCalls: opt(BOOLEAN),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    circuitInfo: opt(CircuitInfo),
    serviceControl: opt(sequenceOf(ServiceControlSession)),
    modifiedSrcInfo: opt(aliases()),
    bandWidth: opt(BandWidth),
  },
);

export const LocationRejectReason = extChoice(
  { notRegistered: NULL, invalidPermission: NULL, requestDenied: NULL, undefinedReason: NULL },
  {
    securityDenial: NULL,
    aliasesInconsistent: NULL,
    routeCalltoSCN: sequenceOf(PartyNumber),
    resourceUnavailable: NULL,
    genericDataReason: NULL,
    neededFeatureNotSupported: NULL,
    hopCountExceeded: NULL,
    incompleteAddress: NULL,
    securityError: SecurityErrors2,
    securityDHmismatch: NULL,
    noRouteToDestination: NULL,
    unallocatedNumber: NULL,
  },
);

export const LocationReject = extSequence(
  { requestSeqNum: RequestSeqNum, rejectReason: LocationRejectReason, nonStandardData: opt(NonStandardParameter) },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: generic(),
    serviceControl: opt(sequenceOf(ServiceControlSession)),
  },
);

export const DisengageReason = extChoice({ forcedDrop: NULL, normalDrop: NULL, undefinedReason: NULL });

export const DisengageRequest = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    endpointIdentifier: EndpointIdentifier,
    conferenceID: ConferenceIdentifier,
    callReferenceValue: CallReferenceValue,
    disengageReason: DisengageReason,
    nonStandardData: opt(NonStandardParameter),
  },
  {
    callIdentifier: CallIdentifier,
    gatekeeperIdentifier: opt(GatekeeperIdentifier),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    answeredCall: BOOLEAN,
    callLinkage: opt(CallLinkage),
    capacity: opt(CallCapacity),
    circuitInfo: opt(CircuitInfo),
    usageInformation: opt(RasUsageInformation),
    terminationCause: opt(CallTerminationCause),
    serviceControl: opt(sequenceOf(ServiceControlSession)),
    genericData: generic(),
  },
);

export const DisengageConfirm = extSequence(
  { requestSeqNum: RequestSeqNum, nonStandardData: opt(NonStandardParameter) },
  {
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    capacity: opt(CallCapacity),
    circuitInfo: opt(CircuitInfo),
    usageInformation: opt(RasUsageInformation),
    genericData: generic(),
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const DisengageRejectReason = extChoice(
  { notRegistered: NULL, requestToDropOther: NULL },
  { securityDenial: NULL, securityError: SecurityErrors2 },
);

export const DisengageReject = extSequence(
  { requestSeqNum: RequestSeqNum, rejectReason: DisengageRejectReason, nonStandardData: opt(NonStandardParameter) },
  {
    altGKInfo: opt(AltGKInfo),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    genericData: generic(),
  },
);

export const InfoRequest = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    callReferenceValue: CallReferenceValue,
    nonStandardData: opt(NonStandardParameter),
    replyAddress: opt(TransportAddress),
  },
  {
    callIdentifier: CallIdentifier,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    uuiesRequested: opt(UUIEsRequested),
    callLinkage: opt(CallLinkage),
    usageInfoRequested: opt(RasUsageInfoTypes),
    segmentedResponseSupported: opt(NULL),
    nextSegmentRequested: opt(integer(0, 65535)),
    capacityInfoRequested: opt(NULL),
    genericData: generic(),
    assignedGatekeeper: opt(AlternateGK),
  },
);

export const PerCallInfo = extSequence(
  {
    nonStandardData: opt(NonStandardParameter),
    callReferenceValue: CallReferenceValue,
    conferenceID: ConferenceIdentifier,
    originator: opt(BOOLEAN),
    audio: opt(sequenceOf(RTPSession)),
    video: opt(sequenceOf(RTPSession)),
    data: opt(sequenceOf(TransportChannelInfo)),
    h245: TransportChannelInfo,
    callSignalling: TransportChannelInfo,
    callType: CallType,
    bandWidth: BandWidth,
    callModel: CallModel,
  },
  {
    callIdentifier: CallIdentifier,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    substituteConfIDs: sequenceOf(ConferenceIdentifier),
    pdu: opt(opaque('SEQUENCE OF { H323-UU-PDU, sent }')),
    callLinkage: opt(CallLinkage),
    usageInformation: opt(RasUsageInformation),
    circuitInfo: opt(CircuitInfo),
  },
);

export const InfoRequestResponseStatus = extChoice({
  complete: NULL,
  incomplete: NULL,
  segment: integer(0, 65535),
  invalidCall: NULL,
});

export const InfoRequestResponse = extSequence(
  {
    nonStandardData: opt(NonStandardParameter),
    requestSeqNum: RequestSeqNum,
    endpointType: EndpointType,
    endpointIdentifier: EndpointIdentifier,
    rasAddress: TransportAddress,
    callSignalAddress: transports(),
    endpointAlias: opt(aliases()),
    perCallInfo: opt(sequenceOf(PerCallInfo)),
  },
  {
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    needResponse: BOOLEAN,
    capacity: opt(CallCapacity),
    irrStatus: opt(InfoRequestResponseStatus),
    unsolicited: BOOLEAN,
    genericData: generic(),
  },
);

export const NonStandardMessage = extSequence(
  { requestSeqNum: RequestSeqNum, nonStandardData: NonStandardParameter },
  {
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    featureSet: opt(FeatureSet),
    genericData: generic(),
  },
);

export const UnknownMessageResponse = extSequence(
  { requestSeqNum: RequestSeqNum },
  {
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
    messageNotUnderstood: octetString(),
  },
);

export const RequestInProgress = extSequence({
  requestSeqNum: RequestSeqNum,
  nonStandardData: opt(NonStandardParameter),
  tokens: opt(Tokens),
  cryptoTokens: opt(CryptoTokens),
  integrityCheckValue: opt(ICV),
  delay: integer(1, 65535),
});

export const ResourcesAvailableIndicate = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    endpointIdentifier: EndpointIdentifier,
    protocols: sequenceOf(SupportedProtocols),
    almostOutOfResources: BOOLEAN,
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
  },
  { capacity: opt(CallCapacity), genericData: generic() },
);

export const ResourcesAvailableConfirm = extSequence(
  {
    requestSeqNum: RequestSeqNum,
    protocolIdentifier: ProtocolIdentifier,
    nonStandardData: opt(NonStandardParameter),
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    integrityCheckValue: opt(ICV),
  },
  { genericData: generic() },
);

export const InfoRequestAck = extSequence({
  requestSeqNum: RequestSeqNum,
  nonStandardData: opt(NonStandardParameter),
  tokens: opt(Tokens),
  cryptoTokens: opt(CryptoTokens),
  integrityCheckValue: opt(ICV),
});

export const InfoRequestNak = extSequence({
  requestSeqNum: RequestSeqNum,
  nonStandardData: opt(NonStandardParameter),
  nakReason: extChoice({ notRegistered: NULL, securityDenial: NULL, undefinedReason: NULL }, { securityError: SecurityErrors2 }),
  altGKInfo: opt(AltGKInfo),
  tokens: opt(Tokens),
  cryptoTokens: opt(CryptoTokens),
  integrityCheckValue: opt(ICV),
});

export const ServiceControlIndication = extSequence({
  requestSeqNum: RequestSeqNum,
  nonStandardData: opt(NonStandardParameter),
  serviceControl: sequenceOf(ServiceControlSession),
  endpointIdentifier: opt(EndpointIdentifier),
  callSpecific: opt(extSequence({ callIdentifier: CallIdentifier, conferenceID: ConferenceIdentifier, answeredCall: BOOLEAN })),
  tokens: opt(Tokens),
  cryptoTokens: opt(CryptoTokens),
  integrityCheckValue: opt(ICV),
  featureSet: opt(FeatureSet),
  genericData: generic(),
});

export const ServiceControlResponse = extSequence({
  requestSeqNum: RequestSeqNum,
  result: opt(extChoice({ started: NULL, failed: NULL, stopped: NULL, notAvailable: NULL, neededFeatureNotSupported: NULL })),
  nonStandardData: opt(NonStandardParameter),
  tokens: opt(Tokens),
  cryptoTokens: opt(CryptoTokens),
  integrityCheckValue: opt(ICV),
  featureSet: opt(FeatureSet),
  genericData: generic(),
});

export const RasMessage = extChoice(
  {
    gatekeeperRequest: GatekeeperRequest,
    gatekeeperConfirm: GatekeeperConfirm,
    gatekeeperReject: GatekeeperReject,
    registrationRequest: RegistrationRequest,
    registrationConfirm: RegistrationConfirm,
    registrationReject: RegistrationReject,
    unregistrationRequest: UnregistrationRequest,
    unregistrationConfirm: UnregistrationConfirm,
    unregistrationReject: UnregistrationReject,
    admissionRequest: AdmissionRequest,
    admissionConfirm: AdmissionConfirm,
    admissionReject: AdmissionReject,
    bandwidthRequest: BandwidthRequest,
    bandwidthConfirm: BandwidthConfirm,
    bandwidthReject: BandwidthReject,
    disengageRequest: DisengageRequest,
    disengageConfirm: DisengageConfirm,
    disengageReject: DisengageReject,
    locationRequest: LocationRequest,
    locationConfirm: LocationConfirm,
    locationReject: LocationReject,
    infoRequest: InfoRequest,
    infoRequestResponse: InfoRequestResponse,
    nonStandardMessage: NonStandardMessage,
    unknownMessageResponse: UnknownMessageResponse,
  },
  {
    requestInProgress: RequestInProgress,
    resourcesAvailableIndicate: ResourcesAvailableIndicate,
    resourcesAvailableConfirm: ResourcesAvailableConfirm,
    infoRequestAck: InfoRequestAck,
    infoRequestNak: InfoRequestNak,
    serviceControlIndication: ServiceControlIndication,
    serviceControlResponse: ServiceControlResponse,
    admissionConfirmSequence: sequenceOf(AdmissionConfirm),
  },
);

export type RasMessageValue = ValueOf<typeof RasMessage>;
export type RasMessageType = Exclude<RasMessageValue['choice'], '$unknown'>;
export type RasBody<K extends RasMessageType> = Extract<RasMessageValue, { choice: K }>['value'];
export type LocationRequestValue = ValueOf<typeof LocationRequest>;
export type LocationConfirmValue = ValueOf<typeof LocationConfirm>;
export type LocationRejectValue = ValueOf<typeof LocationReject>;
export type LocationRejectReasonValue = ValueOf<typeof LocationRejectReason>;
export type RegistrationRequestValue = ValueOf<typeof RegistrationRequest>;
export type GatekeeperRequestValue = ValueOf<typeof GatekeeperRequest>;
