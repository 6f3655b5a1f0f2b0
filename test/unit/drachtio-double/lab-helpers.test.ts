/** The lab helpers the e2e suites build on: target selection, frame tap, SIPp result parsing. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { realServerFromEnv, startDrachtioTarget } from '../../lab/drachtio-target.js';
import { startFrameTap } from '../../lab/frame-tap.js';
import { readCounts } from '../../lab/sipp.js';
import { RawApp } from './helpers.js';

describe('lab: drachtio target selection', () => {
  const full = { DRACHTIO_HOST: '10.0.0.5', DRACHTIO_PORT: '9022', DRACHTIO_SECRET: 's', DRACHTIO_SIP: '10.0.0.5:5060' };

  it('uses the real server only when all four DRACHTIO_* variables are set', () => {
    expect(realServerFromEnv(full)).to.deep.equal({ host: '10.0.0.5', port: 9022, secret: 's', sipHost: '10.0.0.5', sipPort: 5060 });
    for (const k of Object.keys(full)) {
      const partial: NodeJS.ProcessEnv = { ...full };
      delete partial[k];
      expect(realServerFromEnv(partial), k).to.equal(undefined);
    }
  });

  it('names the bad variable', () => {
    expect(() => realServerFromEnv({ ...full, DRACHTIO_SIP: '10.0.0.5' })).to.throw(/DRACHTIO_SIP must be host:port/);
    expect(() => realServerFromEnv({ ...full, DRACHTIO_PORT: 'x' })).to.throw(/DRACHTIO_PORT/);
  });

  it('starts the double on free ports when no real server is configured', async function () {
    if (realServerFromEnv()) this.skip();
    const t = await startDrachtioTarget();
    try {
      expect(t.kind).to.equal('double');
      expect(t.port).to.be.greaterThan(0);
      expect(t.sipPort).to.be.greaterThan(0).and.not.equal(t.port);
      const a = await RawApp.ready(t.port, t.secret);
      a.close();
    } finally {
      await t.stop();
    }
  });
});

describe('lab: frame tap', () => {
  it('forwards bytes unchanged both ways and records each frame with its direction', async function () {
    if (realServerFromEnv()) this.skip();
    const t = await startDrachtioTarget();
    const tap = await startFrameTap(t.host, t.port);
    try {
      const a = await RawApp.ready(tap.port, t.secret, ['invite']);
      const pong = await a.request(['ping']);
      expect(pong.tokens.slice(3)).to.deep.equal(['OK', 'pong']);
      await tap.waitFor((f) => f.dir === 'S->C' && f.payload.endsWith('|OK|pong'));
      expect(tap.frames.map((f) => `${f.dir} ${f.payload.split('|')[1]}`)).to.deep.equal([
        'C->S authenticate', 'S->C response', 'C->S route', 'S->C response', 'C->S ping', 'S->C response',
      ]);
      // the double's own log holds the same payloads: the tap did not alter them
      expect(t.double!.frames.map((f) => f.payload)).to.deep.equal(tap.frames.map((f) => f.payload));
      a.writeRaw('garbage!');
      await a.closed;
      expect(tap.errors).to.have.length(1);
      expect(tap.errors[0]).to.match(/^C->S stream 0: bad length prefix/);
    } finally {
      await tap.stop();
      await t.stop();
    }
  });
});

describe('lab: SIPp result parsing', () => {
  it('reads successful/failed counts from the last row of the -trace_stat csv', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipp-test-'));
    writeFileSync(join(dir, 'stat.csv'), 'StartTime;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);\nx;0;0;0;0;\nx;5;198;1;2;\n');
    expect(readCounts(dir)).to.deep.equal({ successful: 198, failed: 2 });
  });

  it('falls back to the summary screen when there is no csv', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipp-test-'));
    const screen = '  Successful call        |        0                  |        7                 \n  Failed call            |        0                  |        3                 \n';
    expect(readCounts(dir, screen)).to.deep.equal({ successful: 7, failed: 3 });
  });
});
