/**
 * Flags as `--name=value` (what `npm run bench -- calls --calls=50` passes through bench/index.ts,
 * which keeps only the arguments starting with '-') or `--name value` when run directly.
 */
function raw(args: readonly string[], name: string): string | undefined {
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  const i = args.indexOf(`--${name}`);
  const next = i >= 0 ? args[i + 1] : undefined;
  return next !== undefined && !next.startsWith('--') ? next : undefined;
}

export function flagNum(args: readonly string[], name: string, dflt: number): number {
  const v = raw(args, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

export function flagStr(args: readonly string[], name: string, dflt: string): string {
  return raw(args, name) ?? dflt;
}

export function flagList(args: readonly string[], name: string, dflt: readonly number[]): number[] {
  const v = raw(args, name);
  if (v === undefined) return [...dflt];
  const list = v.split(',').map((x) => Number(x.trim()));
  if (!list.length || list.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error(`--${name} must be a comma-separated list of positive numbers, got ${JSON.stringify(v)}`);
  return list;
}

export function flagBool(args: readonly string[], name: string): boolean {
  return args.includes(`--${name}`) || args.includes(`--${name}=true`) || args.includes(`--${name}=1`);
}

/** UTC, sortable and safe in file names: 20261128T021530Z. */
export function reportStamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
