/**
 * Two gateway processes sharing council membership on one real redis-server (state.backend
 * redis): a room with a cap of 2 filled through instance A refuses a room system calling
 * instance B (ReleaseComplete 17), and admits it once a seat at A is freed. Each instance has its
 * own FreeSWITCH double: the cap is the shared store's, not a media server's.
 */
import { expect } from 'chai';
import { RedisServer, testRedis } from '../../lab/redis-server.js';
import { waitUntil } from '../../lab/wait.js';
import { H323_ALIAS, members, startCouncilLab, type CouncilLab } from './lab.js';

describe('council: membership shared by two gateway instances (Redis)', function () {
  this.timeout(60_000);
  let redis: { url: string; server?: RedisServer };
  const labs: CouncilLab[] = [];

  before(async function () {
    if (process.env.FS_HOST) this.skip();
    redis = await testRedis();
    const state = { backend: 'redis', keyPrefix: `gw:council:${process.pid}:${Date.now()}:` };
    for (let i = 0; i < 2; i++) labs.push(await startCouncilLab({ roles: ['guardian'], maxMembers: 2, state, env: { REDIS_URL: redis.url } }));
  });

  after(async () => {
    for (const l of labs) await l.stop();
    await redis?.server?.stop();
  });

  it('the cap holds across instances; a seat freed at one is taken at the other', async () => {
    const [a, b] = labs as [CouncilLab, CouncilLab];
    const c1 = await a.h323.call(a.callSignal.host, a.callSignal.port, H323_ALIAS);
    await waitUntil(async () => (await members(a)).here.length === 1 || undefined, 'first at A');
    const c2 = await a.h323.call(a.callSignal.host, a.callSignal.port, H323_ALIAS);
    await waitUntil(async () => (await members(a)).here.length === 2 || undefined, 'second at A');
    const seenAtB = await members(b);
    expect(seenAtB.seats).to.have.length(2);
    expect(seenAtB.here).to.have.length(0);

    const refused = await b.h323.call(b.callSignal.host, b.callSignal.port, H323_ALIAS);
    expect((await refused.done).cause).to.equal(17);

    c1.call.hangup();
    await c1.done;
    await waitUntil(async () => (await members(b)).seats.length === 1 || undefined, 'the seat freed in the shared store');
    const c3 = await b.h323.call(b.callSignal.host, b.callSignal.port, H323_ALIAS);
    const both = await waitUntil(async () => {
      const m = await members(b);
      return m.here.length === 1 ? m : undefined;
    }, 'admitted at B');
    expect(new Set(both.seats.map((s) => s.instance)).size).to.equal(2);
    c2.call.hangup();
    c3.call.hangup();
    await Promise.all([c2.done, c3.done]);
    await waitUntil(async () => (await members(a)).seats.length === 0 || undefined, 'an empty room');
  });
});
