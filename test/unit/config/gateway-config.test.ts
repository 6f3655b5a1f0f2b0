import { expect } from 'chai';
import { loadConfig, validateConfig, redactConfig } from '../../../lib/config/gateway-config.js';
import { ConfigError } from '../../../lib/config/errors.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.field}: ${p.problem}`);
  }
  throw new Error('expected a ConfigError');
}

describe('gateway config', () => {
  const env = { DRACHTIO_SECRET: 's3cret' };

  it('applies defaults and takes the drachtio link from DRACHTIO_* env as the drachtio images do', () => {
    const cfg = validateConfig({}, { ...env, DRACHTIO_HOST: 'drachtio', DRACHTIO_PORT: '9023' });
    expect(cfg.drachtio).to.deep.equal({ host: 'drachtio', port: 9023, secret: 's3cret', retryMaxDelayMs: 500 });
    expect(cfg.http.port).to.equal(8080);
    expect(cfg.dialPlan).to.deep.equal([]);
  });

  it('env overrides the file', () => {
    const cfg = validateConfig({ drachtio: { host: 'a', port: 1000 } }, { ...env, DRACHTIO_PORT: '2000' });
    expect(cfg.drachtio.host).to.equal('a');
    expect(cfg.drachtio.port).to.equal(2000);
  });

  it('names every bad field at once', () => {
    const p = problemsOf(() =>
      validateConfig({ drachtio: { port: 70000 }, http: { port: 'x' }, dialPlan: [{ prefix: '9', sipTarget: 'http://x' }], bogus: 1 }, env),
    );
    expect(p).to.include('drachtio.port: must be between 1 and 65535, got 70000');
    expect(p).to.include('http.port: expected an integer, got "x"');
    expect(p).to.include('dialPlan[0].sipTarget: must be a sip: or sips: URI');
    expect(p).to.include('bogus: unknown field');
  });

  it('refuses a secret written in the config file and requires one from env or file', () => {
    const p = problemsOf(() => validateConfig({ drachtio: { secret: 'x' } }, {}));
    expect(p.some((s) => s.startsWith('drachtio.secret: secrets are not read from the config file'))).to.equal(true);
    expect(p.some((s) => s.startsWith('DRACHTIO_SECRET: no drachtio secret'))).to.equal(true);
  });

  it('reads the secret from a file and trims it', () => {
    const cfg = validateConfig({ drachtio: { secretFile: '/run/secrets/drachtio' } }, {}, (p) => {
      expect(p).to.equal('/run/secrets/drachtio');
      return 'from-file\n';
    });
    expect(cfg.drachtio.secret).to.equal('from-file');
    expect(redactConfig(cfg).drachtio.secret).to.equal('***');
  });

  it('reports an unreadable secret file under the field that named it', () => {
    const p = problemsOf(() => validateConfig({}, { DRACHTIO_SECRET_FILE: '/nope' }, () => { throw new Error('ENOENT'); }));
    expect(p[0]).to.match(/^DRACHTIO_SECRET_FILE: cannot read \/nope: ENOENT/);
  });

  it('reports invalid JSON with the file name', () => {
    const p = problemsOf(() => loadConfig({ file: 'gw.json', env, readFile: () => '{ nope' }));
    expect(p[0]).to.match(/^gw\.json: not valid JSON/);
  });
});
