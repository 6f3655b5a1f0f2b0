/** The command-line side shared by the fuzz targets: `--runs N`, direct invocation, heap report. */
import { pathToFileURL } from 'node:url';

export function parseRuns(argv: readonly string[], dflt: number): number {
  const i = argv.indexOf('--runs');
  const v = i >= 0 ? Number(argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v <= 0) throw new Error('--runs needs a positive integer');
  return v;
}

/**
 * Runs `run` when the module at `url` is the process entry (`node --import tsx test/fuzz/X.ts`):
 * prints each property's log, then `summary()` lines and the heap growth; exit code 1 on failure.
 */
export function runIfMain(url: string, o: { name: string; defaultRuns: number; run: (runs: number, opts: { log: (l: string) => void }) => Promise<unknown>; summary?: () => string[] }): void {
  if (process.argv[1] === undefined || url !== pathToFileURL(process.argv[1]).href) return;
  const runs = parseRuns(process.argv, o.defaultRuns);
  const heapBefore = process.memoryUsage().heapUsed;
  o.run(runs, { log: (l) => console.log(l) })
    .then(() => {
      for (const line of o.summary?.() ?? []) console.log(line);
      console.log(`${o.name} fuzz: ${runs} inputs, no failure; heap grew ${((process.memoryUsage().heapUsed - heapBefore) / 1e6).toFixed(1)} MB`);
    })
    .catch((e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 1;
    });
}
