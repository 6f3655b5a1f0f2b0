/**
 * Schema coverage against tshark: an H.245 message for (nearly) every kind the schema models -
 * not only those the call layer sends - is written to a pcap on its own TCP connection and
 * dissected by tshark with the same message name and no malformed packet or expert warning.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeTpkt } from '../../../../lib/h323/tpkt/index.js';
import { decodeH245, encodeH245 } from '../../../../lib/h323/h245/codec.js';
import { TcpPcap } from '../q931/helpers/pcap.js';
import { coverageSamples } from './coverage-samples.js';

const run = promisify(execFile);

describe('h323/h245 schema coverage vs tshark', function () {
  this.timeout(60_000);
  let frames = new Map<number, string>();
  let dir: string | undefined;
  const samples = coverageSamples();

  before(async function () {
    try {
      await run('tshark', ['--version']);
    } catch {
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'h245-cov-'));
    const p = new TcpPcap({ ip: '127.0.0.1', port: 45700 }, { ip: '127.0.0.1', port: 1801 });
    for (const s of samples) {
      const t = encodeTpkt(encodeH245(s.msg));
      if (!t.ok) throw new Error(t.error.message);
      p.send(true, t.value);
    }
    writeFileSync(join(dir, 'cov.pcap'), p.finish());
    const out = await run('tshark', ['-r', join(dir, 'cov.pcap'), '-d', 'tcp.port==1801,h245', '-V'], { maxBuffer: 64 << 20 });
    for (const chunk of out.stdout.split(/^(?=Frame \d+: )/m)) {
      const m = /^Frame (\d+): /.exec(chunk);
      if (m) frames.set(Number(m[1]), chunk);
    }
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every sample round-trips through our codec', () => {
    for (const s of samples) expect(decodeH245(encodeH245(s.msg)), s.name).to.deep.equal(s.msg);
  });

  it('tshark names every message as we do, with no malformed packet', () => {
    samples.forEach((s, i) => {
      const f = frames.get(4 + i)!;
      expect(f, s.name).to.be.a('string');
      expect(f, `${s.name}: malformed`).to.not.match(/Malformed Packet|Dissector bug|Exception occurred/);
      expect(f, `${s.name}: expert warning`).to.not.match(/Expert Info \((Warning|Warn|Error)/);
      const names = [...f.matchAll(/^\s*(?:request|response|command|indication): (\w+) \(\d+\)$/gm)].map((m) => m[1]);
      expect(names[0], s.name).to.equal(s.name);
      for (const v of s.shows ?? []) expect(f, `${s.name} shows ${v}`).to.match(new RegExp(`\\b${v.replace(/[()]/g, '\\$&')}`));
    });
  });
});
