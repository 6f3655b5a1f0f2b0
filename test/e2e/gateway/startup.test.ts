import { expect } from 'chai';
import { gatewayExit } from '../../lab/gateway-process.js';

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
});
