/**
 * The pieces of a config reload on their own: the admin endpoint (off without a token, bearer
 * auth, status per outcome), the admin token and fractional rates in the config, the reloader
 * (outcomes, counter, one at a time), and the policy rebuilt over the same state stores.
 */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { OpsServer } from '../../../lib/ops/http-server.js';
import { ConfigReloader, restartOnlyChanges, type ReloadResult } from '../../../lib/config/reload.js';
import { loadConfig, redactConfig, validateConfig, type GatewayConfig } from '../../../lib/config/gateway-config.js';
import { ConfigError } from '../../../lib/config/errors.js';
import winston from 'winston';
import { startPolicy } from '../../../lib/policy/from-config.js';
import type { PolicyRequest } from '../../../lib/policy/types.js';
import { labPerson, writeRegistry } from '../../lab/policy-lab.js';

const log = winston.createLogger({ silent: true });
const TOKEN = 'a'.repeat(20) + 'b'.repeat(20);
const ok = { status: 'ok' as const, ok: true, checks: {} };

async function withServer(admin: ConstructorParameters<typeof OpsServer>[0]['admin'], fn: (url: string) => Promise<void>): Promise<void> {
  const srv = new OpsServer({ host: '127.0.0.1', port: 0, registry: new Registry(), health: () => ok, ...(admin ? { admin } : {}) });
  const port = await srv.start();
  try {
    await fn(`http://127.0.0.1:${port}`);
  } finally {
    await srv.stop();
  }
}

describe('ops: POST /admin/reload', () => {
  it('does not exist without a configured token (404), whatever the request carries', async () => {
    await withServer(undefined, async (url) => {
      expect((await fetch(`${url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).to.equal(404);
      expect((await fetch(`${url}/metrics`)).status).to.equal(200);
    });
  });

  it('401s a missing, wrong, truncated or non-Bearer credential and never calls reload', async () => {
    let calls = 0;
    const reload = async (): Promise<ReloadResult> => {
      calls++;
      return { outcome: 'applied', problems: [], restartRequired: [] };
    };
    await withServer({ token: TOKEN, reload }, async (url) => {
      for (const authorization of [undefined, `Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, `Bearer`, `Bearer  `]) {
        const res = await fetch(`${url}/admin/reload`, { method: 'POST', headers: authorization !== undefined ? { authorization } : {} });
        expect(res.status, String(authorization)).to.equal(401);
        expect(res.headers.get('www-authenticate')).to.match(/^Bearer /);
      }
      expect((await fetch(`${url}/admin/reload`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).to.equal(405);
      expect(calls).to.equal(0);
    });
  });

  it('answers 200 / 400 / 422 / 500 by outcome with the problems, passing the client address on', async () => {
    const results: ReloadResult[] = [
      { outcome: 'applied', problems: [], restartRequired: ['h323'] },
      { outcome: 'unreadable', problems: [{ field: '/etc/gw.json', problem: 'not valid JSON' }], restartRequired: [] },
      { outcome: 'invalid', problems: [{ field: 'policy.rates.invitePerSourceBurst', problem: 'must be between 1 and 1000000, got 0' }], restartRequired: [] },
      { outcome: 'error', problems: [{ field: '(reload)', problem: 'boom' }], restartRequired: [] },
    ];
    const sources: string[] = [];
    let i = 0;
    await withServer({ token: TOKEN, reload: async (source) => { sources.push(source); return results[i++]!; } }, async (url) => {
      const got: Array<[number, unknown]> = [];
      for (let k = 0; k < results.length; k++) {
        const res = await fetch(`${url}/admin/reload`, { method: 'POST', headers: { authorization: `bearer ${TOKEN}` } });
        got.push([res.status, await res.json()]);
      }
      expect(got).to.deep.equal([[200, results[0]], [400, results[1]], [422, results[2]], [500, results[3]]]);
      expect(sources.every((s) => /127\.0\.0\.1$/.test(s))).to.equal(true);
    });
  });
});

describe('config: admin token and reloadable rates', () => {
  const base = { drachtio: { host: 'd' }, policy: { enabled: false } };
  const env = { DRACHTIO_SECRET: 's' };

  it('takes the admin token from ADMIN_TOKEN or a file, never from the config file, and refuses a short one', () => {
    expect(validateConfig(base, env).http.adminToken).to.equal('');
    expect(validateConfig(base, { ...env, ADMIN_TOKEN: TOKEN }).http.adminToken).to.equal(TOKEN);
    const dir = mkdtempSync(join(tmpdir(), 'gw-tok-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    expect(validateConfig({ ...base, http: { adminTokenFile: join(dir, 'token') } }, env).http.adminToken).to.equal(TOKEN);
    expect(() => validateConfig({ ...base, http: { adminToken: TOKEN } }, env)).to.throw(ConfigError, /http\.adminToken: secrets are not read from the config file/);
    expect(() => validateConfig(base, { ...env, ADMIN_TOKEN: 'short' })).to.throw(ConfigError, /ADMIN_TOKEN: the admin token must be at least 24 characters/);
    expect(redactConfig(validateConfig(base, { ...env, ADMIN_TOKEN: TOKEN })).http.adminToken).to.equal('***');
  });

  it('accepts fractional refill rates and refuses zero, naming the field', () => {
    const cfg = validateConfig({ ...base, policy: { enabled: false, rates: { invitePerSourcePerSec: 0.5 } } }, env);
    expect(cfg.policy.rates.invitePerSourcePerSec).to.equal(0.5);
    expect(() => validateConfig({ ...base, policy: { enabled: false, rates: { registerPerSourcePerSec: 0 } } }, env)).to.throw(/policy\.rates\.registerPerSourcePerSec: must be between 0\.001 and 1000000, got 0/);
  });

  it('marks unreadable files as syntax errors (400) and bad fields as field errors (422)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-cfg-'));
    writeFileSync(join(dir, 'bad.json'), '{');
    const err = (f: () => unknown): ConfigError => {
      try {
        f();
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('no error');
    };
    expect(err(() => loadConfig({ file: join(dir, 'bad.json'), env })).syntax).to.equal(true);
    expect(err(() => loadConfig({ file: join(dir, 'missing.json'), env })).syntax).to.equal(true);
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ ...base, polcy: {} }));
    const typo = err(() => loadConfig({ file: join(dir, 'typo.json'), env }));
    expect(typo.syntax).to.equal(false);
    expect(typo.problems).to.deep.include({ field: 'polcy', problem: 'unknown field' });
  });

  it('lists restart-only sections that changed, by name only', () => {
    const a = validateConfig(base, env);
    const b = validateConfig({ ...base, drachtio: { host: 'other' }, registrar: { maxContacts: 9 }, dialPlan: [{ prefix: '1', sipTarget: 'sip:x@y' }] }, env);
    expect(restartOnlyChanges(a, b)).to.deep.equal(['drachtio', 'registrar']);
    expect(restartOnlyChanges(a, validateConfig(base, { ...env, ADMIN_TOKEN: TOKEN }))).to.deep.equal(['http']);
  });
});

describe('config reloader', () => {
  const cfg = validateConfig({ drachtio: { host: 'd' }, policy: { enabled: false } }, { DRACHTIO_SECRET: 's' });

  it('applies a valid config, refuses a bad one without applying it, counts both and records each', async () => {
    const registry = new Registry();
    const applied: GatewayConfig[] = [];
    const recorded: string[] = [];
    let next: () => GatewayConfig = () => cfg;
    const r = new ConfigReloader({
      load: () => next(),
      apply: async (c) => {
        applied.push(c);
        return [];
      },
      registry,
      log,
      record: async (res, trigger, source) => {
        recorded.push(`${trigger}:${res.outcome}:${source}`);
      },
    });
    expect((await r.reload('sighup')).outcome).to.equal('applied');
    next = () => {
      throw new ConfigError([{ field: 'policy.realm', problem: 'must not be empty' }]);
    };
    const bad = await r.reload('http', '10.0.0.9');
    expect(bad).to.deep.equal({ outcome: 'invalid', problems: [{ field: 'policy.realm', problem: 'must not be empty' }], restartRequired: [] });
    expect(applied).to.have.length(1);
    expect(recorded).to.deep.equal(['sighup:applied:sighup', 'http:invalid:10.0.0.9']);
    const text = await registry.metrics();
    expect(text).to.include('gw_config_reloads_total{trigger="sighup",outcome="applied"} 1');
    expect(text).to.include('gw_config_reloads_total{trigger="http",outcome="invalid"} 1');
  });

  it('runs one reload at a time, in the order asked', async () => {
    const order: string[] = [];
    let n = 0;
    const r = new ConfigReloader({
      load: () => cfg,
      apply: async () => {
        const me = ++n;
        order.push(`start ${me}`);
        await new Promise((res) => setImmediate(res));
        order.push(`end ${me}`);
        return [];
      },
      registry: new Registry(),
      log,
    });
    await Promise.all([r.reload('sighup'), r.reload('http'), r.reload('sighup')]);
    expect(order).to.deep.equal(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('turns an apply failure that is not a config error into outcome error, never a rejection', async () => {
    const r = new ConfigReloader({ load: () => cfg, apply: async () => Promise.reject(new Error('disk on fire')), registry: new Registry(), log });
    expect(await r.reload('sighup')).to.deep.equal({ outcome: 'error', problems: [{ field: '(reload)', problem: 'disk on fire' }], restartRequired: [] });
  });
});

describe('policy reconfigure', () => {
  const REALM = 'council.test';
  const alice = labPerson('Alice', REALM);

  function request(source: string, callId: string): PolicyRequest {
    return {
      method: 'INVITE',
      uri: 'sip:service@gw.test',
      callId,
      header: (n) => ({ 'call-id': callId, from: `<sip:alice@${source}>;tag=1`, to: '<sip:service@gw.test>', cseq: '1 INVITE', via: `SIP/2.0/UDP ${source}:5060;branch=z9hG4bK1` } as Record<string, string>)[n.toLowerCase()],
      headerNames: () => ['Call-ID', 'From', 'To', 'CSeq', 'Via'],
      source: { address: source, port: 5060, transport: 'udp' },
      body: '',
    };
  }

  it('puts new limits in force over the same stores: spent buckets and reserved calls carry over', async () => {
    const reg = writeRegistry([alice]);
    const auditDir = mkdtempSync(join(tmpdir(), 'gw-audit-'));
    const raw = (burst: number, dir = auditDir) => ({
      drachtio: { host: 'd' },
      policy: { realm: REALM, rates: { invitePerSourceBurst: burst, invitePerSourcePerSec: 0.001 } },
      registry: { file: reg.file },
      audit: { dir, fsync: false },
    });
    const env = { DRACHTIO_SECRET: 's', POLICY_NONCE_SECRET: 'n' };
    const running = await startPolicy(validateConfig(raw(1), env), new Registry(), log);
    try {
      const statuses = async (source: string, n: number): Promise<number[]> => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push((await running.chain.decide(request(source, `${source}-${i}-${Math.random()}`))).decision.status);
        return out;
      };
      expect(await statuses('192.0.2.1', 2)).to.deep.equal([407, 503]);
      // A call in progress holds a slot and bandwidth in the ledger the quota gates read.
      expect((await running.stores.ledger.tryAdd('Alice', 'held-call', 4)).ok).to.equal(true);
      expect((await running.stores.ledger.trySetBandwidth('Alice', 'held-call', 64_000, 3_000_000)).ok).to.equal(true);
      const stores = running.stores;
      const before = running.chain;

      const restart = running.reconfigure(validateConfig(raw(3, mkdtempSync(join(tmpdir(), 'gw-audit2-'))), env));
      expect(restart).to.deep.equal(['audit.dir']);
      expect(running.chain).not.to.equal(before);
      expect(running.stores).to.equal(stores);
      expect(await statuses('192.0.2.2', 4)).to.deep.equal([407, 407, 407, 503]);
      expect(await statuses('192.0.2.1', 1)).to.deep.equal([503]);
      expect(await running.stores.ledger.usage('Alice')).to.deep.equal({ calls: 1, bps: 64_000 });
    } finally {
      await running.close();
    }
  });
});
