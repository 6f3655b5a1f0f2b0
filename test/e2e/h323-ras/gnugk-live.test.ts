/**
 * Against a real GnuGk (opt-in by environment; skipped when unset):
 *   GK_ADDR=host:port            GnuGk's RAS address (e.g. 127.0.0.1:1719)
 *   GK_NEIGHBOUR_PORT=port       where GnuGk's neighbour entry for the gateway points (we bind it)
 *   GK_NEIGHBOUR_HOST=ip         address to bind for that port (default 127.0.0.1)
 *   GK_ALIAS=alias               an alias registered in GnuGk (default 2000)
 *   GK_REGISTER=1                also register as a gateway (GRQ/RRQ/URQ)
 *   GK_STATUS=host:port          GnuGk status port, to check it lists us as a neighbour
 *   GK_CONFIG=path               the gatekeeper.ini that GnuGk runs (default the shipped
 *                                sip-configs/gnugk/gatekeeper.ini, addresses rewritten): its ping
 *                                settings say how soon the pings must arrive
 *   GK_CAPTURE_IF=iface          where the ping test captures RAS (tcpdump; default lo when
 *                                GK_NEIGHBOUR_HOST is a loopback address, else any)
 * See docs/h323.md and sip-configs/gnugk/gatekeeper.ini.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { GnuGkStatusClient } from '../../../lib/h323/gnugk/status-port.js';
import { RasClient } from '../../../lib/h323/ras/client.js';
import { aliasToString, transportHostPort } from '../../../lib/h323/ras/messages.js';
import { GNUGK_PING_ALIAS, NeighbourResponder } from '../../../lib/h323/ras/neighbour.js';
import { StaticPrefixResolver } from '../../../lib/h323/ras/resolver.js';
import { GnuGkIni, SHIPPED_GATEKEEPER_INI } from './gnugk-ini.js';
import { RasCapture, type RasPacket } from './ras-capture.js';

function hostPort(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i), port: Number(v.slice(i + 1)) };
}

const GK = process.env['GK_ADDR'];
const NB_PORT = process.env['GK_NEIGHBOUR_PORT'];

/** The interface GnuGk's pings to GK_NEIGHBOUR_HOST travel on. */
function captureInterface(): string {
  return process.env['GK_CAPTURE_IF'] ?? ((process.env['GK_NEIGHBOUR_HOST'] ?? '127.0.0.1').startsWith('127.') ? 'lo' : 'any');
}

describe('live GnuGk (GK_ADDR, GK_NEIGHBOUR_PORT)', function () {
  this.timeout(30000);
  let responder: NeighbourResponder | undefined;
  let client: RasClient | undefined;
  const registry = new Registry();
  const resolver = new StaticPrefixResolver(['9']);

  before(async function () {
    if (!GK || !NB_PORT) {
      console.warn('SKIP live GnuGk tests: set GK_ADDR=host:port and GK_NEIGHBOUR_PORT=port (see docs/h323.md)');
      this.skip();
    }
    const gk = hostPort(GK);
    const bindHost = process.env['GK_NEIGHBOUR_HOST'] ?? '127.0.0.1';
    responder = new NeighbourResponder({
      bind: { host: bindHost, port: Number(NB_PORT) },
      callSignalAddress: { host: bindHost, port: 1720 },
      neighbours: [{ name: 'gnugk', host: gk.host }],
      resolver,
      registry,
    });
    await responder.start();
    // LRQs to GnuGk leave from the neighbour socket: GnuGk answers configured neighbours only.
    client = new RasClient({ gatekeeper: gk, transport: responder.rasTransport(), callSignalAddress: { host: bindHost, port: 1720 }, registry });
    await client.start();
  });
  after(async () => {
    await client?.stop();
    await responder?.stop();
  });

  it('GnuGk answers our LRQ for a registered alias (LCF) and an unknown one (LRJ)', async () => {
    const known = await client!.locate(process.env['GK_ALIAS'] ?? '2000');
    expect(known.found, JSON.stringify(known)).to.equal(true);
    const unknown = await client!.locate('55555555');
    expect(unknown).to.deep.include({ found: false });
    expect((unknown as { reason: string }).reason).to.not.equal('timeout');
  });

  it('GnuGk pings us as its config says (SendLRQPing, LRQPingInterval) and gets each ping answered', async function () {
    const ini = GnuGkIni.read(process.env['GK_CONFIG'] ?? SHIPPED_GATEKEEPER_INI);
    const nb = ini.neighbours().find((n) => ini.get(`Neighbor::${n}`, 'Host')?.endsWith(`:${NB_PORT}`)) ?? ini.neighbours()[0]!;
    const ping = ini.lrqPing(nb);
    expect(ping.enabled, `SendLRQPing for [Neighbor::${nb}]`).to.equal(true);
    const answerWithinMs = ini.neighbourTimeoutMs();
    this.timeout(2 * ping.intervalS * 1000 + 15000);
    // Checked on the wire, not on our counters: an LRQ counter moves when a ping arrives, before
    // the answer is sent, and the reject counter misses answers to later pings (GnuGk numbers every
    // ping requestSeqNum 1, so within the answer cache's 10 s the responder takes the next ping for
    // a retry and resends the same LRJ without counting it again). The capture shows both GnuGk's
    // pings and the LRJs that left our socket for GnuGk, with their times.
    const nbPort = Number(NB_PORT);
    const cap = await RasCapture.start(nbPort, { iface: captureInterface() });
    try {
      const isPing = (p: RasPacket): boolean => p.dst.port === nbPort && p.msg.choice === 'locationRequest'
        && p.msg.value.destinationInfo.some((a) => aliasToString(a) === GNUGK_PING_ALIAS);
      // Our answer to a ping: an LRJ requestDenied with its sequence number, from our port to
      // GnuGk (its replyAddress, which is its RAS port), within NeighborTimeout of the ping.
      const answerTo = (pingPkt: RasPacket, packets: readonly RasPacket[]): RasPacket | undefined => {
        if (pingPkt.msg.choice !== 'locationRequest') return undefined;
        const lrq = pingPkt.msg.value;
        const reply = transportHostPort(lrq.replyAddress);
        return packets.find((p) => p.src.port === nbPort && p.dst.host === pingPkt.src.host
          && (p.dst.port === pingPkt.src.port || p.dst.port === reply?.port)
          && p.at >= pingPkt.at && p.at - pingPkt.at <= answerWithinMs
          && p.msg.choice === 'locationReject' && p.msg.value.requestSeqNum === lrq.requestSeqNum
          && p.msg.value.rejectReason.choice === 'requestDenied');
      };
      // Two rounds of pings one interval apart: the first may come at any moment (GnuGk's timer
      // runs since its start), the second proves the timer repeats. A round is the pings within a
      // second of each other (a launcher may point both [Neighbor::GW1] and [Neighbor::GW2] at us).
      // Done when every ping of both rounds has its answer on the wire.
      const rounds = await cap.waitFor((packets) => {
        const pings = packets.filter(isPing);
        const r: RasPacket[][] = [];
        for (const p of pings) {
          const last = r[r.length - 1];
          if (last && p.at - last[0]!.at <= 1000) last.push(p);
          else r.push([p]);
        }
        if (r.length < 2) return undefined;
        const two = r.slice(0, 2);
        return two.every((round) => round.every((p) => answerTo(p, packets))) ? two : undefined;
      }, `two rounds of LRQ pings from GnuGk (LRQPingInterval=${ping.intervalS} s), each answered with LRJ requestDenied within ${answerWithinMs} ms: is [Neighbor::${nb}] Host= pointing at GK_NEIGHBOUR_PORT?`, 2 * ping.intervalS * 1000 + 5000);
      const gapS = (rounds[1]![0]!.at - rounds[0]![0]!.at) / 1000;
      expect(gapS, 'seconds between two rounds of pings').to.be.within(ping.intervalS / 2, ping.intervalS + 2);
    } finally {
      await cap.stop();
    }
  });

  it('registers as a gateway with prefixes and unregisters (GK_REGISTER=1)', async function () {
    if (process.env['GK_REGISTER'] !== '1') this.skip();
    const reg = await client!.register({ aliases: ['council-gw-test'], prefixes: ['97'], timeToLive: 60 });
    expect(reg.endpointIdentifier).to.be.a('string').and.not.equal('');
  });

  it('the status port lists the gateway as an enabled neighbour (GK_STATUS)', async function () {
    const sp = process.env['GK_STATUS'];
    if (!sp) this.skip();
    const { host, port } = hostPort(sp!);
    const status = await GnuGkStatusClient.connect(host, port);
    try {
      const nbs = await status.neighbours();
      expect(nbs.some((n) => n.address.endsWith(`:${NB_PORT}`) && n.enabled), JSON.stringify(nbs)).to.equal(true);
    } finally {
      await status.close();
    }
  });
});
