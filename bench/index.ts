/**
 * `npm run bench [-- name...]`: runs the benchmarks and prints ratios measured in one run.
 * Each module measures the thing and its baseline side by side, so machine speed cancels out.
 * Flags pass through as `--name=value` (arguments not starting with '-' name benches).
 * `load` (bench/load.ts, minutes long, also `npm run bench:load`) and `audit-flood` run only when named.
 */
interface BenchModule {
  run(args: string[]): Promise<void>;
}

const benches: Record<string, () => Promise<BenchModule>> = {
  sip: () => import('./sip.js'),
  policy: () => import('./policy.js') as Promise<BenchModule>,
  'h323-ras': () => import('./h323-ras.js') as Promise<BenchModule>,
  'h323-call': () => import('./h323-call.js') as Promise<BenchModule>,
  calls: () => import('./calls.js') as Promise<BenchModule>,
  load: () => import('./load.js') as Promise<BenchModule>,
  'audit-flood': () => import('./audit-flood.js') as Promise<BenchModule>,
};

/** Not part of a plain `npm run bench`: a load sweep takes minutes and stops at the knee; the audit flood writes 100k fdatasync'ed records. */
const OPT_IN = new Set(['load', 'audit-flood']);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const names = args.filter((a) => !a.startsWith('-'));
  const chosen = names.length ? names : Object.keys(benches).filter((n) => !OPT_IN.has(n));
  for (const name of chosen) {
    const load = benches[name];
    if (!load) {
      process.stderr.write(`unknown bench ${name}; known: ${Object.keys(benches).join(', ')}\n`);
      process.exitCode = 2;
      return;
    }
    process.stdout.write(`\n=== bench ${name} ===\n`);
    const mod = await load();
    await mod.run(args.filter((a) => a.startsWith('-')));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
