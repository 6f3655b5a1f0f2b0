/**
 * `gatewayctl doctor` against real protocol peers on loopback: the drachtio double's control
 * port (authenticate), the FreeSWITCH double's event socket (auth), a UDP peer replaying GnuGk's
 * LRQ answers, a real audit log. Each failure class has its own exit code, first failure wins.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main as cli } from '../../../apps/cli/index.js';
import { DrachtioDouble } from '../../lab/drachtio-double/double.js';
import { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { UdpPeer } from '../../lab/h323/udp-peer.js';
import { FakeGnuGk, gnugkPolicy } from '../../lab/h323/fake-gnugk.js';
import { labPerson, writeRegistry } from '../../lab/policy-lab.js';
import { AuditLog } from '../../../lib/audit/log.js';

function io(env: Record<string, string>): { out: (s: string) => void; err: (s: string) => void; env: Record<string, string>; text: () => string } {
  let buf = '';
  return { out: (s) => { buf += s; }, err: (s) => { buf += s; }, env, text: () => buf };
}

describe('gatewayctl doctor', function () {
  this.timeout(30_000);
  let drachtio: DrachtioDouble;
  let fs: FreeSwitchDouble;
  let gkPeer: UdpPeer;
  let gk: FakeGnuGk;
  let dir: string;
  let auditDir: string;

  before(async () => {
    drachtio = await DrachtioDouble.start({ secret: 's3cret', sipHost: '127.0.0.1', sipPort: 0, controlPort: 0, transports: ['udp'] });
    fs = await FreeSwitchDouble.start({ eslPassword: 'esl-pw', sipPort: 0, eslPort: 0 });
    gkPeer = await UdpPeer.open('127.0.0.1');
    gk = new FakeGnuGk(gkPeer, gnugkPolicy(gkPeer));
    dir = mkdtempSync(join(tmpdir(), 'doctor-'));
    auditDir = join(dir, 'audit');
    const audit = await AuditLog.open({ dir: auditDir, idKey: 'k', fsync: false });
    for (let i = 0; i < 5; i++) await audit.append({ gate: 'digest', decision: 'challenge', status: 407, reason: 'no-credentials', method: 'INVITE', callId: `c${i}`, source: '127.0.0.1', passed: [], latencyUs: 1 });
    await audit.close();
  });
  after(async () => {
    gk.stop();
    await gkPeer.close();
    await fs.stop();
    await drachtio.stop();
  });

  function config(over: Record<string, unknown> = {}): string {
    const reg = writeRegistry([labPerson('Alice', 'council.local')]);
    const file = join(dir, `gw-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({
      drachtio: { host: '127.0.0.1', port: drachtio.controlPort },
      registry: { file: reg.file },
      audit: { dir: auditDir },
      h323: {
        ras: { host: '127.0.0.1', port: 0 },
        callSignalAddress: { host: '127.0.0.1', port: 1720 },
        neighbours: [{ name: 'GK', host: '127.0.0.1' }],
        gatekeeper: { host: '127.0.0.1', port: gkPeer.port, register: false, aliases: ['gw'], timeToLive: 300 },
      },
      ...over,
    }));
    return file;
  }

  const fsEnv = (): Record<string, string> => ({ FS_HOST: '127.0.0.1', FS_PORT: String(fs.eslPort), FS_SECRET: 'esl-pw' });

  it('passes every check against healthy peers and prints one row per check', async () => {
    const o = io({ DRACHTIO_SECRET: 's3cret', ...fsEnv() });
    const code = await cli(['doctor', '--config', config()], o);
    expect(code, o.text()).to.equal(0);
    for (const row of [/^config\s+OK/m, /^registry\s+OK .*1 entries/m, /^audit\s+OK .*5 records/m, /^drachtio\s+OK\s.*authenticated/m, /^freeswitch\s+OK/m, /^gnugk\s+OK .*answered location(Confirm|Reject)/m]) {
      expect(o.text()).to.match(row);
    }
  });

  it('a wrong drachtio secret fails with code 13', async () => {
    const o = io({ DRACHTIO_SECRET: 'wrong' });
    expect(await cli(['doctor', '--config', config()], o)).to.equal(13);
    expect(o.text()).to.match(/^drachtio\s+FAIL .*authentication refused/m);
  });

  it('a wrong event-socket password fails with code 14', async () => {
    const o = io({ DRACHTIO_SECRET: 's3cret', ...fsEnv(), FS_SECRET: 'nope' });
    expect(await cli(['doctor', '--config', config()], o)).to.equal(14);
  });

  it('a gatekeeper that does not answer fails with code 15 within the time limit', async () => {
    const silent = await UdpPeer.open('127.0.0.1');
    try {
      const cfg = config({
        h323: { ras: { host: '127.0.0.1', port: 0 }, callSignalAddress: { host: '127.0.0.1', port: 1720 }, neighbours: [{ name: 'GK', host: '127.0.0.1' }], gatekeeper: { host: '127.0.0.1', port: silent.port, register: false, aliases: ['gw'], timeToLive: 300 } },
      });
      const o = io({ DRACHTIO_SECRET: 's3cret' });
      expect(await cli(['doctor', '--config', cfg, '--timeout', '300'], o)).to.equal(15);
      expect(o.text()).to.match(/^gnugk\s+FAIL .*no answer within 300 ms/m);
    } finally {
      await silent.close();
    }
  });

  it('a tampered audit log fails with code 12, before the link checks', async () => {
    const copy = join(dir, 'audit-tampered');
    const file = readdirSync(auditDir).find((f) => f.endsWith('.jsonl'))!;
    const lines = readFileSync(join(auditDir, file), 'utf8').split('\n');
    lines[2] = lines[2]!.replace('"status":407', '"status":200');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(copy, { recursive: true });
    writeFileSync(join(copy, file), lines.join('\n'));
    const o = io({ DRACHTIO_SECRET: 'wrong' });
    expect(await cli(['doctor', '--config', config({ audit: { dir: copy } })], o)).to.equal(12);
    expect(o.text()).to.match(/^audit\s+FAIL .*seq 3/m);
  });

  it('a config error fails with code 10 and names the field', async () => {
    const o = io({ DRACHTIO_SECRET: 's3cret' });
    expect(await cli(['doctor', '--config', config({ http: { port: -1 } })], o)).to.equal(10);
    expect(o.text()).to.match(/http\.port: must be between 0 and 65535/);
  });
});
