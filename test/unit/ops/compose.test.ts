/**
 * The compose lab (README's main command) refers only to files that exist in the repository,
 * takes its secrets from .env (documented in .env.example), and passes `docker compose config`
 * wherever the compose plugin is installed (it is not on the CI machine).
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';

const compose = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');

describe('docker-compose lab', () => {
  it('mounts only files and folders that exist in the repository', () => {
    const paths = [...compose.matchAll(/(?:^|\s|:-)(\.\/[A-Za-z0-9_./-]+)/gm)].map((m) => m[1] as string);
    expect(paths.length).to.be.greaterThan(3);
    expect(paths.filter((p) => !existsSync(join(repoRoot, p)))).to.deep.equal([]);
  });

  it('requires every secret it uses from .env, and .env.example names each', () => {
    const required = [...compose.matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1] as string);
    const example = readFileSync(join(repoRoot, '.env.example'), 'utf8');
    expect(required).to.include('DRACHTIO_SECRET');
    expect([...new Set(required)].filter((v) => !new RegExp(`^${v}=`, 'm').test(example))).to.deep.equal([]);
  });

  it('passes `docker compose config` where docker compose exists', function () {
    const probe = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
    if (probe.status !== 0) this.skip();
    execFileSync('docker', ['compose', '--env-file', '.env.example', 'config', '--quiet'], { cwd: repoRoot });
  });
});
