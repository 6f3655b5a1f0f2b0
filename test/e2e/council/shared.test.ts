/**
 * Two gateway processes sharing council membership on one real redis-server (state.backend
 * redis): a room with a cap of 2 filled through instance A refuses a room system calling
 * instance B (ReleaseComplete 17), and admits it once a seat at A is freed. Each instance has its
 * own media server: the cap is the shared store's, not a media server's. A uses the lab's
 * FreeSWITCH (the double, or the real one FS_* names); B always gets a FreeSWITCH double of its
 * own, since one FreeSWITCH cannot hold the same room's conference for two instances. Each
 * room's members are also read from its FreeSWITCH (`conference <room> list`, the test's own ESL).
 */
import { expect } from 'chai';
import { RedisServer, testRedis } from '../../lab/redis-server.js';
import { waitUntil } from '../../lab/wait.js';
import { EslClient } from '../../support/esl.js';
import { H323_ALIAS, ROOM, members, startCouncilLab, type CouncilLab } from './lab.js';

describe('council: membership shared by two gateway instances (Redis)', function () {
  this.timeout(60_000);
  let redis: { url: string; server?: RedisServer };
  const labs: CouncilLab[] = [];
  const esls: EslClient[] = [];

  before(async function () {
    redis = await testRedis();
    const state = { backend: 'redis', keyPrefix: `gw:council:${process.pid}:${Date.now()}:` };
    for (let i = 0; i < 2; i++) {
      const lab = await startCouncilLab({ roles: ['guardian'], maxMembers: 2, state, env: { REDIS_URL: redis.url }, ownFreeSwitch: i === 1 });
      labs.push(lab);
      esls.push(await EslClient.connect(lab.esl));
    }
  });

  after(async () => {
    for (const e of esls) e.close();
    for (const l of labs) await l.stop();
    await redis?.server?.stop();
  });

  /** Members of the room's conference at instance i's FreeSWITCH (once the gateway made it). */
  const conferenceMembers = (i: number): Promise<number[]> =>
    waitUntil(async () => (await esls[i]!.conferenceList(ROOM))?.map((m) => m.memberId), `conference ${ROOM} at instance ${i}'s FreeSWITCH`, 15_000);

  it('the cap holds across instances; a seat freed at one is taken at the other', async () => {
    const [a, b] = labs as [CouncilLab, CouncilLab];
    // fsmrf's control leg(s) of each instance's room, before anyone dials in
    const control = [new Set(await conferenceMembers(0)), new Set(await conferenceMembers(1))];
    const participantsAt = async (i: number): Promise<number[]> => (await conferenceMembers(i)).filter((id) => !control[i]!.has(id));
    const c1 = await a.h323.call(a.callSignal.host, a.callSignal.port, H323_ALIAS);
    await waitUntil(async () => (await members(a)).here.length === 1 || undefined, 'first at A');
    const c2 = await a.h323.call(a.callSignal.host, a.callSignal.port, H323_ALIAS);
    const atA = await waitUntil(async () => {
      const m = await members(a);
      return m.here.length === 2 ? m : undefined;
    }, 'second at A');
    expect(new Set(await participantsAt(0))).to.deep.equal(new Set(atA.here.map((p) => p.memberId)));
    const seenAtB = await members(b);
    expect(seenAtB.seats).to.have.length(2);
    expect(seenAtB.here).to.have.length(0);

    const refused = await b.h323.call(b.callSignal.host, b.callSignal.port, H323_ALIAS);
    expect((await refused.done).cause).to.equal(17);
    expect(await participantsAt(1), 'members of B\'s conference after the refusal').to.deep.equal([]);

    c1.call.hangup();
    await c1.done;
    await waitUntil(async () => (await members(b)).seats.length === 1 || undefined, 'the seat freed in the shared store');
    const c3 = await b.h323.call(b.callSignal.host, b.callSignal.port, H323_ALIAS);
    const both = await waitUntil(async () => {
      const m = await members(b);
      return m.here.length === 1 ? m : undefined;
    }, 'admitted at B');
    expect(new Set(both.seats.map((s) => s.instance)).size).to.equal(2);
    expect(await participantsAt(1)).to.deep.equal(both.here.map((p) => p.memberId));
    await waitUntil(async () => (await participantsAt(0)).length === 1 || undefined, 'c1 gone from A\'s conference');
    c2.call.hangup();
    c3.call.hangup();
    await Promise.all([c2.done, c3.done]);
    await waitUntil(async () => (await members(a)).seats.length === 0 || undefined, 'an empty room');
    await waitUntil(async () => ((await participantsAt(0)).length === 0 && (await participantsAt(1)).length === 0) || undefined, 'both conferences without participants');
  });
});
