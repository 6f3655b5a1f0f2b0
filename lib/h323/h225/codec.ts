/**
 * Typed API over the H.225.0 call-signalling schema: encode/decode H323-UserInformation, the
 * UserUserCodec the Q.931 layer plugs in, and small constructors for the UUIEs we send.
 */
import { encode, PerDecodeError, PerEncodeError } from '../per/index.js';
import { decodeChecked } from '../h245/codec.js';
import { err, ok, type Result } from '../q931/result.js';
import type { UserUserCodec } from '../q931/user-user.js';
import type { EndpointTypeValue, TransportAddressValue } from './common-types.js';
import {
  H323UserInformation,
  type H323MessageBodyValue,
  type H323UserInformationValue,
  type H323UUPDUValue,
  type UuieBody,
  type UuieType,
} from './schema.js';

/** H.225.0 version 7 (what H323Plus 1.28 and GnuGk 5 send). */
export const H225_CS_PROTOCOL_ID = '0.0.8.2250.0.7';

/** Throws PerDecodeError on malformed input (including values outside their constraints). */
export function decodeH225(bytes: Uint8Array): H323UserInformationValue {
  return decodeChecked(H323UserInformation, bytes);
}

/** Throws PerEncodeError when the value does not fit the schema (a programming error). */
export function encodeH225(value: H323UserInformationValue): Uint8Array {
  return encode(H323UserInformation, value);
}

function message(e: unknown): string {
  if (e instanceof PerDecodeError || e instanceof PerEncodeError) return e.message;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** The codec for the Q.931 User-user hook (decode/encode never throw). */
export const h225UserUserCodec: UserUserCodec<H323UserInformationValue> = {
  decode(payload: Uint8Array): Result<H323UserInformationValue, string> {
    try {
      return ok(decodeH225(payload));
    } catch (e) {
      return err(message(e));
    }
  },
  encode(value: H323UserInformationValue): Result<Uint8Array, string> {
    try {
      return ok(encodeH225(value));
    } catch (e) {
      return err(message(e));
    }
  },
};

/** The UUIE type of a PDU (undefined for an extension message body we do not know). */
export function uuieType(info: H323UserInformationValue): UuieType | undefined {
  const b = info['h323-uu-pdu']['h323-message-body'];
  return b.choice === '$unknown' ? undefined : b.choice;
}

/** The body of a given UUIE type, or undefined when the PDU carries another one. */
export function uuieBody<K extends UuieType>(info: H323UserInformationValue, type: K): UuieBody<K> | undefined {
  const b = info['h323-uu-pdu']['h323-message-body'];
  const v: unknown = b.choice === type ? b.value : undefined;
  return v as UuieBody<K> | undefined;
}

export interface PduOptions {
  readonly h245Tunnelling?: boolean;
  /** Tunnelled H.245 PDUs (PER-encoded MultimediaSystemControlMessage). */
  readonly h245Control?: readonly Uint8Array[];
}

/** Wrap a UUIE body into H323-UserInformation. */
export function h225Pdu<K extends UuieType>(type: K, body: UuieBody<K>, opts: PduOptions = {}): H323UserInformationValue {
  const pdu: H323UUPDUValue = {
    'h323-message-body': { choice: type, value: body } as H323MessageBodyValue,
    h245Tunnelling: opts.h245Tunnelling ?? false,
  };
  if (opts.h245Control && opts.h245Control.length > 0) pdu.h245Control = [...opts.h245Control];
  return { 'h323-uu-pdu': pdu };
}

/** An IPv4 TransportAddress. */
export function ipTransport(ip: string, port: number): TransportAddressValue {
  const parts = ip.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return { choice: 'ipAddress', value: { ip: Uint8Array.from(parts), port } };
}

/** host/port of an IPv4 TransportAddress, undefined for other kinds. */
export function transportToHostPort(t: TransportAddressValue | undefined): { host: string; port: number } | undefined {
  if (!t || t.choice !== 'ipAddress') return undefined;
  return { host: Array.from(t.value.ip).join('.'), port: t.value.port };
}

/** Our endpoint type: a terminal (or a gateway) with vendor information. */
export function endpointType(kind: 'terminal' | 'gateway' = 'terminal', productId = 'sip-h323-gw', versionId = '1'): EndpointTypeValue {
  const vendor = {
    vendor: { t35CountryCode: 9, t35Extension: 0, manufacturerCode: 61 },
    productId: new TextEncoder().encode(productId),
    versionId: new TextEncoder().encode(versionId),
  };
  return kind === 'terminal'
    ? { vendor, terminal: {}, mc: false, undefinedNode: false }
    : { vendor, gateway: {}, mc: false, undefinedNode: false };
}

/** A fresh 16-octet GUID (conferenceID / callIdentifier). */
export function newGuid(random: (n: number) => Uint8Array): Uint8Array {
  const g = random(16);
  g[6] = (g[6]! & 0x0f) | 0x40;
  g[8] = (g[8]! & 0x3f) | 0x80;
  return g;
}
