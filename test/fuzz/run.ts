/**
 * `npm run fuzz [-- --runs N] [name...]`: the long fuzz runs of every parser that takes input
 * from the network (CI runs a small share of each inside the unit tests). Default 1,000,000
 * inputs per target; each target reports its own properties and heap growth.
 */
import { parseRuns } from './cli.js';

interface FuzzTarget {
  run(runs: number, options?: { log?: (line: string) => void }): Promise<unknown>;
}

const targets: Record<string, () => Promise<FuzzTarget>> = {
  'h323-ras': () => import('./h323-ras.js'),
  q931: () => import('./q931.js'),
  'h225-h245': () => import('./h225-h245.js'),
  policy: () => import('./policy.js'),
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const runs = parseRuns(argv, 1_000_000);
  const names = argv.filter((a, k) => !a.startsWith('-') && argv[k - 1] !== '--runs');
  for (const name of names.length ? names : Object.keys(targets)) {
    const load = targets[name];
    if (!load) throw new Error(`unknown fuzz target ${name}; known: ${Object.keys(targets).join(', ')}`);
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    process.stdout.write(`=== fuzz ${name}: ${runs} inputs ===\n`);
    await (await load()).run(runs, { log: (l) => process.stdout.write(`  ${l}\n`) });
    process.stdout.write(`  ok in ${((performance.now() - t0) / 1000).toFixed(1)} s, heap grew ${((process.memoryUsage().heapUsed - heap0) / 1e6).toFixed(1)} MB\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`fuzz failure: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
