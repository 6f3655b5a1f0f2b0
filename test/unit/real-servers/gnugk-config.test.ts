/**
 * The GnuGk launcher's gatekeeper.ini rewrite (test/lab/real-servers/gnugk.ts) and simph323's
 * command line (test/lab/real-servers/simph323.ts). The project's gatekeeper.ini is input here
 * (another change may edit its prefixes and LRQ features): what the rewrite does not touch must
 * come out unchanged. Runs without GnuGk or H323Plus.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { GATEKEEPER_INI, IniFile, gatekeeperIni, startGnuGk } from '../../lab/real-servers/gnugk.js';
import { G711_CAPABILITY, simph323Args, startSimpH323 } from '../../lab/real-servers/simph323.js';

const source = readFileSync(GATEKEEPER_INI, 'utf8');
const opts = { home: '127.0.0.1', rasPort: 31719, callSignalPort: 31720, statusPort: 37000, neighbours: ['127.0.0.1:31721'] };

describe('real GnuGk launcher: gatekeeper.ini rewrite', () => {
  it('puts Home and the RAS, status and call-signalling ports on loopback, without multicast or broadcast listeners', () => {
    const ini = new IniFile(gatekeeperIni(source, opts).ini);
    expect(ini.get('Gatekeeper::Main', 'Home')).to.equal('127.0.0.1');
    expect(ini.get('Gatekeeper::Main', 'UnicastRasPort')).to.equal('31719');
    expect(ini.get('Gatekeeper::Main', 'UseMulticastListener')).to.equal('0');
    expect(ini.get('Gatekeeper::Main', 'UseBroadcastListener')).to.equal('0');
    expect(ini.get('Gatekeeper::Main', 'StatusPort')).to.equal('37000');
    expect(ini.get('RoutedMode', 'CallSignalPort')).to.equal('31720');
    expect(ini.get('GkStatus::Auth', '127.0.0.1')).to.equal('allow');
  });

  it('points the first neighbour at the given gateway address and removes neighbours left without one', () => {
    const src = new IniFile(source);
    const names = src.entries('RasSrv::Neighbors').map(([k]) => k);
    expect(names.length).to.be.greaterThan(0);
    const r = gatekeeperIni(source, opts);
    const ini = new IniFile(r.ini);
    expect(r.neighbours).to.deep.equal([{ section: names[0], host: '127.0.0.1:31721' }]);
    expect(ini.get(`Neighbor::${names[0]}`, 'Host')).to.equal('127.0.0.1:31721');
    expect(ini.entries('RasSrv::Neighbors').map(([k]) => k)).to.deep.equal([names[0]]);
    for (const n of names.slice(1)) expect(ini.sections(), n).not.to.include(`Neighbor::${n}`);
    expect(r.name).to.equal(src.get('Gatekeeper::Main', 'Name'));
  });

  it('keeps every other setting of the project file as it is (prefixes, LRQ features, routing)', () => {
    const src = new IniFile(source);
    const out = new IniFile(gatekeeperIni(source, opts).ini);
    const first = src.entries('RasSrv::Neighbors')[0]![0];
    expect(out.entries(`Neighbor::${first}`).filter(([k]) => k !== 'Host')).to.deep.equal(src.entries(`Neighbor::${first}`).filter(([k]) => k !== 'Host'));
    for (const s of ['RasSrv::LRQFeatures', 'RoutingPolicy']) expect(out.entries(s), s).to.deep.equal(src.entries(s));
    expect(out.entries('RoutedMode').filter(([k]) => k !== 'CallSignalPort')).to.deep.equal(src.entries('RoutedMode').filter(([k]) => k !== 'CallSignalPort'));
    expect(out.get('Gatekeeper::Main', 'TimeToLive')).to.equal(src.get('Gatekeeper::Main', 'TimeToLive'));
  });

  it('assigns several neighbours in file order, and refuses more addresses than entries', () => {
    const names = new IniFile(source).entries('RasSrv::Neighbors').map(([k]) => k);
    const addrs = names.map((_, i) => `127.0.0.1:${40000 + i}`);
    expect(gatekeeperIni(source, { ...opts, neighbours: addrs }).neighbours.map((n) => n.host)).to.deep.equal(addrs);
    expect(() => gatekeeperIni(source, { ...opts, neighbours: [...addrs, '127.0.0.1:1'] })).to.throw(/neighbour\(s\) in \[RasSrv::Neighbors\]/);
    expect(() => gatekeeperIni('[RoutedMode]\nGKRouted=1\n', opts)).to.throw(/no \[Gatekeeper::Main\]/);
  });

  it('IniFile adds keys and sections that are missing and keeps comments', () => {
    const ini = new IniFile('; top\n[A]\n; c\nx=1\n\n[B]\ny=2\n');
    ini.set('A', 'z', '3');
    ini.set('C', 'w', '4');
    ini.set('B', 'Y', '5');
    expect(ini.toString()).to.equal('; top\n[A]\n; c\nx=1\nz=3\n\n[B]\nY=5\n\n[C]\nw=4');
  });

  it('without GNUGK_BIN, start fails naming the variable', async () => {
    const e = await startGnuGk({ env: {} }).catch((x: unknown) => x);
    expect((e as Error).message).to.match(/^GNUGK_BIN is not set/);
  });
});

describe('simph323 command line', () => {
  const base = { alias: '2000', gatekeeper: '127.0.0.1:31719', host: '127.0.0.4', port: 31750 };

  it('auto-answering endpoint: registers with the alias from its own address, no stdin, null audio', () => {
    const a = simph323Args({ ...base, mode: 'answer', fastStart: true });
    expect(a).to.deep.equal(['-u', '2000', '-g', '127.0.0.1:31719', '-i', '127.0.0.4', '-x', '31750', '-P', G711_CAPABILITY.PCMA, '-f', '-s', 'Null Audio', '-S', '-l', '-a']);
  });

  it('caller: no fastStart, no tunnelling, u-law only, the number last', () => {
    const a = simph323Args({ ...base, alias: ['1001', 'room-a'], mode: { call: '9100' }, fastStart: false, tunnel: false, codec: 'PCMU', onlyCodec: true });
    expect(a).to.include.members(['-T', '-D', G711_CAPABILITY.PCMA]);
    expect(a.slice(a.indexOf('-P'), a.indexOf('-P') + 2)).to.deep.equal(['-P', G711_CAPABILITY.PCMU]);
    expect(a).not.to.include('-f');
    expect(a.slice(0, 2)).to.deep.equal(['-u', '1001,room-a']);
    expect(a[a.length - 1]).to.equal('9100');
    expect(a).not.to.include('-l');
  });

  it('refuses a bad alias or gatekeeper address', () => {
    expect(() => simph323Args({ ...base, alias: 'a b', mode: 'answer', fastStart: true })).to.throw(/bad alias/);
    expect(() => simph323Args({ ...base, gatekeeper: '127.0.0.1', mode: 'answer', fastStart: true })).to.throw(/host:port/);
  });

  it('without SIMPH323_BIN, start fails naming the variable', async () => {
    const e = await startSimpH323({ ...base, mode: 'answer', fastStart: true, env: {} }).catch((x: unknown) => x);
    expect((e as Error).message).to.match(/^SIMPH323_BIN is not set/);
  });
});
