/**
 * Golden transcripts for the FreeSWITCH double: the play, conf and bridge scenarios recorded
 * against FreeSWITCH 1.10.12 (test/fixtures/freeswitch) are driven with SIPp callers sending PCMA
 * from a generated pcap, through the drachtio target and a drachtio-srf + drachtio-fsmrf 4.1.2
 * app. The ESL exchange (per connection and direction) and the SIP start lines between drachtio and
 * FreeSWITCH, normalised, must equal the recording's; RTP is counted on the double's media ports.
 * The played sound file is written by the harness into the run's own directory (a real FreeSWITCH
 * on this host reads it); the comparison masks the event socket password and that directory.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { fixture } from '../../support/paths.js';
import { stopAllSipp, type SippResult } from '../../lab/sipp.js';
import {
  compareEsl, diffLines, doubleSip, normalise, normaliseDouble, parseRecordedEsl, parseRecordedSip,
} from '../../lab/freeswitch-double/transcript.js';
import type { ChannelInfo } from '../../lab/freeswitch-double/double.js';
import { caller, PCAP_PACKETS, startLab, type Lab } from './harness.js';

function recordedEsl(s: string): ReturnType<typeof normalise> {
  return normalise(parseRecordedEsl(readFileSync(fixture('freeswitch', `${s}-esl-messages.txt`), 'utf8')));
}

function recordedSip(s: string): string[] {
  return parseRecordedSip(readFileSync(fixture('freeswitch', `${s}-sip-messages.txt`), 'utf8'));
}

function sippOk(r: SippResult): void {
  expect(r.successful, `SIPp failed (exit ${r.exitCode}):\n${r.stderr.slice(0, 2000)}\n${r.messages.slice(-3000)}`).to.equal(1);
}

/**
 * Stops the app, waits for every ESL connection to close, then compares what the tap saw (and, with
 * the double, the SIP it saw) with the recording.
 */
async function expectGolden(lab: Lab, scenario: string): Promise<void> {
  await lab.app.stop();
  await lab.tap.idle();
  // FreeSWITCH orders a few events by thread timing (a channel's last CHANNEL_CALLSTATE HANGUP
  // before its disconnect notice or not, conf's del-member around a reply): those two orders, and
  // nothing else, are accepted either way (FREESWITCH_RACES in transcript.ts).
  const esl = compareEsl(recordedEsl(scenario), normaliseDouble(lab.tap.transcript), {
    freeswitchRaces: true, observedLabel: lab.fs ? 'double' : 'real FreeSWITCH',
  });
  expect(esl, `ESL transcript differs from the ${scenario} recording:\n${esl}`).to.equal('');
  if (!lab.fs) return; // a real FreeSWITCH keeps its SIP to itself
  await lab.fs.idle();
  const sip = diffLines(recordedSip(scenario), doubleSip(lab.fs.sipLog));
  expect(sip, `SIP start lines differ from the ${scenario} recording:\n${sip}`).to.equal('');
}

function callers(lab: Lab): ChannelInfo[] {
  return lab.fs!.channelInfo().filter((c) => !c.is3pcc);
}

describe('FreeSWITCH double: golden transcripts (play, conf, bridge)', function () {
  this.timeout(30_000);
  let lab: Lab | undefined;

  afterEach(async () => {
    stopAllSipp();
    await lab?.stop();
    lab = undefined;
  });

  it('play: connectCaller, tone + file playback, getChannelVariables, destroy', async () => {
    lab = await startLab();
    const sipp = caller(lab, { user: 'play', scenario: 'caller-wait-bye' });
    await lab.app.finished('play');
    sippOk(await sipp);
    expect(lab.app.events).to.include.members(['play: tone done', 'play: file done', 'play: endpoint destroyed (FS BYE)']);
    await expectGolden(lab, 'play');
    if (!lab.fs) return;
    const [ch] = callers(lab);
    // every packet of the pcap reached FreeSWITCH's port; FreeSWITCH sent the played audio back
    expect(ch!.codec).to.equal('PCMA');
    expect(ch!.rtp.rxPackets).to.equal(PCAP_PACKETS);
    expect(ch!.rtp.rxPayloadTypes).to.deep.equal({ 8: PCAP_PACKETS });
    expect(ch!.rtp.txPackets).to.be.greaterThan(50);
  });

  it('conf: createConference, join, play, getSize; destroy() hangs (F1) until uuid_kill', async () => {
    lab = await startLab();
    const sipp = caller(lab, { user: 'conf', scenario: 'caller-bye', holdMs: 2500 });
    await lab.app.finished('conf');
    sippOk(await sipp);
    expect(lab.app.events).to.include('conf: size 2');
    // F1: the control leg (3pcc, ACKed recvonly) never ran the queued hangup
    expect(lab.app.events.some((e) => e.startsWith('conf: destroy() still pending; fallback uuid_kill'))).to.equal(true);
    expect(lab.app.events).to.include('conf: uuid_kill -> +OK');
    await expectGolden(lab, 'conf');
    if (!lab.fs) return;
    const control = lab.fs.channelInfo().find((c) => c.is3pcc)!;
    expect(control.recvonly).to.equal(true);
    expect(control.rtp.rxPackets + control.rtp.txPackets).to.equal(0);
    const [ch] = callers(lab);
    expect(ch!.rtp.rxPackets).to.equal(PCAP_PACKETS);
    expect(ch!.rtp.txPackets).to.be.greaterThan(0); // conference play
  });

  it('bridge: two callers, uuid_break, uuid_bridge, RTP relayed both ways', async () => {
    lab = await startLab();
    const a = caller(lab, { user: 'bridge', scenario: 'caller-bye', holdMs: 3000 });
    await lab.app.firstBridgeLeg();
    const b = caller(lab, { user: 'bridge', scenario: 'caller-wait-bye' });
    await lab.app.finished('bridge');
    sippOk(await a);
    sippOk(await b);
    await expectGolden(lab, 'bridge');
    if (!lab.fs) return;
    const [chA, chB] = callers(lab);
    expect(chA!.rtp.rxPackets).to.equal(PCAP_PACKETS);
    expect(chB!.rtp.rxPackets).to.equal(PCAP_PACKETS);
    // packets from B went out to A's caller and the other way round
    expect(chA!.rtp.relayedTx).to.be.greaterThan(0).and.at.most(chB!.rtp.rxPackets);
    expect(chB!.rtp.relayedTx).to.be.greaterThan(0).and.at.most(chA!.rtp.rxPackets);
  });

  it('bridge with transcoding: PCMA caller <-> PCMU caller, each gets its own law', async () => {
    lab = await startLab();
    const a = caller(lab, { user: 'bridge', scenario: 'caller-bye', holdMs: 3000 });
    await lab.app.firstBridgeLeg();
    const b = caller(lab, { user: 'bridge', scenario: 'caller-wait-bye', codec: 'PCMU' });
    await lab.app.finished('bridge');
    sippOk(await a);
    sippOk(await b);
    if (!lab.fs) return;
    const [chA, chB] = callers(lab);
    expect([chA!.codec, chB!.codec]).to.deep.equal(['PCMA', 'PCMU']);
    expect(chA!.rtp.rxPayloadTypes).to.deep.equal({ 8: PCAP_PACKETS });
    expect(chB!.rtp.rxPayloadTypes).to.deep.equal({ 0: PCAP_PACKETS });
    expect(chA!.rtp.relayedTx).to.be.greaterThan(0);
    expect(chB!.rtp.relayedTx).to.be.greaterThan(0);
    // only the leg's own law went out on each side
    expect(Object.keys(chA!.rtp.txPayloadTypes)).to.deep.equal(['8']);
    expect(Object.keys(chB!.rtp.txPayloadTypes)).to.deep.equal(['0']);
  });
});
