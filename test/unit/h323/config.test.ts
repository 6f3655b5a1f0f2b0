/** H.323 config validation: defaults applied, and every bad field named in the error. */
import { expect } from 'chai';
import { H323ConfigError, validateH323Config } from '../../../lib/h323/config.js';
import { StaticPrefixResolver, neighbourOptionsFromConfig, rasClientOptionsFromConfig } from '../../../lib/h323/ras/index.js';

const good = {
  ras: { host: '0.0.0.0', port: 1721 },
  callSignalAddress: { host: '192.0.2.10', port: 1720 },
  advertisedRasAddress: { host: '192.0.2.10', port: 1721 },
  neighbours: [{ name: 'gnugk', host: '192.0.2.1', port: 1719, gatekeeperId: 'OracleGK' }],
  localZone: { prefixes: ['9'], aliases: ['council'] },
  gatekeeper: { host: '192.0.2.1', port: 1719, register: true, aliases: ['council-gw'] },
  statusPort: { host: '192.0.2.1', port: 7000 },
};

function fieldOf(input: unknown): string {
  try {
    validateH323Config(input);
  } catch (e) {
    if (e instanceof H323ConfigError) return e.field;
    throw e;
  }
  return '<valid>';
}

describe('validateH323Config', () => {
  it('accepts a full config and fills defaults', () => {
    const c = validateH323Config(good);
    expect(c.lookup).to.deep.equal({ ripAfterMs: 250, timeoutMs: 3000 });
    expect(c.rateLimit).to.deep.equal({ perSecond: 200, burst: 400 });
    expect(c.gatekeeper).to.deep.include({ register: true, timeToLive: 300 });
    expect(c.neighbours[0]).to.deep.equal({ name: 'gnugk', host: '192.0.2.1', port: 1719, gatekeeperId: 'OracleGK' });
  });

  const cases: [string, (c: Record<string, unknown>) => void][] = [
    ['h323.ras.port', (c) => (c['ras'] = { host: '0.0.0.0', port: 70000 })],
    ['h323.ras.host', (c) => (c['ras'] = { host: 'gnugk.local', port: 1 })],
    ['h323.callSignalAddress', (c) => delete c['callSignalAddress']],
    ['h323.neighbours', (c) => (c['neighbours'] = [])],
    ['h323.neighbours[1].host', (c) => (c['neighbours'] = [good.neighbours[0], { name: 'b', host: '300.1.1.1' }])],
    ['h323.neighbours[1].name', (c) => (c['neighbours'] = [good.neighbours[0], { name: 'gnugk', host: '192.0.2.2' }])],
    ['h323.localZone.prefixes[0]', (c) => (c['localZone'] = { prefixes: ['9a'] })],
    ['h323.lookup.ripAfterMs', (c) => (c['lookup'] = { ripAfterMs: 5000, timeoutMs: 1000 })],
    ['h323.rateLimit.burst', (c) => (c['rateLimit'] = { burst: 0 })],
    ['h323.gatekeeper.register', (c) => (c['gatekeeper'] = { host: '192.0.2.1', port: 1719, register: 'yes' })],
    ['h323.gatekeeper.timeToLive', (c) => (c['gatekeeper'] = { host: '192.0.2.1', port: 1719, timeToLive: 1 })],
  ];
  for (const [field, mutate] of cases) {
    it(`names ${field} when it is wrong`, () => {
      const c: Record<string, unknown> = structuredClone(good);
      mutate(c);
      expect(fieldOf(c)).to.equal(field);
    });
  }
  it('rejects a non-object', () => expect(fieldOf('x')).to.equal('h323'));
});

describe('config -> RAS options', () => {
  it('maps the neighbour responder and client options, advertising the public RAS address', () => {
    const c = validateH323Config(good);
    const n = neighbourOptionsFromConfig(c, new StaticPrefixResolver(c.localZone.prefixes, c.localZone.aliases));
    expect(n.bind).to.deep.equal({ host: '0.0.0.0', port: 1721 });
    expect(n.rasAddress).to.deep.equal({ host: '192.0.2.10', port: 1721 });
    expect(n.lookupTimeoutMs).to.equal(3000);
    expect(rasClientOptionsFromConfig(c)).to.deep.include({ gatekeeper: { host: '192.0.2.1', port: 1719 }, rasAddress: { host: '192.0.2.10', port: 1721 } });
    const { gatekeeper: _drop, ...noGk } = good;
    expect(rasClientOptionsFromConfig(validateH323Config(noGk))).to.equal(undefined);
  });
});
