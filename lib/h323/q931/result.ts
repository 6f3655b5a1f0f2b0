/**
 * Result type shared by the Q.931 and TPKT codecs. Decoders face bytes from the network, so they
 * report problems as values instead of throwing: a caller can never forget a try/catch and crash
 * the process on a peer's bad frame.
 */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}

/** Why a Q.931 message could not be decoded or encoded. Codes are stable (metrics labels). */
export type Q931ErrorCode =
  | 'too-short'
  | 'not-q931'
  | 'bad-call-reference'
  | 'bad-message-type'
  | 'truncated-ie'
  | 'too-many-ies'
  | 'invalid-value'
  | 'too-long';

export interface Q931Error {
  readonly code: Q931ErrorCode;
  readonly message: string;
  /** Byte offset in the message where the problem was found (decode only). */
  readonly offset?: number;
}

export type Q931Result<T> = Result<T, Q931Error>;

export function q931Error(code: Q931ErrorCode, message: string, offset?: number): { readonly ok: false; readonly error: Q931Error } {
  return err(offset === undefined ? { code, message } : { code, message, offset });
}
