/**
 * The gateway between real H.323 peers: GnuGk (GNUGK_BIN, the project's sip-configs/gnugk/
 * gatekeeper.ini with loopback addresses) routing calls, H323Plus `simph323` room systems
 * (SIMPH323_BIN) registered at it, SIPp phones, and drachtio-server and FreeSWITCH (the real ones
 * from DRACHTIO_* / FS_* under `npm run test:real`, else the doubles). The flows of
 * ../shared/captures/interop: SIP -> H.323 through GnuGk's LCF (fastStart on and off, u-law and
 * A-law room systems), H.323 -> SIP through GnuGk's neighbour LRQ (u-law and A-law callers),
 * the council alias 8100 routed by the shipped gatekeeper.ini, and GnuGk's neighbour pings.
 * Proof is on the wire: RTP counted by tcpdump at SIPp's media port and at the room system's
 * address, in both directions; SIP as SIPp sees it; what the room system prints (call established and
 * cleared, user input received); GnuGk's own status port.
 *
 * No double plays GnuGk routing calls to H323Plus, so without GNUGK_BIN and SIMPH323_BIN this
 * suite is skipped (CI covers the same flows with the H.323 lab endpoint: test/e2e/calls).
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { freeMediaPort, freePort, freeSipPort } from '../../lab/ports.js';
import { runSipp, startSippUas, stopAllSipp, type SippUas } from '../../lab/sipp.js';
import { metricValue, waitUntil } from '../../lab/wait.js';
import { startGnuGk, type GnuGkServer } from '../../lab/real-servers/gnugk.js';
import { startSimpH323, type G711Law, type SimpH323Endpoint } from '../../lab/real-servers/simph323.js';
import { GnuGkStatusClient } from '../../../lib/h323/gnugk/status-port.js';
import { EslClient, fsTarget, type FsTarget } from '../../support/esl.js';
import { RtpTap, type RtpPacket } from '../../support/rtp-tap.js';
import { telephoneEventDigit, writeTonePcap } from '../../support/tone.js';
import { repoRoot } from '../../support/paths.js';
import { realFsFromEnv } from '../freeswitch-double/harness.js';

const ESL_SECRET = 'lab-esl-secret';
const PT: Record<G711Law, number> = { PCMU: 0, PCMA: 8 };
/**
 * Room systems and callers, each test its own alias on its own loopback address (simph323 binds
 * -i): simph323 ignores SIGTERM and dies by SIGKILL without unregistering, and GnuGk refuses the
 * same alias from another call-signalling address until the old registration expires.
 */
let nextRoom = 10;
const room = (prefix: '1' | '2'): { alias: string; host: string } => {
  nextRoom += 1;
  return { alias: `${prefix}0${nextRoom}`, host: `127.0.${prefix === '1' ? 4 : 3}.${nextRoom}` };
};
const COUNCIL_ALIAS = '8100';
const EXPERT_NUMBER = '9100';

/**
 * H323Plus's RTP ports (its default range starts at 5000). A simph323 caller advertises its media
 * on 127.0.0.1 whatever its -i address (a callee uses the -i address), so its flows are found by
 * port as well as by host; FreeSWITCH (10000-11999 under test:real) and SIPp (20000+) are outside.
 */
const H323PLUS_RTP: readonly [number, number] = [5000, 5999];
const inRange = (port: number): boolean => port >= H323PLUS_RTP[0] && port <= H323PLUS_RTP[1];
const toRoomSystem = (host: string) => (p: RtpPacket): boolean => p.dst.address === host || inRange(p.dst.port);
const fromRoomSystem = (host: string) => (p: RtpPacket): boolean => p.src.address === host || inRange(p.src.port);

const haveBinaries = Boolean(process.env.GNUGK_BIN && process.env.SIMPH323_BIN);

describe('interop: GnuGk and H323Plus room systems through the gateway', function () {
  this.timeout(90_000);
  let target: DrachtioTarget;
  let fs: FreeSwitchDouble | undefined;
  let esl: EslClient;
  let gk: GnuGkServer;
  let gw: GatewayProcess;
  let uasPort: number;
  const work = mkdtempSync(join(tmpdir(), 'interop-'));
  const endpoints: SimpH323Endpoint[] = [];
  const taps: RtpTap[] = [];
  const experts: SippUas[] = [];

  before(async function () {
    // Not a double-only move: there is no double of GnuGk + H323Plus to run this against.
    if (!haveBinaries) this.skip();
    target = await startDrachtioTarget();
    if (!realFsFromEnv()) fs = await FreeSwitchDouble.start({ eslPassword: ESL_SECRET, sipPort: 0, eslPort: 0 });
    const fsEsl: FsTarget = fsTarget(fs, ESL_SECRET);
    esl = await EslClient.connect(fsEsl);
    const rasPort = await freePort();
    gk = await startGnuGk({ neighbours: [`127.0.0.1:${rasPort}`] });
    uasPort = await freeSipPort();
    gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        policy: { enabled: false },
        media: { esl: { host: fsEsl.host, port: fsEsl.port }, listen: { address: '127.0.0.1', port: 0 } },
        h323: {
          ras: { host: '127.0.0.1', port: rasPort },
          callSignalAddress: { host: '127.0.0.1', port: await freePort() },
          neighbours: [{ name: 'GK', host: '127.0.0.1', port: gk.rasPort, gatekeeperId: gk.name }],
          localZone: { prefixes: ['9'], aliases: [COUNCIL_ALIAS] },
          gatekeeper: { host: '127.0.0.1', port: gk.rasPort },
        },
        dialPlan: [
          { prefix: '1', h323Target: 'gatekeeper' },
          { prefix: '9', sipTarget: `sip:\${user}@127.0.0.1:${uasPort}` },
        ],
        council: { rooms: [{ name: 'council-main', sipUsers: ['council'], h323Aliases: [COUNCIL_ALIAS], maxMembers: 12 }] },
      },
      env: { DRACHTIO_SECRET: target.secret, FS_ESL_SECRET: fsEsl.secret, LOG_LEVEL: process.env.INTEROP_GW_LOG_LEVEL ?? 'info' },
    });
    await gw.waitForOutput(/connected to drachtio-server/);
    await gw.waitForOutput(/media server up/);
    // GnuGk routes to a neighbour only while its pings are answered: its first ping may have gone
    // out before the gateway's RAS socket existed (the neighbour is then disabled once that ping
    // times out, and is listed enabled until then). Ready: the gateway has answered a ping (an
    // LRJ out, as `pn` is an LRQ for no alias), and GnuGk lists it enabled after that.
    await waitUntil(async () => ((metricValue(await gw.metrics(), 'gw_ras_messages_total', { direction: 'out', type: 'locationReject' }) ?? 0) >= 1 ? true : undefined), 'the gateway to answer one of GnuGk\'s pings', 15_000);
    await neighbourEnabled();
  });

  afterEach(async function () {
    // A failure shows what the gateway said about it (its JSON log lines since the suite began).
    if (this.currentTest?.state === 'failed') console.log(`gateway log (tail):\n${gw.output().slice(-6000)}`);
    for (const t of taps.splice(0)) await t.stop();
    for (const e of endpoints.splice(0)) await e.stop();
    for (const x of experts.splice(0)) await x.stop().catch(() => undefined);
    stopAllSipp();
  });

  after(async () => {
    await gw?.stop('SIGTERM');
    await gk?.stop();
    esl?.close();
    await fs?.stop();
    await target?.stop();
  });

  const statusPort = (): string => `127.0.0.1:${gk.statusPort}`;
  const gkRas = (): string => `127.0.0.1:${gk.rasPort}`;

  /** A simph323 room system; `onlyCodec` false: it prefers `codec` and also offers the other law (B1). */
  async function roomSystem(o: { alias: string; host: string; mode: 'answer' | { call: string }; fastStart: boolean; codec: G711Law; onlyCodec?: boolean }): Promise<SimpH323Endpoint> {
    const e = await startSimpH323({ onlyCodec: true, ...o, gatekeeper: gkRas(), statusPort: statusPort(), interactive: true });
    endpoints.push(e);
    return e;
  }

  /**
   * SIPp calling `service` through drachtio, RTP (a 500 Hz tone, one law, optionally a DTMF press
   * every 500 ms) from its media port; it sends BYE after holdMs, or with `waitBye` waits for one.
   */
  async function sipCaller(service: string, law: G711Law, mediaPort: number, holdMs: number, o: { waitBye?: boolean; dtmf?: string } = {}) {
    const pcap = join(work, `caller-${mediaPort}.pcap`);
    writeTonePcap(pcap, {
      packets: Math.ceil(holdMs / 20), hz: 500, codec: law,
      ...(o.dtmf ? { dtmf: { digit: o.dtmf, everyMs: 500, firstAtMs: 300 } } : {}),
    });
    const xml = readFileSync(join(repoRoot, `sip-configs/sipp/calls/${o.waitBye ? 'sip-to-h323-wait-bye' : 'sip-to-h323-bye'}.xml`), 'utf8')
      .replaceAll('@PCAP@', pcap).replaceAll('@PT@', String(PT[law])).replaceAll('@CODEC@', law);
    const file = join(work, `caller-${mediaPort}.xml`);
    writeFileSync(file, xml.replace('<recv response="180"/>', '<recv response="180" optional="true"/>'));
    return runSipp({
      target: `${target.sipHost}:${target.sipPort}`, scenario: file, service, timeoutMs: 60_000,
      args: ['-d', String(holdMs), '-mi', '127.0.0.1', '-mp', String(mediaPort)],
    });
  }

  /**
   * A SIPp expert on the dial plan's port answering one call in `law`, RTP from its media port;
   * with `byeAfterMs` it hangs up then, otherwise it waits for the gateway's BYE.
   */
  async function sipExpert(law: G711Law, mediaPort: number, byeAfterMs?: number): Promise<SippUas> {
    const pcap = join(work, `expert-${mediaPort}.pcap`);
    writeTonePcap(pcap, { packets: 300, hz: 700, codec: law });
    const xml = readFileSync(join(repoRoot, `sip-configs/sipp/calls/${byeAfterMs ? 'h323-uas-bye' : 'h323-uas-wait-bye'}.xml`), 'utf8')
      .replaceAll('@PCAP@', pcap).replaceAll('@PT@', String(PT[law])).replaceAll('@CODEC@', law);
    const file = join(work, `expert-${mediaPort}.xml`);
    writeFileSync(file, xml);
    const uas = await startSippUas({
      scenario: file, calls: 1, localPort: uasPort, timeoutMs: 60_000,
      args: ['-mi', '127.0.0.1', '-mp', String(mediaPort), ...(byeAfterMs ? ['-d', String(byeAfterMs)] : [])],
    });
    experts.push(uas);
    return uas;
  }

  for (const law of ['PCMU', 'PCMA'] as const) {
    for (const fastStart of [true, false]) {
      it(`SIP -> H.323 via GnuGk's LCF, ${law} room system, fastStart ${fastStart ? 'on' : 'off'}: RTP both ways on both legs, SIP BYE -> ReleaseComplete`, async () => {
        const callee = await roomSystem({ ...room('1'), mode: 'answer', fastStart, codec: law });
        const mediaPort = await freeMediaPort();
        const tap = await RtpTap.start([mediaPort], { hosts: [callee.host], portRanges: [H323PLUS_RTP] });
        taps.push(tap);
        // The caller offers only the room system's law: no transcoding needed on either leg.
        const r = await sipCaller(callee.aliases[0]!, law, mediaPort, 3000);
        expect(r.exitCode, r.messages.slice(-3000)).to.equal(0);
        expect(r.messages).to.match(/SIP\/2\.0 200 OK[\s\S]*CSeq: 1 INVITE/);
        const toCaller = tap.to(mediaPort, (p) => p.pt === PT[law]);
        const toRoom = tap.packets.filter((p) => toRoomSystem(callee.host)(p) && p.pt === PT[law]);
        const fromRoom = tap.packets.filter((p) => fromRoomSystem(callee.host)(p) && p.pt === PT[law]);
        expect(toRoom.length, `RTP from FreeSWITCH at the room system; flows: ${tap.summary()}`).to.be.at.least(50);
        expect(fromRoom.length, 'RTP from the room system').to.be.at.least(50);
        expect(toCaller.length, 'RTP from FreeSWITCH at the SIP caller').to.be.at.least(50);
        // The room system's call ended with the caller's BYE: GnuGk lists no call any more.
        await waitUntil(async () => ((await gkCalls()) === 0 ? true : undefined), 'GnuGk to list no call');
      });
    }
  }

  for (const law of ['PCMU', 'PCMA'] as const) {
    // B1: the caller prefers its law but offers both; the gateway prefers A-law. Without the
    // gateway following the caller's codec, FreeSWITCH dropped all of a u-law caller's audio.
    it(`H.323 -> SIP via GnuGk's neighbour LRQ, caller preferring ${law} (both laws offered) without fastStart: one codec both ways, RTP on both legs, the expert hangs up`, async () => {
      const mediaPort = await freeMediaPort();
      const caller = room('2');
      const tap = await RtpTap.start([mediaPort], { hosts: [caller.host], portRanges: [H323PLUS_RTP] });
      taps.push(tap);
      const uas = await sipExpert('PCMA', mediaPort, 3000);
      const rs = await roomSystem({ ...caller, mode: { call: EXPERT_NUMBER }, fastStart: false, codec: law, onlyCodec: false });
      await waitUntil(async () => (/ACK sip:/.test(uas.messages()) ? true : undefined), 'the expert answered (ACK)', 20_000);
      // Three seconds of media, then the room system's audio and FreeSWITCH's are counted.
      await tap.waitFor((ps) => (ps.filter((p) => toRoomSystem(caller.host)(p) && p.pt === PT[law]).length >= 100 ? true : undefined), 'FreeSWITCH\'s RTP at the room system', 20_000)
        .catch((e: Error) => { throw new Error(`${e.message}; flows: ${tap.summary()}`); });
      const fromRoom = tap.packets.filter((p) => fromRoomSystem(caller.host)(p) && p.pt === PT[law]);
      const toExpert = tap.to(mediaPort, (p) => p.pt === PT.PCMA);
      expect(fromRoom.length, 'RTP from the room system').to.be.at.least(50);
      expect(toExpert.length, 'RTP from FreeSWITCH at the expert (A-law: FreeSWITCH transcodes)').to.be.at.least(50);
      // The expert's BYE (after 3 s) clears the room system's call through GnuGk.
      await waitUntil(async () => (/has cleared the call/.test(rs.output()) ? true : undefined), 'the room system to see the call cleared', 15_000);
      const r = await uas.stop();
      expect(r.messages).to.match(/INVITE sip:9100@/);
      expect(r.messages).to.match(/BYE sip:[\s\S]*SIP\/2\.0 200 OK[\s\S]*CSeq: \d+ BYE/);
      await waitUntil(async () => ((await gkCalls()) === 0 ? true : undefined), 'GnuGk to list no call');
    });
  }

  it('SIP -> H.323, the room system hangs up: the SIP caller gets BYE with Reason Q.850 cause 16', async () => {
    const callee = await roomSystem({ ...room('1'), mode: 'answer', fastStart: true, codec: 'PCMA' });
    const mediaPort = await freeMediaPort();
    const tap = await RtpTap.start([mediaPort], { hosts: [callee.host], portRanges: [H323PLUS_RTP] });
    taps.push(tap);
    const sip = sipCaller(callee.aliases[0]!, 'PCMA', mediaPort, 10_000, { waitBye: true });
    await waitUntil(async () => (/In call with/.test(callee.output()) ? true : undefined), 'the room system in the call', 15_000);
    await tap.waitFor((ps) => (ps.filter((p) => p.dst.port === mediaPort && p.pt === PT.PCMA).length >= 20 ? true : undefined), 'the room system\'s audio at the caller');
    callee.send('H');
    const r = await sip;
    expect(r.exitCode, r.messages.slice(-3000)).to.equal(0);
    expect(r.messages).to.match(/BYE sip:[\s\S]*Reason: Q\.850;cause=16/);
  });

  it('DTMF both ways: the SIP caller\'s RFC 4733 7 reaches the room system as user input, the room system\'s 5 reaches the caller as a telephone-event', async () => {
    const callee = await roomSystem({ ...room('1'), mode: 'answer', fastStart: true, codec: 'PCMA' });
    const mediaPort = await freeMediaPort();
    const tap = await RtpTap.start([mediaPort]);
    taps.push(tap);
    const sip = sipCaller(callee.aliases[0]!, 'PCMA', mediaPort, 6000, { dtmf: '7' });
    await waitUntil(async () => (/In call with/.test(callee.output()) ? true : undefined), 'the room system in the call', 15_000);
    await waitUntil(async () => (/User input received: "7"/.test(callee.output()) ? true : undefined), 'the caller\'s 7 at the room system', 15_000);
    callee.send('5');
    const ev = await tap.waitFor((ps) => ps.find((p) => p.dst.port === mediaPort && p.pt === 101 && telephoneEventDigit(p.payload) === '5'), 'the room system\'s 5 as a telephone-event at the caller');
    expect(ev.pt).to.equal(101);
    const r = await sip;
    expect(r.exitCode, r.messages.slice(-3000)).to.equal(0);
  });

  it('council alias 8100 routed by the shipped gatekeeper.ini: H.323 members in u-law and in A-law and a SIP A-law member, RTP to and from each', async () => {
    const mediaPort = await freeMediaPort();
    const ulaw = room('2');
    const alaw = room('2');
    const tap = await RtpTap.start([mediaPort], { hosts: [ulaw.host, alaw.host], portRanges: [H323PLUS_RTP] });
    taps.push(tap);
    const sip = sipCaller('council', 'PCMA', mediaPort, 6000);
    const mu = await roomSystem({ ...ulaw, mode: { call: COUNCIL_ALIAS }, fastStart: false, codec: 'PCMU' });
    const ma = await roomSystem({ ...alaw, mode: { call: COUNCIL_ALIAS }, fastStart: true, codec: 'PCMA' });
    await waitUntil(async () => (/In call with/.test(mu.output()) && /In call with/.test(ma.output()) ? true : undefined), 'both room systems in the council', 20_000);
    await waitUntil(async () => {
      const m = await esl.conferenceList('council-main');
      return m && m.length >= 3 ? m : undefined;
    }, 'the three members in FreeSWITCH\'s conference', 20_000);
    // Each member's RTP is told apart by its payload type: u-law for one room system, A-law for the
    // other and for the SIP member (whose packets go to its own media port).
    const atUlaw = (ps: readonly RtpPacket[]): RtpPacket[] => ps.filter((p) => toRoomSystem(ulaw.host)(p) && p.pt === PT.PCMU);
    await tap.waitFor((ps) => (atUlaw(ps).length >= 50 ? true : undefined), 'conference audio at the u-law member', 20_000)
      .catch((e: Error) => { throw new Error(`${e.message}; flows: ${tap.summary()}`); });
    const r = await sip;
    expect(r.exitCode, r.messages.slice(-3000)).to.equal(0);
    const flows = tap.summary();
    expect(tap.to(mediaPort, (p) => p.pt === PT.PCMA).length, `conference audio at the SIP member; flows: ${flows}`).to.be.at.least(50);
    expect(tap.packets.filter((p) => fromRoomSystem(ulaw.host)(p) && p.pt === PT.PCMU).length, `the u-law member's audio; flows: ${flows}`).to.be.at.least(50);
    // A-law to and from the A-law room system (the SIP member's A-law goes to its own media port).
    const alawRoom = tap.packets.filter((p) => p.pt === PT.PCMA && p.dst.port !== mediaPort);
    expect(alawRoom.filter(toRoomSystem(alaw.host)).length, `conference audio at the A-law member; flows: ${flows}`).to.be.at.least(50);
    expect(alawRoom.filter(fromRoomSystem(alaw.host)).length, `the A-law member's audio; flows: ${flows}`).to.be.at.least(50);
  });

  it('GnuGk pings the gateway as its neighbour and `pn` shows it enabled', async () => {
    // The shipped file pings every 5 s; a neighbour whose ping went unanswered shows disabled.
    expect((await neighbourEnabled()).enabled).to.equal(true);
  });

  async function neighbourEnabled(): Promise<{ address: string; enabled: boolean }> {
    const st = await GnuGkStatusClient.connect('127.0.0.1', gk.statusPort);
    try {
      return await waitUntil(async () => (await st.neighbours()).find((n) => n.address.includes(`127.0.0.1:${gw.rasPort}`) && n.enabled), 'GnuGk to list the gateway as an enabled neighbour', 15_000);
    } finally {
      await st.close();
    }
  }

  async function gkCalls(): Promise<number> {
    const st = await GnuGkStatusClient.connect('127.0.0.1', gk.statusPort);
    try {
      return (await st.calls()).length;
    } finally {
      await st.close();
    }
  }
});
