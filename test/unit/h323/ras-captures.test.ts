/**
 * Proof against real traffic: every RAS packet recorded from GnuGk 5.15 / H323Plus 1.28
 * (test/fixtures/h323/ras, copied from the capture set) decodes, re-encodes to the identical
 * bytes, and every value we decoded appears in tshark's decode of the same frame.
 */
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRas, encodeRas, rasType } from '../../../lib/h323/ras/messages.js';
import { fixture } from '../../support/paths.js';
import { compareWithTshark } from '../../lab/h323/tshark-leaves.js';

const root = fixture('h323', 'ras');
const packets = readdirSync(root)
  .sort()
  .flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.hex'))
      .sort()
      .map((f) => ({ dir, file: f, path: join(root, dir, f) })),
  );

describe('RAS: real GnuGk/H323Plus packets', () => {
  it('the fixture set is complete (146 RAS packets over 11 scenarios)', () => {
    expect(packets.length).to.equal(146);
  });

  for (const p of packets) {
    const expectedType = /-ras-([A-Za-z]+)-/.exec(p.file)![1];
    it(`${p.dir}/${p.file.slice(0, 4)} ${expectedType}: decodes, re-encodes byte-exact, matches tshark`, () => {
      const hex = readFileSync(p.path, 'utf8').trim();
      const msg = decodeRas(Buffer.from(hex, 'hex'));
      expect(rasType(msg)).to.equal(expectedType);
      expect(Buffer.from(encodeRas(msg)).toString('hex')).to.equal(hex);
      const cmp = compareWithTshark(msg, readFileSync(p.path.replace(/\.hex$/, '.tshark.txt'), 'utf8'));
      expect(cmp.missing, 'decoded values absent from tshark').to.deep.equal([]);
      expect(cmp.matched).to.be.greaterThan(0);
    });
  }
});
