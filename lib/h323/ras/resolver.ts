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
  /**
   * Optional answer without I/O (configured prefixes, in-memory tables), tried before locate().
   * An answer here needs no abort signal, RIP/give-up timers or promise turn, which at thousands
   * of LRQs a second is most of the responder's own work. Undefined falls back to locate().
   */
  locateNow?(query: LocationQuery): LocationAnswer | undefined;
}

/** Resolves by configured prefixes (dialled digits) and exact aliases. */
export class StaticPrefixResolver implements AliasResolver {
  constructor(
    private readonly prefixes: readonly string[],
    private readonly aliases: readonly string[] = [],
  ) {}

  locate(query: LocationQuery): Promise<LocationAnswer> {
    // A copy: callers of the async API may keep or change what they get.
    return Promise.resolve({ ...this.locateNow(query) });
  }

  locateNow(query: LocationQuery): LocationAnswer {
    for (const a of query.destination) {
      const s = aliasToString(a);
      if (s === undefined) continue;
      if (this.aliases.includes(s)) return FOUND;
      if (a.choice === 'dialledDigits' && startsWithAny(s, this.prefixes)) return FOUND;
    }
    return NOT_OURS;
  }
}

// Shared answers: the responder only reads them.
const FOUND: LocationAnswer = Object.freeze({ result: 'found' });
const NOT_OURS: LocationAnswer = Object.freeze({ result: 'notFound', reason: 'requestDenied' });

function startsWithAny(s: string, prefixes: readonly string[]): boolean {
  for (let i = 0; i < prefixes.length; i++) if (s.startsWith(prefixes[i]!)) return true;
  return false;
}
