/**
 * Against a real GnuGk (opt-in by environment; skipped when unset):
 *   GK_ADDR=host:port            GnuGk's RAS address (e.g. 127.0.0.1:1719)
 *   GK_NEIGHBOUR_PORT=port       where GnuGk's neighbour entry for the gateway points (we bind it)
 *   GK_NEIGHBOUR_HOST=ip         address to bind for that port (default 127.0.0.1)
 *   GK_ALIAS=alias               an alias registered in GnuGk (default 2000)
 *   GK_REGISTER=1                also register as a gateway (GRQ/RRQ/URQ)
 *   GK_STATUS=host:port          GnuGk status port, to check it lists us as a neighbour
 * See docs/h323.md and sip-configs/gnugk/gatekeeper.ini.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { GnuGkStatusClient } from '../../../lib/h323/gnugk/status-port.js';
import { RasClient } from '../../../lib/h323/ras/client.js';
import { NeighbourResponder } from '../../../lib/h323/ras/neighbour.js';
import { StaticPrefixResolver } from '../../../lib/h323/ras/resolver.js';

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
      resolver: new StaticPrefixResolver(['9']),
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

  it('GnuGk\'s neighbour pings reach us and get answered', async () => {
    const deadline = Date.now() + 20000;
    for (;;) {
      const m = await registry.getSingleMetric('gw_ras_messages_total')?.get();
      const answered = m?.values.find((v) => v.labels['direction'] === 'out' && v.labels['type'] === 'locationReject')?.value ?? 0;
      if (answered > 0) break;
      if (Date.now() > deadline) throw new Error('no LRQ ping from GnuGk within 20 s: is its neighbour entry pointing at GK_NEIGHBOUR_PORT?');
      await new Promise((r) => setTimeout(r, 500)); // waiting on an external system's own 5 s ping timer
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
