/**
 * The drachtio launcher's config rewrite (test/lab/real-servers/drachtio.ts): the project's
 * drachtio.conf.xml gets the control port, secret, loopback address and one SIP contact; the
 * rest of the file is kept. Runs without drachtio-server.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DRACHTIO_CONF, drachtioConfig, startDrachtio } from '../../lab/real-servers/drachtio.js';
import { MissingBinaryError } from '../../lab/real-servers/process.js';
import { checkWellFormed } from '../ops/xml-wellformed.js';

const source = readFileSync(DRACHTIO_CONF, 'utf8');
const opts = { adminHost: '127.0.0.1', adminPort: 39022, secret: 'lab-secret_1', sipHost: '127.0.0.1', sipPort: 15060 };

describe('real drachtio-server launcher: config rewrite', () => {
  it('puts the control port, secret and loopback address into <admin>', () => {
    const out = drachtioConfig(source, opts);
    expect(out).to.match(/<admin port="39022" secret="lab-secret_1">127\.0\.0\.1<\/admin>/);
    expect(out).not.to.match(/port="9022"/);
    expect(out).not.to.include('0.0.0.0');
    expect(out).not.to.include('set-DRACHTIO_SECRET');
  });

  it('replaces the contacts by one udp+tcp contact on the given address', () => {
    const out = drachtioConfig(source, opts);
    const contacts = [...out.matchAll(/<contact>([^<]*)<\/contact>/g)].map((m) => m[1]);
    expect(contacts).to.deep.equal(['sip:127.0.0.1:15060;transport=udp,tcp']);
    expect(out).not.to.include(':5060;');
  });

  it('keeps the rest of the project file (cdrs, console logging) and stays well-formed', () => {
    const out = drachtioConfig(source, opts);
    expect(out).to.include('<cdrs>true</cdrs>');
    expect(out).to.match(/<logging>[\s\S]*<console\/>/);
    expect(checkWellFormed(out)).to.equal(undefined);
    expect(drachtioConfig(source, { ...opts, loglevel: 'debug' })).to.include('<loglevel>debug</loglevel>');
  });

  it('escapes the secret for XML and refuses a file without the elements it rewrites', () => {
    expect(drachtioConfig(source, { ...opts, secret: 'a"<b&' })).to.include('secret="a&quot;&lt;b&amp;"');
    expect(() => drachtioConfig('<drachtio><sip><contacts/></sip></drachtio>', opts)).to.throw(/no <admin/);
    expect(() => drachtioConfig('<drachtio><admin port="1" secret="x">0.0.0.0</admin></drachtio>', opts)).to.throw(/contacts/);
  });

  it('without DRACHTIO_BIN, start fails naming the variable (nothing is spawned)', async () => {
    const err = await startDrachtio({ env: {} }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(MissingBinaryError);
    expect((err as MissingBinaryError).envVar).to.equal('DRACHTIO_BIN');
    expect((err as Error).message).to.match(/DRACHTIO_BIN is not set/);
  });
});
