/**
 * H.225.0 common message elements (H323-MESSAGES, version 7 module) as PER schemas. Shared by
 * RAS (lib/h323/ras) and the call-signalling UUIEs. Types we do not model (H.235 tokens,
 * H.245 capabilities) appear only where they are open types and are kept as raw bytes.
 */
import {
  BOOLEAN,
  NULL,
  OID,
  bitString,
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

const DIGITS = '0123456789#*,';

export const H221NonStandard = extSequence({
  t35CountryCode: integer(0, 255),
  t35Extension: integer(0, 255),
  manufacturerCode: integer(0, 65535),
});
export const NonStandardIdentifier = extChoice({ object: OID, h221NonStandard: H221NonStandard });
export const NonStandardParameter = sequence({ nonStandardIdentifier: NonStandardIdentifier, data: octetString() });

export const TransportAddress = extChoice({
  ipAddress: sequence({ ip: octetString(size(4)), port: integer(0, 65535) }),
  ipSourceRoute: extSequence({
    ip: octetString(size(4)),
    port: integer(0, 65535),
    route: sequenceOf(octetString(size(4))),
    routing: extChoice({ strict: NULL, loose: NULL }),
  }),
  ipxAddress: sequence({ node: octetString(size(6)), netnum: octetString(size(4)), port: octetString(size(2)) }),
  ip6Address: extSequence({ ip: octetString(size(16)), port: integer(0, 65535) }),
  netBios: octetString(size(16)),
  nsap: octetString(size(1, 20)),
  nonStandardAddress: NonStandardParameter,
});

const NumberDigits = charString('IA5', size(1, 128), DIGITS);
const PublicTypeOfNumber = extChoice({
  unknown: NULL,
  internationalNumber: NULL,
  nationalNumber: NULL,
  networkSpecificNumber: NULL,
  subscriberNumber: NULL,
  abbreviatedNumber: NULL,
});
const PrivateTypeOfNumber = extChoice({
  unknown: NULL,
  level2RegionalNumber: NULL,
  level1RegionalNumber: NULL,
  pISNSpecificNumber: NULL,
  localNumber: NULL,
  abbreviatedNumber: NULL,
});
export const PartyNumber = extChoice({
  e164Number: sequence({ publicTypeOfNumber: PublicTypeOfNumber, publicNumberDigits: NumberDigits }),
  dataPartyNumber: NumberDigits,
  telexPartyNumber: NumberDigits,
  privateNumber: sequence({ privateTypeOfNumber: PrivateTypeOfNumber, privateNumberDigits: NumberDigits }),
  nationalStandardPartyNumber: NumberDigits,
});

const TBCD = '0123456789#*abc';
const tbcd = (min: number, max: number) => charString('IA5', size(min, max), TBCD);
const MobileUIM = extChoice({
  'ansi-41-uim': extSequence({
    imsi: opt(tbcd(3, 16)),
    min: opt(tbcd(3, 16)),
    mdn: opt(tbcd(3, 16)),
    msisdn: opt(tbcd(3, 16)),
    esn: opt(tbcd(16, 16)),
    mscid: opt(tbcd(3, 16)),
    'system-id': extChoice({ sid: tbcd(1, 4), mid: tbcd(1, 4) }),
    systemMyTypeCode: opt(octetString(size(1))),
    systemAccessType: opt(octetString(size(1))),
    qualificationInformationCode: opt(octetString(size(1))),
    sesn: opt(tbcd(16, 16)),
    soc: opt(tbcd(3, 16)),
  }),
  'gsm-uim': extSequence({
    imsi: opt(tbcd(3, 16)),
    tmsi: opt(octetString(size(1, 4))),
    msisdn: opt(tbcd(3, 16)),
    imei: opt(tbcd(15, 16)),
    hplmn: opt(tbcd(1, 4)),
    vplmn: opt(tbcd(1, 4)),
  }),
});

const IsupDigits = charString('IA5', size(1, 128), '0123456789ABCDE');
const NatureOfAddress = extChoice({
  unknown: NULL,
  subscriberNumber: NULL,
  nationalNumber: NULL,
  internationalNumber: NULL,
  networkSpecificNumber: NULL,
  routingNumberNationalFormat: NULL,
  routingNumberNetworkSpecificFormat: NULL,
  routingNumberWithCalledDirectoryNumber: NULL,
});
const IsupNumber = extChoice({
  e164Number: extSequence({ natureOfAddress: NatureOfAddress, address: IsupDigits }),
  dataPartyNumber: IsupDigits,
  telexPartyNumber: IsupDigits,
  privateNumber: extSequence({ privateTypeOfNumber: PrivateTypeOfNumber, address: IsupDigits }),
  nationalStandardPartyNumber: IsupDigits,
});

export const AliasAddress = extChoice(
  {
    dialledDigits: charString('IA5', size(1, 128), DIGITS),
    'h323-ID': charString('BMP', size(1, 256)),
  },
  {
    'url-ID': charString('IA5', size(1, 512)),
    transportID: TransportAddress,
    'email-ID': charString('IA5', size(1, 512)),
    partyNumber: PartyNumber,
    mobileUIM: MobileUIM,
    isupNumber: IsupNumber,
  },
);

export const AddressPattern = extChoice({
  wildcard: AliasAddress,
  range: sequence({ startOfRange: PartyNumber, endOfRange: PartyNumber }),
});

export const GloballyUniqueID = octetString(size(16));
export const ConferenceIdentifier = GloballyUniqueID;
export const RequestSeqNum = integer(1, 65535);
export const GatekeeperIdentifier = charString('BMP', size(1, 128));
export const EndpointIdentifier = charString('BMP', size(1, 128));
export const BandWidth = integer(0, 4294967295);
export const CallReferenceValue = integer(0, 65535);
export const ProtocolIdentifier = OID;
export const TimeToLive = integer(1, 4294967295);
/** H.235 TimeStamp. */
export const TimeStamp = integer(1, 4294967295);
export const CallIdentifier = extSequence({ guid: GloballyUniqueID });

// Types from H.235 / H.245 that we carry but do not model (only in open-type positions).
export const Tokens = opaque('SEQUENCE OF ClearToken');
export const CryptoTokens = opaque('SEQUENCE OF CryptoH323Token');
export const AuthenticationMechanismOpaque = opaque('AuthenticationMechanism');
export const AuthenticationMechanisms = opaque('SEQUENCE OF AuthenticationMechanism');

export const ICV = sequence({ algorithmOID: OID, icv: bitString() });

export const VendorIdentifier = extSequence(
  {
    vendor: H221NonStandard,
    productId: opt(octetString(size(1, 256))),
    versionId: opt(octetString(size(1, 256))),
  },
  { enterpriseNumber: opt(OID) },
);

export const DataRate = extSequence({
  nonStandardData: opt(NonStandardParameter),
  channelRate: BandWidth,
  channelMultiplier: opt(integer(1, 256)),
});

export const SupportedPrefix = extSequence({ nonStandardData: opt(NonStandardParameter), prefix: AliasAddress });

const caps = () =>
  extSequence(
    { nonStandardData: opt(NonStandardParameter) },
    { dataRatesSupported: opt(sequenceOf(DataRate)), supportedPrefixes: sequenceOf(SupportedPrefix) },
  );
const H323Caps = caps();

export const SupportedProtocols = extChoice(
  {
    nonStandardData: NonStandardParameter,
    h310: caps(),
    h320: caps(),
    h321: caps(),
    h322: caps(),
    h323: H323Caps,
    h324: caps(),
    voice: caps(),
    't120-only': caps(),
  },
  {
    nonStandardProtocol: extSequence({
      nonStandardData: opt(NonStandardParameter),
      dataRatesSupported: opt(sequenceOf(DataRate)),
      supportedPrefixes: sequenceOf(SupportedPrefix),
    }),
    t38FaxAnnexbOnly: opaque('T38FaxAnnexbOnlyCaps'),
    sip: extSequence({
      nonStandardData: opt(NonStandardParameter),
      dataRatesSupported: opt(sequenceOf(DataRate)),
      supportedPrefixes: opt(sequenceOf(SupportedPrefix)),
    }),
  },
);

export const GatewayInfo = extSequence({
  protocol: opt(sequenceOf(SupportedProtocols)),
  nonStandardData: opt(NonStandardParameter),
});

export const TunnelledProtocol = extSequence({
  id: extChoice({
    tunnelledProtocolObjectID: OID,
    tunnelledProtocolAlternateID: extSequence({
      protocolType: charString('IA5', size(1, 64)),
      protocolVariant: opt(charString('IA5', size(1, 64))),
    }),
  }),
  subIdentifier: opt(charString('IA5', size(1, 64))),
});

export const EndpointType = extSequence(
  {
    nonStandardData: opt(NonStandardParameter),
    vendor: opt(VendorIdentifier),
    gatekeeper: opt(extSequence({ nonStandardData: opt(NonStandardParameter) })),
    gateway: opt(GatewayInfo),
    mcu: opt(extSequence({ nonStandardData: opt(NonStandardParameter) }, { protocol: opt(sequenceOf(SupportedProtocols)) })),
    terminal: opt(extSequence({ nonStandardData: opt(NonStandardParameter) })),
    mc: BOOLEAN,
    undefinedNode: BOOLEAN,
  },
  {
    set: opt(bitString(size(32))),
    supportedTunnelledProtocols: opt(sequenceOf(TunnelledProtocol)),
  },
);

// GenericData is recursive (Content.nested), so its value types are spelled out.
export type GenericIdentifierValue =
  | { choice: 'standard'; value: number }
  | { choice: 'oid'; value: string }
  | { choice: 'nonStandard'; value: Uint8Array }
  | UnknownAlternative;
export interface EnumeratedParameterValue {
  id: GenericIdentifierValue;
  content?: ContentValue;
}
export interface GenericDataValue {
  id: GenericIdentifierValue;
  parameters?: EnumeratedParameterValue[];
}
export type ContentValue =
  | { choice: 'raw'; value: Uint8Array }
  | { choice: 'text'; value: string }
  | { choice: 'unicode'; value: string }
  | { choice: 'bool'; value: boolean }
  | { choice: 'number8'; value: number }
  | { choice: 'number16'; value: number }
  | { choice: 'number32'; value: number }
  | { choice: 'id'; value: GenericIdentifierValue }
  | { choice: 'alias'; value: ValueOf<typeof AliasAddress> }
  | { choice: 'transport'; value: ValueOf<typeof TransportAddress> }
  | { choice: 'compound'; value: EnumeratedParameterValue[] }
  | { choice: 'nested'; value: GenericDataValue[] }
  | UnknownAlternative;

export const GenericIdentifier: ChoiceSchema<GenericIdentifierValue> = extChoice({
  standard: integer(0, 16383, true),
  oid: OID,
  nonStandard: GloballyUniqueID,
});
export const Content: ChoiceSchema<ContentValue> = extChoice({
  raw: octetString(),
  text: charString('IA5'),
  unicode: charString('BMP'),
  bool: BOOLEAN,
  number8: integer(0, 255),
  number16: integer(0, 65535),
  number32: integer(0, 4294967295),
  id: GenericIdentifier,
  alias: AliasAddress,
  transport: TransportAddress,
  compound: sequenceOf(ref<EnumeratedParameterValue>(() => EnumeratedParameter), size(1, 512)),
  nested: sequenceOf(ref<GenericDataValue>(() => GenericData), size(1, 16)),
});
export const EnumeratedParameter: SequenceSchema<EnumeratedParameterValue> = extSequence({
  id: GenericIdentifier,
  content: opt(Content),
});
export const GenericData: SequenceSchema<GenericDataValue> = extSequence({
  id: GenericIdentifier,
  parameters: opt(sequenceOf(EnumeratedParameter, size(1, 512))),
});
export const FeatureDescriptor = GenericData;

export const FeatureSet = extSequence({
  replacementFeatureSet: BOOLEAN,
  neededFeatures: opt(sequenceOf(FeatureDescriptor)),
  desiredFeatures: opt(sequenceOf(FeatureDescriptor)),
  supportedFeatures: opt(sequenceOf(FeatureDescriptor)),
});

export const CarrierInfo = extSequence({
  carrierIdentificationCode: opt(octetString(size(3, 4))),
  carrierName: opt(charString('IA5', size(1, 128))),
});
export const CallsAvailable = extSequence(
  { calls: integer(0, 4294967295), group: opt(charString('IA5', size(1, 128))) },
  { carrier: opt(CarrierInfo) },
);
const callsList = () => opt(sequenceOf(CallsAvailable));
export const CallCapacityInfo = extSequence(
  {
    voiceGwCallsAvailable: callsList(),
    h310GwCallsAvailable: callsList(),
    h320GwCallsAvailable: callsList(),
    h321GwCallsAvailable: callsList(),
    h322GwCallsAvailable: callsList(),
    h323GwCallsAvailable: callsList(),
    h324GwCallsAvailable: callsList(),
    t120OnlyGwCallsAvailable: callsList(),
    t38FaxAnnexbOnlyGwCallsAvailable: callsList(),
    terminalCallsAvailable: callsList(),
    mcuCallsAvailable: callsList(),
  },
  { sipGwCallsAvailable: callsList() },
);
export const CallCapacity = extSequence({
  maximumCallCapacity: opt(CallCapacityInfo),
  currentCallCapacity: opt(CallCapacityInfo),
});

export const CircuitIdentifier = extSequence(
  {
    cic: opt(extSequence({ cic: sequenceOf(octetString(size(2, 4))), pointCode: octetString(size(2, 5)) })),
    group: opt(extSequence({ member: opt(sequenceOf(integer(0, 65535))), group: charString('IA5', size(1, 128)) })),
  },
  { carrier: opt(CarrierInfo) },
);
export const CircuitInfo = extSequence({
  sourceCircuitID: opt(CircuitIdentifier),
  destinationCircuitID: opt(CircuitIdentifier),
  genericData: opt(sequenceOf(GenericData)),
});

export const CallCreditServiceControl = extSequence({
  amountString: opt(charString('BMP', size(1, 512))),
  billingMode: opt(extChoice({ credit: NULL, debit: NULL })),
  callDurationLimit: opt(integer(1, 4294967295)),
  enforceCallDurationLimit: opt(BOOLEAN),
  callStartingPoint: opt(extChoice({ alerting: NULL, connect: NULL })),
});
export const ServiceControlDescriptor = extChoice({
  url: charString('IA5', size(0, 512)),
  signal: octetString(),
  nonStandard: NonStandardParameter,
  callCreditServiceControl: CallCreditServiceControl,
});
export const ServiceControlSession = extSequence({
  sessionId: integer(0, 255),
  contents: opt(ServiceControlDescriptor),
  reason: extChoice({ open: NULL, refresh: NULL, close: NULL }),
});

export const AlternateTransportAddresses = extSequence(
  { annexE: opt(sequenceOf(TransportAddress)) },
  { sctp: opt(sequenceOf(TransportAddress)) },
);
export const UseSpecifiedTransport = extChoice({ tcp: NULL, annexE: NULL }, { sctp: NULL });

export const Endpoint = extSequence(
  {
    nonStandardData: opt(NonStandardParameter),
    aliasAddress: opt(sequenceOf(AliasAddress)),
    callSignalAddress: opt(sequenceOf(TransportAddress)),
    rasAddress: opt(sequenceOf(TransportAddress)),
    endpointType: opt(EndpointType),
    // Root OPTIONAL H.235 tokens cannot be skipped without their schema: unsupported if present.
    tokens: opt(Tokens),
    cryptoTokens: opt(CryptoTokens),
    priority: opt(integer(0, 127)),
    remoteExtensionAddress: opt(sequenceOf(AliasAddress)),
    destExtraCallInfo: opt(sequenceOf(AliasAddress)),
  },
  {
    alternateTransportAddresses: opt(AlternateTransportAddresses),
    circuitInfo: opt(CircuitInfo),
    featureSet: opt(FeatureSet),
  },
);

export const AlternateGK = extSequence({
  rasAddress: TransportAddress,
  gatekeeperIdentifier: opt(GatekeeperIdentifier),
  needToRegister: BOOLEAN,
  priority: integer(0, 127),
});
export const AltGKInfo = extSequence({ alternateGatekeeper: sequenceOf(AlternateGK), altGKisPermanent: BOOLEAN });

export const SecurityErrors = extChoice({
  securityWrongSyncTime: NULL,
  securityReplay: NULL,
  securityWrongGeneralID: NULL,
  securityWrongSendersID: NULL,
  securityIntegrityFailed: NULL,
  securityWrongOID: NULL,
  securityDHmismatch: NULL,
  securityCertificateExpired: NULL,
  securityCertificateDateInvalid: NULL,
  securityCertificateRevoked: NULL,
  securityCertificateNotReadable: NULL,
  securityCertificateSignatureInvalid: NULL,
  securityCertificateMissing: NULL,
  securityCertificateIncomplete: NULL,
  securityUnsupportedCertificateAlgOID: NULL,
  securityUnknownCA: NULL,
});
export const SecurityErrors2 = extChoice({
  securityWrongSyncTime: NULL,
  securityReplay: NULL,
  securityWrongGeneralID: NULL,
  securityWrongSendersID: NULL,
  securityIntegrityFailed: NULL,
  securityWrongOID: NULL,
});

export const QseriesOptions = extSequence({
  q932Full: BOOLEAN,
  q951Full: BOOLEAN,
  q952Full: BOOLEAN,
  q953Full: BOOLEAN,
  q955Full: BOOLEAN,
  q956Full: BOOLEAN,
  q957Full: BOOLEAN,
  q954Info: extSequence({ conferenceCalling: BOOLEAN, threePartyService: BOOLEAN }),
});

export const CallType = extChoice({ pointToPoint: NULL, oneToN: NULL, nToOne: NULL, nToN: NULL });
export const CallModel = extChoice({ direct: NULL, gatekeeperRouted: NULL });
export const TransportQOS = extChoice(
  { endpointControlled: NULL, gatekeeperControlled: NULL, noControl: NULL },
  { qOSCapabilities: opaque('SEQUENCE OF QOSCapability') },
);
export const CallLinkage = extSequence({ globalCallId: opt(GloballyUniqueID), threadId: opt(GloballyUniqueID) });

export const ReleaseCompleteReason = extChoice(
  {
    noBandwidth: NULL,
    gatekeeperResources: NULL,
    unreachableDestination: NULL,
    destinationRejection: NULL,
    invalidRevision: NULL,
    noPermission: NULL,
    unreachableGatekeeper: NULL,
    gatewayResources: NULL,
    badFormatAddress: NULL,
    adaptiveBusy: NULL,
    inConf: NULL,
    undefinedReason: NULL,
  },
  {
    facilityCallDeflection: NULL,
    securityDenied: NULL,
    calledPartyNotRegistered: NULL,
    callerNotRegistered: NULL,
    newConnectionNeeded: NULL,
    nonStandardReason: NonStandardParameter,
    replaceWithConferenceInvite: ConferenceIdentifier,
    genericDataReason: NULL,
    neededFeatureNotSupported: NULL,
    tunnelledSignallingRejected: NULL,
    invalidCID: NULL,
    securityError: SecurityErrors,
    hopCountExceeded: NULL,
  },
);

export const UUIEsRequested = extSequence(
  {
    setup: BOOLEAN,
    callProceeding: BOOLEAN,
    connect: BOOLEAN,
    alerting: BOOLEAN,
    information: BOOLEAN,
    releaseComplete: BOOLEAN,
    facility: BOOLEAN,
    progress: BOOLEAN,
    empty: BOOLEAN,
  },
  { status: BOOLEAN, statusInquiry: BOOLEAN, setupAcknowledge: BOOLEAN, notify: BOOLEAN },
);

export const RasUsageInfoTypes = extSequence({
  nonStandardUsageTypes: sequenceOf(NonStandardParameter),
  startTime: opt(NULL),
  endTime: opt(NULL),
  terminationCause: opt(NULL),
});
export const RasUsageSpecification = extSequence({
  when: extSequence({ start: opt(NULL), end: opt(NULL), inIrr: opt(NULL) }),
  callStartingPoint: opt(extSequence({ alerting: opt(NULL), connect: opt(NULL) })),
  required: RasUsageInfoTypes,
});
export const RasUsageInformation = extSequence({
  nonStandardUsageFields: sequenceOf(NonStandardParameter),
  alertingTime: opt(TimeStamp),
  connectTime: opt(TimeStamp),
  endTime: opt(TimeStamp),
});
export const CallTerminationCause = extChoice({
  releaseCompleteReason: ReleaseCompleteReason,
  releaseCompleteCauseIE: octetString(size(2, 32)),
});
export const TransportChannelInfo = extSequence({ sendAddress: opt(TransportAddress), recvAddress: opt(TransportAddress) });
export const BandwidthDetails = extSequence({
  sender: BOOLEAN,
  multicast: BOOLEAN,
  bandwidth: BandWidth,
  rtcpAddresses: TransportChannelInfo,
});
export const RTPSession = extSequence(
  {
    rtpAddress: TransportChannelInfo,
    rtcpAddress: TransportChannelInfo,
    cname: charString('Printable'),
    ssrc: integer(1, 4294967295),
    sessionId: integer(1, 255),
    associatedSessionIds: sequenceOf(integer(1, 255)),
  },
  { multicast: opt(NULL), bandwidth: opt(BandWidth) },
);
export const CallCreditCapability = extSequence({
  canDisplayAmountString: opt(BOOLEAN),
  canEnforceDurationLimit: opt(BOOLEAN),
});
export const CapacityReportingCapability = extSequence({ canReportCallCapacity: BOOLEAN });
export const CapacityReportingSpecification = extSequence({
  when: extSequence({ callStart: opt(NULL), callEnd: opt(NULL) }),
});
export const RehomingModel = choice({ gatekeeperBased: NULL, endpointBased: NULL });
export const Language = sequenceOf(charString('IA5', size(1, 32)));

export type TransportAddressValue = ValueOf<typeof TransportAddress>;
export type AliasAddressValue = ValueOf<typeof AliasAddress>;
export type EndpointTypeValue = ValueOf<typeof EndpointType>;
export type NonStandardParameterValue = ValueOf<typeof NonStandardParameter>;
export type SupportedPrefixValue = ValueOf<typeof SupportedPrefix>;
export type VendorIdentifierValue = ValueOf<typeof VendorIdentifier>;
