/** TPKT metrics, registered once per registry (several channels share them). */
import { Counter, type Registry } from 'prom-client';

export interface TpktMetrics {
  readonly frames: Counter<'channel' | 'direction'>;
  readonly errors: Counter<'channel' | 'reason'>;
}

const byRegistry = new WeakMap<Registry, TpktMetrics>();

export function tpktMetrics(registry: Registry): TpktMetrics {
  const known = byRegistry.get(registry);
  if (known) return known;
  const m: TpktMetrics = {
    frames: new Counter({
      name: 'gw_tpkt_frames_total',
      help: 'TPKT frames received (in) and sent (out) on H.323 TCP channels',
      labelNames: ['channel', 'direction'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'gw_tpkt_errors_total',
      help: 'H.323 TCP connections closed because of a TPKT framing error, by reason',
      labelNames: ['channel', 'reason'],
      registers: [registry],
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
