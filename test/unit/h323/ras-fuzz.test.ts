/**
 * A small share of the RAS fuzz run (test/fuzz/h323-ras.ts): random and mutated real packets
 * never make the decoder throw anything but PerDecodeError, and what it accepts round-trips.
 */
import { expect } from 'chai';
import { run, stats } from '../../fuzz/h323-ras.js';

describe('RAS decoder fuzz (small share)', function () {
  this.timeout(60000);
  it('3000 inputs: total decoder, accepted values round-trip', async () => {
    const reports = await run(3000);
    expect(reports.map((r) => r.name)).to.deep.equal(['random bytes', 'RAS-looking random bytes', 'mutated real packets']);
    // Mutations of real packets must exercise both outcomes, or the property proves little.
    expect(stats.accepted).to.be.greaterThan(50);
    expect(stats.rejected).to.be.greaterThan(50);
  });
});
