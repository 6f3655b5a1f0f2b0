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
  const env = { DRACHTIO_SECRET: 's3cret', REGISTRY_FILE: '/etc/gw/registry.json', AUDIT_DIR: '/var/lib/gw/audit' };

  it('applies defaults and takes the drachtio link from DRACHTIO_* env as the drachtio images do', () => {
    const cfg = validateConfig({}, { ...env, DRACHTIO_HOST: 'drachtio', DRACHTIO_PORT: '9023' });
    expect(cfg.drachtio).to.deep.equal({ host: 'drachtio', port: 9023, secret: 's3cret', retryMaxDelayMs: 500 });
    expect(cfg.http.port).to.equal(8080);
    expect(cfg.dialPlan).to.deep.equal([]);
    expect(cfg.policy.enabled).to.equal(true);
    expect(cfg.policy.digestAlgorithms).to.deep.equal(['SHA-256', 'MD5']);
    expect(cfg.policy.perCallerBps).to.equal(3_000_000);
  });

  it('requires a registry and an audit directory while the policy is on', () => {
    const p = problemsOf(() => validateConfig({}, { DRACHTIO_SECRET: 'x' }));
    expect(p.some((s) => s.startsWith('registry.file: required while policy.enabled'))).to.equal(true);
    expect(p.some((s) => s.startsWith('audit.dir: required while policy.enabled'))).to.equal(true);
    expect(validateConfig({ policy: { enabled: false } }, { DRACHTIO_SECRET: 'x' }).policy.enabled).to.equal(false);
  });

  it('names bad policy fields', () => {
    const p = problemsOf(() => validateConfig({ policy: { digestAlgorithms: ['SHA-512'], identityRequiredFor: ['king'], rates: { invitePerSourceBurst: 0 } } }, env));
    expect(p).to.include('policy.digestAlgorithms[0]: expected one of SHA-256, MD5, got "SHA-512"');
    expect(p).to.include('policy.identityRequiredFor[0]: expected one of guardian, expert, operator, moderator, got "king"');
    expect(p).to.include('policy.rates.invitePerSourceBurst: must be between 1 and 1000000, got 0');
  });

  it('audit refusal aggregation: 10 s windows and 1024 sources by default, 0 turns it off, bad values named', () => {
    const d = validateConfig({}, env).audit;
    expect([d.aggregateWindowS, d.aggregateMaxOpen]).to.deep.equal([10, 1024]);
    expect(validateConfig({ audit: { aggregateWindowS: 0, aggregateMaxOpen: 50 } }, env).audit).to.include({ aggregateWindowS: 0, aggregateMaxOpen: 50 });
    const p = problemsOf(() => validateConfig({ audit: { aggregateWindowS: -1, aggregateMaxOpen: 0 } }, env));
    expect(p).to.include('audit.aggregateWindowS: must be between 0 and 3600, got -1');
    expect(p).to.include('audit.aggregateMaxOpen: must be between 1 and 1000000, got 0');
    expect(problemsOf(() => validateConfig({ audit: { aggregateWindowS: 'ten' } }, env))).to.include('audit.aggregateWindowS: expected an integer, got "ten"');
  });

  it('masks every secret when the config is shown', () => {
    const cfg = validateConfig({}, { ...env, POLICY_NONCE_SECRET: 'n', AUDIT_ID_KEY: 'k' });
    const shown = JSON.stringify(redactConfig(cfg));
    expect(shown).not.to.include('s3cret');
    expect(shown).not.to.match(/"nonceSecret":"n"|"idKey":"k"/);
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
    const p = problemsOf(() => validateConfig({ drachtio: { secret: 'x' }, policy: { enabled: false } }, {}));
    expect(p.some((s) => s.startsWith('drachtio.secret: secrets are not read from the config file'))).to.equal(true);
    expect(p.some((s) => s.startsWith('DRACHTIO_SECRET: no drachtio secret'))).to.equal(true);
  });

  it('reads the secret from a file and trims it', () => {
    const cfg = validateConfig({ drachtio: { secretFile: '/run/secrets/drachtio' }, policy: { enabled: false } }, {}, (p) => {
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

describe('shipped configuration files', () => {
  it('the compose lab gateway.json is valid with the env compose gives it', async () => {
    const { fixture } = await import('../../support/paths.js');
    const file = fixture('..', '..', 'sip-configs', 'gateway', 'gateway.json');
    const cfg = loadConfig({ file, env: { DRACHTIO_SECRET: 'x', POLICY_NONCE_SECRET: 'y', FS_ESL_SECRET: 'z', REDIS_URL: 'redis://:p@redis:6379/0', REGISTRY_FILE: '/etc/gateway/registry.json', AUDIT_DIR: '/var/lib/gateway/audit' } });
    expect(cfg.drachtio.host).to.equal('drachtio');
    expect(cfg.policy.enabled).to.equal(true);
    expect(cfg.dialPlan.length).to.be.greaterThan(0);
  });
});

describe('dial plan H.323 routes', () => {
  const env = { DRACHTIO_SECRET: 's', REGISTRY_FILE: '/r', AUDIT_DIR: '/a', FS_ESL_SECRET: 'not-default' };
  const h323 = { ras: { host: '127.0.0.1', port: 1719 }, callSignalAddress: { host: '127.0.0.1', port: 1720 }, neighbours: [{ name: 'GK', host: '127.0.0.1' }] };
  const media = { esl: { host: '127.0.0.1', port: 8021 }, listen: { address: '127.0.0.1', port: 8085 } };

  it('accepts a host:port or gatekeeper target when h323 and media are configured', () => {
    const cfg = validateConfig({ h323: { ...h323, gatekeeper: { host: '127.0.0.1', port: 1719 } }, media, dialPlan: [{ prefix: '9', h323Target: '127.0.0.4:1720' }, { prefix: '8', h323Target: 'gatekeeper' }] }, env);
    expect(cfg.dialPlan.map((r) => r.h323Target)).to.deep.equal(['127.0.0.4:1720', 'gatekeeper']);
  });

  it('names what an H.323 route is missing', () => {
    const p = problemsOf(() => validateConfig({ dialPlan: [{ prefix: '9', h323Target: 'room-1' }, { prefix: '8', sipTarget: 'sip:a@b', h323Target: '1.2.3.4:1720' }] }, env));
    expect(p).to.include("dialPlan[0].h323Target: must be 'gatekeeper' or an IPv4 host:port");
    expect(p).to.include('dialPlan[1]: give sipTarget or h323Target, not both');
    expect(p).to.include('dialPlan[0].h323Target: H.323 routes need the media section (FreeSWITCH carries their RTP)');
  });

  it('takes the event-socket password only from the environment or a file', () => {
    const p = problemsOf(() => validateConfig({ media: { ...media, esl: { ...media.esl, secret: 'x' } } }, env));
    expect(p.some((s) => s.startsWith('media.esl.secret: secrets are not read from the config file'))).to.equal(true);
  });
});
