/**
 * Councils through lib/media: SIP and H.323-style members, the cap, mute/unmute/kick/leave, and a
 * destroy that completes although Conference#destroy() alone never does (F1, which the double
 * reproduces: the recvonly control leg ignores its hangup). Nothing is left on FreeSWITCH after.
 * mod_conference's kick and hup only take a member out of the room; the channel stays up in
 * fsmrf's socket app (real FreeSWITCH 1.10.12, reproduced by the double): leave() hangs it up.
 */
import { expect } from 'chai';
import { stopAllSipp } from '../../lab/sipp.js';
import { ConferenceFullError } from '../../../lib/media/errors.js';
import type { CouncilMember } from '../../../lib/media/conference.js';
import type { MediaSession } from '../../../lib/media/session.js';
import { eslConnectionsAtMost, sippCaller, startMediaLab, talk, toneShare, udpPeer, type MediaLab, type UdpPeer } from './harness.js';

describe('media: council conference', function () {
  this.timeout(30_000);
  let lab: MediaLab | undefined;
  const peers: UdpPeer[] = [];

  beforeEach(async () => {
    lab = await startMediaLab({}, { idleSilence: true });
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

    // audio from one H.323 member reaches the other through the conference: a talks at 400 Hz,
    // b hears it (mixed with the SIP member's 1 kHz by a real FreeSWITCH, relayed by the double);
    // the idle silence or comfort noise FreeSWITCH sends meanwhile does not count
    const aTalks = talk(a.peer, a.port, 'PCMU', 400);
    try {
      await b.peer.waitForCount(10, (p) => toneShare(p, 400) > 0.2);
    } finally {
      aTalks.stop();
    }

    await council.mute(a.m!.memberId);
    if (l.fs) expect(l.fs.conferenceInfo()[0]!.members.find((x) => x.memberId === a.m!.memberId)!.flags).to.include('mute');
    await council.unmute(a.m!.memberId);
    if (l.fs) expect(l.fs.conferenceInfo()[0]!.members.find((x) => x.memberId === a.m!.memberId)!.flags).to.not.include('mute');

    // kick: out of the room at once; the channel stays up until the call layer releases the call
    await council.kick(b.m!.memberId);
    expect(council.size).to.equal(2);
    expect(b.s.released).to.equal(false);
    await b.s.release('kicked');

    // leave: out of the room and hung up (mod_conference's hup, then uuid_kill: hup alone leaves
    // the channel parked in the socket app); its session sees FreeSWITCH end the leg
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
    const kills = (uuid: string): number => l.fs!.transcript.filter((t) => t.dir === 'app->FS' && t.text.startsWith(`api uuid_kill ${uuid}`)).length;
    expect(kills(council.conf.endpoint.uuid)).to.equal(1);
    expect(kills(a.m!.endpoint.uuid)).to.equal(1); // leave(): hup, then the kill that ends the leg
    expect(kills(b.m!.endpoint.uuid)).to.equal(0); // kick(): the session's release hung it up
    await eslConnectionsAtMost(l.fs, 1);
  });
});
