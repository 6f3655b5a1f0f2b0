/**
 * createStateStores: configuration checks, the memory default, and a gateway that starts while
 * Redis is not there (nothing listens on the port): ready() times out, fail-closed refuses at
 * once, fail-open runs on memory. No redis-server needed.
 */
import { expect } from 'chai';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { StateUnavailableError } from '../../../lib/state/guarded.js';
import { createStateStores, type StateConfig, type StateStores } from '../../../lib/state/factory.js';
import { freePort } from '../../lab/redis-server.js';

describe('state/factory', () => {
  const open: StateStores[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it('memory backend: working stores, always up, gw_state_backend_up 1', async () => {
    const reg = isolatedRegistry();
    const s = createStateStores({ backend: 'memory' }, reg);
    expect(s.backend).to.equal('memory');
    expect(s.up()).to.equal(true);
    expect((await s.stores.buckets.take('k', 1, 1, 0)).allowed).to.equal(true);
    expect((await s.stores.buckets.take('k', 1, 1, 0)).allowed).to.equal(false);
    expect(await reg.getSingleMetricAsString('gw_state_backend_up')).to.match(/gw_state_backend_up 1/);
  });

  it('refuses a bad redis configuration', () => {
    const bad: StateConfig[] = [
      { backend: 'redis', url: 'http://x', keyPrefix: 'gw:', onUnavailable: 'fail-closed' },
      { backend: 'redis', url: 'redis://127.0.0.1:1', keyPrefix: '', onUnavailable: 'fail-closed' },
    ];
    for (const cfg of bad) expect(() => createStateStores(cfg, isolatedRegistry())).to.throw();
  });

  it('Redis absent at start-up: ready() rejects, fail-closed refuses at once, fail-open serves from memory', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const closed = createStateStores({ backend: 'redis', url, keyPrefix: 'gw:t:', onUnavailable: 'fail-closed', maxReconnectDelayMs: 100 }, isolatedRegistry());
    const openS = createStateStores({ backend: 'redis', url, keyPrefix: 'gw:t:', onUnavailable: 'fail-open', maxReconnectDelayMs: 100 }, isolatedRegistry());
    open.push(closed, openS);
    let err: unknown;
    try {
      await closed.ready(200);
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/not reachable within 200 ms/);
    const t0 = Date.now();
    let refused: unknown;
    try {
      await closed.stores.ttl.addIfAbsent('sig', 1000);
    } catch (e) {
      refused = e;
    }
    expect(refused).to.be.instanceOf(StateUnavailableError);
    expect(await openS.stores.ttl.addIfAbsent('sig', 1000)).to.equal(true);
    expect(await openS.stores.ttl.addIfAbsent('sig', 1000)).to.equal(false);
    expect(Date.now() - t0).to.be.lessThan(100);
  });
});
