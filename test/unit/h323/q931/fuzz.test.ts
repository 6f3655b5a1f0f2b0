/**
 * A short share of the Q.931/TPKT fuzz run (test/fuzz/q931.ts has the properties and the long
 * run): random and mutated real frames never make the decoder throw, whatever decodes re-encodes
 * byte-exact, and the deframer stays bounded and chunking-independent.
 */
import { expect } from 'chai';
import { encodeStats, run, seedCorpus } from '../../../fuzz/q931.js';

describe('h323/q931 fuzz (short run)', function () {
  this.timeout(60_000);

  it('has a seed corpus of real frames', () => {
    const { streams, messages } = seedCorpus();
    expect(streams.length).to.be.greaterThan(70);
    expect(messages.length).to.be.greaterThan(50);
  });

  it('holds every property over 4000 generated inputs', async () => {
    const before = encodeStats.accepted;
    const reports = await run(4000);
    expect(reports.map((r) => r.name)).to.have.length(5);
    expect(reports.reduce((n, r) => n + r.runs, 0)).to.equal(4000);
    // The encoder property is only meaningful if many generated messages are valid.
    expect(encodeStats.accepted - before).to.be.greaterThan(100);
  });
});
