import { expect } from 'chai';
import { run } from '../../fuzz/policy.js';

describe('policy/fuzz (short run of test/fuzz/policy.ts)', () => {
  it('every property holds on a few hundred inputs', async () => {
    const reports = await run(1000);
    expect(reports.map((r) => r.name)).to.have.length(6);
  });
});
