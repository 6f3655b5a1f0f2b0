import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { main } from '../../../../apps/cli/index.js';
import type { CliIO } from '../../../../apps/cli/io.js';
import { parseIdentityHeader, Ed25519Verifier } from '../../../../lib/policy/passport.js';
import { AuditLog } from '../../../../lib/audit/log.js';
import { listAuditFiles } from '../../../../lib/audit/verify.js';

async function cli(argv: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (err += t), env };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('policy/cli: gatewayctl', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keygen writes a 0600 private key and refuses to overwrite it', async () => {
    const key = join(dir, 'k.pem');
    const r = await cli(['keygen', '--out', key, '--kid', 't01-k1', '--json']);
    expect(r.code).to.equal(0);
    const j = JSON.parse(r.out);
    expect(j.publicKey).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(key).mode & 0o777).to.equal(0o600);
    const again = await cli(['keygen', '--out', key]);
    expect(again.code).to.equal(1);
    expect(again.err).to.match(/exists/);
  });

  it('registry add/list/suspend/rotate-key; duplicates and bad input are refused with exit 1/2', async () => {
    const file = join(dir, 'registry.json');
    const key = join(dir, 'k.pem');
    const key2 = join(dir, 'k2.pem');
    await cli(['keygen', '--out', key]);
    await cli(['keygen', '--out', key2]);
    const add = (id: string, user: string, kid: string, k: string) =>
      cli(['registry', 'add', '--file', file, '--id', id, '--name', `Guardian ${id}`, '--role', 'guardian', '--username', user, '--realm', 'gw.test', '--password-env', 'PW', '--kid', kid, '--key-file', k], { PW: 'hunter2' });
    expect((await add('T-01', 't01', 't01-k1', key)).code).to.equal(0);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(readFileSync(file, 'utf8')).not.to.include('hunter2');
    const dup = await add('C-01', 'c01', 'c01-k1', key); // same public key again
    expect(dup.code).to.equal(1);
    expect(dup.err).to.match(/entries\[1\]\.keys\[0\]\.publicKey: already registered at entries\[0\]\.keys\[0\]/);
    expect((await cli(['registry', 'add', '--file', file, '--id', 'X', '--name', 'X', '--role', 'king', '--username', 'x', '--realm', 'r', '--password-env', 'PW'], { PW: 'p' })).code).to.equal(2);
    expect((await cli(['registry', 'suspend', 'T-01', '--file', file])).code).to.equal(0);
    expect((await cli(['registry', 'rotate-key', 'T-01', '--file', file, '--kid', 't01-k2', '--key-file', key2, '--retire'])).code).to.equal(0);
    const list = await cli(['registry', 'list', '--file', file, '--json']);
    expect(JSON.parse(list.out)).to.deep.equal([
      { id: 'T-01', displayName: 'Guardian T-01', role: 'guardian', status: 'suspended', username: 't01', realm: 'gw.test', keys: ['t01-k2'], maxConcurrentCalls: 2, maxBandwidthBps: 3000000 },
    ]);
    expect((await cli(['registry', 'suspend', 'nobody', '--file', file])).code).to.equal(1);
    writeFileSync(file, '{"version":1,"entries":[{"id":3}]}');
    const broken = await cli(['registry', 'list', '--file', file]);
    expect(broken.code).to.equal(1);
    expect(broken.err).to.match(/entries\[0\]\.id/);
  });

  it('sign makes an Identity header that verifies with the key file', async () => {
    const key = join(dir, 'k.pem');
    const kg = JSON.parse((await cli(['keygen', '--out', key, '--json'])).out);
    const r = await cli(['sign', '--key', key, '--kid', 'k1', '--orig', 'sip:t01@gw.test', '--dest', 'sip:council@gw.test', '--iat', '1780000000', '--json']);
    expect(r.code).to.equal(0);
    const p = parseIdentityHeader(JSON.parse(r.out).value);
    expect(p.ok).to.equal(true);
    if (!p.ok) return;
    expect(p.value.claims).to.include({ iat: 1780000000 });
    expect(p.value.claims.dest).to.deep.equal({ uri: ['sip:council@gw.test'] });
    expect(new Ed25519Verifier().verify(kg.publicKey, p.value.signingInput, p.value.signature)).to.equal(true);
    expect((await cli(['sign', '--key', join(dir, 'none.pem'), '--kid', 'k', '--orig', '1', '--dest', '2'])).code).to.equal(1);
  });

  it('audit verify: 0 on a good log, 1 naming the first bad record on a tampered copy', async () => {
    const log = await AuditLog.open({ dir, idKey: 'k' });
    for (let i = 0; i < 5; i++) await log.append({ gate: 'chain', decision: 'admit', status: 0, reason: 'admitted', callId: `c${i}` });
    await log.close();
    const ok = await cli(['audit', 'verify', dir]);
    expect(ok.code).to.equal(0);
    expect(ok.out).to.match(/^OK: 5 records in 1 file/);
    const f = join(dir, listAuditFiles(dir)[0]!);
    const lines = readFileSync(f, 'utf8').split('\n');
    lines[2] = lines[2]!.replace('"admit"', '"reject"');
    writeFileSync(f, lines.join('\n'));
    const bad = await cli(['audit', 'verify', dir, '--json']);
    expect(bad.code).to.equal(1);
    expect(JSON.parse(bad.out).firstBad).to.include({ line: 3, seq: 3 });
    expect((await cli(['audit', 'verify', dir, '--anchor', 'nonsense'])).code).to.equal(2);
  });

  it('codec analyze prints the council table; bad arguments exit 2', async () => {
    const r = await cli(['codec', 'analyze', '--participants', '12', '--json']);
    expect(r.code).to.equal(0);
    const a = JSON.parse(r.out);
    expect(a.rows).to.have.length(12);
    expect(a.totals.declaredBps).to.equal(25_000_000);
    expect((await cli(['codec', 'analyze', '--participants', 'many'])).code).to.equal(2);
    expect((await cli(['codec', 'analyze', '--topology', 'star'])).code).to.equal(2);
    expect((await cli(['codec', 'catalogue'])).out).to.match(/\| PCMU \| audio \| 0 \| 8000 \| 64.0 \| 20 \| 80.0 /);
  });

  it('--help works on every command; unknown commands exit 2', async () => {
    for (const argv of [['--help'], ['keygen', '--help'], ['registry', 'add', '--help'], ['registry', 'rotate-key', '--help'], ['audit', 'verify', '--help'], ['codec', 'analyze', '--help'], ['sign', '--help']]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).to.equal(0);
      expect(r.out, argv.join(' ')).to.match(/Usage: gatewayctl/);
    }
    expect((await cli(['bogus'])).code).to.equal(2);
    expect((await cli(['keygen'])).code).to.equal(2); // missing --out
  });

  it('runs as a process: exit codes reach the shell', function () {
    this.timeout(30_000);
    const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'apps/cli/index.ts', ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'error' } });
    const ok = run(['codec', 'analyze', '--participants', '2']);
    expect(ok.status).to.equal(0);
    expect(ok.stdout).to.match(/\| C-01 \| Civic/);
    const bad = run(['audit', 'verify', join(dir, 'missing')]);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.match(/FAIL: first bad record/);
  });
});
