/**
 * Answers GnuGk's LRQs from the SIP side: an alias is ours when it names a registry identity
 * with a live registration (h323-ID / dialled digits equal to its SIP username), or when it
 * falls in the configured zone prefixes/aliases (static dial plan). Nothing else is claimed, so
 * GnuGk never routes a call here that the gateway could not place.
 */
import type { AliasResolver, LocationAnswer, LocationQuery } from '../h323/ras/resolver.js';
import { StaticPrefixResolver } from '../h323/ras/resolver.js';
import type { RegistryReader } from '../registry/types.js';
import type { Registrar } from '../registrar/registrar.js';

export class GatewayAliasResolver implements AliasResolver {
  private readonly zone: StaticPrefixResolver;

  constructor(
    prefixes: readonly string[],
    aliases: readonly string[],
    private readonly registry: RegistryReader | undefined,
    private readonly registrar: Registrar | undefined,
    /** Council room aliases (lib/council): always ours, the gateway hosts the room. */
    private readonly isRoomAlias?: (alias: string) => boolean,
  ) {
    this.zone = new StaticPrefixResolver(prefixes, aliases);
  }

  /**
   * The synchronous answer the responder tries first (no timers, no promise): room aliases and,
   * when no registry/registrar is consulted, the static zone. Registry lookups may be on Redis,
   * so with a registry the answer comes from locate().
   */
  locateNow(query: LocationQuery): LocationAnswer | undefined {
    if (this.isRoomAlias && query.destinationStrings.some((a) => this.isRoomAlias!(a))) return { result: 'found' };
    if (this.registry && this.registrar) return undefined;
    return this.zone.locateNow(query);
  }

  async locate(query: LocationQuery, signal: AbortSignal): Promise<LocationAnswer> {
    if (this.isRoomAlias && query.destinationStrings.some((a) => this.isRoomAlias!(a))) return { result: 'found' };
    if (this.registry && this.registrar) {
      for (const alias of query.destinationStrings) {
        if (signal.aborted) return { result: 'notFound', reason: 'resourceUnavailable' };
        const entry = await this.registry.byUsername(alias);
        if (!entry || entry.status !== 'active') continue;
        if ((await this.registrar.lookup(entry.id)).length) return { result: 'found' };
        // A known person who is not reachable right now: say so, GnuGk may try elsewhere.
        return { result: 'notFound', reason: 'notRegistered' };
      }
    }
    return this.zone.locate(query);
  }
}
