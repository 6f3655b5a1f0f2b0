/**
 * Q.931 message codec (Q.931 clause 4, H.225.0 clause 7): protocol discriminator, call reference,
 * message type, then information elements in order. Decoding never throws; every read is bounds
 * checked. decode -> encode reproduces the input byte for byte (IE order, shifts and unknown IEs
 * are kept as received).
 */
import { hasTwoOctetLength, messageTypeName, Q931_PROTOCOL_DISCRIMINATOR, type MessageTypeName } from './constants.js';
import { decodeIeContents, encodeIe, type Q931Ie, type TypedIe, type TypedIeKind } from './ie.js';
import { ok, q931Error, type Q931Result } from './result.js';

/**
 * Call reference (Q.931 4.3). H.225.0 always uses 2 octets. `flag` false: sent by the side that
 * allocated the reference (the caller); true: sent to that side. Length 0 is the dummy call
 * reference (value 0, flag false).
 */
export interface CallReference {
  readonly length: number;
  readonly value: number;
  readonly flag: boolean;
}

export interface Q931Message {
  readonly callReference: CallReference;
  /** Message type code (see MessageType). Codes we do not know decode too; name is then undefined. */
  readonly messageType: number;
  readonly ies: readonly Q931Ie[];
}

export interface DecodeOptions {
  /** Cap on the number of IEs (single-octet ones included); beyond it the message is refused. */
  readonly maxIes?: number;
}

/** Longest call reference we accept: 4 octets keep the value within 31 bits plus the flag. */
export const MAX_CALL_REFERENCE_LENGTH = 4;
export const DEFAULT_MAX_IES = 256;
/** A Q.931 message must fit one TPKT frame (16-bit length including the 4-octet header). */
export const MAX_MESSAGE_LENGTH = 0xffff - 4;

export function decodeQ931(bytes: Uint8Array, options: DecodeOptions = {}): Q931Result<Q931Message> {
  if (!(bytes instanceof Uint8Array)) return q931Error('invalid-value', 'input must be bytes');
  const maxIes = options.maxIes ?? DEFAULT_MAX_IES;
  if (bytes.length === 0) return q931Error('too-short', 'empty message', 0);
  if (bytes[0] !== Q931_PROTOCOL_DISCRIMINATOR) {
    return q931Error('not-q931', `protocol discriminator 0x${bytes[0]!.toString(16)} is not Q.931 (0x08)`, 0);
  }
  if (bytes.length < 3) return q931Error('too-short', `message of ${bytes.length} octets is shorter than 3`, 0);
  const crOctet = bytes[1]!;
  if ((crOctet & 0xf0) !== 0) return q931Error('bad-call-reference', 'call reference length octet has spare bits set', 1);
  const crLen = crOctet & 0x0f;
  if (crLen > MAX_CALL_REFERENCE_LENGTH) return q931Error('bad-call-reference', `call reference length ${crLen} not supported`, 1);
  if (bytes.length < 3 + crLen) return q931Error('too-short', 'message ends inside the call reference', 2);
  let value = 0;
  let flag = false;
  for (let k = 0; k < crLen; k++) {
    let b = bytes[2 + k]!;
    if (k === 0) {
      flag = (b & 0x80) !== 0;
      b &= 0x7f;
    }
    value = value * 256 + b;
  }
  let off = 2 + crLen;
  const mt = bytes[off]!;
  if ((mt & 0x80) !== 0) return q931Error('bad-message-type', `message type 0x${mt.toString(16)} has bit 8 set`, off);
  off++;

  const ies: Q931Ie[] = [];
  let active = 0;
  let nonLocking: number | undefined;
  while (off < bytes.length) {
    if (ies.length >= maxIes) return q931Error('too-many-ies', `more than ${maxIes} information elements`, off);
    const b = bytes[off]!;
    const codeset = nonLocking ?? active;
    nonLocking = undefined;
    if ((b & 0x80) !== 0) {
      if ((b & 0xf0) === 0x90) {
        const cs = b & 0x07;
        const locking = (b & 0x08) === 0;
        if (locking) active = cs;
        else nonLocking = cs;
        ies.push({ kind: 'shift', locking, codeset: cs });
      } else {
        ies.push({ kind: 'singleOctet', octet: b });
      }
      off++;
      continue;
    }
    const two = hasTwoOctetLength(codeset, b);
    const headLen = two ? 3 : 2;
    if (off + headLen > bytes.length) return q931Error('truncated-ie', `IE 0x${b.toString(16)} has no length`, off);
    const len = two ? (bytes[off + 1]! << 8) | bytes[off + 2]! : bytes[off + 1]!;
    const start = off + headLen;
    if (start + len > bytes.length) {
      return q931Error('truncated-ie', `IE 0x${b.toString(16)} length ${len} runs past the end of the message`, off);
    }
    ies.push(decodeIeContents(codeset, b, bytes.subarray(start, start + len)));
    off = start + len;
  }
  return ok({ callReference: { length: crLen, value, flag }, messageType: mt, ies });
}

/**
 * The call reference of a message that failed to decode further on (bad IE, truncation), so the
 * call layer can still answer on that call (Q.931 5.8: Status or ReleaseComplete with a cause).
 */
export function peekCallReference(bytes: Uint8Array): CallReference | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2 || bytes[0] !== Q931_PROTOCOL_DISCRIMINATOR) return undefined;
  const len = bytes[1]!;
  if (len > MAX_CALL_REFERENCE_LENGTH || bytes.length < 2 + len) return undefined;
  let value = 0;
  for (let k = 0; k < len; k++) value = value * 256 + (k === 0 ? bytes[2]! & 0x7f : bytes[2 + k]!);
  return { length: len, value, flag: len > 0 && (bytes[2]! & 0x80) !== 0 };
}

/** The call reference to answer with: same value, flag inverted (Q.931 4.3). */
export function replyCallReference(cr: CallReference): CallReference {
  return cr.length === 0 ? cr : { ...cr, flag: !cr.flag };
}

export function encodeQ931(msg: Q931Message): Q931Result<Uint8Array> {
  const cr = msg.callReference;
  if (!Number.isInteger(cr.length) || cr.length < 0 || cr.length > MAX_CALL_REFERENCE_LENGTH) {
    return q931Error('bad-call-reference', `call reference length must be 0..${MAX_CALL_REFERENCE_LENGTH}`);
  }
  const maxValue = cr.length === 0 ? 0 : 2 ** (8 * cr.length - 1) - 1;
  if (!Number.isInteger(cr.value) || cr.value < 0 || cr.value > maxValue) {
    return q931Error('bad-call-reference', `call reference value must be 0..${maxValue} for length ${cr.length}`);
  }
  if (cr.length === 0 && cr.flag) return q931Error('bad-call-reference', 'the dummy call reference has no flag');
  if (!Number.isInteger(msg.messageType) || msg.messageType < 0 || msg.messageType > 0x7f) {
    return q931Error('bad-message-type', 'message type must be 0..127');
  }
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(3 + cr.length);
  head[0] = Q931_PROTOCOL_DISCRIMINATOR;
  head[1] = cr.length;
  let v = cr.value;
  for (let k = cr.length - 1; k >= 0; k--) {
    head[2 + k] = v % 256;
    v = Math.floor(v / 256);
  }
  if (cr.flag) head[2] = head[2]! | 0x80;
  head[2 + cr.length] = msg.messageType;
  parts.push(head);
  let total = head.length;
  let active = 0;
  let nonLocking: number | undefined;
  for (const ie of msg.ies) {
    const codeset = nonLocking ?? active;
    nonLocking = undefined;
    const enc = encodeIe(ie, codeset);
    if (!enc.ok) return enc;
    if (ie.kind === 'shift') {
      if (ie.locking) active = ie.codeset;
      else nonLocking = ie.codeset;
    }
    total += enc.value.length;
    if (total > MAX_MESSAGE_LENGTH) return q931Error('too-long', `message longer than ${MAX_MESSAGE_LENGTH} octets`);
    parts.push(enc.value);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return ok(out);
}

/** The first IE of a typed kind, narrowed to its interface. */
export function findIe<K extends TypedIeKind>(msg: Q931Message, kind: K): Extract<TypedIe, { kind: K }> | undefined {
  for (const ie of msg.ies) if (ie.kind === kind) return ie as Extract<TypedIe, { kind: K }>;
  return undefined;
}

/** All IEs of a typed kind (Q.931 allows repeats of e.g. Progress indicator). */
export function findAllIes<K extends TypedIeKind>(msg: Q931Message, kind: K): Array<Extract<TypedIe, { kind: K }>> {
  return msg.ies.filter((ie): ie is Extract<TypedIe, { kind: K }> => ie.kind === kind);
}

export function messageName(msg: Q931Message): MessageTypeName | undefined {
  return messageTypeName(msg.messageType);
}
