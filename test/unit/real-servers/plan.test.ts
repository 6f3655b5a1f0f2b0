/**
 * What `npm run test:real` and `npm run lab` make of the environment (test/lab/real-servers/),
 * the lab's gateway config, and the process helpers' failure reports. Runs without real servers.
 */
import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../../lib/config/gateway-config.js';
import { describePlan, mochaArgs, planServers, E2E_SPEC } from '../../lab/real-servers/index.js';
import { labGatewayConfig, readGatewayJson } from '../../lab/real-servers/lab-config.js';
import { binaryFromEnv, MissingBinaryError, spawnServer, waitForLog, waitReady, workDir } from '../../lab/real-servers/process.js';
import { freeRtpRange, RTP_RANGE_CEIL, RTP_RANGE_FLOOR } from '../../lab/real-servers/ports.js';
import { runningProfileAddress } from '../../lab/real-servers/esl.js';
import { EslReader } from '../../support/esl-frame.js';

describe('real servers: what runs', () => {
  let dir: string;
  let exe: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plan-'));
    exe = join(dir, 'server');
    writeFileSync(exe, '#!/bin/sh\n');
    chmodSync(exe, 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('binaryFromEnv names the variable when it is unset, missing, a folder or not executable', () => {
    const msg = (env: NodeJS.ProcessEnv): string => {
      try {
        binaryFromEnv('GNUGK_BIN', 'GnuGk', env);
        return '';
      } catch (e) {
        expect(e).to.be.instanceOf(MissingBinaryError);
        return (e as Error).message;
      }
    };
    expect(msg({})).to.match(/^GNUGK_BIN is not set: set GNUGK_BIN to the path of the GnuGk binary/);
    expect(msg({ GNUGK_BIN: join(dir, 'nope') })).to.match(/GNUGK_BIN points at .*nope, which does not exist/);
    expect(msg({ GNUGK_BIN: dir })).to.match(/which is not a file/);
    writeFileSync(join(dir, 'plain'), '');
    expect(msg({ GNUGK_BIN: join(dir, 'plain') })).to.match(/which is not executable/);
    expect(binaryFromEnv('GNUGK_BIN', 'GnuGk', { GNUGK_BIN: exe })).to.equal(exe);
  });

  it('with nothing set, every server is missing and the plan says what then happens', () => {
    const plan = planServers({});
    expect(Object.values(plan).map((p) => p.mode)).to.deep.equal(['missing', 'missing', 'missing', 'missing']);
    const text = describePlan(plan).join('\n');
    for (const v of ['DRACHTIO_BIN', 'FREESWITCH_BIN', 'GNUGK_BIN', 'SIMPH323_BIN']) expect(text).to.include(v);
    expect(text).to.match(/drachtio double/);
    expect(text).to.match(/gnugk-live\.test\.ts skips/);
  });

  it('starts what has a binary, uses servers already running, and reports a bad path as missing', () => {
    const plan = planServers({
      DRACHTIO_BIN: exe,
      FS_HOST: '10.0.0.5', FS_PORT: '8021', FS_SECRET: 's', FS_SIP: '10.0.0.5:5080',
      GNUGK_BIN: join(dir, 'nope'),
      SIMPH323_BIN: exe,
    });
    expect(plan.drachtio).to.deep.equal({ mode: 'start', bin: exe });
    expect(plan.freeswitch.mode).to.equal('external');
    expect(plan.gnugk.mode).to.equal('missing');
    expect((plan.gnugk as { why: string }).why).to.match(/GNUGK_BIN points at/);
    // simph323 registers at the GnuGk started here; without one it cannot run.
    expect((plan.simph323 as { why: string }).why).to.match(/no GnuGk/);
  });

  it('mocha runs the e2e files unless spec files are given; options pass through', () => {
    expect(mochaArgs([])).to.deep.equal(['--timeout', '60000', E2E_SPEC]);
    expect(mochaArgs(['--grep', 'live GnuGk'])).to.deep.equal(['--timeout', '60000', '--grep', 'live GnuGk', E2E_SPEC]);
    expect(mochaArgs(['test/e2e/h323-ras/gnugk-live.test.ts'])).to.deep.equal(['--timeout', '60000', 'test/e2e/h323-ras/gnugk-live.test.ts']);
  });
});

describe('native lab: gateway config', () => {
  const base = readGatewayJson();
  const addrs = {
    host: '127.0.0.1',
    drachtio: { host: '127.0.0.1', port: 39022 },
    esl: { host: '127.0.0.1', port: 38021 },
    mediaListenPort: 38085,
    httpPort: 38080,
    rasPort: 31721,
    callSignalPort: 31720,
    gnugk: { host: '127.0.0.1', port: 31719, name: 'OracleGK' },
    sipCallee: '127.0.0.1:15090',
    state: 'redis' as const,
    policy: true,
  };
  const env = { DRACHTIO_SECRET: 'x', FS_ESL_SECRET: 'esl-x', POLICY_NONCE_SECRET: 'n'.repeat(32), REDIS_URL: 'redis://127.0.0.1:6390', REGISTRY_FILE: '/tmp/r.json', AUDIT_DIR: '/tmp/a' };

  it('gateway.json with every compose address replaced by the launched ports validates', () => {
    const cfg = validateConfig(labGatewayConfig(base, addrs), env);
    expect(cfg.drachtio).to.include({ host: '127.0.0.1', port: 39022 });
    expect(cfg.media?.esl).to.include({ host: '127.0.0.1', port: 38021 });
    expect(cfg.h323?.ras).to.deep.equal({ host: '127.0.0.1', port: 31721 });
    expect(cfg.h323?.callSignalAddress).to.deep.equal({ host: '127.0.0.1', port: 31720 });
    expect(cfg.h323?.gatekeeper).to.include({ host: '127.0.0.1', port: 31719 });
    expect(cfg.h323?.neighbours.map((n) => [n.host, n.gatekeeperId])).to.deep.equal([['127.0.0.1', 'OracleGK']]);
    expect(cfg.dialPlan.map((r) => r.sipTarget).filter(Boolean)).to.deep.equal(['sip:${user}@127.0.0.1:15090']);
    expect(JSON.stringify(labGatewayConfig(base, addrs))).not.to.match(/172\.28\.|sipp-uas|"host":"(freeswitch|drachtio)"/);
    expect(cfg.policy.enabled).to.equal(true);
  });

  it('without Redis or a registry: memory state (no ha), policy off; without GnuGk: no h323 section', () => {
    const raw = labGatewayConfig(base, { ...addrs, state: 'memory', policy: false, gnugk: undefined });
    const cfg = validateConfig(raw, { DRACHTIO_SECRET: 'x', FS_ESL_SECRET: 'esl-x' });
    expect(cfg.state.backend).to.equal('memory');
    expect(raw.ha).to.equal(undefined);
    expect(cfg.policy.enabled).to.equal(false);
    expect(cfg.h323).to.equal(undefined);
    expect(cfg.dialPlan.every((r) => !r.h323Target)).to.equal(true);
    expect(base.ha, 'the source object is not modified').to.not.equal(undefined);
  });
});

describe('real servers: readiness and failure reports', () => {
  const dirs: string[] = [];
  const dir = (): string => {
    const d = workDir('fake');
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('a server that exits before it is ready is reported with its exit code and log tail', async () => {
    const sp = spawnServer({ name: 'fake', bin: '/bin/sh', args: ['-c', 'echo "bind failed: port in use"; exit 3'], cwd: dir() });
    const err = await waitReady(sp, 'its port', async () => undefined, 5000).catch((e: Error) => e);
    expect((err as Error).message).to.match(/fake exited \(3\) before its port/);
    expect((err as Error).message).to.include('bind failed: port in use');
  });

  it('waits for a status line, and stop() ends the process and waits for it', async () => {
    const sp = spawnServer({ name: 'fake', bin: '/bin/sh', args: ['-c', 'echo "listening on 4242"; exec sleep 30'], cwd: dir() });
    const m = await waitForLog(sp, /listening on (\d+)/, 5000);
    expect(m[1]).to.equal('4242');
    await sp.stop(2000);
    expect(sp.running()).to.equal(false);
    expect(await sp.exited).to.equal('SIGTERM');
  });

  it('a probe that never succeeds times out naming what it waited for and the last probe error', async () => {
    const sp = spawnServer({ name: 'fake', bin: '/bin/sh', args: ['-c', 'exec sleep 30'], cwd: dir() });
    try {
      const err = await waitReady(sp, 'ESL', async () => { throw new Error('ECONNREFUSED'); }, 300, 50).catch((e: Error) => e);
      expect((err as Error).message).to.match(/fake: timed out after 300 ms waiting for ESL \(last probe: ECONNREFUSED\)/);
    } finally {
      await sp.stop(1000);
    }
  });

  it('picks an even RTP range below the helpers\' SIP and media ranges', async () => {
    const r = await freeRtpRange(100);
    expect(r.end - r.start).to.equal(99);
    expect(r.start % 2).to.equal(0);
    expect(r.start).to.be.at.least(RTP_RANGE_FLOOR);
    expect(r.end).to.be.at.most(RTP_RANGE_CEIL);
  });

  it('reads ESL frames and the drachtio_mrf line of sofia status', () => {
    const reader = new EslReader();
    expect(reader.push(Buffer.from('Content-Type: auth/request\n\nContent-Type: api/response\nContent-Length: 5\n\nhel'))).to.have.length(1);
    expect(reader.push(Buffer.from('lo'))[0]).to.deep.equal({ headers: { 'content-type': 'api/response', 'content-length': '5' }, body: 'hello' });
    const status = [
      '                     Name          Type                                       Data      State',
      '=================================================================================================',
      '             drachtio_mrf       profile             sip:mod_sofia@127.0.0.1:15080      RUNNING (0)',
      '=================================================================================================',
    ].join('\n');
    expect(runningProfileAddress(status)).to.equal('127.0.0.1:15080');
    expect(runningProfileAddress(status.replace('RUNNING', 'DOWN'))).to.equal(undefined);
  });
});
