import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayExit } from '../../lab/gateway-process.js';
import { labPerson, writeRegistry } from '../../lab/policy-lab.js';

describe('gateway start-up: bad configuration', function () {
  this.timeout(30_000);

  it('exits 2 and names the bad field instead of starting', async () => {
    const { code, output } = await gatewayExit({ drachtio: { port: 'nine' }, dialPlan: [{ prefix: '9' }] }, { DRACHTIO_SECRET: 'x' });
    expect(code).to.equal(2);
    expect(output).to.include('drachtio.port: expected an integer, got "nine"');
    expect(output).to.include('dialPlan[0].sipTarget: required');
  });

  it('refuses to start without a drachtio secret and says where to put one', async () => {
    const { code, output } = await gatewayExit({ policy: { enabled: false } });
    expect(code).to.equal(2);
    expect(output).to.include('DRACHTIO_SECRET: no drachtio secret');
  });

  it('refuses a registry where one key belongs to two identities (anti-Sybil), naming the entry', async () => {
    const a = labPerson('A1', 'council.local');
    const b = labPerson('B1', 'council.local');
    b.entry.keys = [{ kid: 'b1-k1', publicKey: a.entry.keys[0]!.publicKey }];
    const reg = writeRegistry([a, b]);
    const { code, output } = await gatewayExit(
      { registry: { file: reg.file }, audit: { dir: mkdtempSync(join(tmpdir(), 'gw-audit-')) } },
      { DRACHTIO_SECRET: 'x' },
    );
    expect(code).to.equal(2);
    expect(output).to.match(/entries\[1\]\.keys\[0\]\.publicKey: .*(already|registered|duplicate)/i);
  });
});
