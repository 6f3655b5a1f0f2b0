/** Repository locations for tests: never hard-code absolute paths, never read ../shared. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${start}`);
    dir = up;
  }
}

/** The directory holding package.json. */
export const repoRoot: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/** Path of a file under test/fixtures. */
export function fixture(...parts: string[]): string {
  return join(repoRoot, 'test', 'fixtures', ...parts);
}
