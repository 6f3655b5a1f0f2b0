/**
 * RAS entry points, and the mapping from validated configuration (lib/h323/config.ts) to the
 * responder and client options, so wiring in apps/gateway is two calls.
 */
import type { Registry } from 'prom-client';
import type { H323Config } from '../config.js';
import type { RasClientOptions } from './client.js';
import type { NeighbourResponderOptions } from './neighbour.js';
import type { AliasResolver } from './resolver.js';

export * from './messages.js';
export * from './schema.js';
export { NeighbourResponder, GNUGK_PING_ALIAS, type NeighbourPeer, type NeighbourResponderOptions } from './neighbour.js';
export { RasClient, RasRejectError, RasTimeoutError, H225_TIMERS, type RasClientOptions, type RegistrationOptions, type LocateResult } from './client.js';
export { StaticPrefixResolver, type AliasResolver, type LocationAnswer, type LocationQuery, type LrjReason } from './resolver.js';
export { UdpRasTransport, type RasTransport } from './transport.js';
export { rasMetrics, type RasMetrics } from './metrics.js';

export function neighbourOptionsFromConfig(cfg: H323Config, resolver: AliasResolver, registry?: Registry): NeighbourResponderOptions {
  return {
    bind: cfg.ras,
    callSignalAddress: cfg.callSignalAddress,
    ...(cfg.advertisedRasAddress ? { rasAddress: cfg.advertisedRasAddress } : {}),
    neighbours: cfg.neighbours,
    resolver,
    ripAfterMs: cfg.lookup.ripAfterMs,
    lookupTimeoutMs: cfg.lookup.timeoutMs,
    rateLimit: cfg.rateLimit,
    ...(registry ? { registry } : {}),
  };
}

/** Client options for cfg.gatekeeper (undefined when no gatekeeper is configured). */
export function rasClientOptionsFromConfig(cfg: H323Config, registry?: Registry): Omit<RasClientOptions, 'transport'> | undefined {
  if (!cfg.gatekeeper) return undefined;
  return {
    gatekeeper: { host: cfg.gatekeeper.host, port: cfg.gatekeeper.port },
    callSignalAddress: cfg.callSignalAddress,
    ...(cfg.advertisedRasAddress ? { rasAddress: cfg.advertisedRasAddress } : {}),
    ...(registry ? { registry } : {}),
  };
}
