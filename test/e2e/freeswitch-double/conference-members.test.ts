/**
 * What mod_conference's `kick` and `hup` do to a member that drachtio-fsmrf joined (against the
 * double, or a real FreeSWITCH with FS_HOST/FS_PORT/FS_SECRET/FS_SIP): the member leaves the room
 * and its conference app completes, but the channel stays up - fsmrf's socket app (async full)
 * keeps it, parked. Recorded from FreeSWITCH 1.10.12 ("Channel leaving conference, cause: NONE",
 * no hangup; events `<cmd>-member` then `del-member`), which lib/media's Council.leave() relies on
 * to hang the channel up itself.
 */
import dgram from 'node:dgram';
import { expect } from 'chai';
import { startLab, type Lab } from './harness.js';
import type { Endpoint } from '../../../types/drachtio-fsmrf.js';

const sdp = (port: number): string => [
  'v=0', 'o=far 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 101`,
  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', '',
].join('\r\n');

interface EslEvt {
  getHeader(name: string): string | null | undefined;
}

/** What the member's own outbound ESL connection reports: its conference actions and the conference app's completion. */
function watch(ep: Endpoint): { actions: string[]; appDone: Promise<void>; delMember: Promise<void>; hungUp: () => boolean } {
  // fsmrf subscribes the member's outbound connection to CUSTOM conference::maintenance and to
  // the CHANNEL_* events, filtered on its Unique-ID: both arrive there in FreeSWITCH's order
  const conn = ep.conn as unknown as { on(ev: string, fn: (e: EslEvt) => void): void };
  const actions: string[] = [];
  let hungUp = false;
  let delMember!: () => void;
  const del = new Promise<void>((r) => {
    delMember = r;
  });
  conn.on(`esl::event::CUSTOM::${ep.uuid}`, (e) => {
    if (e.getHeader('Event-Subclass') !== 'conference::maintenance') return;
    const a = e.getHeader('Action') ?? '';
    actions.push(a);
    if (a === 'del-member') delMember();
  });
  conn.on(`esl::event::CHANNEL_CALLSTATE::${ep.uuid}`, (e) => {
    if (e.getHeader('Channel-Call-State') === 'HANGUP') hungUp = true;
  });
  const appDone = new Promise<void>((resolve) => {
    conn.on(`esl::event::CHANNEL_EXECUTE_COMPLETE::${ep.uuid}`, (e) => {
      if (e.getHeader('Application') === 'conference') {
        actions.push('conference app completed');
        resolve();
      }
    });
  });
  return { actions, appDone, delMember: del, hungUp: () => hungUp };
}

describe('FreeSWITCH (double or real): a conference member kicked or hung up by mod_conference', function () {
  this.timeout(20_000);
  let lab: Lab | undefined;
  let far: dgram.Socket | undefined;

  beforeEach(async () => {
    lab = await startLab();
    far = dgram.createSocket('udp4');
    await new Promise<void>((r) => far!.bind(0, '127.0.0.1', () => r()));
  });
  afterEach(async () => {
    far?.close();
    far = undefined;
    await lab?.stop();
    lab = undefined;
  });

  for (const cmd of ['hup', 'kick'] as const) {
    it(`conference <name> ${cmd} <id>: out of the room, conference app completed, channel still up`, async () => {
      const ms = lab!.app.ms;
      const conf = await ms.createConference(`members-${cmd}-${Date.now()}`);
      const ep = await ms.createEndpoint({ remoteSdp: sdp(far!.address().port) });
      const w = watch(ep);
      let destroyed = false;
      ep.on('destroy', () => {
        destroyed = true;
      });
      const { memberId } = await ep.join(conf);
      expect(await conf.getSize()).to.equal(2); // the control leg and the member

      const reply = await ms.api(`conference ${conf.name} ${cmd} ${memberId}`);
      expect(reply).to.equal(`+OK ${cmd === 'kick' ? 'kicked' : 'hup'} ${memberId}\n`);
      await Promise.all([w.appDone, w.delMember]);
      // in this order (recorded): the action, the member gone, then its conference app done
      expect(w.actions.filter((a) => a !== 'add-member' && !/talking|floor-change/.test(a)))
        .to.deep.equal([`${cmd}-member`, 'del-member', 'conference app completed']);
      expect(await conf.getSize()).to.equal(1);
      // an api round trip on the member's own connection orders anything FreeSWITCH said before it
      await ep.api('uuid_exists', ep.uuid);
      expect(await ms.api(`uuid_exists ${ep.uuid}`)).to.equal('true');
      expect(w.hungUp()).to.equal(false);
      expect(destroyed).to.equal(false);
      // a member that is not (or no longer) there
      expect(await ms.api(`conference ${conf.name} ${cmd} ${memberId}`)).to.equal(`-ERR Non-Existant ID ${memberId}\n`);

      // hanging up is the app's job: a kill ends the leg as FreeSWITCH ends any (fsmrf 'destroy')
      const gone = new Promise<void>((r) => ep.on('destroy', () => r()));
      expect(await ms.api(`uuid_kill ${ep.uuid}`)).to.equal('+OK\n');
      await gone;
      await ms.api(`uuid_kill ${conf.endpoint.uuid}`); // F1: the control leg ignores its hangup
    });
  }
});
