/**
 * The alerting an operator relies on: promtool accepts the config and rules, every alert's unit
 * test passes, and every metric an alert reads is one the code actually exports.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, readdirSync, mkdtempSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from '../../support/paths.js';
import { declaredMetrics } from '../../../scripts/metrics-doc.js';

const run = promisify(execFile);
const promDir = join(repoRoot, 'sip-configs/prometheus');

/** Metric names declared in product code, plus Prometheus' `up` and prom-client's default metrics. */
function exportedMetricNames(): Set<string> {
  const names = new Set<string>(['up', ...declaredMetrics().map((m) => m.name)]);
  for (const d of ['gw_process_cpu_seconds_total', 'gw_process_resident_memory_bytes', 'gw_nodejs_eventloop_lag_seconds']) names.add(d);
  return names;
}

describe('prometheus config and alert rules', function () {
  this.timeout(30_000);
  const rules = readdirSync(join(promDir, 'rules')).filter((f) => f.endsWith('.rules.yml'));
  const tests = readdirSync(join(promDir, 'rules')).filter((f) => f.endsWith('.test.yml'));

  it('promtool accepts the scrape config and its rule files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prom-'));
    try {
      // The lab mounts rules at /etc/prometheus/rules; point the copy at the repo's files.
      const cfg = readFileSync(join(promDir, 'prometheus.yml'), 'utf8').replace('/etc/prometheus/rules', join(dir, 'rules'));
      writeFileSync(join(dir, 'prometheus.yml'), cfg);
      cpSync(join(promDir, 'rules'), join(dir, 'rules'), { recursive: true });
      const { stdout } = await run('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(stdout).to.include('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every rule file passes promtool check rules', async () => {
    expect(rules.length).to.be.greaterThan(0);
    for (const f of rules) await run('promtool', ['check', 'rules', join(promDir, 'rules', f)]);
  });

  it('every alert has a passing promtool unit test', async () => {
    const alerts = rules.flatMap((f) => [...readFileSync(join(promDir, 'rules', f), 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1] as string));
    const tested = tests.flatMap((f) => [...readFileSync(join(promDir, 'rules', f), 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1] as string));
    expect(alerts.filter((a) => !tested.includes(a)), 'alerts without a unit test').to.deep.equal([]);
    for (const f of tests) {
      const { stdout } = await run('promtool', ['test', 'rules', f], { cwd: join(promDir, 'rules') });
      expect(stdout).to.include('SUCCESS');
    }
  });

  it('alerts read only metrics the code exports', () => {
    const exported = exportedMetricNames();
    const used = new Set<string>();
    for (const f of rules) {
      for (const m of readFileSync(join(promDir, 'rules', f), 'utf8').matchAll(/expr:.*$/gm)) {
        for (const n of m[0].matchAll(/\b((?:gw_)[a-z0-9_]+|up)\b/g)) used.add((n[1] as string).replace(/_(bucket|sum|count)$/, ''));
      }
    }
    expect([...used].filter((n) => !exported.has(n)), 'metrics used by alerts but not exported').to.deep.equal([]);
  });
});
