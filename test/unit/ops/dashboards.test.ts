/**
 * The operator's views stay true to the code: every Grafana dashboard is valid JSON on the
 * provisioned datasource and queries only metrics the gateway exports; docs/metrics.md lists
 * exactly the metrics the code declares.
 */
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { declaredMetrics, renderMetricsDoc } from '../../../scripts/metrics-doc.js';

/** Metric names in a PromQL expression that belong to us (gw_*), histogram suffixes folded. */
export function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(gw_[a-z0-9_]+)\b/g)].map((m) => (m[1] as string).replace(/_(bucket|sum|count)$/, ''));
}

const DEFAULT_METRICS = /^gw_(process_|nodejs_)/;

describe('dashboards and the metric list', () => {
  const declared = new Set(declaredMetrics().map((m) => m.name));
  const dir = join(repoRoot, 'sip-configs/grafana/dashboards');
  const dashboards = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const provisioned = readFileSync(join(repoRoot, 'sip-configs/grafana/provisioning/datasources/prometheus.yml'), 'utf8');
  const uid = /uid:\s*(\S+)/.exec(provisioned)?.[1];

  it('has dashboards, each valid JSON with panels on the provisioned Prometheus datasource', () => {
    expect(dashboards.length).to.be.greaterThan(0);
    for (const f of dashboards) {
      const d = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string }> }> };
      expect(d.panels.length, f).to.be.greaterThan(0);
      for (const p of d.panels) {
        expect(p.datasource.uid, `${f}: ${p.title}`).to.equal(uid);
        expect(p.targets.length, `${f}: ${p.title}`).to.be.greaterThan(0);
      }
    }
  });

  it('queries only metrics the code exports', () => {
    const missing: string[] = [];
    for (const f of dashboards) {
      const d = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
      for (const p of d.panels) for (const t of p.targets) for (const m of metricsIn(t.expr)) if (!declared.has(m) && !DEFAULT_METRICS.test(m)) missing.push(`${f}: ${p.title}: ${m}`);
    }
    expect(missing).to.deep.equal([]);
  });

  it('docs/metrics.md is what `npm run docs:metrics` writes from the code', () => {
    const doc = readFileSync(join(repoRoot, 'docs/metrics.md'), 'utf8');
    expect(doc, 'run npm run docs:metrics').to.equal(renderMetricsDoc(declaredMetrics()));
  });
});
