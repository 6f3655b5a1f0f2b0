/**
 * Q.931 information elements (Q.931 clause 4.5, as profiled by H.225.0 clause 7.2).
 *
 * Typed IEs carry every field needed to rebuild their octets. A known IE whose contents do not fit
 * the typed model exactly (reserved bits set, octet groups we do not model, a truncated group) is
 * kept as an `unknown` IE with the reason in `problem`: its bytes survive a re-encode unchanged and
 * the rest of the message still decodes, as Q.931 5.8.7 asks for non-mandatory IE content errors.
 */
import { hasTwoOctetLength, IeId } from './constants.js';
import { ok, q931Error, type Q931Result } from './result.js';

/** Bearer capability (Q.931 4.5.5). H.225.0 Setup: speech or unrestricted digital, 64 kbit/s. */
export interface BearerCapabilityIe {
  readonly kind: 'bearerCapability';
  /** Octet 3 bits 7-6: 0 = ITU-T. */
  readonly codingStandard: number;
  /** Octet 3 bits 5-1: 0 speech, 8 unrestricted digital, 16 3.1 kHz audio, 24 video. */
  readonly transferCapability: number;
  /** Octet 4 bits 7-6: 0 = circuit mode. */
  readonly transferMode: number;
  /** Octet 4 bits 5-1: 0x10 = 64 kbit/s, 0x18 = multirate (then rateMultiplier is present). */
  readonly transferRate: number;
  /** Octet 4.1, only with transferRate 0x18 (octet 4 then has extension bit 0). */
  readonly rateMultiplier?: number;
  /** Octet 5 (layer 1 identification 01): user information layer 1 protocol, e.g. 5 = H.221/H.242. */
  readonly layer1Protocol?: number;
  /** Octets after octet 5 (5a.., layer 2 and 3), kept as bytes; octet 5 then has its extension bit 0. */
  readonly extra?: Uint8Array;
}

/** Cause (Q.931 4.5.12, Q.850 clause 2). */
export interface CauseIe {
  readonly kind: 'cause';
  readonly codingStandard: number;
  /** Q.850 location (0 user, 1 private network serving local user, ...). */
  readonly location: number;
  /** Octet 3a, rarely sent. */
  readonly recommendation?: number;
  /** Q.850 cause value, 0..127 (16 = normal call clearing). */
  readonly value: number;
  readonly diagnostics?: Uint8Array;
}

/** Call state (Q.931 4.5.7): no extension bit, one octet. */
export interface CallStateIe {
  readonly kind: 'callState';
  readonly codingStandard: number;
  /** Call state value 0..63 (0 null, 1 call initiated, 10 active, ...). */
  readonly value: number;
}

/** Progress indicator (Q.931 4.5.23). */
export interface ProgressIndicatorIe {
  readonly kind: 'progressIndicator';
  readonly codingStandard: number;
  readonly location: number;
  /** 1 not end-to-end ISDN, 2 destination non-ISDN, 8 in-band information available, ... */
  readonly description: number;
}

/** Display (Q.931 4.5.16): text as sent; each character is one octet (latin1 round-trips any byte). */
export interface DisplayIe {
  readonly kind: 'display';
  readonly text: string;
}

export interface CallingPartyNumberIe {
  readonly kind: 'callingPartyNumber';
  /** Type of number, 0..7 (0 unknown, 1 international, 2 national, 4 subscriber). */
  readonly numberType: number;
  /** Numbering plan, 0..15 (1 E.164, 9 private). */
  readonly numberingPlan: number;
  /** Octet 3a: presentation indicator 0..3 (0 allowed, 1 restricted). Present together with screening. */
  readonly presentation?: number;
  /** Octet 3a: screening indicator 0..3 (0 user-provided not screened, 3 network provided). */
  readonly screening?: number;
  readonly digits: string;
}

export interface CalledPartyNumberIe {
  readonly kind: 'calledPartyNumber';
  readonly numberType: number;
  readonly numberingPlan: number;
  readonly digits: string;
}

/**
 * User-user (Q.931 4.5.30 with H.225.0's two-octet length). For H.225.0 the protocol
 * discriminator is 5 and the payload is the PER-encoded H323-UserInformation, opaque here.
 */
export interface UserUserIe {
  readonly kind: 'userUser';
  readonly protocolDiscriminator: number;
  readonly payload: Uint8Array;
}

/** Any variable-length IE we do not type, or a typed one whose contents did not fit its model. */
export interface UnknownIe {
  readonly kind: 'unknown';
  readonly codeset: number;
  readonly id: number;
  readonly contents: Uint8Array;
  /** Set when the IE is one we type but its contents were not understood. */
  readonly problem?: string;
}

/** Shift (Q.931 4.5.3): locking changes the codeset until the next locking shift; non-locking covers the next IE. */
export interface ShiftIe {
  readonly kind: 'shift';
  readonly locking: boolean;
  readonly codeset: number;
}

/** Any other single-octet IE (sending complete 0xA1, more data 0xA0, repeat indicator 0xDx, ...). */
export interface SingleOctetIe {
  readonly kind: 'singleOctet';
  readonly octet: number;
}

export type TypedIe =
  | BearerCapabilityIe
  | CauseIe
  | CallStateIe
  | ProgressIndicatorIe
  | DisplayIe
  | CallingPartyNumberIe
  | CalledPartyNumberIe
  | UserUserIe;

export type Q931Ie = TypedIe | UnknownIe | ShiftIe | SingleOctetIe;

export type TypedIeKind = TypedIe['kind'];

/** Codeset-0 identifier of each typed IE. */
export const typedIeId: { readonly [K in TypedIeKind]: number } = {
  bearerCapability: IeId.BearerCapability,
  cause: IeId.Cause,
  callState: IeId.CallState,
  progressIndicator: IeId.ProgressIndicator,
  display: IeId.Display,
  callingPartyNumber: IeId.CallingPartyNumber,
  calledPartyNumber: IeId.CalledPartyNumber,
  userUser: IeId.UserUser,
};

/** Identifier and codeset of the octet(s) an IE starts with, for every kind that has one. */
export function ieIdentifier(ie: Q931Ie): { codeset: number; id: number } | undefined {
  if (ie.kind === 'unknown') return { codeset: ie.codeset, id: ie.id };
  if (ie.kind === 'shift' || ie.kind === 'singleOctet') return undefined;
  return { codeset: 0, id: typedIeId[ie.kind] };
}

// ---------------------------------------------------------------------------------------------
// Contents encoders (octets after identifier and length). They validate every field.

function inRange(name: string, v: number | undefined, min: number, max: number): string | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) return `${name} must be an integer in ${min}..${max}, got ${String(v)}`;
  return undefined;
}

function firstProblem(...checks: Array<string | undefined>): string | undefined {
  for (const c of checks) if (c !== undefined) return c;
  return undefined;
}

function latin1Bytes(name: string, s: string): Q931Result<Uint8Array> {
  if (typeof s !== 'string') return q931Error('invalid-value', `${name} must be a string`);
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) return q931Error('invalid-value', `${name} has a character that is not one octet at index ${i}`);
  }
  return ok(Uint8Array.from(Buffer.from(s, 'latin1')));
}

function bytesOf(v: Uint8Array | undefined): Uint8Array {
  return v ?? new Uint8Array(0);
}

function concat(parts: ReadonlyArray<Uint8Array | readonly number[]>): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Encode the contents of a typed IE. */
export function encodeTypedIeContents(ie: TypedIe): Q931Result<Uint8Array> {
  switch (ie.kind) {
    case 'bearerCapability': {
      const p = firstProblem(
        inRange('codingStandard', ie.codingStandard, 0, 3),
        inRange('transferCapability', ie.transferCapability, 0, 31),
        inRange('transferMode', ie.transferMode, 0, 3),
        inRange('transferRate', ie.transferRate, 0, 31),
        inRange('rateMultiplier', ie.rateMultiplier, 0, 127),
        inRange('layer1Protocol', ie.layer1Protocol, 0, 31),
      );
      if (p) return q931Error('invalid-value', `bearer capability: ${p}`);
      if ((ie.transferRate === 0x18) !== (ie.rateMultiplier !== undefined)) {
        return q931Error('invalid-value', 'bearer capability: rateMultiplier is present exactly when transferRate is 0x18 (multirate)');
      }
      const extra = bytesOf(ie.extra);
      if (extra.length > 0 && ie.layer1Protocol === undefined) {
        return q931Error('invalid-value', 'bearer capability: extra octets need layer1Protocol');
      }
      // Octet 4's extension bit is 0 when octet 4.1 (rate multiplier) follows, as GnuGk sends it.
      const o4ext = ie.rateMultiplier === undefined ? 0x80 : 0;
      const octets: number[] = [0x80 | (ie.codingStandard << 5) | ie.transferCapability, o4ext | (ie.transferMode << 5) | ie.transferRate];
      if (ie.rateMultiplier !== undefined) octets.push(0x80 | ie.rateMultiplier);
      if (ie.layer1Protocol !== undefined) octets.push((extra.length === 0 ? 0x80 : 0) | 0x20 | ie.layer1Protocol);
      return ok(concat([octets, extra]));
    }
    case 'cause': {
      const p = firstProblem(
        inRange('codingStandard', ie.codingStandard, 0, 3),
        inRange('location', ie.location, 0, 15),
        inRange('recommendation', ie.recommendation, 0, 127),
        inRange('value', ie.value, 0, 127),
      );
      if (p) return q931Error('invalid-value', `cause: ${p}`);
      const head = (ie.codingStandard << 5) | ie.location;
      const octets =
        ie.recommendation === undefined ? [0x80 | head] : [head, 0x80 | ie.recommendation];
      octets.push(0x80 | ie.value);
      return ok(concat([octets, bytesOf(ie.diagnostics)]));
    }
    case 'callState': {
      const p = firstProblem(inRange('codingStandard', ie.codingStandard, 0, 3), inRange('value', ie.value, 0, 63));
      if (p) return q931Error('invalid-value', `call state: ${p}`);
      return ok(Uint8Array.of((ie.codingStandard << 6) | ie.value));
    }
    case 'progressIndicator': {
      const p = firstProblem(
        inRange('codingStandard', ie.codingStandard, 0, 3),
        inRange('location', ie.location, 0, 15),
        inRange('description', ie.description, 0, 127),
      );
      if (p) return q931Error('invalid-value', `progress indicator: ${p}`);
      return ok(Uint8Array.of(0x80 | (ie.codingStandard << 5) | ie.location, 0x80 | ie.description));
    }
    case 'display':
      return latin1Bytes('display text', ie.text);
    case 'callingPartyNumber': {
      const p = firstProblem(
        inRange('numberType', ie.numberType, 0, 7),
        inRange('numberingPlan', ie.numberingPlan, 0, 15),
        inRange('presentation', ie.presentation, 0, 3),
        inRange('screening', ie.screening, 0, 3),
      );
      if (p) return q931Error('invalid-value', `calling party number: ${p}`);
      const digits = latin1Bytes('calling party digits', ie.digits);
      if (!digits.ok) return digits;
      const head = (ie.numberType << 4) | ie.numberingPlan;
      const octets =
        ie.presentation === undefined && ie.screening === undefined
          ? [0x80 | head]
          : [head, 0x80 | ((ie.presentation ?? 0) << 5) | (ie.screening ?? 0)];
      return ok(concat([octets, digits.value]));
    }
    case 'calledPartyNumber': {
      const p = firstProblem(inRange('numberType', ie.numberType, 0, 7), inRange('numberingPlan', ie.numberingPlan, 0, 15));
      if (p) return q931Error('invalid-value', `called party number: ${p}`);
      const digits = latin1Bytes('called party digits', ie.digits);
      if (!digits.ok) return digits;
      return ok(concat([[0x80 | (ie.numberType << 4) | ie.numberingPlan], digits.value]));
    }
    case 'userUser': {
      const p = inRange('protocolDiscriminator', ie.protocolDiscriminator, 0, 255);
      if (p) return q931Error('invalid-value', `user-user: ${p}`);
      if (!(ie.payload instanceof Uint8Array)) return q931Error('invalid-value', 'user-user: payload must be bytes');
      return ok(concat([[ie.protocolDiscriminator], ie.payload]));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Contents decoders. They return undefined (with a reason) when the octets do not fit the model.

type Parsed = TypedIe | string;

const ext = (b: number): boolean => (b & 0x80) !== 0;

function parseBearerCapability(c: Uint8Array): Parsed {
  if (c.length < 2) return 'bearer capability shorter than 2 octets';
  const o3 = c[0]!;
  const o4 = c[1]!;
  const transferRate = o4 & 0x1f;
  // Octets 3a and 4a/4b (Q.931 1988) are not modelled; octet 4 continues only into 4.1 (multirate).
  if (!ext(o3) || (!ext(o4) && transferRate !== 0x18)) return 'bearer capability octet 3a/4a not modelled';
  let i = 2;
  let rateMultiplier: number | undefined;
  if (transferRate === 0x18) {
    if (i >= c.length) return 'bearer capability multirate without octet 4.1';
    rateMultiplier = c[i]! & 0x7f;
    i++;
  }
  let layer1Protocol: number | undefined;
  let extra: Uint8Array | undefined;
  if (i < c.length) {
    const o5 = c[i]!;
    if ((o5 & 0x60) !== 0x20) return 'bearer capability octet 5 is not layer 1 identification';
    layer1Protocol = o5 & 0x1f;
    i++;
    if (i < c.length) extra = c.slice(i);
  }
  return {
    kind: 'bearerCapability',
    codingStandard: (o3 >> 5) & 3,
    transferCapability: o3 & 0x1f,
    transferMode: (o4 >> 5) & 3,
    transferRate,
    ...(rateMultiplier === undefined ? {} : { rateMultiplier }),
    ...(layer1Protocol === undefined ? {} : { layer1Protocol }),
    ...(extra === undefined ? {} : { extra }),
  };
}

function parseCause(c: Uint8Array): Parsed {
  if (c.length < 2) return 'cause shorter than 2 octets';
  const o3 = c[0]!;
  let i = 1;
  let recommendation: number | undefined;
  if (!ext(o3)) {
    recommendation = c[i]! & 0x7f;
    i++;
    if (i >= c.length) return 'cause without cause value octet';
  }
  const value = c[i]! & 0x7f;
  i++;
  const diagnostics = i < c.length ? c.slice(i) : undefined;
  return {
    kind: 'cause',
    codingStandard: (o3 >> 5) & 3,
    location: o3 & 0x0f,
    ...(recommendation === undefined ? {} : { recommendation }),
    value,
    ...(diagnostics === undefined ? {} : { diagnostics }),
  };
}

function parseCallState(c: Uint8Array): Parsed {
  if (c.length !== 1) return 'call state is not one octet';
  return { kind: 'callState', codingStandard: (c[0]! >> 6) & 3, value: c[0]! & 0x3f };
}

function parseProgress(c: Uint8Array): Parsed {
  if (c.length !== 2) return 'progress indicator is not two octets';
  return { kind: 'progressIndicator', codingStandard: (c[0]! >> 5) & 3, location: c[0]! & 0x0f, description: c[1]! & 0x7f };
}

function latin1(c: Uint8Array): string {
  return Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('latin1');
}

function parseCalling(c: Uint8Array): Parsed {
  if (c.length < 1) return 'calling party number is empty';
  const o3 = c[0]!;
  let i = 1;
  let presentation: number | undefined;
  let screening: number | undefined;
  if (!ext(o3)) {
    if (c.length < 2) return 'calling party number without octet 3a';
    presentation = (c[1]! >> 5) & 3;
    screening = c[1]! & 3;
    i = 2;
  }
  return {
    kind: 'callingPartyNumber',
    numberType: (o3 >> 4) & 7,
    numberingPlan: o3 & 0x0f,
    ...(presentation === undefined ? {} : { presentation, screening: screening ?? 0 }),
    digits: latin1(c.subarray(i)),
  };
}

function parseCalled(c: Uint8Array): Parsed {
  if (c.length < 1) return 'called party number is empty';
  const o3 = c[0]!;
  return { kind: 'calledPartyNumber', numberType: (o3 >> 4) & 7, numberingPlan: o3 & 0x0f, digits: latin1(c.subarray(1)) };
}

function parseUserUser(c: Uint8Array): Parsed {
  if (c.length < 1) return 'user-user without protocol discriminator';
  return { kind: 'userUser', protocolDiscriminator: c[0]!, payload: c.slice(1) };
}

const parsers = new Map<number, (c: Uint8Array) => Parsed>([
  [IeId.BearerCapability, parseBearerCapability],
  [IeId.Cause, parseCause],
  [IeId.CallState, parseCallState],
  [IeId.ProgressIndicator, parseProgress],
  [IeId.Display, (c) => ({ kind: 'display', text: latin1(c) })],
  [IeId.CallingPartyNumber, parseCalling],
  [IeId.CalledPartyNumber, parseCalled],
  [IeId.UserUser, parseUserUser],
]);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Decode the contents of a variable-length IE. Typed only in codeset 0, and only when the typed
 * value encodes back to exactly these octets (so decode -> encode is always byte-exact).
 */
export function decodeIeContents(codeset: number, id: number, contents: Uint8Array): Q931Ie {
  const own = contents.slice();
  const parse = codeset === 0 ? parsers.get(id) : undefined;
  if (!parse) return { kind: 'unknown', codeset, id, contents: own };
  const parsed = parse(own);
  if (typeof parsed === 'string') return { kind: 'unknown', codeset, id, contents: own, problem: parsed };
  const again = encodeTypedIeContents(parsed);
  if (!again.ok || !sameBytes(again.value, own)) {
    return { kind: 'unknown', codeset, id, contents: own, problem: 'reserved bits or octet groups not modelled' };
  }
  return parsed;
}

/** Encode one IE (identifier, length, contents) in the given active codeset. */
export function encodeIe(ie: Q931Ie, codeset: number): Q931Result<Uint8Array> {
  if (ie.kind === 'shift') {
    const p = inRange('shift codeset', ie.codeset, 0, 7);
    if (p) return q931Error('invalid-value', p);
    return ok(Uint8Array.of(0x90 | (ie.locking ? 0 : 0x08) | ie.codeset));
  }
  if (ie.kind === 'singleOctet') {
    const p = inRange('single-octet IE', ie.octet, 0x80, 0xff);
    if (p) return q931Error('invalid-value', p);
    if ((ie.octet & 0xf0) === 0x90) return q931Error('invalid-value', 'use a shift IE for 0x9X octets');
    return ok(Uint8Array.of(ie.octet));
  }
  let id: number;
  let contents: Uint8Array;
  if (ie.kind === 'unknown') {
    const p = firstProblem(inRange('IE codeset', ie.codeset, 0, 7), inRange('IE identifier', ie.id, 0, 0x7f));
    if (p) return q931Error('invalid-value', p);
    if (ie.codeset !== codeset) {
      return q931Error('invalid-value', `IE 0x${ie.id.toString(16)} belongs to codeset ${ie.codeset} but codeset ${codeset} is active`);
    }
    if (!(ie.contents instanceof Uint8Array)) return q931Error('invalid-value', 'IE contents must be bytes');
    id = ie.id;
    contents = ie.contents;
  } else {
    if (codeset !== 0) return q931Error('invalid-value', `${ie.kind} is a codeset 0 IE but codeset ${codeset} is active`);
    const c = encodeTypedIeContents(ie);
    if (!c.ok) return c;
    id = typedIeId[ie.kind];
    contents = c.value;
  }
  if (hasTwoOctetLength(codeset, id)) {
    if (contents.length > 0xffff) return q931Error('too-long', `IE 0x${id.toString(16)} longer than 65535 octets`);
    return ok(concat([[id, contents.length >> 8, contents.length & 0xff], contents]));
  }
  if (contents.length > 0xff) return q931Error('too-long', `IE 0x${id.toString(16)} longer than 255 octets`);
  return ok(concat([[id, contents.length], contents]));
}
