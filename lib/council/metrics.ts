/** gw_council_* metrics. Labels are bounded: room (configured names), action, role, leg. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type CouncilAction = 'join' | 'leave' | 'kick' | 'mute' | 'unmute' | 'refuse_full' | 'refuse_role' | 'refuse_unavailable';

export interface CouncilMetrics {
  actions: Counter<'room' | 'action' | 'role'>;
  admission: Histogram<'room' | 'leg'>;
  members: Gauge<'room'>;
}

const byRegistry = new WeakMap<Registry, CouncilMetrics>();

export function councilMetrics(registry: Registry): CouncilMetrics {
  let m = byRegistry.get(registry);
  if (!m) {
    m = {
      actions: new Counter({
        name: 'gw_council_actions_total', help: 'Council participant actions (join, leave, kick, mute, unmute, refusals) by room and role',
        labelNames: ['room', 'action', 'role'] as const, registers: [registry],
      }),
      admission: new Histogram({
        name: 'gw_council_admission_seconds',
        help: 'Council admission time per participant: SIP INVITE received to 200 OK sent, H.323 Setup received to Connect sent',
        labelNames: ['room', 'leg'] as const,
        // Finer below the 50 ms target, coarse above it to still show how far off a slow admission is.
        buckets: [0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2],
        registers: [registry],
      }),
      members: new Gauge({ name: 'gw_council_members', help: 'Council participants whose calls this instance holds, by room', labelNames: ['room'] as const, registers: [registry] }),
    };
    byRegistry.set(registry, m);
  }
  return m;
}
