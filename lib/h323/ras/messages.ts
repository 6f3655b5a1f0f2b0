/**
 * Typed API over the RAS schema: encode/decode a RasMessage, and small constructors for the
 * values we build (aliases, transport addresses, gateway endpoint type, the messages we send).
 */
import { isIPv4 } from 'node:net';
import { decode, encode } from '../per/index.js';
import type { AliasAddressValue, EndpointTypeValue, TransportAddressValue, VendorIdentifierValue } from '../h225/common-types.js';
import { RasMessage, type RasBody, type RasMessageType, type RasMessageValue } from './schema.js';

/** H.225.0 version 7 (the module our schema follows); GnuGk and H323Plus 1.28 send the same. */
export const H225_PROTOCOL_ID = '0.0.8.2250.0.7';
/** GnuGk's vendor-info generic data id (see captures: always in its neighbour LRQs). */
export const GNUGK_VENDOR_OID = '1.3.6.1.4.1.17090.0.9';

export function encodeRas(msg: RasMessageValue): Uint8Array {
  return encode(RasMessage, msg);
}

/** Throws PerDecodeError on malformed input. */
export function decodeRas(bytes: Uint8Array): RasMessageValue {
  return decode(RasMessage, bytes);
}

export function ras<K extends RasMessageType>(type: K, body: RasBody<K>): RasMessageValue {
  return { choice: type, value: body } as RasMessageValue;
}

/** The message type name, or undefined for an extension message we do not know. */
export function rasType(msg: RasMessageValue): RasMessageType | undefined {
  return msg.choice === '$unknown' ? undefined : msg.choice;
}

/** requestSeqNum of any known RAS message (every one has it). */
export function requestSeqNum(msg: RasMessageValue): number | undefined {
  if (msg.choice === '$unknown' || msg.choice === 'admissionConfirmSequence') return undefined;
  return (msg.value as { requestSeqNum: number }).requestSeqNum;
}

// --- aliases --------------------------------------------------------------------------------

export const alias = {
  dialledDigits: (digits: string): AliasAddressValue => ({ choice: 'dialledDigits', value: digits }),
  h323Id: (id: string): AliasAddressValue => ({ choice: 'h323-ID', value: id }),
  url: (url: string): AliasAddressValue => ({ choice: 'url-ID', value: url }),
  email: (email: string): AliasAddressValue => ({ choice: 'email-ID', value: email }),
  transport: (t: TransportAddressValue): AliasAddressValue => ({ choice: 'transportID', value: t }),
};

/** Builds the alias GnuGk would use for a string: digits -> dialledDigits, else h323-ID. */
export function aliasFromString(s: string): AliasAddressValue {
  return /^[0-9#*,]{1,128}$/.test(s) ? alias.dialledDigits(s) : alias.h323Id(s);
}

/** The alias as a plain string (dialled digits, h323-ID, URL, e-mail or host:port), or undefined. */
export function aliasToString(a: AliasAddressValue): string | undefined {
  switch (a.choice) {
    case 'dialledDigits':
    case 'h323-ID':
    case 'url-ID':
    case 'email-ID':
      return a.value;
    case 'transportID':
      return transportToString(a.value);
    case 'partyNumber':
      return 'value' in a.value && typeof a.value.value === 'string'
        ? a.value.value
        : a.value.choice === 'e164Number'
          ? a.value.value.publicNumberDigits
          : a.value.choice === 'privateNumber'
            ? a.value.value.privateNumberDigits
            : undefined;
    default:
      return undefined;
  }
}

// --- transport addresses --------------------------------------------------------------------

export function ipAddress(host: string, port: number): TransportAddressValue {
  if (!isIPv4(host)) throw new Error(`not an IPv4 address: ${host}`);
  return { choice: 'ipAddress', value: { ip: Uint8Array.from(host.split('.').map(Number)), port } };
}

export interface HostPort {
  host: string;
  port: number;
}

/** IPv4 host/port of a transport address, or undefined for other kinds. */
export function transportHostPort(t: TransportAddressValue): HostPort | undefined {
  if (t.choice !== 'ipAddress') return undefined;
  return { host: Array.from(t.value.ip).join('.'), port: t.value.port };
}

export function transportToString(t: TransportAddressValue): string | undefined {
  const hp = transportHostPort(t);
  return hp ? `${hp.host}:${hp.port}` : undefined;
}

// --- endpoint types -------------------------------------------------------------------------

export const GATEWAY_VENDOR: VendorIdentifierValue = {
  vendor: { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 0 },
  productId: new TextEncoder().encode('council-gateway'),
  versionId: new TextEncoder().encode('0.1'),
};

/** EndpointType of a gateway announcing H.323 prefixes (as GnuGk reads them in RRQ). */
export function gatewayEndpointType(prefixes: readonly string[], vendor: VendorIdentifierValue = GATEWAY_VENDOR): EndpointTypeValue {
  return {
    vendor,
    gateway: {
      protocol: [
        {
          choice: 'h323',
          value: { supportedPrefixes: prefixes.map((p) => ({ prefix: aliasFromString(p) })) },
        },
      ],
    },
    mc: false,
    undefinedNode: false,
  };
}

/** EndpointType of a gatekeeper (what we put in LCF destinationType when answering as a neighbour). */
export function gatekeeperEndpointType(): EndpointTypeValue {
  return { gatekeeper: {}, mc: false, undefinedNode: false };
}

/** All prefixes in an EndpointType's gateway protocols, as strings. */
export function supportedPrefixes(t: EndpointTypeValue): string[] {
  const out: string[] = [];
  for (const p of t.gateway?.protocol ?? []) {
    if (p.choice === '$unknown' || p.choice === 'nonStandardData' || p.choice === 't38FaxAnnexbOnly') continue;
    const caps = p.value as { supportedPrefixes?: { prefix: AliasAddressValue }[] };
    for (const sp of caps.supportedPrefixes ?? []) {
      const s = aliasToString(sp.prefix);
      if (s !== undefined) out.push(s);
    }
  }
  return out;
}

/** Hex GUID as tshark prints it (8-4-4-4-12), for logs and tests. */
export function guidToString(g: Uint8Array): string {
  const h = Buffer.from(g).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
