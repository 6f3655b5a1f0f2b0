/**
 * A short share of the H.225.0/H.245 decoder fuzz run (test/fuzz/h225-h245.ts has the properties
 * and the long run): random and mutated real PDUs never make the decoders throw anything but
 * PerDecodeError, decoded values re-encode to a fixed point, and no input is slow.
 */
import { expect } from 'chai';
import { run, seedCorpus, stats } from '../../../fuzz/h225-h245.js';

describe('h323/h225 + h245 fuzz (short run)', function () {
  this.timeout(60_000);

  it('has a seed corpus of real and built PDUs', () => {
    const c = seedCorpus();
    expect(c.uuies.length).to.be.greaterThan(150);
    expect(c.h245.length).to.be.greaterThan(150);
  });

  it('holds every property over 3000 generated inputs', async () => {
    const reports = await run(3000);
    expect(reports.reduce((n, r) => n + r.runs, 0)).to.equal(3000);
    // Mutated seeds must often still decode, or the re-encode property would be vacuous.
    expect(stats.decoded).to.be.greaterThan(200);
  });
});
