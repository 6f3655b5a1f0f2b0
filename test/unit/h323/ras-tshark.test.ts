/**
 * Proof on the wire: every RAS message type we encode is written to a pcap (UDP 1719) and read
 * by tshark's H.225 RAS dissector, which must report no malformed packet and show the values we set.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRas, encodeRas, rasType } from '../../../lib/h323/ras/messages.js';
import { pcapOf } from '../../lab/h323/pcap.js';
import { tsharkAvailable, tsharkFrames } from '../../lab/h323/tshark.js';
import { compareWithTshark } from '../../lab/h323/tshark-leaves.js';
import { RAS_SAMPLES } from './ras-samples.js';

describe('RAS: our encodings read by tshark', function () {
  let dir: string;
  let frames: string[] = [];

  before(async function () {
    if (!tsharkAvailable()) {
      console.warn('SKIP: tshark not installed (apt-get install tshark) - RAS tshark proof not run');
      this.skip();
    }
    this.timeout(60000);
    dir = mkdtempSync(join(tmpdir(), 'ras-tshark-'));
    const file = join(dir, 'ras.pcap');
    writeFileSync(file, pcapOf(RAS_SAMPLES.map((m) => ({ src: '192.0.2.10', srcPort: 1719, dst: '127.0.0.1', dstPort: 1719, payload: encodeRas(m) }))));
    frames = await tsharkFrames(file);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('covers every message type of the issue', () => {
    const types = RAS_SAMPLES.map((m) => rasType(m));
    for (const t of ['gatekeeperRequest', 'gatekeeperConfirm', 'gatekeeperReject', 'registrationRequest', 'registrationConfirm', 'registrationReject',
      'unregistrationRequest', 'unregistrationConfirm', 'unregistrationReject', 'admissionRequest', 'admissionConfirm', 'admissionReject',
      'disengageRequest', 'disengageConfirm', 'disengageReject', 'locationRequest', 'locationConfirm', 'locationReject', 'infoRequest',
      'infoRequestResponse', 'bandwidthRequest', 'bandwidthConfirm', 'bandwidthReject', 'requestInProgress', 'nonStandardMessage'] as const) {
      expect(types).to.include(t);
    }
    expect(frames.length).to.equal(RAS_SAMPLES.length);
  });

  RAS_SAMPLES.forEach((msg, i) => {
    it(`${rasType(msg)}: no malformed packet, tshark shows our values`, () => {
      const text = frames[i]!;
      expect(text).to.match(/RasMessage: (\w+) \(\d+\)/);
      expect(/RasMessage: (\w+)/.exec(text)![1]).to.equal(rasType(msg));
      expect(text).not.to.match(/Malformed|Expert Info \(Error/);
      const cmp = compareWithTshark(decodeRas(encodeRas(msg)), text);
      expect(cmp.missing).to.deep.equal([]);
      expect(cmp.matched).to.be.greaterThan(1);
    });
  });
});
