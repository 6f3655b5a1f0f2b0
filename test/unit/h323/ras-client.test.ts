/**
 * RAS client against a loopback peer that answers with GnuGk's real replies from the captures:
 * LRQ -> LCF/LRJ, timeouts and retransmission, RIP, GRQ/RRQ with prefixes, keep-alive RRQ,
 * ARQ/DRQ, URQ on stop, and the gatekeeper's own IRQ/DRQ answered.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { encodeRas, ras, supportedPrefixes, transportToString } from '../../../lib/h323/ras/messages.js';
import { RasClient, RasRejectError, type RasClientOptions } from '../../../lib/h323/ras/client.js';
import { NeighbourResponder } from '../../../lib/h323/ras/neighbour.js';
import { StaticPrefixResolver } from '../../../lib/h323/ras/resolver.js';
import { FakeGnuGk, GNUGK_REPLIES, gnugkPolicy, replay } from '../../lab/h323/fake-gnugk.js';
import { UdpPeer } from '../../lab/h323/udp-peer.js';

describe('RasClient against replayed GnuGk replies (loopback)', () => {
  let gkPeer: UdpPeer;
  let gk: FakeGnuGk;
  let client: RasClient | undefined;
  let reg: Registry;

  beforeEach(async () => {
    gkPeer = await UdpPeer.open('127.0.0.1');
    gk = new FakeGnuGk(gkPeer, gnugkPolicy(gkPeer));
    reg = new Registry();
  });
  afterEach(async () => {
    await client?.stop();
    client = undefined;
    gk.stop();
    await gkPeer.close();
  });

  async function startClient(over: Partial<RasClientOptions> = {}): Promise<RasClient> {
    client = new RasClient({
      gatekeeper: { host: '127.0.0.1', port: gkPeer.port },
      bind: { host: '127.0.0.1', port: 0 },
      callSignalAddress: { host: '127.0.0.1', port: 11720 },
      registry: reg,
      ...over,
    });
    await client.start();
    return client;
  }

  it('LRQ for a registered alias: GnuGk\'s LCF gives the call signalling address', async () => {
    const c = await startClient();
    const r = await c.locate('1001', ['9000']);
    expect(r).to.deep.include({ found: true, callSignalAddress: { host: '127.0.0.1', port: 1720 } });
    const [lrq] = await gk.received(1);
    expect(lrq!.msg.choice).to.equal('locationRequest');
    if (lrq!.msg.choice !== 'locationRequest') return;
    expect(lrq!.msg.value.destinationInfo).to.deep.equal([{ choice: 'dialledDigits', value: '1001' }]);
    expect(lrq!.msg.value.sourceInfo).to.deep.equal([{ choice: 'dialledDigits', value: '9000' }]);
    expect(transportToString(lrq!.msg.value.replyAddress)).to.equal(`127.0.0.1:${lrq!.from.port}`);
  });

  it('LRQ for an unknown alias: GnuGk\'s LRJ requestDenied', async () => {
    const c = await startClient();
    expect(await c.locate('5555')).to.deep.equal({ found: false, reason: 'requestDenied' });
  });

  it('unanswered LRQ is retransmitted byte-identical (same seq) retries times, then times out', async () => {
    gk.policy = () => undefined;
    const c = await startClient({ timers: { locationRequest: { timeoutMs: 15, retries: 2 } } });
    const result = await c.locate('1001');
    expect(result).to.deep.equal({ found: false, reason: 'timeout' });
    const seen = await gk.received(3);
    expect(seen.map((s) => s.bytes.toString('hex'))).to.deep.equal(Array(3).fill(seen[0]!.bytes.toString('hex')));
    expect(gk.seen).to.have.length(3);
    const t = await reg.getSingleMetric('gw_ras_timeouts_total')?.get();
    expect(t?.values[0]?.value).to.equal(1);
  });

  it('RequestInProgress replaces the retry timer: a late LCF is still taken', async () => {
    gk.policy = ({ msg, from }) => {
      const seq = (msg.value as { requestSeqNum: number }).requestSeqNum;
      // Late answer: 500 ms after the RIP, well past the 250 ms timeout with no retries left
      // (the stimulus is lateness itself; the margin only has to cover the RIP's own delivery).
      setTimeout(() => void gkPeer.send(replay(GNUGK_REPLIES.locationConfirm, seq), from), 500);
      return encodeRas(ras('requestInProgress', { requestSeqNum: seq, delay: 5000 }));
    };
    const c = await startClient({ timers: { locationRequest: { timeoutMs: 250, retries: 0 } } });
    expect(await c.locate('1001')).to.deep.include({ found: true });
    expect(gk.seen).to.have.length(1);
  });

  it('registers as a gateway: GRQ, RRQ with prefixes and aliases; RCF gives the endpoint id', async () => {
    const c = await startClient();
    const r = await c.register({ aliases: ['council-gw'], prefixes: ['9', '44'], timeToLive: 120 });
    expect(r).to.deep.equal({ endpointIdentifier: '85218946_endp', gatekeeperIdentifier: 'OracleGK', timeToLive: 60 });
    const [grq, rrq] = await gk.received(2);
    expect(grq!.msg.choice).to.equal('gatekeeperRequest');
    expect(rrq!.msg.choice).to.equal('registrationRequest');
    if (rrq!.msg.choice !== 'registrationRequest') return;
    const v = rrq!.msg.value;
    expect(supportedPrefixes(v.terminalType)).to.deep.equal(['9', '44']);
    expect(v.terminalAlias).to.deep.equal([{ choice: 'h323-ID', value: 'council-gw' }]);
    expect(v.gatekeeperIdentifier).to.equal('OracleGK');
    expect(v.timeToLive).to.equal(120);
    expect(v.keepAlive).to.equal(false);
    expect(v.callSignalAddress.map(transportToString)).to.deep.equal(['127.0.0.1:11720']);
  });

  it('a registration GnuGk rejects surfaces the reason (RRJ duplicateAlias)', async () => {
    gk.policy = ({ msg }) =>
      msg.choice === 'registrationRequest'
        ? encodeRas(ras('registrationReject', { requestSeqNum: msg.value.requestSeqNum, protocolIdentifier: '0.0.8.2250.0.7', rejectReason: { choice: 'duplicateAlias', value: [] } }))
        : undefined;
    const c = await startClient();
    let err: Error | undefined;
    await c.register({ aliases: ['council-gw'], prefixes: ['9'], discover: false }).catch((e: Error) => (err = e));
    expect(err).to.be.instanceOf(RasRejectError);
    expect((err as RasRejectError).reason).to.equal('duplicateAlias');
    expect(c.registered).to.equal(undefined);
  });

  it('sends a lightweight keep-alive RRQ before timeToLive runs out', async () => {
    gk.policy = gnugkPolicy(gkPeer, { ttl: 1 });
    const c = await startClient();
    await c.register({ aliases: ['council-gw'], prefixes: ['9'], keepAliveFactor: 0.1 });
    const seen = await gk.received(3);
    const ka = seen[2]!.msg;
    expect(ka.choice).to.equal('registrationRequest');
    if (ka.choice !== 'registrationRequest') return;
    expect(ka.value.keepAlive).to.equal(true);
    expect(ka.value.endpointIdentifier).to.equal('85218946_endp');
    expect(ka.value.terminalAlias).to.equal(undefined);
  });

  it('ARQ -> GnuGk\'s ACF, DRQ -> DCF, and URQ on stop', async () => {
    const c = await startClient();
    await c.register({ aliases: ['council-gw'], prefixes: ['9'], discover: false });
    const call = { callIdentifier: new Uint8Array(16).fill(1), conferenceID: new Uint8Array(16).fill(2), callReferenceValue: 5 };
    const acf = await c.admit({ ...call, destination: '1001', bandWidth: 1280, answerCall: false });
    expect(acf).to.deep.equal({ admitted: true, callModel: 'gatekeeperRouted', bandWidth: 100000, destCallSignalAddress: { host: '127.0.0.1', port: 1720 } });
    await c.disengage({ ...call, answeredCall: false });
    await c.stop();
    client = undefined;
    const seen = await gk.received(4);
    expect(seen.map((s) => s.msg.choice)).to.deep.equal(['registrationRequest', 'admissionRequest', 'disengageRequest', 'unregistrationRequest']);
    const urq = seen[3]!.msg;
    if (urq.choice === 'unregistrationRequest') expect(urq.value.endpointIdentifier).to.equal('85218946_endp');
  });

  it('answers the gatekeeper\'s IRQ with IRR and its DRQ (forcedDrop, captured) with DCF', async () => {
    const c = await startClient();
    await c.register({ aliases: ['council-gw'], prefixes: ['9'], discover: false });
    const me = (await gk.received(1))[0]!.from;
    const dropped = new Promise<string>((resolve) => c.once('disengage', resolve));
    await gkPeer.send(GNUGK_REPLIES.disengageRequest, me);
    await gkPeer.send(encodeRas(ras('infoRequest', { requestSeqNum: 777, callReferenceValue: 0 })), me);
    const seen = await gk.received(3);
    const [dcf, irr] = [seen[1]!.msg, seen[2]!.msg];
    expect(dcf.choice).to.equal('disengageConfirm');
    expect(irr.choice).to.equal('infoRequestResponse');
    if (irr.choice === 'infoRequestResponse') {
      expect(irr.value.requestSeqNum).to.equal(777);
      expect(irr.value.endpointIdentifier).to.equal('85218946_endp');
    }
    expect(await dropped).to.match(/^[0-9a-f]{32}$/);
  });

  it('counts and ignores malformed datagrams from the gatekeeper', async () => {
    gk.policy = ({ msg, from }) => {
      void gkPeer.send(Buffer.from('ffffffff', 'hex'), from);
      return gnugkPolicy(gkPeer)({ msg, from, bytes: Buffer.alloc(0) });
    };
    const c = await startClient();
    expect(await c.locate('1001')).to.deep.include({ found: true });
    const m = await reg.getSingleMetric('gw_ras_malformed_total')?.get();
    expect(m?.values.find((v) => v.labels['component'] === 'client')?.value).to.equal(1);
  });
});

describe('RasClient sharing the neighbour responder socket', () => {
  it('sends its LRQ from the neighbour address and gets the LCF back through the responder', async () => {
    const gkPeer = await UdpPeer.open('127.0.0.1');
    const gk = new FakeGnuGk(gkPeer, gnugkPolicy(gkPeer));
    const registry = new Registry();
    const responder = new NeighbourResponder({
      bind: { host: '127.0.0.1', port: 0 },
      callSignalAddress: { host: '127.0.0.1', port: 11720 },
      neighbours: [{ name: 'gnugk', host: '127.0.0.1', port: gkPeer.port }],
      resolver: new StaticPrefixResolver(['9']),
      registry,
    });
    const addr = await responder.start();
    const c = new RasClient({ gatekeeper: { host: '127.0.0.1', port: gkPeer.port }, transport: responder.rasTransport(), callSignalAddress: { host: '127.0.0.1', port: 11720 }, registry });
    try {
      await c.start();
      expect(await c.locate('1001')).to.deep.include({ found: true });
      expect(gk.seen[0]!.from.port).to.equal(addr.port);
    } finally {
      await c.stop();
      await responder.stop();
      gk.stop();
      await gkPeer.close();
    }
  });
});
