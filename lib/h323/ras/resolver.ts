/**
 * How the neighbour responder asks "is this alias ours?". The SIP side implements AliasResolver
 * (registrar bindings, dial plan); StaticPrefixResolver covers configured prefixes and aliases.
 */
import type { AliasAddressValue } from '../h225/common-types.js';
import { aliasToString, type HostPort } from './messages.js';

/** LocationRejectReason alternatives the resolver may choose (all NULL-valued in H.225). */
export type LrjReason =
  | 'notRegistered'
  | 'invalidPermission'
  | 'requestDenied'
  | 'undefinedReason'
  | 'securityDenial'
  | 'resourceUnavailable'
  | 'hopCountExceeded'
  | 'incompleteAddress'
  | 'noRouteToDestination'
  | 'unallocatedNumber';

export interface LocationQuery {
  /** destinationInfo as received. */
  readonly destination: readonly AliasAddressValue[];
  /** The same aliases as strings (dialled digits, h323-ID, URL, e-mail). */
  readonly destinationStrings: readonly string[];
  /** sourceInfo as received (the caller, as GnuGk copied it from the ARQ). */
  readonly source: readonly AliasAddressValue[];
  readonly callIdentifier?: Uint8Array;
  /** Configured name of the neighbour that asked. */
  readonly neighbour: string;
  readonly hopCount?: number;
}

export type LocationAnswer =
  | {
      readonly result: 'found';
      /** Where the caller should send Setup; default: the gateway's call signalling address. */
      readonly callSignalAddress?: HostPort;
      /** destinationInfo for the LCF; default: the LRQ's destinationInfo. */
      readonly destinationInfo?: readonly AliasAddressValue[];
    }
  | { readonly result: 'notFound'; readonly reason?: LrjReason };

export interface AliasResolver {
  /** May take long (RIP is sent meanwhile); must honour `signal` (aborted on timeout/shutdown). */
  locate(query: LocationQuery, signal: AbortSignal): Promise<LocationAnswer>;
}

/** Resolves by configured prefixes (dialled digits) and exact aliases. */
export class StaticPrefixResolver implements AliasResolver {
  constructor(
    private readonly prefixes: readonly string[],
    private readonly aliases: readonly string[] = [],
  ) {}

  locate(query: LocationQuery): Promise<LocationAnswer> {
    for (const a of query.destination) {
      const s = aliasToString(a);
      if (s === undefined) continue;
      if (this.aliases.includes(s)) return Promise.resolve({ result: 'found' });
      if (a.choice === 'dialledDigits' && this.prefixes.some((p) => s.startsWith(p))) return Promise.resolve({ result: 'found' });
    }
    return Promise.resolve({ result: 'notFound', reason: 'requestDenied' });
  }
}
