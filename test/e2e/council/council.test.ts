/**
 * Council dial-in through the gateway process, on the wire: SIPp callers (digest through the
 * policy chain) and H.323 lab endpoints (Setup to the listener, alias 8100) fill a room of 12;
 * the 13th is refused on both sides (486 + Reason Q.850 17 + Retry-After / ReleaseComplete 17);
 * RTP reaches the conference; roles become mod_conference flags; the operator endpoint mutes and
 * kicks; participants leave by BYE and ReleaseComplete; the audit chain verifies and holds every
 * join/leave/kick/refusal without raw ids. Admission times are printed per participant.
 *
 * What FreeSWITCH did is read from FreeSWITCH itself through the test's own ESL connection:
 * conference::maintenance events (add-member with Member-Type and Speak, mute-member,
 * unmute-member, del-member), `conference <room> list` flags, `uuid_exists`. Audio is told apart by
 * tone: every participant sends its own frequency (SIPp from a pcap of its own, the H.323
 * endpoints from the test), and the H.323 endpoints' sockets show whose audio the conference
 * delivered to them - relayed packet by packet (the double) or mixed (mod_conference).
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
import { EslClient, type ConferenceMember, type EslEvent } from '../../support/esl.js';
import { sendTone, ToneListener, writeTonePcap } from '../../support/tone.js';

/** The tone each participant sends: SIP people P01..P09 by index, H.323 endpoints in dial order. */
const SIP_HZ = [400, 550, 700, 850, 1150, 1300, 1450, 1600, 1750];
const H323_HZ = [1900, 2050, 2200, 2350, 2500, 2650];
const ALL_HZ = [...SIP_HZ, ...H323_HZ];
const AMPLITUDE = 2000;
/** Packets a tone must be heard in to count as having reached a listener (20 ms each). */
const HEARD = 5;

describe('council: 12 participants, SIP and H.323, through the gateway', function () {
  this.timeout(60_000);
  let lab: CouncilLab;
  let esl: EslClient;
  /** Members of the room before anyone dialled in (fsmrf's control leg). */
  let before0: ConferenceMember[] = [];
  const stopTones: Array<() => void> = [];

  before(async function () {
    lab = await startCouncilLab({
      // P01 moderator, P02 expert (joins muted), P03-P07 guardians: the 7 SIP participants;
      // P08 the refused 13th; P09 an expert who joins later on a freed seat and hangs up.
      roles: ['moderator', 'expert', 'guardian', 'guardian', 'guardian', 'guardian', 'guardian', 'guardian', 'expert'],
      // the H.323 endpoints' audio is sent by the test (a tone each)
      h323RtpPackets: 0,
    });
    esl = await EslClient.connect(lab.esl);
    await esl.subscribe(['CHANNEL_HANGUP_COMPLETE', 'CUSTOM', 'conference::maintenance']);
    // The gateway creates the room's conference when the media server comes up.
    before0 = await waitUntil(async () => await esl.conferenceList(ROOM), `conference ${ROOM} at FreeSWITCH`, 15_000);
  });

  after(async () => {
    for (const s of stopTones) s();
    stopAllSipp();
    esl?.close();
    await lab?.stop();
  });

  it('admits 12, refuses the 13th on both sides, carries RTP, mutes/kicks, and audits every step', async () => {
    const { people } = lab;
    const fs = lab.fs;
    const roomEvents = (action: string): EslEvent[] => esl.events.filter((e) => e.fields['Conference-Name'] === ROOM && e.fields.Action === action);
    const controlIds = new Set(before0.map((m) => m.memberId));
    // Each SIP person's RTP: a tone of their own for 30 s (calls held until kicked; SIPp stops
    // playing when the call ends).
    const pcapOf = (i: number): string => {
      const file = join(lab.work, `tone-${i}.pcap`);
      writeTonePcap(file, { packets: 1500, hz: SIP_HZ[i]!, amplitude: AMPLITUDE });
      return file;
    };
    const sipJoin = (i: number) => sipCall(lab, people[i]!, { kind: 'wait-bye' }, { pcap: pcapOf(i) });
    // Each H.323 endpoint sends its tone once its media is known, and listens for everyone's.
    const listeners: ToneListener[] = [];
    const h323Join = async (): Promise<EndpointCall> => {
      const k = listeners.length;
      const ec = await lab.h323.call(lab.callSignal.host, lab.callSignal.port, H323_ALIAS);
      const listener = new ToneListener(ALL_HZ, { sentAmplitude: AMPLITUDE });
      listeners.push(listener);
      ec.rtp.rtp.on('message', (b: Buffer) => listener.rtp(b));
      const start = (): void => {
        const m = ec.media;
        if (!m || (m.codec !== 'PCMA' && m.codec !== 'PCMU')) return;
        stopTones.push(sendTone((pt, payload, marker) => ec.rtp.send(pt, payload, m.remoteRtp, marker), m.codec, H323_HZ[k]!, { amplitude: AMPLITUDE }));
      };
      if (ec.media) start();
      else ec.call.once('media', () => start());
      return ec;
    };
    // Participants arrive one after another, SIP and H.323 alternating, as a council assembles.
    const sipDone: Array<Promise<SippResult>> = [];
    const h323: EndpointCall[] = [];
    const inRoom = (n: number) => waitUntil(async () => (await members(lab)).here.length === n || undefined, `${n} participants in the room`, 15_000);
    for (let i = 0; i < 12; i++) {
      if (i % 2 === 0 && sipDone.length < 7) sipDone.push(sipJoin(sipDone.length));
      else if (h323.length < 5) h323.push(await h323Join());
      else sipDone.push(sipJoin(sipDone.length));
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

    // roles -> mod_conference flags, as FreeSWITCH reports them: add-member events (Member-Type,
    // Speak) and `conference <room> list` (speak is absent for a muted member)
    const byRole = (role: string) => full.here.filter((p) => p.role === role);
    const joined = await waitUntil(async () => {
      const adds = roomEvents('add-member').filter((e) => !controlIds.has(Number(e.fields['Member-ID'])));
      return adds.length === 12 ? adds : undefined;
    }, '12 add-member events at FreeSWITCH');
    const added = (memberId: number | undefined): EslEvent => {
      const e = joined.find((x) => Number(x.fields['Member-ID']) === memberId);
      expect(e, `add-member for member ${memberId}`).to.not.equal(undefined);
      return e!;
    };
    const listed = async (): Promise<Map<number, Set<string>>> => new Map(((await esl.conferenceList(ROOM)) ?? []).map((m) => [m.memberId, m.flags]));
    const flagsNow = await listed();
    const flagsOf = (memberId: number | undefined): Set<string> => flagsNow.get(memberId ?? -1) ?? new Set(['(not a member)']);
    expect(new Set(joined.map((e) => Number(e.fields['Member-ID'])))).to.deep.equal(new Set(full.here.map((p) => p.memberId)));
    expect(byRole('moderator')).to.have.length(1);
    expect(added(byRole('moderator')[0]!.memberId).fields['Member-Type']).to.equal('moderator');
    expect(flagsOf(byRole('moderator')[0]!.memberId)).to.include('speak');
    expect(byRole('expert')).to.have.length(1);
    expect(byRole('expert')[0]!.muted).to.equal(true);
    expect(added(byRole('expert')[0]!.memberId).fields.Speak).to.equal('false');
    expect(flagsOf(byRole('expert')[0]!.memberId)).to.not.include('speak');
    expect(flagsOf(byRole('expert')[0]!.memberId)).to.include('hear');
    expect(byRole('guardian')).to.have.length(10); // 5 SIP guardians + 5 H.323 room systems (h323DefaultRole)
    for (const g of byRole('guardian')) {
      expect(added(g.memberId).fields['Member-Type']).to.equal('member');
      expect(flagsOf(g.memberId)).to.include('speak');
    }
    if (fs) {
      // extra, the double's own table: moderator flag set on the member (its list does not print it)
      const conf = fs.conferenceInfo().find((c) => c.name === ROOM)!;
      expect(conf.members.find((m) => m.memberId === byRole('moderator')[0]!.memberId)?.flags).to.include('moderator');
    }

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

    // RTP into the conference: each participant's tone reaches the room systems. A SIP person's at
    // any H.323 endpoint; an H.323 endpoint's at another one. Not the muted expert's: a real
    // mod_conference does not mix a muted member (the double relays it anyway, so that is not
    // asserted either way). And the conference sends audio to every room system.
    // P01-P07 dialled in over SIP; the expert (P02) joined muted
    const sipIdx = [0, 1, 2, 3, 4, 5, 6].filter((i) => people[i]!.entry.role !== 'expert');
    expect(sipIdx).to.have.length(full.here.filter((p) => p.leg === 'sip' && !p.muted).length);
    const heardByOthers = (hz: number, except?: number): number => Math.max(0, ...listeners.map((l, k) => (k === except ? 0 : l.count(hz))));
    await waitUntil(async () => (
      sipIdx.every((i) => heardByOthers(SIP_HZ[i]!) >= HEARD) &&
      h323.every((_, k) => heardByOthers(H323_HZ[k]!, k) >= HEARD) &&
      listeners.every((l, k) => ALL_HZ.some((hz) => hz !== H323_HZ[k] && l.count(hz) >= HEARD))
    ) || undefined, 'every unmuted participant\'s tone at the room systems', 20_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${listeners.map((l, k) => `endpoint ${k + 1}: ${ALL_HZ.filter((hz) => l.count(hz) > 0).map((hz) => `${hz} Hz x${l.count(hz)}`).join(' ')}`).join('; ')}`);
    });
    for (const st of stopTones.splice(0)) st();
    process.stdout.write(`      tones heard at the room systems (packets, best listener): ${[
      ...sipIdx.map((i) => `${people[i]!.id} ${SIP_HZ[i]} Hz ${heardByOthers(SIP_HZ[i]!)}`),
      ...h323.map((_, k) => `H.323 #${k + 1} ${H323_HZ[k]} Hz ${heardByOthers(H323_HZ[k]!, k)}`),
    ].join(', ')}\n`);

    // the operator endpoint: token required; unmute the expert, mute a guardian
    expect((await admin(lab, 'GET', `/council/rooms/${ROOM}/members`, 'wrong-token')).status).to.equal(401);
    const expert = byRole('expert')[0]!;
    const expertHz = SIP_HZ[people.findIndex((x) => x.entry.role === 'expert')]!;
    const expertHeardBefore = heardByOthers(expertHz);
    expect((await admin(lab, 'POST', `/council/rooms/${ROOM}/members/${expert.seatId}/unmute`)).status).to.equal(200);
    expect((await listed()).get(expert.memberId!)).to.include('speak');
    await esl.waitForEvent((e) => e.fields['Conference-Name'] === ROOM && e.fields.Action === 'unmute-member' && Number(e.fields['Member-ID']) === expert.memberId, 'unmute-member for the expert');
    // ... and the expert is heard in the room (mod_conference mixes it now; the double always relays it)
    await waitUntil(async () => heardByOthers(expertHz) >= expertHeardBefore + HEARD || undefined, 'the unmuted expert\'s tone at the room systems');
    const guardian = byRole('guardian').find((p) => p.leg === 'sip')!;
    expect((await admin(lab, 'POST', `/council/rooms/${ROOM}/members/${guardian.seatId}/mute`)).status).to.equal(200);
    expect((await listed()).get(guardian.memberId!)).to.not.include('speak');
    await esl.waitForEvent((e) => e.fields['Conference-Name'] === ROOM && e.fields.Action === 'mute-member' && Number(e.fields['Member-ID']) === guardian.memberId, 'mute-member for the guardian');
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

    // nothing left at FreeSWITCH but the conference's control leg: every participant who joined
    // (13 add-member events) left it (del-member), their channels are gone, the room lists only
    // the members it had before anyone dialled in
    const participants = roomEvents('add-member').filter((e) => !controlIds.has(Number(e.fields['Member-ID'])));
    expect(participants).to.have.length(13);
    await waitUntil(async () => {
      const left = new Set(roomEvents('del-member').map((e) => e.fields['Member-ID']));
      return participants.every((e) => left.has(e.fields['Member-ID'])) || undefined;
    }, 'del-member for every participant');
    await waitUntil(async () => {
      for (const e of participants) if (await esl.uuidExists(e.fields['Unique-ID']!)) return undefined;
      return true;
    }, 'participant channels hung up at FreeSWITCH');
    expect([...(await listed()).keys()].sort()).to.deep.equal([...controlIds].sort());
    if (fs) expect(fs.channelInfo().filter((c) => c.state === 'active' && !c.is3pcc)).to.have.length(0);

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
