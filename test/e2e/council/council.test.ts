/**
 * Council dial-in through the gateway process, on the wire: SIPp callers (digest through the
 * policy chain) and H.323 lab endpoints (Setup to the listener, alias 8100) fill a room of 12;
 * the 13th is refused on both sides (486 + Reason Q.850 17 + Retry-After / ReleaseComplete 17);
 * RTP reaches the conference; roles become mod_conference flags; the operator endpoint mutes and
 * kicks; participants leave by BYE and ReleaseComplete; the audit chain verifies and holds every
 * join/leave/kick/refusal without raw ids. Admission times are printed per participant.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listAuditFiles, verifyAuditDir } from '../../../lib/audit/verify.js';
import type { AuditRecord } from '../../../lib/audit/record.js';
import type { EndpointCall } from '../../lab/h323-endpoint/endpoint.js';
import { UdpPeer, rasFixture } from '../../lab/h323/udp-peer.js';
import { stopAllSipp, type SippResult } from '../../lab/sipp.js';
import { metricValue, waitUntil } from '../../lab/wait.js';
import { decodeRas, encodeRas, aliasFromString } from '../../../lib/h323/ras/messages.js';
import { H323_ALIAS, ROOM, admin, members, sipCall, startCouncilLab, type CouncilLab } from './lab.js';

describe('council: 12 participants, SIP and H.323, through the gateway', function () {
  this.timeout(60_000);
  let lab: CouncilLab;

  before(async function () {
    if (process.env.FS_HOST) this.skip(); // reads the FreeSWITCH double's channels and flags
    lab = await startCouncilLab({
      // P01 moderator, P02 expert (joins muted), P03-P07 guardians: the 7 SIP participants;
      // P08 the refused 13th; P09 an expert who joins later on a freed seat and hangs up.
      roles: ['moderator', 'expert', 'guardian', 'guardian', 'guardian', 'guardian', 'guardian', 'guardian', 'expert'],
      h323RtpPackets: 150,
    });
  });

  after(async () => {
    stopAllSipp();
    await lab?.stop();
  });

  it('admits 12, refuses the 13th on both sides, carries RTP, mutes/kicks, and audits every step', async () => {
    const { fs, people } = lab;
    // Participants arrive one after another, SIP and H.323 alternating, as a council assembles.
    const sipDone: Array<Promise<SippResult>> = [];
    const h323: EndpointCall[] = [];
    const inRoom = (n: number) => waitUntil(async () => (await members(lab)).here.length === n || undefined, `${n} participants in the room`, 15_000);
    for (let i = 0; i < 12; i++) {
      if (i % 2 === 0 && sipDone.length < 7) sipDone.push(sipCall(lab, people[sipDone.length]!, { kind: 'wait-bye' }));
      else if (h323.length < 5) h323.push(await lab.h323.call(lab.callSignal.host, lab.callSignal.port, H323_ALIAS));
      else sipDone.push(sipCall(lab, people[sipDone.length]!, { kind: 'wait-bye' }));
      await inRoom(i + 1);
    }

    const full = await waitUntil(async () => {
      const m = await members(lab);
      return m.here.length === 12 ? m : undefined;
    }, '12 participants in the room', 30_000);
    expect(full.seats).to.have.length(12);
    expect(full.here.filter((p) => p.leg === 'sip')).to.have.length(7);
    expect(full.here.filter((p) => p.leg === 'h323')).to.have.length(5);
    expect(h323.every((c) => c.call.state === 'active')).to.equal(true);

    // per-participant admission time (SIP: INVITE in -> 200 out; H.323: Setup in -> Connect out)
    const rows = [...full.here].sort((a, b) => a.joinedAt - b.joinedAt);
    process.stdout.write(`      admission times (room ${ROOM}):\n`);
    for (const p of rows) process.stdout.write(`        ${p.seatId.padEnd(12)} ${p.leg.padEnd(5)} ${p.role.padEnd(10)} ${p.admissionMs.toFixed(1).padStart(7)} ms\n`);
    for (const p of rows) expect(p.admissionMs).to.be.greaterThan(0);

    // roles -> mod_conference flags
    const conf = fs.conferenceInfo().find((c) => c.name === ROOM)!;
    const flagsOf = (memberId: number | undefined): string[] => conf.members.find((m) => m.memberId === memberId)?.flags ?? [];
    const byRole = (role: string) => full.here.filter((p) => p.role === role);
    expect(byRole('moderator')).to.have.length(1);
    expect(flagsOf(byRole('moderator')[0]!.memberId)).to.include('moderator');
    expect(byRole('expert')).to.have.length(1);
    expect(byRole('expert')[0]!.muted).to.equal(true);
    expect(flagsOf(byRole('expert')[0]!.memberId)).to.include('mute');
    expect(byRole('guardian')).to.have.length(10); // 5 SIP guardians + 5 H.323 room systems (h323DefaultRole)
    for (const g of byRole('guardian')) expect(flagsOf(g.memberId)).to.not.include('moderator');

    // the 13th: SIP 486 with Reason and Retry-After, H.323 ReleaseComplete cause 17
    const refused = await sipCall(lab, people[7]!, { kind: 'refused', status: 486 });
    expect(refused.exitCode, refused.messages.slice(-3000)).to.equal(0);
    const final = /SIP\/2\.0 486 [^\r\n]*\r?\n[\s\S]*?\r?\n\r?\n/.exec(refused.messages)?.[0] ?? '';
    expect(final).to.match(/Reason: Q\.850;cause=17/);
    expect(final).to.match(/Retry-After: 30/);
    const thirteenth = await lab.h323.call(lab.callSignal.host, lab.callSignal.port, H323_ALIAS);
    const rc = await thirteenth.done;
    expect(rc.cause).to.equal(17);
    expect(rc.by).to.equal('remote');
    expect((await members(lab)).here).to.have.length(12);

    // GnuGk's LRQ for the room alias gets LCF
    const gk = await UdpPeer.open('127.0.0.1');
    try {
      const lrq = decodeRas(rasFixture('s1a-ep-ras-and-neighbour-lrq-noreply', '0006'));
      if (lrq.choice !== 'locationRequest') throw new Error('fixture is not an LRQ');
      lrq.value.destinationInfo = [aliasFromString(H323_ALIAS)];
      lrq.value.replyAddress = { choice: 'ipAddress', value: { ip: Uint8Array.from([127, 0, 0, 1]), port: gk.port } };
      await gk.send(encodeRas(lrq), { host: '127.0.0.1', port: lab.gw.rasPort });
      expect(decodeRas((await gk.next()).bytes).choice).to.equal('locationConfirm');
    } finally {
      await gk.close();
    }

    // RTP into the conference: every participant's leg at FreeSWITCH receives packets
    const memberLegs = await waitUntil(async () => {
      const legs = fs.channelInfo().filter((c) => c.state === 'active' && c.conference?.name === ROOM && !c.is3pcc);
      return legs.length === 12 && legs.every((c) => c.rtp.rxPackets >= 20) ? legs : undefined;
    }, 'RTP from all 12 participants at FreeSWITCH', 20_000);
    process.stdout.write(`      RTP packets received by FreeSWITCH per participant leg: ${memberLegs.map((c) => c.rtp.rxPackets).join(', ')}\n`);
    // and the conference sends audio back out to the H.323 room systems
    await waitUntil(async () => h323.every((c) => c.rtp.stats.received > 0) || undefined, 'conference audio at every H.323 endpoint', 10_000);

    // the operator endpoint: token required; unmute the expert, mute a guardian
    expect((await admin(lab, 'GET', `/council/rooms/${ROOM}/members`, 'wrong-token')).status).to.equal(401);
    const expert = byRole('expert')[0]!;
    expect((await admin(lab, 'POST', `/council/rooms/${ROOM}/members/${expert.seatId}/unmute`)).status).to.equal(200);
    expect(fs.conferenceInfo().find((c) => c.name === ROOM)!.members.find((m) => m.memberId === expert.memberId)!.flags).to.not.include('mute');
    const guardian = byRole('guardian').find((p) => p.leg === 'sip')!;
    expect((await admin(lab, 'POST', `/council/rooms/${ROOM}/members/${guardian.seatId}/mute`)).status).to.equal(200);
    expect(fs.conferenceInfo().find((c) => c.name === ROOM)!.members.find((m) => m.memberId === guardian.memberId)!.flags).to.include('mute');
    expect((await admin(lab, 'POST', `/council/rooms/${ROOM}/members/nope/kick`)).status).to.equal(404);

    // two room systems leave (ReleaseComplete from their side)
    for (const c of h323.slice(0, 2)) {
      c.call.hangup();
      await c.done;
    }
    await waitUntil(async () => (await members(lab)).seats.length === 10 || undefined, 'two seats freed');

    // a freed seat is taken again: P09 joins, talks, hangs up
    const late = await sipCall(lab, people[8]!, { kind: 'hangup', holdMs: 1000 });
    expect(late.exitCode, late.messages.slice(-3000)).to.equal(0);

    // the operator kicks every SIP participant: each SIPp gets the gateway's BYE
    // P09's leave is processed when its BYE reaches the gateway
    const sipHere = await waitUntil(async () => {
      const here = (await members(lab)).here;
      return here.length === 10 ? here.filter((p) => p.leg === 'sip') : undefined;
    }, 'P09 gone');
    expect(sipHere).to.have.length(7);
    for (const p of sipHere) expect((await admin(lab, 'POST', `/council/rooms/${ROOM}/members/${p.seatId}/kick`)).status).to.equal(200);
    for (const r of await Promise.all(sipDone)) expect(r.exitCode, r.messages.slice(-2000)).to.equal(0);

    // the last three room systems hang up
    for (const c of h323.slice(2)) {
      c.call.hangup();
      await c.done;
    }
    await waitUntil(async () => {
      const m = await members(lab);
      return m.here.length === 0 && m.seats.length === 0 ? true : undefined;
    }, 'an empty room');

    const metrics = await lab.gw.metrics();
    const count = (action: string, role?: string): number => {
      let n = 0;
      for (const r of ['moderator', 'expert', 'guardian', 'operator', 'guest']) {
        if (role && r !== role) continue;
        n += metricValue(metrics, 'gw_council_actions_total', { room: ROOM, action, role: r }) ?? 0;
      }
      return n;
    };
    expect(count('join')).to.equal(13);
    expect(count('leave')).to.equal(13);
    expect(count('refuse_full')).to.equal(2);
    expect(count('kick')).to.equal(7);
    expect(count('mute')).to.equal(1);
    expect(count('unmute')).to.equal(1);
    expect(count('join', 'moderator')).to.equal(1);
    expect(metricValue(metrics, 'gw_council_admission_seconds_count', { room: ROOM, leg: 'sip' })).to.equal(8);
    expect(metricValue(metrics, 'gw_council_admission_seconds_count', { room: ROOM, leg: 'h323' })).to.equal(5);
    expect(metricValue(metrics, 'gw_council_members', { room: ROOM })).to.equal(0);

    // nothing left at FreeSWITCH but the conference's control leg
    await waitUntil(async () => fs.channelInfo().filter((c) => c.state === 'active' && !c.is3pcc).length === 0 || undefined, 'participant legs hung up');

    // the audit chain: intact, every step recorded, no raw ids
    const out = lab.gw.output();
    expect(await lab.gw.stop('SIGTERM')).to.equal(0);
    const v = verifyAuditDir(lab.auditDir);
    expect(v.ok, JSON.stringify(v.firstBad)).to.equal(true);
    const text = listAuditFiles(lab.auditDir).map((f) => readFileSync(join(lab.auditDir, f), 'utf8')).join('');
    const recs = text.trim().split('\n').map((l) => JSON.parse(l) as AuditRecord).filter((r) => r.gate === 'council');
    const n = (pred: (r: AuditRecord) => boolean): number => recs.filter(pred).length;
    expect(n((r) => r.decision === 'admit' && r.method === 'INVITE' && r.reason.startsWith('council-join'))).to.equal(8);
    expect(n((r) => r.decision === 'admit' && r.method === 'SETUP' && r.reason.startsWith('council-join'))).to.equal(5);
    expect(n((r) => r.method === 'LEAVE')).to.equal(13);
    expect(n((r) => r.method === 'LEAVE' && r.reason.includes('why=kicked'))).to.equal(7);
    expect(n((r) => r.method === 'KICK')).to.equal(7);
    expect(n((r) => r.method === 'MUTE')).to.equal(1);
    expect(n((r) => r.method === 'UNMUTE')).to.equal(1);
    expect(n((r) => r.decision === 'reject' && r.status === 486 && r.reason.startsWith('council-full'))).to.equal(2);
    expect(n((r) => r.method === 'INVITE' && r.identity !== undefined && /^[0-9a-f]{32}$/.test(r.identity))).to.equal(9);
    for (const p of people) {
      expect(text).to.not.include(`"${p.id}"`);
      expect(text).to.not.include(p.username);
    }
    expect(text).to.not.include('127.0.0.1');
    // the council's own log lines carry no user names either
    const councilLines = out.split('\n').filter((l) => l.includes('council:'));
    expect(councilLines.length).to.be.greaterThan(0);
    for (const p of people) for (const l of councilLines) expect(l).to.not.include(p.username);
  });
});
