/**
 * Neighbour responder on loopback: a peer sends the LRQs GnuGk really sent (captured bytes, with
 * only replyAddress pointed at the test peer) and checks the LCF/LRJ/RIP that come back.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { decodeRas, encodeRas, transportToString } from '../../../lib/h323/ras/messages.js';
import { NeighbourResponder, type NeighbourPeer, type NeighbourResponderOptions } from '../../../lib/h323/ras/neighbour.js';
import { StaticPrefixResolver, type AliasResolver, type LocationAnswer, type LocationQuery } from '../../../lib/h323/ras/resolver.js';
import type { RasMessageValue } from '../../../lib/h323/ras/schema.js';
import { UdpPeer, rasFixture } from '../../lab/h323/udp-peer.js';

const GNUGK_LRQ_9123 = rasFixture('s1a-ep-ras-and-neighbour-lrq-noreply', '0006');
const GNUGK_LRQ_9124 = rasFixture('s1c-neighbour-lrq-lrj-arj', '0004');
const GNUGK_PING = rasFixture('s6-variant-hopcount-h46023-lrqping', '0001');
const GNUGK_LRQ_H46024 = rasFixture('s6-variant-hopcount-h46023-lrqping', '0008');

/** The captured LRQ with replyAddress (and optionally requestSeqNum) changed; all else as GnuGk sent it. */
function lrqFrom(bytes: Buffer, peer: UdpPeer, seq?: number): Uint8Array {
  const m = decodeRas(bytes);
  if (m.choice !== 'locationRequest') throw new Error('not an LRQ');
  m.value.replyAddress = { choice: 'ipAddress', value: { ip: Uint8Array.from([127, 0, 0, 1]), port: peer.port } };
  if (seq !== undefined) m.value.requestSeqNum = seq;
  return encodeRas(m);
}

async function metricValue(reg: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = await reg.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

class CountingResolver implements AliasResolver {
  calls: LocationQuery[] = [];
  constructor(private readonly impl: (q: LocationQuery, signal: AbortSignal) => Promise<LocationAnswer>) {}
  locate(q: LocationQuery, signal: AbortSignal): Promise<LocationAnswer> {
    this.calls.push(q);
    return this.impl(q, signal);
  }
}

describe('NeighbourResponder (loopback, GnuGk-shaped LRQs)', () => {
  let responder: NeighbourResponder | undefined;
  let gk: UdpPeer;
  let other: UdpPeer | undefined;
  let reg: Registry;

  beforeEach(async () => {
    gk = await UdpPeer.open('127.0.0.1');
    reg = new Registry();
  });
  afterEach(async () => {
    await responder?.stop();
    responder = undefined;
    await gk.close();
    await other?.close();
    other = undefined;
  });

  async function start(resolver: AliasResolver, over: Partial<NeighbourResponderOptions> = {}, peers?: NeighbourPeer[]): Promise<{ host: string; port: number }> {
    responder = new NeighbourResponder({
      bind: { host: '127.0.0.1', port: 0 },
      callSignalAddress: { host: '127.0.0.4', port: 1720 },
      neighbours: peers ?? [{ name: 'gnugk', host: '127.0.0.1', gatekeeperId: 'OracleGK' }],
      resolver,
      registry: reg,
      ...over,
    });
    return responder.start();
  }

  it('answers GnuGk\'s captured LRQ for 9123 with LCF: gateway call signalling + RAS address', async () => {
    const resolver = new CountingResolver((q) => new StaticPrefixResolver(['9']).locate(q));
    const addr = await start(resolver);
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk), addr);
    const reply = await gk.nextRas();
    expect(reply.choice).to.equal('locationConfirm');
    if (reply.choice !== 'locationConfirm') return;
    expect(reply.value.requestSeqNum).to.equal(1);
    expect(transportToString(reply.value.callSignalAddress)).to.equal('127.0.0.4:1720');
    expect(transportToString(reply.value.rasAddress)).to.equal(`127.0.0.1:${addr.port}`);
    expect(reply.value.destinationInfo).to.deep.equal([{ choice: 'dialledDigits', value: '9123' }]);
    // What the resolver saw is what GnuGk put in the LRQ.
    expect(resolver.calls).to.have.length(1);
    expect(resolver.calls[0]!.destinationStrings).to.deep.equal(['9123']);
    expect(resolver.calls[0]!.source).to.deep.equal([{ choice: 'dialledDigits', value: '1001' }, { choice: 'h323-ID', value: 'ep1001' }]);
    expect(Buffer.from(resolver.calls[0]!.callIdentifier!).toString('hex')).to.equal('00112233445566778899aabbccddeeff');
    expect(await metricValue(reg, 'gw_ras_messages_total', { direction: 'out', type: 'locationConfirm' })).to.equal(1);
    const hist = await reg.getSingleMetric('gw_ras_lrq_answer_seconds')?.get();
    expect(hist?.values.find((v) => (v as { metricName?: string }).metricName === 'gw_ras_lrq_answer_seconds_count' && v.labels['result'] === 'lcf')?.value).to.equal(1);
  });

  it('counts every datagram in what a Prometheus scrape of the registry reads', async () => {
    await start(new StaticPrefixResolver(['9']));
    for (let seq = 1; seq <= 3; seq++) {
      await gk.send(lrqFrom(GNUGK_LRQ_9123, gk, seq), responder!.address());
      await gk.nextRas();
    }
    await gk.send(Buffer.from('4a80ffff', 'hex'), responder!.address());
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk, 4), responder!.address());
    await gk.nextRas();
    const text = await reg.metrics();
    expect(text).to.include('gw_ras_messages_total{direction="in",type="locationRequest"} 4');
    expect(text).to.include('gw_ras_messages_total{direction="out",type="locationConfirm"} 4');
    expect(text).to.include('gw_ras_malformed_total{component="neighbour"} 1');
    // A second read neither loses nor double-counts.
    expect(await reg.metrics()).to.include('gw_ras_messages_total{direction="out",type="locationConfirm"} 4');
  });

  it('its LCF to GnuGk\'s LRQ is byte-identical to the H323Plus LCF GnuGk accepted (s1b)', async () => {
    // Same gateway addresses as in the capture: call signalling 127.0.0.4:1720, RAS 127.0.0.1:1721.
    await start(new StaticPrefixResolver(['9']), { callSignalAddress: { host: '127.0.0.4', port: 1720 }, rasAddress: { host: '127.0.0.1', port: 1721 } });
    await gk.send(lrqFrom(rasFixture('s1b-neighbour-lrq-lcf-acf', '0004'), gk), responder!.address());
    const reply = await gk.next();
    expect(reply.bytes.toString('hex')).to.equal(rasFixture('s1b-neighbour-lrq-lcf-acf', '0005').toString('hex'));
  });

  it('answers an unknown alias with LRJ carrying the resolver\'s reason', async () => {
    await start(new CountingResolver(async () => ({ result: 'notFound', reason: 'unallocatedNumber' })));
    await gk.send(lrqFrom(GNUGK_LRQ_9124, gk), responder!.address());
    const reply = await gk.nextRas();
    expect(reply).to.deep.include({ choice: 'locationReject' });
    expect(reply.value).to.deep.equal({ requestSeqNum: 4, rejectReason: { choice: 'unallocatedNumber', value: null } });
    expect(await metricValue(reg, 'gw_ras_rejects_total', { reason: 'unallocatedNumber' })).to.equal(1);
  });

  it('answers GnuGk\'s monitoring ping (gatekeeper-monitoring-check) at once, without a lookup', async () => {
    const resolver = new CountingResolver(() => new Promise(() => undefined));
    await start(resolver);
    await gk.send(lrqFrom(GNUGK_PING, gk), responder!.address());
    const reply = await gk.next();
    expect(decodeRas(reply.bytes).value).to.deep.equal({ requestSeqNum: 1, rejectReason: { choice: 'requestDenied', value: null } });
    // The same octets the H323Plus neighbour answered GnuGk's ping with in the capture.
    expect(reply.bytes.toString('hex')).to.equal(rasFixture('s6-variant-hopcount-h46023-lrqping', '0002').toString('hex'));
    expect(resolver.calls).to.have.length(0);
  });

  it('handles the H.460.24/hopCount variant and passes hopCount to the resolver', async () => {
    const resolver = new CountingResolver(async () => ({ result: 'found' }));
    await start(resolver);
    await gk.send(lrqFrom(GNUGK_LRQ_H46024, gk), responder!.address());
    expect((await gk.nextRas()).choice).to.equal('locationConfirm');
    expect(resolver.calls[0]!.hopCount).to.equal(2);
  });

  it('refuses LRQs from sources that are not configured neighbours (LRJ securityDenial, counted)', async () => {
    const resolver = new CountingResolver(async () => ({ result: 'found' }));
    await start(resolver, {}, [{ name: 'gnugk', host: '127.0.0.9' }]);
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk), responder!.address());
    expect((await gk.nextRas()).value).to.deep.equal({ requestSeqNum: 1, rejectReason: { choice: 'securityDenial', value: null } });
    expect(resolver.calls).to.have.length(0);
    expect(await metricValue(reg, 'gw_ras_refused_total', { cause: 'unknownSource' })).to.equal(1);
  });

  it('refuses an LRQ naming another gatekeeperIdentifier than configured', async () => {
    await start(new StaticPrefixResolver(['9']), {}, [{ name: 'gnugk', host: '127.0.0.1', gatekeeperId: 'SomeOtherGK' }]);
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk), responder!.address());
    expect((await gk.nextRas()).value).to.deep.include({ rejectReason: { choice: 'securityDenial', value: null } });
    expect(await metricValue(reg, 'gw_ras_refused_total', { cause: 'gatekeeperId' })).to.equal(1);
  });

  it('sends RequestInProgress while a slow lookup runs, then the LCF', async () => {
    let release!: (a: LocationAnswer) => void;
    const resolver = new CountingResolver(() => new Promise((r) => (release = r)));
    await start(resolver, { ripAfterMs: 5, lookupTimeoutMs: 20000 });
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk), responder!.address());
    const rip = await gk.nextRas();
    expect(rip).to.deep.equal({ choice: 'requestInProgress', value: { requestSeqNum: 1, delay: 20000 } });
    release({ result: 'found', callSignalAddress: { host: '127.0.0.7', port: 11720 } });
    const lcf = await gk.nextRas();
    expect(lcf.choice).to.equal('locationConfirm');
    if (lcf.choice === 'locationConfirm') expect(transportToString(lcf.value.callSignalAddress)).to.equal('127.0.0.7:11720');
  });

  it('gives up a lookup after lookupTimeoutMs with LRJ resourceUnavailable and aborts the resolver', async () => {
    let aborted = false;
    const resolver = new CountingResolver(
      (_q, signal) =>
        new Promise(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
    );
    await start(resolver, { ripAfterMs: 10000, lookupTimeoutMs: 30 });
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk), responder!.address());
    expect((await gk.nextRas()).value).to.deep.include({ rejectReason: { choice: 'resourceUnavailable', value: null } });
    expect(aborted).to.equal(true);
  });

  it('treats GnuGk\'s byte-identical retries as one request: one lookup, same answer', async () => {
    let release: ((a: LocationAnswer) => void) | undefined;
    const resolver = new CountingResolver((q) => (q.neighbour === 'gnugk' ? new Promise((r) => (release = r)) : Promise.resolve({ result: 'found' })));
    other = await UdpPeer.open('127.0.0.2');
    await start(resolver, { ripAfterMs: 60000, lookupTimeoutMs: 60000 }, [
      { name: 'gnugk', host: '127.0.0.1' },
      { name: 'marker', host: '127.0.0.2' },
    ]);
    const lrq = lrqFrom(GNUGK_LRQ_9123, gk);
    await gk.send(lrq, responder!.address());
    await gk.send(lrq, responder!.address());
    // The marker's LRQ queues behind both copies; its answer means both were handled.
    await other.send(GNUGK_LRQ_9124, responder!.address());
    expect((await other.nextRas()).choice).to.equal('locationConfirm');
    expect(resolver.calls.filter((c) => c.neighbour === 'gnugk')).to.have.length(1);
    release!({ result: 'found' });
    const first = await gk.next();
    expect(decodeRas(first.bytes).choice).to.equal('locationConfirm');
    await gk.send(lrq, responder!.address()); // retry after the answer: replayed from cache
    const again = await gk.next();
    expect(again.bytes.equals(first.bytes)).to.equal(true);
    expect(resolver.calls.filter((c) => c.neighbour === 'gnugk')).to.have.length(1);
    expect(gk.pendingCount).to.equal(0);
  });

  it('takes a resolver\'s synchronous answer (locateNow) without calling locate()', async () => {
    const asked: LocationQuery[] = [];
    const resolver: AliasResolver = {
      locate: () => Promise.reject(new Error('locate() must not be called')),
      locateNow: (q) => {
        asked.push(q);
        return { result: 'notFound', reason: 'unallocatedNumber' };
      },
    };
    await start(resolver);
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk), responder!.address());
    expect((await gk.nextRas()).value).to.deep.equal({ requestSeqNum: 1, rejectReason: { choice: 'unallocatedNumber', value: null } });
    expect(asked).to.have.length(1);
    expect(asked[0]!.destinationStrings).to.deep.equal(['9123']);
    expect(asked[0]!.neighbour).to.equal('gnugk');
    expect(await metricValue(reg, 'gw_ras_rejects_total', { reason: 'unallocatedNumber' })).to.equal(1);
  });

  it('falls back to locate() when locateNow has no answer, and a throwing locateNow gives LRJ undefinedReason', async () => {
    let n = 0;
    const resolver: AliasResolver = {
      locate: async () => ({ result: 'found' }),
      locateNow: () => {
        if (n++ === 0) return undefined;
        throw new Error('table broken');
      },
    };
    await start(resolver);
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk, 1), responder!.address());
    expect((await gk.nextRas()).choice).to.equal('locationConfirm');
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk, 2), responder!.address());
    expect((await gk.nextRas()).value).to.deep.include({ rejectReason: { choice: 'undefinedReason', value: null } });
  });

  it('answers a retry of a synchronously answered LRQ from the cache, byte-identical', async () => {
    const resolver = new CountingResolver(async () => ({ result: 'found' }));
    const sync = new StaticPrefixResolver(['9']);
    let calls = 0;
    await start({ locate: (q, s) => resolver.locate(q, s), locateNow: (q) => (calls++, sync.locateNow(q)) });
    const lrq = lrqFrom(GNUGK_LRQ_9123, gk);
    await gk.send(lrq, responder!.address());
    const first = await gk.next();
    await gk.send(lrq, responder!.address());
    const again = await gk.next();
    expect(again.bytes.equals(first.bytes)).to.equal(true);
    expect(calls).to.equal(1);
    expect(resolver.calls).to.have.length(0);
  });

  it('answers at the sender, not at a replyAddress naming another host (no reflection)', async () => {
    await start(new StaticPrefixResolver(['9']));
    const m = decodeRas(GNUGK_LRQ_9123);
    if (m.choice === 'locationRequest') m.value.replyAddress = { choice: 'ipAddress', value: { ip: Uint8Array.from([192, 0, 2, 99]), port: 1719 } };
    await gk.send(encodeRas(m), responder!.address());
    const reply = await gk.next();
    expect(reply.from.port).to.equal(responder!.address().port);
    expect(decodeRas(reply.bytes).choice).to.equal('locationConfirm');
  });

  it('a failing resolver yields LRJ undefinedReason, not a crash', async () => {
    await start(new CountingResolver(() => Promise.reject(new Error('registrar down'))));
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk), responder!.address());
    expect((await gk.nextRas()).value).to.deep.include({ rejectReason: { choice: 'undefinedReason', value: null } });
  });

  it('drops and counts malformed datagrams and keeps serving', async () => {
    await start(new StaticPrefixResolver(['9']));
    await gk.send(Buffer.from('4a80ffff', 'hex'), responder!.address());
    await gk.send(Buffer.alloc(0), responder!.address());
    await gk.send(lrqFrom(GNUGK_LRQ_9123, gk), responder!.address());
    const reply = await gk.nextRas();
    expect(reply.choice).to.equal('locationConfirm'); // first datagram back answers the valid LRQ
    expect(await metricValue(reg, 'gw_ras_malformed_total', { component: 'neighbour' })).to.equal(2);
  });

  it('rate-limits a flooding source without starving another neighbour', async () => {
    other = await UdpPeer.open('127.0.0.2');
    await start(new StaticPrefixResolver(['9']), { rateLimit: { perSecond: 0.001, burst: 3 } }, [
      { name: 'a', host: '127.0.0.1' },
      { name: 'b', host: '127.0.0.2' },
    ]);
    for (let seq = 10; seq < 15; seq++) await gk.send(lrqFrom(GNUGK_LRQ_9123, gk, seq), responder!.address());
    // The other neighbour's LRQ is queued behind the flood, so its answer means the flood was processed.
    const m = decodeRas(lrqFrom(GNUGK_LRQ_9123, other, 99));
    if (m.choice === 'locationRequest') m.value.replyAddress = { choice: 'ipAddress', value: { ip: Uint8Array.from([127, 0, 0, 2]), port: other.port } };
    await other.send(encodeRas(m), responder!.address());
    const b: RasMessageValue = await other.nextRas();
    expect(b.choice).to.equal('locationConfirm');
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await gk.nextRas();
      if (r.choice === 'locationConfirm') seqs.push(r.value.requestSeqNum);
    }
    expect(seqs).to.deep.equal([10, 11, 12]);
    expect(gk.pendingCount).to.equal(0);
    expect(await metricValue(reg, 'gw_ras_refused_total', { cause: 'rateLimited' })).to.equal(2);
  });
});
