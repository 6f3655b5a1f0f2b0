/**
 * Failover of FreeSWITCH-anchored calls: two gateway processes on one redis-server, one drachtio
 * (double) and one FreeSWITCH double shared by both, an H.323 lab endpoint answering. A SIPp caller
 * places four SIP -> H.323 calls (round robin: two per instance) and holds them, then one SIP
 * council participant joins at A; instance A is SIGKILLed once every call is answered and
 * recorded. Asserted:
 * - each of A's callers (both kinds) gets a BYE from the survivor within 5 s of the kill (SIPp
 *   trace) and answers it (survivor's metric);
 * - the participant's council seat is freed in the shared membership;
 * - the HA record of each of A's calls names exactly the FreeSWITCH channels of that call (found
 *   independently: the H.323 leg by the endpoint's RTP port, the caller leg by its bridge), and
 *   those channels are hung up within 5 s;
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
import type { FreeSwitchDouble, ChannelInfo } from '../../lab/freeswitch-double/double.js';
import { H323Endpoint, type EndpointCall } from '../../lab/h323-endpoint/endpoint.js';
import type { GatewayProcess } from '../../lab/gateway-process.js';
import { runSipp, stopAllSipp } from '../../lab/sipp.js';
import { metricValue, waitUntil } from '../../lab/wait.js';
import type { CallRecord } from '../../../lib/ha/records.js';
import { parseSippTrace } from './uac-hold.js';
import { HaMediaLab } from './media-lab.js';
import { callerBye, okToLastRequest } from '../../lab/sipp-xml.js';

const CALLS = 4;
const ROOM = 'ha-room';
/** Longer than kill + TTL + poll + BYE, short enough to keep the suite quick. */
const HOLD_MS = 7000;

/** Caller that answers a BYE from the network, else hangs up itself after HOLD_MS. */
function callerScenario(): string {
  const xml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="ha media caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:caller@[local_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" timeout="10000"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:caller@[local_ip]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
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
  let fs: FreeSwitchDouble;
  let endpoint: H323Endpoint;
  let gws: GatewayProcess[] = [];
  let prefix = '';

  before(async function () {
    if (process.env.FS_HOST) this.skip(); // reads the FreeSWITCH double's channel table
    lab = await HaMediaLab.start('ha-media');
    ({ target, client, fs, gws, prefix } = lab);
    endpoint = new H323Endpoint();
    const ep = await endpoint.listen(0);
    await lab.startGateways({
      dialPlan: [{ prefix: '1000', h323Target: `127.0.0.1:${ep.port}` }],
      council: { rooms: [{ name: ROOM, sipUsers: ['2000'], h323Aliases: ['ha-room'], maxMembers: 4 }] },
    });
  });

  after(async () => {
    stopAllSipp();
    await endpoint?.close();
    await lab?.stop();
  });

  const records = (): Promise<Map<string, CallRecord[]>> => lab.records();

  it('the dead instance\'s callers get BYE, its channels end and its seat is freed within 5 s; the survivor\'s calls are untouched', async () => {
    const [gwA] = gws as [GatewayProcess, GatewayProcess];
    const calls: EndpointCall[] = [];
    endpoint.on('call', (c) => calls.push(c));
    const hungUp = new Map<string, number>();
    fs.on('hangup', (c: ChannelInfo) => hungUp.set(c.uuid, Date.now()));

    const sipp = runSipp({
      target: `${target.sipHost}:${target.sipPort}`, scenario: callerScenario(), service: '1000', calls: CALLS, rate: 20, timeoutMs: 40_000,
    });

    // Every call answered, bridged and recorded with its caller dialog and both channels.
    await waitUntil(async () => {
      const answered = [...(await records()).values()].flat().filter((c) => c.state === 'answered' && c.legs.length === 1 && c.mediaUuids.length === 2);
      const bridged = fs.channelInfo().filter((c) => c.state === 'active' && c.bridgedTo !== undefined);
      return answered.length === CALLS && bridged.length === 2 * CALLS && calls.length === CALLS;
    }, 'every call answered, bridged and recorded', 15_000);
    // Then a council participant (SIP, a guest: policy is off) on A: the fifth INVITE of the round
    // robin. Only one: two instances cannot share one conference on one FreeSWITCH (the second
    // one's createConference meets 'conference exists'), so B takes no participant of this room.
    const council = runSipp({
      target: `${target.sipHost}:${target.sipPort}`, scenario: callerScenario(), service: '2000', calls: 1, timeoutMs: 40_000,
    });
    const byInstance = await waitUntil(async () => {
      const r = await records();
      const seated = [...r.values()].flat().filter((c) => c.kind === 'council' && c.legs.length === 1 && c.mediaUuids.length === 1 && c.seats?.length === 1);
      return seated.length === 1 ? r : undefined;
    }, 'the participant seated and recorded', 15_000);
    const idA = [...byInstance.keys()].find((id) => id.startsWith('gw-a-'))!;
    const idB = [...byInstance.keys()].find((id) => id.startsWith('gw-b-'))!;
    const recA = byInstance.get(idA)!.filter((r) => r.kind === 'sip-h323');
    const recB = byInstance.get(idB)!.filter((r) => r.kind === 'sip-h323');
    const seatA = byInstance.get(idA)!.filter((r) => r.kind === 'council');
    const seatB = byInstance.get(idB)!.filter((r) => r.kind === 'council');
    expect(recA).to.have.length(2);
    expect(recB).to.have.length(2);
    expect(seatA).to.have.length(1);
    expect(seatB).to.have.length(0);
    expect(Object.keys(await client.hgetall(`${prefix}m:${ROOM}`))).to.deep.equal([seatA[0]!.seats![0]!.seatId]);
    for (const r of [...recA, ...recB]) expect(r.legs[0]!.side).to.equal('caller');

    // Each call's channels, found from FreeSWITCH's side: the H.323 leg sends to the endpoint's
    // RTP port, the caller leg is bridged to it. The record must name exactly those.
    const channels = fs.channelInfo();
    const owner = new Map<EndpointCall, string>();
    for (const ec of calls) {
      const h323Leg = channels.find((c) => c.state === 'active' && c.remoteRtp?.port === ec.rtp.port);
      expect(h323Leg, 'the H.323 leg of an endpoint call').to.not.equal(undefined);
      const pair = [h323Leg!.uuid, h323Leg!.bridgedTo!].sort();
      const rec = [...recA, ...recB].find((r) => [...r.mediaUuids].sort().join() === pair.join());
      expect(rec, 'a record naming both channels of the call').to.not.equal(undefined);
      owner.set(ec, rec!.instance);
    }
    const deadCalls = calls.filter((ec) => owner.get(ec) === idA);
    const liveCalls = calls.filter((ec) => owner.get(ec) === idB);
    expect(deadCalls).to.have.length(2);

    const killAt = Date.now();
    await gwA.stop('SIGKILL', 0);
    // The takeover ends with the dead instance's records deleted (after every BYE was answered).
    await waitUntil(async () => ((await client.exists(`${prefix}ha:calls:${idA}`)) === 0 && (await client.sismember(`${prefix}ha:members`, idA)) === 0) || undefined,
      'the survivor to take A over', 5000);
    const takenOverAt = Date.now();
    expect(takenOverAt - killAt).to.be.lessThan(5000);
    expect(metricValue(await gws[1]!.metrics(), 'gw_ha_calls_taken_over_total', { outcome: 'bye_ok' }), 'every caller answered the survivor\'s BYE').to.equal(3);
    // The dead participant's seat is free in the shared membership (another instance's seat is
    // kept: test/unit/ha/node.test.ts).
    expect(await client.hlen(`${prefix}m:${ROOM}`)).to.equal(0);

    // A's H.323 calls ended with their TCP connections; their channels are gone.
    for (const ec of deadCalls) {
      const info = await ec.done;
      expect(info.reason).to.equal('connection closed');
    }
    for (const r of [...recA, ...seatA]) for (const u of r.mediaUuids) expect(hungUp.get(u), `channel ${u} of a dead call hung up`).to.be.a('number').below(killAt + 5000);
    // B's calls: still up on every side.
    for (const ec of liveCalls) expect(ec.released, 'a survivor\'s H.323 call').to.equal(undefined);
    for (const r of [...recB, ...seatB]) for (const u of r.mediaUuids) expect(hungUp.has(u), `survivor channel ${u}`).to.equal(false);
    expect((await records()).get(idB)).to.have.length(2);

    const res = await sipp;
    expect(res.exitCode, res.messages.slice(-3000)).to.equal(0);
    expect(res.successful).to.equal(CALLS);
    const resCouncil = await council;
    expect(resCouncil.exitCode, resCouncil.messages.slice(-3000)).to.equal(0);
    expect(resCouncil.successful).to.equal(1);
    const trace = parseSippTrace(res.messages + resCouncil.messages);
    const byeAt = (callId: string): number | undefined => trace.find((m) => m.dir === 'received' && m.callId === callId && m.start.startsWith('BYE '))?.at;
    for (const r of [...recA, ...seatA]) {
      const at = byeAt(r.callId);
      expect(at, `BYE at the caller of dead call ${r.callId}`).to.be.a('number');
      expect(at! - killAt).to.be.lessThan(5000);
    }
    for (const r of [...recB, ...seatB]) expect(byeAt(r.callId), `no BYE from the network for survivor call ${r.callId}`).to.equal(undefined);
    const byeMs = [...recA, ...seatA].map((r) => Math.round(byeAt(r.callId)! - killAt));
    const chanMs = [...recA, ...seatA].flatMap((r) => r.mediaUuids.map((u) => hungUp.get(u)! - killAt));
    console.log(`      media failover: A's records deleted by B ${takenOverAt - killAt} ms after the kill (test clock, 20 ms polls); caller BYE ${byeMs.join(', ')} ms after the kill (SIPp trace); A's channels hung up ${Math.min(...chanMs)}-${Math.max(...chanMs)} ms after the kill`);
    // The survivor's own calls ended normally: their records are gone too.
    await waitUntil(async () => ((await client.hlen(`${prefix}ha:calls:${idB}`)) === 0) || undefined, 'the survivor\'s records to be deleted at call end', 5000);
    for (const ec of liveCalls) expect((await ec.done).reason).to.not.equal('connection closed');
  });
});
