/** The `ha` config section: defaults, env id, and every bad field named. */
import { expect } from 'chai';
import { validateConfig } from '../../../lib/config/gateway-config.js';
import { ConfigError } from '../../../lib/config/errors.js';

const env = { DRACHTIO_SECRET: 's3cret', REGISTRY_FILE: '/etc/gw/registry.json', AUDIT_DIR: '/var/lib/gw/audit', REDIS_URL: 'redis://127.0.0.1:6379' };
const redis = { backend: 'redis', keyPrefix: 'gw:t:' };

function problems(raw: unknown, e: Record<string, string> = env): string[] {
  try {
    validateConfig(raw, e);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.field}: ${p.problem}`);
  }
  return [];
}

describe('ha config', () => {
  it('is off without the section; with it, defaults of 250 ms beats, 1 s TTL, 250 ms polls', () => {
    expect(validateConfig({ state: redis }, env).ha).to.equal(undefined);
    expect(validateConfig({ state: redis, ha: {} }, env).ha).to.deep.equal({ instanceId: '', heartbeatMs: 250, ttlMs: 1000, pollMs: 250, claimTtlMs: 30_000, byeTimeoutMs: 4000 });
    expect(validateConfig({ state: redis, ha: { instanceId: 'gw-1' } }, { ...env, HA_INSTANCE_ID: 'gw-2' }).ha?.instanceId).to.equal('gw-2');
  });

  it('names every bad field: no shared state, a TTL shorter than two beats, a bad id, unknown keys', () => {
    expect(problems({ ha: {} })).to.include('ha: needs state.backend redis (the instances share heartbeats and call records there)');
    const p = problems({ state: redis, ha: { heartbeatMs: 600, ttlMs: 1000, instanceId: 'a b', extra: 1 } });
    expect(p).to.include('ha.ttlMs: must be at least twice ha.heartbeatMs (1200)');
    expect(p.some((x) => x.startsWith('ha.instanceId: may hold only'))).to.equal(true);
    expect(p.some((x) => x.startsWith('ha.extra') || x.includes('extra'))).to.equal(true);
  });
});
