/**
 * The aliases an incoming Setup names, as strings: the number (called or calling) first, then the
 * string-valued AliasAddresses (dialledDigits, h323-ID, url-ID, email-ID) in order, no repeats.
 */
import type { H323Call } from './call.js';
import type { AliasAddressValue } from '../h225/common-types.js';

function aliasStrings(number: string | undefined, aliases: readonly AliasAddressValue[] | undefined): string[] {
  const out: string[] = [];
  if (number) out.push(number);
  for (const a of aliases ?? []) {
    const v = (a as { value: unknown }).value;
    if (typeof v === 'string' && v && !out.includes(v)) out.push(v);
  }
  return out;
}

function setupBody(call: H323Call) {
  const body = call.setup?.['h323-uu-pdu']['h323-message-body'];
  return body?.choice === 'setup' ? body.value : undefined;
}

/** What the caller dialled: called party number, then destinationAddress. */
export function dialledAliases(call: H323Call): string[] {
  return aliasStrings(call.calledNumber, setupBody(call)?.destinationAddress);
}

/** Who the caller is: calling party number, then sourceAddress. */
export function callerAliases(call: H323Call): string[] {
  return aliasStrings(call.callingNumber, setupBody(call)?.sourceAddress);
}
