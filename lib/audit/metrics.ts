/** Decision metrics: counts by gate and outcome, and whole-chain decision latency. */
import { Counter, Histogram, type Registry } from 'prom-client';
import { metricsRegistry } from '../metrics/registry.js';

export class DecisionMetrics {
  readonly decisions: Counter<'gate' | 'outcome'>;
  readonly latency: Histogram<'outcome'>;

  constructor(registry: Registry = metricsRegistry()) {
    this.decisions =
      (registry.getSingleMetric('gw_policy_decisions_total') as Counter<'gate' | 'outcome'> | undefined) ??
      new Counter({
        name: 'gw_policy_decisions_total',
        help: 'Policy decisions by deciding gate and outcome',
        labelNames: ['gate', 'outcome'],
        registers: [registry],
      });
    this.latency =
      (registry.getSingleMetric('gw_policy_decision_seconds') as Histogram<'outcome'> | undefined) ??
      new Histogram({
        name: 'gw_policy_decision_seconds',
        help: 'Whole policy chain decision latency, including the durable audit write',
        labelNames: ['outcome'],
        buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        registers: [registry],
      });
  }

  observe(gate: string, outcome: string, seconds: number): void {
    this.decisions.inc({ gate, outcome });
    this.latency.observe({ outcome }, seconds);
  }
}
