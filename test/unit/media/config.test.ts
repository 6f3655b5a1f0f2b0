import { expect } from 'chai';
import { validateMediaConfig, MediaConfigError } from '../../../lib/media/config.js';

const base = (): Record<string, unknown> => ({
  esl: { host: '10.0.0.5', port: 8021, secret: 's3cret-not-default' },
  listen: { address: '10.0.0.2', port: 8085 },
});

function fieldOf(input: unknown): string {
  try {
    validateMediaConfig(input);
  } catch (e) {
    expect(e).to.be.instanceOf(MediaConfigError);
    return (e as MediaConfigError).field;
  }
  throw new Error('accepted');
}

describe('media config', () => {
  it('fills defaults (jitter buffer left to FreeSWITCH\'s profile, cap 12, F1 bound)', () => {
    const c = validateMediaConfig(base());
    expect(c.jitterBufferMsec).to.equal(null);
    expect(c.conference.maxMembers).to.equal(12);
    expect(c.conference.destroyTimeoutMs).to.equal(1000);
    expect(c.profile).to.equal('drachtio_mrf');
    expect(c.reconnect).to.deep.equal({ initialDelayMs: 250, maxDelayMs: 10_000, connectTimeoutMs: 3000 });
    expect(c.allowDefaultSecret).to.equal(false);
  });

  it('names the bad field', () => {
    expect(fieldOf(null)).to.equal('media');
    expect(fieldOf({ ...base(), esl: { host: 'bad host!', port: 8021, secret: 'x' } })).to.equal('media.esl.host');
    expect(fieldOf({ ...base(), esl: { host: 'fs', port: 70000, secret: 'x' } })).to.equal('media.esl.port');
    expect(fieldOf({ ...base(), esl: { host: 'fs', port: 8021 } })).to.equal('media.esl.secret');
    expect(fieldOf({ ...base(), listen: { port: 1 } })).to.equal('media.listen.address');
    expect(fieldOf({ ...base(), listen: { address: 'localhost' } })).to.equal('media.listen.address');
    expect(fieldOf({ ...base(), jitterBufferMsec: '150:20' })).to.equal('media.jitterBufferMsec');
    expect(fieldOf({ ...base(), jitterBufferMsec: 'adaptive' })).to.equal('media.jitterBufferMsec');
    expect(fieldOf({ ...base(), reconnect: { initialDelayMs: 500, maxDelayMs: 100 } })).to.equal('media.reconnect.maxDelayMs');
    expect(fieldOf({ ...base(), conference: { maxMembers: 0 } })).to.equal('media.conference.maxMembers');
    expect(fieldOf({ ...base(), advertised: { address: 'x', port: 0 } })).to.equal('media.advertised.port');
    expect(fieldOf({ ...base(), allowDefaultSecret: 'yes' })).to.equal('media.allowDefaultSecret');
  });

  it('refuses FreeSWITCH\'s default ESL password unless allowed (labs)', () => {
    const def = { ...base(), esl: { host: 'fs', port: 8021, secret: 'ClueCon' } };
    expect(fieldOf(def)).to.equal('media.esl.secret');
    expect(validateMediaConfig({ ...def, allowDefaultSecret: true }).esl.secret).to.equal('ClueCon');
  });

  it('jitter buffer: custom value or off', () => {
    expect(validateMediaConfig({ ...base(), jitterBufferMsec: '60:200:20' }).jitterBufferMsec).to.equal('60:200:20');
    expect(validateMediaConfig({ ...base(), jitterBufferMsec: null }).jitterBufferMsec).to.equal(null);
  });
});
