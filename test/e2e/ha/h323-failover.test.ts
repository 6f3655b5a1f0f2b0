/**
 * Failover of H.323 -> SIP calls anchored on FreeSWITCH: two gateway processes on one
 * redis-server, one drachtio (double or DRACHTIO_*) and one FreeSWITCH (double or FS_*) shared by
 * both. The H.323 lab
 * endpoint places two calls to instance A's H.225 listener and one to B's; each is routed by the
 * dial plan to its own SIPp UAS expert, which answers and holds the call until it gets a BYE.
 * Instance A is SIGKILLed once every call is answered, bridged and recorded. Asserted:
 * - each of A's experts gets a BYE from the survivor within 5 s of the kill (SIPp trace) and
 *   answers it (survivor's metric);
 * - the HA record of each of A's calls names exactly the FreeSWITCH channels of that call (from
 *   FreeSWITCH over the test's own ESL connection: the two channels of a CHANNEL_BRIDGE event, one
 *   of them with the endpoint's RTP port as remote_media_port), and those channels are hung up
 *   within 5 s (CHANNEL_HANGUP_COMPLETE);
 * - the H.323 endpoint sees A's calls end with the H.225 connection closing;
 * - B's call is untouched (no BYE at its expert, channels up, H.323 call up) until the endpoint
 *   hangs it up; no record is left in Redis.
 * Policy is off (no quota; see failover.test.ts for the release step).
 */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { bridgesSince, hangupAt, waitHangups, type EslClient } from '../../support/esl.js';
import { H323Endpoint, type EndpointCall } from '../../lab/h323-endpoint/endpoint.js';
import type { GatewayProcess } from '../../lab/gateway-process.js';
import { startSippUas, stopAllSipp, type SippUas } from '../../lab/sipp.js';
import { freeMediaPort } from '../../lab/ports.js';
import { metricValue, waitUntil } from '../../lab/wait.js';
import type { CallRecord } from '../../../lib/ha/records.js';
import { parseSippTrace } from './uac-hold.js';
import { HaMediaLab } from './media-lab.js';
import { okToLastRequest } from '../../lab/sipp-xml.js';

/** Expert: 180, 200 with SDP (PCMA), then waits for a BYE (no timeout of its own) and answers it. */
function expertScenario(): string {
  const xml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="ha h323->sip expert (waits for BYE)">
  <recv request="INVITE"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:expert@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:expert@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=expert 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
      a=sendrecv

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
${okToLastRequest()}
</scenario>
`;
  const file = join(mkdtempSync(join(tmpdir(), 'sipp-ha-h323-')), 'expert.xml');
  writeFileSync(file, xml);
  return file;
}

/** Dialled alias -> instance whose listener the endpoint calls. */
const PLAN = [
  { alias: '3001', at: 'a' },
  { alias: '3002', at: 'a' },
  { alias: '3003', at: 'b' },
] as const;

describe('HA failover: H.323 -> SIP calls anchored on FreeSWITCH', function () {
  this.timeout(40_000);
  let lab: HaMediaLab;
  let client: Redis;
  let esl: EslClient;
  let endpoint: H323Endpoint;
  let gws: GatewayProcess[] = [];
  let listeners: number[] = [];
  let prefix = '';
  const experts = new Map<string, SippUas>();

  before(async function () {
    lab = await HaMediaLab.start('ha-h323');
    ({ client, esl, gws, listeners, prefix } = lab);
    endpoint = new H323Endpoint({ rtpPackets: 0, codecs: ['PCMA', 'PCMU'] });
    const scenario = expertScenario();
    for (const { alias } of PLAN) {
      experts.set(alias, await startSippUas({
        scenario, calls: 1, timeoutMs: 35_000, args: ['-mi', '127.0.0.1', '-mp', String(await freeMediaPort())],
      }));
    }
    await lab.startGateways({
      dialPlan: PLAN.map(({ alias }) => ({ prefix: alias, sipTarget: `sip:expert@127.0.0.1:${experts.get(alias)!.port}` })),
    });
  });

  after(async () => {
    for (const e of experts.values()) await e.stop().catch(() => undefined);
    stopAllSipp();
    await endpoint?.close();
    await lab?.stop();
  });

  const records = (): Promise<Map<string, CallRecord[]>> => lab.records();

  it('the dead instance\'s experts get BYE from the survivor, its channels and H.225 connections end within 5 s; the survivor\'s call is untouched', async () => {
    const [gwA, gwB] = gws as [GatewayProcess, GatewayProcess];
    const since = Date.now();

    const calls = new Map<string, EndpointCall>();
    for (const { alias, at } of PLAN) {
      const ec = await endpoint.call('127.0.0.1', listeners[at === 'a' ? 0 : 1]!, alias);
      calls.set(alias, ec);
      await new Promise<void>((resolve, reject) => {
        ec.call.once('connected', () => resolve());
        void ec.done.then((r) => reject(new Error(`call ${alias} released before Connect: ${JSON.stringify(r)}`)));
      });
    }

    // Every call answered, bridged and recorded with the expert's dialog and both channels.
    const byInstance = await waitUntil(async () => {
      const r = await records();
      const answered = [...r.values()].flat().filter((c) => c.kind === 'h323-sip' && c.state === 'answered' && c.legs.length === 1 && c.mediaUuids.length === 2);
      return answered.length === PLAN.length && bridgesSince(esl, since).length === PLAN.length ? r : undefined;
    }, 'every call answered, bridged and recorded', 15_000);
    const idA = [...byInstance.keys()].find((id) => id.startsWith('gw-a-'))!;
    const idB = [...byInstance.keys()].find((id) => id.startsWith('gw-b-'))!;
    const recA = byInstance.get(idA)!;
    const recB = byInstance.get(idB)!;
    expect(recA).to.have.length(2);
    expect(recB).to.have.length(1);
    for (const r of [...recA, ...recB]) expect(r.legs[0]!.side).to.equal('callee');

    // Each call's channels from FreeSWITCH's side (the two channels of one CHANNEL_BRIDGE, one of
    // them sending to the endpoint's RTP port); its record names exactly those; its expert leg is
    // the dialog of the expert the alias routes to.
    const bridges = bridgesSince(esl, since);
    const remotePort = new Map<string, string | undefined>();
    for (const u of bridges.flat()) remotePort.set(u, await esl.getVar(u, 'remote_media_port'));
    const recordOf = new Map<string, CallRecord>();
    for (const { alias, at } of PLAN) {
      const ec = calls.get(alias)!;
      const bridge = bridges.find((b) => b.some((u) => remotePort.get(u) === String(ec.rtp.port)));
      expect(bridge, `the bridge with the H.323 leg of call ${alias}`).to.not.equal(undefined);
      const pair = [...bridge!].sort().join();
      const rec = [...recA, ...recB].find((r) => [...r.mediaUuids].sort().join() === pair);
      expect(rec, `a record naming both channels of call ${alias}`).to.not.equal(undefined);
      expect(rec!.instance).to.equal(at === 'a' ? idA : idB);
      expect(experts.get(alias)!.messages(), `expert ${alias} holds the recorded dialog`).to.contain(rec!.legs[0]!.callId);
      recordOf.set(alias, rec!);
    }
    const deadAliases = PLAN.filter((p) => p.at === 'a').map((p) => p.alias);
    const liveAlias = PLAN.find((p) => p.at === 'b')!.alias;

    const killAt = Date.now();
    await gwA.stop('SIGKILL', 0);
    await waitUntil(async () => ((await client.exists(`${prefix}ha:calls:${idA}`)) === 0 && (await client.sismember(`${prefix}ha:members`, idA)) === 0) || undefined,
      'the survivor to take A over', 5000);
    const takenOverAt = Date.now();
    expect(takenOverAt - killAt).to.be.lessThan(5000);
    expect(metricValue(await gwB.metrics(), 'gw_ha_calls_taken_over_total', { outcome: 'bye_ok' }), 'every expert answered the survivor\'s BYE').to.equal(2);

    // A's H.323 calls ended with their TCP connections; their channels are gone.
    for (const alias of deadAliases) {
      const info = await calls.get(alias)!.done;
      expect(info.reason, `H.323 call ${alias}`).to.equal('connection closed');
    }
    await waitHangups(esl, deadAliases.flatMap((a) => recordOf.get(a)!.mediaUuids), 'channels of the dead instance\'s calls', 5000);
    for (const alias of deadAliases) {
      for (const u of recordOf.get(alias)!.mediaUuids) expect(hangupAt(esl, u), `channel ${u} of dead call ${alias} hung up`).to.be.a('number').below(killAt + 5000);
    }
    const byeMs: number[] = [];
    for (const alias of deadAliases) {
      const res = await experts.get(alias)!.stop();
      const callId = recordOf.get(alias)!.legs[0]!.callId;
      const trace = parseSippTrace(res.messages);
      const bye = trace.find((m) => m.dir === 'received' && m.callId === callId && m.start.startsWith('BYE '));
      expect(bye, `BYE at the expert of dead call ${alias}`).to.not.equal(undefined);
      expect(bye!.at - killAt).to.be.lessThan(5000);
      expect(trace.some((m) => m.dir === 'sent' && m.callId === callId && m.start.startsWith('SIP/2.0 200') && /BYE/.test(m.cseq)), `expert ${alias} answered the BYE`).to.equal(true);
      byeMs.push(Math.round(bye!.at - killAt));
    }

    // B's call: still up on every side.
    const live = calls.get(liveAlias)!;
    const liveRec = recordOf.get(liveAlias)!;
    expect(live.released, 'the survivor\'s H.323 call').to.equal(undefined);
    for (const u of liveRec.mediaUuids) {
      expect(hangupAt(esl, u), `survivor channel ${u}`).to.equal(undefined);
      expect(await esl.uuidExists(u), `survivor channel ${u} at FreeSWITCH`).to.equal(true);
    }
    expect(experts.get(liveAlias)!.messages(), 'no BYE at the survivor\'s expert').to.not.match(/^BYE /m);
    expect((await records()).get(idB)).to.have.length(1);

    const chanMs = deadAliases.flatMap((a) => recordOf.get(a)!.mediaUuids.map((u) => hangupAt(esl, u)! - killAt));
    console.log(`      h323 failover: A's records deleted by B ${takenOverAt - killAt} ms after the kill (test clock, 20 ms polls); expert BYE ${byeMs.join(', ')} ms after the kill (SIPp trace); A's channels hung up ${Math.min(...chanMs)}-${Math.max(...chanMs)} ms after the kill`);

    // The survivor's call ends normally when the endpoint hangs up: BYE from B, record gone.
    live.call.hangup(16);
    expect((await live.done).reason).to.not.equal('connection closed');
    await waitUntil(async () => /^BYE /m.test(experts.get(liveAlias)!.messages()) || undefined, 'BYE at the survivor\'s expert', 5000);
    await waitUntil(async () => ((await client.hlen(`${prefix}ha:calls:${idB}`)) === 0) || undefined, 'the survivor\'s record to be deleted at call end', 5000);
    const liveRes = await experts.get(liveAlias)!.stop();
    const liveTrace = parseSippTrace(liveRes.messages);
    expect(liveTrace.filter((m) => m.dir === 'received' && m.start.startsWith('BYE ')).map((m) => m.callId)).to.deep.equal([liveRec.legs[0]!.callId]);
    await waitHangups(esl, liveRec.mediaUuids, 'the survivor\'s channels at its call\'s end', 5000);
    expect(await client.keys(`${prefix}ha:calls:*`)).to.deep.equal([]);
  });
});
