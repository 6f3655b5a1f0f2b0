/**
 * Hook for the H.225.0 layer: the User-user IE holds the PER-encoded H323-UserInformation, which
 * this module treats as opaque bytes. The H.225 codec plugs in through UserUserCodec and gets a
 * typed view of a decoded Q.931 message, or puts its PDU into one being built.
 */
import { USER_USER_PD_X208 } from './constants.js';
import type { Q931Ie, UserUserIe } from './ie.js';
import type { Q931Message } from './message.js';
import { err, ok, type Result } from './result.js';

/** What the H.225 PDU codec provides. Its decode must not throw either. */
export interface UserUserCodec<T> {
  decode(payload: Uint8Array): Result<T, string>;
  encode(value: T): Result<Uint8Array, string>;
}

/** The H.225.0 payload of a message: the User-user IE with protocol discriminator 5. */
export function userUserPayload(msg: Q931Message): Uint8Array | undefined {
  const ie = msg.ies.find((i): i is UserUserIe => i.kind === 'userUser');
  if (!ie || ie.protocolDiscriminator !== USER_USER_PD_X208) return undefined;
  return ie.payload;
}

export type UserUserDecodeError = 'no-user-user' | { readonly codec: string };

/** Decode the User-user payload with the given codec. */
export function decodeUserUser<T>(msg: Q931Message, codec: UserUserCodec<T>): Result<T, UserUserDecodeError> {
  const payload = userUserPayload(msg);
  if (!payload) return err('no-user-user');
  let r: Result<T, string>;
  try {
    r = codec.decode(payload);
  } catch (e) {
    // A codec bug must not take the connection handler down with it.
    return err({ codec: `codec threw: ${e instanceof Error ? e.message : String(e)}` });
  }
  return r.ok ? ok(r.value) : err({ codec: r.error });
}

/** A copy of msg whose User-user IE carries `payload` (replacing an existing one in place, or appended last). */
export function withUserUser(msg: Q931Message, payload: Uint8Array): Q931Message {
  const ie: UserUserIe = { kind: 'userUser', protocolDiscriminator: USER_USER_PD_X208, payload };
  let replaced = false;
  const ies: Q931Ie[] = msg.ies.map((i) => {
    if (!replaced && i.kind === 'userUser') {
      replaced = true;
      return ie;
    }
    return i;
  });
  if (!replaced) ies.push(ie);
  return { ...msg, ies };
}

/** Encode a value with the codec and put it into msg's User-user IE. */
export function encodeUserUser<T>(msg: Q931Message, codec: UserUserCodec<T>, value: T): Result<Q931Message, string> {
  let r: Result<Uint8Array, string>;
  try {
    r = codec.encode(value);
  } catch (e) {
    return err(`codec threw: ${e instanceof Error ? e.message : String(e)}`);
  }
  return r.ok ? ok(withUserUser(msg, r.value)) : err(r.error);
}
