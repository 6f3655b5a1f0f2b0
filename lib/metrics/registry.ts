/**
 * One prom-client registry for the whole process. Every module registers its metrics here
 * (never on prom-client's global default registry) so tests can create isolated registries
 * and the gateway exposes exactly one /metrics document.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

let shared: Registry | undefined;

/** The process-wide registry; created on first use, with Node's default process metrics. */
export function metricsRegistry(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared, prefix: 'gw_' });
  }
  return shared;
}

/** A fresh registry for tests or for components that must not share state. */
export function isolatedRegistry(): Registry {
  return new Registry();
}
