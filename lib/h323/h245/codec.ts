/** Encode/decode of H.245 MultimediaSystemControlMessage (aligned PER). */
import { decode, encode, PerDecodeError, PerEncodeError, type Schema } from '../per/index.js';
import { MultimediaSystemControlMessage, OpenLogicalChannel, type MultimediaSystemControlMessageValue, type OpenLogicalChannelValue } from './schema.js';

/**
 * Decode, then make sure the value re-encodes. The PER decoder currently accepts constrained whole
 * numbers above their upper bound (e.g. 32512 for INTEGER (0..8191) read from two octets), which
 * the encoder then refuses; such input is reported as malformed here so nothing downstream holds a
 * value it cannot send back (see the report to the PER owner).
 */
export function decodeChecked<T>(schema: Schema<T>, bytes: Uint8Array): T {
  const v = decode(schema, bytes);
  try {
    encode(schema, v);
  } catch (e) {
    if (e instanceof PerEncodeError) throw new PerDecodeError(`value outside its constraints: ${e.message}`);
    throw e;
  }
  return v;
}

/** Throws PerDecodeError on malformed input. */
export function decodeH245(bytes: Uint8Array): MultimediaSystemControlMessageValue {
  return decodeChecked(MultimediaSystemControlMessage, bytes);
}

/** Throws PerEncodeError when the value does not fit the schema. */
export function encodeH245(msg: MultimediaSystemControlMessageValue): Uint8Array {
  return encode(MultimediaSystemControlMessage, msg);
}

/** A fastStart element (an OpenLogicalChannel on its own). Throws PerDecodeError. */
export function decodeOlc(bytes: Uint8Array): OpenLogicalChannelValue {
  return decodeChecked(OpenLogicalChannel, bytes);
}

export function encodeOlc(olc: OpenLogicalChannelValue): Uint8Array {
  return encode(OpenLogicalChannel, olc);
}
