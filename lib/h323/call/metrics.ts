/** Call-layer metrics, registered once per registry. */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface CallMetrics {
  readonly calls: Counter<'direction' | 'outcome'>;
  readonly active: Gauge<'direction'>;
  readonly h245: Counter<'direction' | 'type'>;
  readonly internalErrors: Counter;
}

const byRegistry = new WeakMap<Registry, CallMetrics>();

export function callMetrics(registry: Registry): CallMetrics {
  const known = byRegistry.get(registry);
  if (known) return known;
  const m: CallMetrics = {
    calls: new Counter({
      name: 'gw_h323_calls_total',
      help: 'H.323 calls by direction and outcome (answered, refused by the peer, failed locally)',
      labelNames: ['direction', 'outcome'],
      registers: [registry],
    }),
    active: new Gauge({
      name: 'gw_h323_calls_active',
      help: 'H.323 calls currently set up or in progress',
      labelNames: ['direction'],
      registers: [registry],
    }),
    h245: new Counter({
      name: 'gw_h245_messages_total',
      help: 'H.245 messages by direction and type (tunnelled or on a separate connection)',
      labelNames: ['direction', 'type'],
      registers: [registry],
    }),
    internalErrors: new Counter({
      name: 'gw_h323_call_internal_errors_total',
      help: 'Calls released because handling a message raised an unexpected error (a bug; should stay 0)',
      registers: [registry],
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
