/**
 * Writes docs/metrics.md from the metric declarations in lib/ and apps/ (`npm run docs:metrics`).
 * A unit test fails when the document and the code disagree, so the list stays true.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MetricDecl {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  help: string;
  labels: string[];
  file: string;
}

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every `new Counter|Gauge|Histogram|Summary({ name: 'gw_...', help: ..., labelNames: [...] })`. */
export function declaredMetrics(): MetricDecl[] {
  const out = new Map<string, MetricDecl>();
  for (const f of [...files(join(root, 'lib')), ...files(join(root, 'apps'))]) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\b[^(]*\(\s*\{/g)) {
      // The declaration ends before the next one starts (or after 700 characters).
      const rest = text.slice(m.index! + m[0].length, m.index! + 700);
      const next = rest.search(/new (Counter|Gauge|Histogram|Summary)\b/);
      const body = text.slice(m.index!, m.index! + m[0].length + (next >= 0 ? next : rest.length));
      const name = /name:\s*['`]([a-z0-9_]+)['`]/.exec(body)?.[1];
      if (!name || !name.startsWith('gw_') || out.has(name)) continue;
      const help = /help:\s*(['`])((?:(?!\1).)*)\1/.exec(body)?.[2] ?? '';
      const labelsRaw = /labelNames:\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
      const labels = [...labelsRaw.matchAll(/['`]([a-zA-Z_]+)['`]/g)].map((x) => x[1] as string);
      out.set(name, { name, type: (m[1] as string).toLowerCase() as MetricDecl['type'], help, labels, file: relative(root, f) });
    }
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function renderMetricsDoc(ms: MetricDecl[]): string {
  const rows = ms.map((m) => `| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ') || '-'} | ${m.help.replace(/\|/g, '\\|')} | \`${m.file}\` |`);
  return [
    '# Metrics',
    '',
    'Every metric the gateway exports on `/metrics` (prom-client), generated from the code by',
    '`npm run docs:metrics`; a unit test fails when this list and the code disagree. Node.js process',
    'metrics (`gw_process_*`, `gw_nodejs_*`) come from prom-client\'s default collectors. No metric',
    'carries PII: labels are gates, outcomes, message types, reasons - never users, numbers or addresses.',
    '',
    '| name | type | labels | meaning | defined in |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(root, 'docs', 'metrics.md'), renderMetricsDoc(declaredMetrics()));
  process.stdout.write('docs/metrics.md written\n');
}
