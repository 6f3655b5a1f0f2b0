/**
 * Failover of FreeSWITCH-anchored calls: two gateway processes on one redis-server, one drachtio
 * (double or DRACHTIO_*) and one FreeSWITCH (double or FS_*) shared by both, an H.323 lab endpoint
 * answering. A SIPp caller places four SIP -> H.323 calls (drachtio's round robin spreads them
 * over both instances) and holds them, then one council participant, a room system, dials into
 * the room at A's H.225 listener; instance A is SIGKILLed once every call is answered and
 * recorded. (A SIP participant could not be aimed at A: drachtio picks the instance, and only A
 * holds the room's conference on the shared FreeSWITCH - the second instance's createConference
 * meets 'conference exists'.) Asserted:
 * - each of A's SIP callers gets a BYE from the survivor within 5 s of the kill (SIPp trace) and
 *   answers it (survivor's metric);
 * - the participant's council seat is freed in the shared membership, its H.225 connection ends
 *   and its FreeSWITCH channel is hung up;
 * - the HA record of each of A's calls names exactly the FreeSWITCH channels of that call (found
 *   independently, from FreeSWITCH over the test's own ESL connection: the two channels of a
 *   CHANNEL_BRIDGE event, the H.323 leg the one whose remote_media_port is the endpoint's RTP
 *   port), and those channels are hung up within 5 s (CHANNEL_HANGUP_COMPLETE);
 * - the H.323 endpoint sees A's calls end with the H.225 connection closing;
 * - B's calls are untouched until their callers hang up; no record is left in Redis.
 * Policy is off: no quota is reserved, so there is none to release (covered by failover.test.ts
 * for B2BUA calls; the release is the same takeover step for every record).
 */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { DrachtioTarget } from '../../lab/drachtio-target.js';
import { bridgesSince, hangupAt, waitHangups, type EslClient } from '../../support/esl.js';
import { H323Endpoint, type EndpointCall } from '../../lab/h323-endpoint/endpoint.js';
import type { GatewayProcess } from '../../lab/gateway-process.js';
import { runSipp, stopAllSipp } from '../../lab/sipp.js';
import { metricValue, waitUntil } from '../../lab/wait.js';
import type { CallRecord } from '../../../lib/ha/records.js';
import { parseSippTrace } from './uac-hold.js';
import { HaMediaLab } from './media-lab.js';
import { callerAck, callerBye, callerInvite, okToLastRequest } from '../../lab/sipp-xml.js';

const CALLS = 4;
/**
 * A room of this run's own: a killed instance's conference stays on a real FreeSWITCH (nobody
 * records its control leg), so a fixed name would be taken by an earlier run's leftover.
 */
const ROOM = `ha-room-${process.pid}`;
const ROOM_ALIAS = '8200';
/** Longer than kill + TTL + poll + BYE, short enough to keep the suite quick. */
const HOLD_MS = 7000;

/** Caller that answers a BYE from the network, else hangs up itself after HOLD_MS. */
function callerScenario(): string {
  const xml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="ha media caller">
${callerInvite({ user: 'caller', cseq: 1 })}
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" timeout="10000"/>
${callerAck({ user: 'caller', cseq: 1, via: 'new' })}
  <recv request="BYE" timeout="${HOLD_MS}" ontimeout="hangup"/>
${okToLastRequest(' next="done"')}
  <label id="hangup"/>
${callerBye('caller', 2)}
  <recv response="200" timeout="5000"/>
  <label id="done"/>
</scenario>
`;
  const file = join(mkdtempSync(join(tmpdir(), 'sipp-ha-media-')), 'caller.xml');
  writeFileSync(file, xml);
  return file;
}

describe('HA failover: SIP -> H.323 calls and a council participant anchored on FreeSWITCH', function () {
  this.timeout(60_000);
  let lab: HaMediaLab;
  let target: DrachtioTarget;
  let client: Redis;
  let esl: EslClient;
  let endpoint: H323Endpoint;
  /** The council participant's room system. */
  let roomSystem: H323Endpoint;
  let listeners: number[] = [];
  let gws: GatewayProcess[] = [];
  let prefix = '';

  before(async function () {
    lab = await HaMediaLab.start('ha-media');
    ({ target, client, esl, gws, prefix, listeners } = lab);
    endpoint = new H323Endpoint();
    roomSystem = new H323Endpoint({ rtpPackets: 0 });
    const ep = await endpoint.listen(0);
    await lab.startGateways({
      dialPlan: [{ prefix: '1000', h323Target: `127.0.0.1:${ep.port}` }],
      council: { rooms: [{ name: ROOM, sipUsers: ['2000'], h323Aliases: [ROOM_ALIAS], maxMembers: 4 }] },
    });
  });

  after(async () => {
    stopAllSipp();
    await endpoint?.close();
    await roomSystem?.close();
    // The dead instance's conference of this room is nobody's to end: hang it up at FreeSWITCH.
    await esl?.api(`conference ${ROOM} hup all`).catch(() => undefined);
    await lab?.stop();
  });

  const records = (): Promise<Map<string, CallRecord[]>> => lab.records();

  it('the dead instance\'s callers get BYE, its channels end and its seat is freed within 5 s; the survivor\'s calls are untouched', async () => {
    const [gwA] = gws as [GatewayProcess, GatewayProcess];
    const calls: EndpointCall[] = [];
    endpoint.on('call', (c) => calls.push(c));
    const since = Date.now();

    const sipp = runSipp({
      target: `${target.sipHost}:${target.sipPort}`, scenario: callerScenario(), service: '1000', calls: CALLS, rate: 20, timeoutMs: 40_000,
    });

    // Every call answered, bridged and recorded with its caller dialog and both channels.
    await waitUntil(async () => {
      const answered = [...(await records()).values()].flat().filter((c) => c.state === 'answered' && c.legs.length === 1 && c.mediaUuids.length === 2);
      return answered.length === CALLS && bridgesSince(esl, since).length === CALLS && calls.length === CALLS;
    }, 'every call answered, bridged and recorded', 15_000);
    // Then a council participant on A: a room system dialling the room at A's H.225 listener.
    const participant = await roomSystem.call('127.0.0.1', listeners[0]!, ROOM_ALIAS);
    await new Promise<void>((resolve, reject) => {
      participant.call.once('connected', () => resolve());
      void participant.done.then((r) => reject(new Error(`the participant was released before Connect: ${JSON.stringify(r)}`)));
    });
    const byInstance = await waitUntil(async () => {
      const r = await records();
      const seated = [...r.values()].flat().filter((c) => c.kind === 'council' && c.mediaUuids.length === 1 && c.seats?.length === 1);
      return seated.length === 1 ? r : undefined;
    }, 'the participant seated and recorded', 15_000);
    const idA = [...byInstance.keys()].find((id) => id.startsWith('gw-a-'))!;
    const idB = [...byInstance.keys()].find((id) => id.startsWith('gw-b-'))!;
    const recA = byInstance.get(idA)!.filter((r) => r.kind === 'sip-h323');
    const recB = byInstance.get(idB)!.filter((r) => r.kind === 'sip-h323');
    const seatA = byInstance.get(idA)!.filter((r) => r.kind === 'council');
    const seatB = byInstance.get(idB)!.filter((r) => r.kind === 'council');
    expect(recA.length, 'calls at A').to.be.at.least(1);
    expect(recB.length, 'calls at B').to.be.at.least(1);
    expect(recA.length + recB.length).to.equal(CALLS);
    expect(seatA).to.have.length(1);
    expect(seatB).to.have.length(0);
    expect(Object.keys(await client.hgetall(`${prefix}m:${ROOM}`))).to.deep.equal([seatA[0]!.seats![0]!.seatId]);
    for (const r of [...recA, ...recB]) expect(r.legs[0]!.side).to.equal('caller');

    // Each call's channels, found from FreeSWITCH's side: the two channels of one CHANNEL_BRIDGE,
    // one of them sending to the endpoint's RTP port. The record must name exactly those.
    const bridges = bridgesSince(esl, since);
    const remotePort = new Map<string, string | undefined>();
    for (const u of bridges.flat()) remotePort.set(u, await esl.getVar(u, 'remote_media_port'));
    const owner = new Map<EndpointCall, string>();
    for (const ec of calls) {
      const bridge = bridges.find((b) => b.some((u) => remotePort.get(u) === String(ec.rtp.port)));
      expect(bridge, 'the bridge with the H.323 leg of an endpoint call').to.not.equal(undefined);
      const pair = [...bridge!].sort();
      const rec = [...recA, ...recB].find((r) => [...r.mediaUuids].sort().join() === pair.join());
      expect(rec, 'a record naming both channels of the call').to.not.equal(undefined);
      owner.set(ec, rec!.instance);
    }
    const deadCalls = calls.filter((ec) => owner.get(ec) === idA);
    const liveCalls = calls.filter((ec) => owner.get(ec) === idB);
    expect(deadCalls).to.have.length(recA.length);

    const killAt = Date.now();
    await gwA.stop('SIGKILL', 0);
    // The takeover ends with the dead instance's records deleted (after every BYE was answered).
    await waitUntil(async () => ((await client.exists(`${prefix}ha:calls:${idA}`)) === 0 && (await client.sismember(`${prefix}ha:members`, idA)) === 0) || undefined,
      'the survivor to take A over', 5000);
    const takenOverAt = Date.now();
    expect(takenOverAt - killAt).to.be.lessThan(5000);
    // Every caller answered the survivor's BYE; the participant's record has no SIP dialog to BYE
    // (counted bye_ok, or no_dialog where the survivor tells the two apart).
    const survivorMetrics = await gws[1]!.metrics();
    const taken = (outcome: string): number => metricValue(survivorMetrics, 'gw_ha_calls_taken_over_total', { outcome }) ?? 0;
    expect(taken('bye_ok'), 'A\'s calls whose every BYE the survivor saw answered 2xx').to.be.at.least(recA.length);
    expect(taken('bye_ok') + taken('no_dialog'), 'A\'s records taken over').to.equal(recA.length + seatA.length);
    // The dead participant's seat is free in the shared membership (another instance's seat is
    // kept: test/unit/ha/node.test.ts).
    expect(await client.hlen(`${prefix}m:${ROOM}`)).to.equal(0);

    // A's H.323 calls and the participant ended with their TCP connections; their channels are gone.
    for (const ec of [...deadCalls, participant]) {
      const info = await ec.done;
      expect(info.reason).to.equal('connection closed');
    }
    const deadUuids = [...recA, ...seatA].flatMap((r) => r.mediaUuids);
    await waitHangups(esl, deadUuids, 'channels of the dead instance\'s calls', 5000);
    for (const u of deadUuids) expect(hangupAt(esl, u), `channel ${u} of a dead call hung up`).to.be.a('number').below(killAt + 5000);
    // B's calls: still up on every side.
    for (const ec of liveCalls) expect(ec.released, 'a survivor\'s H.323 call').to.equal(undefined);
    for (const r of [...recB, ...seatB]) {
      for (const u of r.mediaUuids) {
        expect(hangupAt(esl, u), `survivor channel ${u}`).to.equal(undefined);
        expect(await esl.uuidExists(u), `survivor channel ${u} at FreeSWITCH`).to.equal(true);
      }
    }
    expect((await records()).get(idB)).to.have.length(recB.length);

    const res = await sipp;
    expect(res.exitCode, res.messages.slice(-3000)).to.equal(0);
    expect(res.successful).to.equal(CALLS);
    const trace = parseSippTrace(res.messages);
    const byeAt = (callId: string): number | undefined => trace.find((m) => m.dir === 'received' && m.callId === callId && m.start.startsWith('BYE '))?.at;
    for (const r of recA) {
      const at = byeAt(r.callId);
      expect(at, `BYE at the caller of dead call ${r.callId}`).to.be.a('number');
      expect(at! - killAt).to.be.lessThan(5000);
    }
    for (const r of recB) expect(byeAt(r.callId), `no BYE from the network for survivor call ${r.callId}`).to.equal(undefined);
    const byeMs = recA.map((r) => Math.round(byeAt(r.callId)! - killAt));
    const chanMs = deadUuids.map((u) => hangupAt(esl, u)! - killAt);
    console.log(`      media failover: A's records deleted by B ${takenOverAt - killAt} ms after the kill (test clock, 20 ms polls); caller BYE ${byeMs.join(', ')} ms after the kill (SIPp trace); A's channels hung up ${Math.min(...chanMs)}-${Math.max(...chanMs)} ms after the kill`);
    // The survivor's own calls ended normally: their records are gone too.
    await waitUntil(async () => ((await client.hlen(`${prefix}ha:calls:${idB}`)) === 0) || undefined, 'the survivor\'s records to be deleted at call end', 5000);
    for (const ec of liveCalls) expect((await ec.done).reason).to.not.equal('connection closed');
    await waitHangups(esl, [...recB, ...seatB].flatMap((r) => r.mediaUuids), 'the survivor\'s channels at their calls\' end');
  });
});
