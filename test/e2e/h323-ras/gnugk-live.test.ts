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
 * See docs/h323.md and sip-configs/gnugk/gatekeeper.ini.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { GnuGkStatusClient } from '../../../lib/h323/gnugk/status-port.js';
import { RasClient } from '../../../lib/h323/ras/client.js';
import { NeighbourResponder } from '../../../lib/h323/ras/neighbour.js';
import { StaticPrefixResolver, type AliasResolver } from '../../../lib/h323/ras/resolver.js';
import { waitUntil } from '../../lab/wait.js';
import { GnuGkIni, SHIPPED_GATEKEEPER_INI } from './gnugk-ini.js';

function hostPort(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i), port: Number(v.slice(i + 1)) };
}

const GK = process.env['GK_ADDR'];
const NB_PORT = process.env['GK_NEIGHBOUR_PORT'];

describe('live GnuGk (GK_ADDR, GK_NEIGHBOUR_PORT)', function () {
  this.timeout(30000);
  let responder: NeighbourResponder | undefined;
  let client: RasClient | undefined;
  const registry = new Registry();
  // LRQs that reached the resolver: every other LRQ GnuGk sent was a ping (answered before lookup).
  let lookups = 0;
  const zone = new StaticPrefixResolver(['9']);
  const resolver: AliasResolver = {
    locateNow: (q) => {
      const a = zone.locateNow(q);
      if (a) lookups++;
      return a;
    },
    locate: (q) => {
      lookups++;
      return zone.locate(q);
    },
  };

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
    this.timeout(2 * ping.intervalS * 1000 + 15000);
    const count = async (name: string, labels: Record<string, string>): Promise<number> => {
      const m = await registry.getSingleMetric(name)?.get();
      return m?.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0) ?? 0;
    };
    const pings = async (): Promise<number> => (await count('gw_ras_messages_total', { direction: 'in', type: 'locationRequest' })) - lookups;
    // Two rounds of pings one interval apart: the first may come at any moment (GnuGk's timer runs
    // since its start), the second proves the timer repeats. A round is the pings within a second
    // of each other (a launcher may point both [Neighbor::GW1] and [Neighbor::GW2] at us).
    // GnuGk's own timer is what is waited on.
    const rounds: number[] = [];
    const start = await pings();
    let counted = 0;
    await waitUntil(async () => {
      const n = (await pings()) - start;
      const now = Date.now();
      if (n > counted && (rounds.length === 0 || now - rounds[rounds.length - 1]! > 1000)) rounds.push(now);
      counted = n;
      return rounds.length >= 2 || undefined;
    }, `two rounds of LRQ pings from GnuGk (LRQPingInterval=${ping.intervalS} s): is [Neighbor::${nb}] Host= pointing at GK_NEIGHBOUR_PORT?`, 2 * ping.intervalS * 1000 + 5000, 100);
    const gapS = (rounds[1]! - rounds[0]!) / 1000;
    expect(gapS, 'seconds between two rounds of pings').to.be.within(ping.intervalS / 2, ping.intervalS + 2);
    // Each was answered at once with LRJ requestDenied (no lookup), which keeps the neighbour enabled.
    expect(await count('gw_ras_rejects_total', { direction: 'out', type: 'locationReject', reason: 'requestDenied' })).to.be.at.least(counted);
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
