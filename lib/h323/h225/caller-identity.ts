/**
 * The caller's identity in an outgoing Setup, in the forms H.323 peers and GnuGk read:
 *
 * | from            | where in the Setup                                                       |
 * |-----------------|--------------------------------------------------------------------------|
 * | user            | sourceAddress h323-ID (BMP, 1..256)                                       |
 * | number          | sourceAddress dialledDigits (0-9, 1..128) and the Calling party number IE |
 * |                 | (E.164 plan; international when written with a leading '+')              |
 * | display name    | Q.931 Display IE (IA5: accents folded, other characters '?', 1..80) and  |
 * |                 | the Setup-UUIE displayName (BMP, 1..80: the name as given)               |
 *
 * GnuGk takes the caller alias of its ACF, CDR and status-port lines from sourceAddress; room
 * systems show the Display IE. Values are cleaned (control characters dropped, lengths capped at
 * a character boundary), never refused: a caller's odd name must not fail the call. What may go
 * out (PII rules) is the caller of this module's decision (lib/calls/sip-to-h323.ts).
 */
import type { AliasAddressValue } from './common-types.js';

export interface CallerIdentity {
  /** The caller's user name (the SIP user). */
  readonly user?: string;
  /** The caller's number: digits, optionally with a leading '+'. Anything else is ignored. */
  readonly number?: string;
  /** The caller's display name. */
  readonly displayName?: string;
}

/** The Setup fields (lib/h323/call DialTarget) that carry a CallerIdentity. */
export interface SetupCallerFields {
  readonly sourceAliases?: AliasAddressValue[];
  readonly callingNumber?: string;
  /** Calling party number type of number: 1 international ('+' numbers); absent: 0 unknown. */
  readonly callingNumberType?: number;
  /** Q.931 Display IE text (printable ASCII). */
  readonly display?: string;
  /** Setup-UUIE displayName (BMP). */
  readonly displayName?: string;
}

/** H.225.0 DisplayName.name and what we put in the Display IE: SIZE(1..80). */
export const DISPLAY_MAX = 80;
const H323_ID_MAX = 256;
const NUMBER = /^(\+?)([0-9]{1,128})$/;

/** Drops control characters, replaces characters outside the BMP with '?', collapses white space. */
function clean(s: string): string {
  return s
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Printable ASCII for the IA5 Display IE: accents folded ("José" -> "Jose"), the rest '?'. */
export function displayIeText(name: string): string {
  return clean(name)
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, DISPLAY_MAX)
    .trim();
}

export function setupCallerFields(c: CallerIdentity): SetupCallerFields {
  const aliases: AliasAddressValue[] = [];
  const user = c.user !== undefined ? clean(c.user).slice(0, H323_ID_MAX) : '';
  if (user) aliases.push({ choice: 'h323-ID', value: user });
  const num = c.number !== undefined ? NUMBER.exec(c.number.trim()) : null;
  const digits = num?.[2];
  if (digits) aliases.push({ choice: 'dialledDigits', value: digits });
  const name = c.displayName !== undefined ? clean(c.displayName).slice(0, DISPLAY_MAX).trim() : '';
  const ia5 = name ? displayIeText(name) : '';
  return {
    ...(aliases.length ? { sourceAliases: aliases } : {}),
    ...(digits ? { callingNumber: digits, ...(num![1] === '+' ? { callingNumberType: 1 } : {}) } : {}),
    ...(ia5 ? { display: ia5 } : {}),
    ...(name ? { displayName: name } : {}),
  };
}
