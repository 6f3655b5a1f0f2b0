/** Q.850 cause values and locations, for logs and for mapping to SIP later (RFC 3398). */

export const CauseValue = {
  UnallocatedNumber: 1,
  NoRouteToTransitNetwork: 2,
  NoRouteToDestination: 3,
  ChannelUnacceptable: 6,
  NormalCallClearing: 16,
  UserBusy: 17,
  NoUserResponding: 18,
  NoAnswer: 19,
  SubscriberAbsent: 20,
  CallRejected: 21,
  NumberChanged: 22,
  DestinationOutOfOrder: 27,
  InvalidNumberFormat: 28,
  FacilityRejected: 29,
  ResponseToStatusEnquiry: 30,
  NormalUnspecified: 31,
  NoCircuitAvailable: 34,
  NetworkOutOfOrder: 38,
  TemporaryFailure: 41,
  SwitchingEquipmentCongestion: 42,
  RequestedCircuitNotAvailable: 44,
  ResourceUnavailable: 47,
  QualityOfServiceUnavailable: 49,
  BearerCapabilityNotAuthorized: 57,
  BearerCapabilityNotAvailable: 58,
  ServiceUnavailable: 63,
  BearerCapabilityNotImplemented: 65,
  FacilityNotImplemented: 69,
  ServiceNotImplemented: 79,
  InvalidCallReference: 81,
  IncompatibleDestination: 88,
  InvalidMessage: 95,
  MandatoryIeMissing: 96,
  MessageTypeNonExistent: 97,
  MessageNotCompatibleWithCallState: 98,
  IeNonExistent: 99,
  InvalidIeContents: 100,
  RecoveryOnTimerExpiry: 102,
  ProtocolError: 111,
  Interworking: 127,
} as const;

const causeNames = new Map<number, string>(Object.entries(CauseValue).map(([name, v]) => [v, name]));

export function causeName(value: number): string | undefined {
  return causeNames.get(value);
}

/** Q.850 table 1 location codes. */
export const CauseLocation = {
  User: 0,
  PrivateNetworkLocalUser: 1,
  PublicNetworkLocalUser: 2,
  TransitNetwork: 3,
  PublicNetworkRemoteUser: 4,
  PrivateNetworkRemoteUser: 5,
  International: 7,
  BeyondInterworkingPoint: 10,
} as const;
