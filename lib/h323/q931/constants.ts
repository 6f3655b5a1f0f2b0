/**
 * Q.931 code points used by H.225.0 call signalling (H.225.0 clause 7, Q.931 clause 4).
 */

/** Protocol discriminator of a Q.931 user-network call control message. */
export const Q931_PROTOCOL_DISCRIMINATOR = 0x08;

/** Q.931 message types (Q.931 table 4-2) that H.225.0 uses or may receive. */
export const MessageType = {
  Alerting: 0x01,
  CallProceeding: 0x02,
  Progress: 0x03,
  Setup: 0x05,
  Connect: 0x07,
  SetupAcknowledge: 0x0d,
  ConnectAcknowledge: 0x0f,
  UserInformation: 0x20,
  Disconnect: 0x45,
  Release: 0x4d,
  ReleaseComplete: 0x5a,
  Facility: 0x62,
  Notify: 0x6e,
  StatusEnquiry: 0x75,
  Information: 0x7b,
  Status: 0x7d,
} as const;

export type MessageTypeName = keyof typeof MessageType;

const messageTypeNames = new Map<number, MessageTypeName>(
  (Object.entries(MessageType) as Array<[MessageTypeName, number]>).map(([name, code]) => [code, name]),
);

/** Name of a message type code, or undefined when it is not one we know. */
export function messageTypeName(code: number): MessageTypeName | undefined {
  return messageTypeNames.get(code);
}

/** Codeset-0 information element identifiers (Q.931 table 4-3) we type, plus a few we only name. */
export const IeId = {
  BearerCapability: 0x04,
  Cause: 0x08,
  CallState: 0x14,
  Facility: 0x1c,
  ProgressIndicator: 0x1e,
  NotificationIndicator: 0x27,
  Display: 0x28,
  Keypad: 0x2c,
  Signal: 0x34,
  CallingPartyNumber: 0x6c,
  CalledPartyNumber: 0x70,
  UserUser: 0x7e,
} as const;

/**
 * H.225.0 7.2.2.x: in codeset 0 the User-user IE carries a two-octet length (the H.225 PDU does
 * not fit in 255 bytes); every other variable-length IE has a one-octet length.
 */
export function hasTwoOctetLength(codeset: number, id: number): boolean {
  return codeset === 0 && id === IeId.UserUser;
}

/** User-user protocol discriminator H.225.0 uses: X.208/X.209 coded user information. */
export const USER_USER_PD_X208 = 0x05;
