/**
 * Councils through lib/media: SIP and H.323-style members, the cap, mute/unmute/kick/leave, and a
 * destroy that completes although Conference#destroy() alone never does (F1, which the double
 * reproduces: the recvonly control leg ignores its hangup). Nothing is left on FreeSWITCH after.
 */
import { expect } from 'chai';
import { stopAllSipp } from '../../lab/sipp.js';
import { ConferenceFullError } from '../../../lib/media/errors.js';
import type { CouncilMember } from '../../../lib/media/conference.js';
import type { MediaSession } from '../../../lib/media/session.js';
import { eslConnectionsAtMost, payloadType, rtpPacket, sippCaller, startMediaLab, udpPeer, type MediaLab, type UdpPeer } from './harness.js';

describe('media: council conference', function () {
  this.timeout(30_000);
  let lab: MediaLab | undefined;
  const peers: UdpPeer[] = [];

  beforeEach(async () => {
    lab = await startMediaLab();
  });
  afterEach(async () => {
    stopAllSipp();
    for (const p of peers.splice(0)) p.close();
    await lab?.stop();
    lab = undefined;
  });

  it('SIP + H.323 members up to the cap, 4th refused, mute/kick/leave, destroy completes despite F1, nothing leaks', async () => {
    const l = lab!;
    const council = await l.media.council(`council-${Date.now()}`, { maxMembers: 3 });
    const left: number[] = [];
    council.on('leave', (m) => left.push(m.memberId));

    // SIP participant dials in
    let sipSession: MediaSession | undefined;
    const sipJoined = new Promise<CouncilMember>((resolve, reject) => {
      l.onInvite((req, res) => {
        sipSession = l.media.session();
        sipSession.connectCaller(req, res).then((c) => council.join(c.endpoint, { moderator: true })).then(resolve, reject);
      });
    });
    const sipp = sippCaller(l, { user: 'council', scenario: 'caller-wait-bye' });
    const mSip = await sipJoined;

    // two H.323 participants
    const h323 = async (): Promise<{ s: MediaSession; peer: UdpPeer; port: number; m?: CouncilMember }> => {
      const peer = await udpPeer();
      peers.push(peer);
      const s = l.media.session();
      const leg = await s.createEndpointFor({ host: '127.0.0.1', port: peer.port, codec: 'PCMU' });
      return { s, peer, port: leg.local.port, m: await council.join(leg.endpoint).catch((e: Error) => {
        void s.release('refused');
        throw e;
      }) };
    };
    const a = await h323();
    const b = await h323();
    expect(council.size).to.equal(3);

    // the cap: a 4th participant is refused before FreeSWITCH is asked
    const err = await h323().then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(ConferenceFullError);
    expect((err as ConferenceFullError).sipStatus).to.equal(486);
    expect(council.size).to.equal(3);
    expect(await council.fsSize()).to.equal(3);

    // audio from one H.323 member reaches the other through the conference
    for (let i = 0; i < 10; i++) a.peer.sock.send(rtpPacket(0, i), a.port, '127.0.0.1');
    await b.peer.waitForCount(10, (p) => payloadType(p) === 0);

    await council.mute(a.m!.memberId);
    if (l.fs) expect(l.fs.conferenceInfo()[0]!.members.find((x) => x.memberId === a.m!.memberId)!.flags).to.include('mute');
    await council.unmute(a.m!.memberId);
    if (l.fs) expect(l.fs.conferenceInfo()[0]!.members.find((x) => x.memberId === a.m!.memberId)!.flags).to.not.include('mute');

    // kick: out of the room at once (the call layer then releases the call)
    await council.kick(b.m!.memberId);
    expect(council.size).to.equal(2);
    await b.s.release('kicked');

    // leave: mod_conference hangs the member up; its session sees the leg end
    const aReleased = new Promise<string>((r) => a.s.once('released', r));
    await council.leave(a.m!.memberId);
    expect(await aReleased).to.equal('h323-leg-ended');
    expect(council.size).to.equal(1);

    // destroy: conf.destroy() stays pending (F1), the control leg is uuid_kill'ed
    const how = await council.destroy();
    if (l.fs) expect(how).to.equal('uuid_kill');
    expect(council.destroyed).to.equal(true);
    expect(await council.destroy()).to.equal(how); // idempotent

    await sipSession!.release('council-ended');
    const r = await sipp;
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(left).to.include.members([b.m!.memberId, a.m!.memberId]);
    expect(mSip.memberId).to.be.a('number');
    expect(l.media.sessionCount).to.equal(0);
    if (!l.fs) return;
    expect(l.fs.channelInfo().every((c) => c.state === 'hangup')).to.equal(true);
    expect(l.fs.channelInfo()).to.have.length(5); // control leg, SIP, 2 H.323 members, the refused one
    expect(l.fs.conferenceInfo()).to.deep.equal([]);
    const kills = l.fs.transcript.filter((t) => t.dir === 'app->FS' && t.text.startsWith(`api uuid_kill ${council.conf.endpoint.uuid}`));
    expect(kills).to.have.length(1);
    await eslConnectionsAtMost(l.fs, 1);
  });
});
