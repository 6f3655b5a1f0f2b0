/**
 * Loopback calls between two test endpoints on the lib/h323 stack, over real TCP/UDP on
 * 127.0.0.1: fastStart; slow start with tunnelled H.245; a separate H.245 connection; DTMF both
 * ways; release from either side; a refused call with its cause. Media is real G.711 RTP sent to
 * the negotiated addresses and counted at the far end.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { H323Endpoint, type EndpointCall, type EndpointOptions } from '../../lab/h323-endpoint/endpoint.js';
import { dial, dialTransport, H323Listener, type MediaInfo } from '../../../lib/h323/call/index.js';
import type { Codec } from '../../../lib/h323/h245/messages.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';

async function pair(a: EndpointOptions, b: EndpointOptions): Promise<{ caller: H323Endpoint; callee: H323Endpoint; port: number }> {
  const callee = new H323Endpoint(b);
  const { port } = await callee.listen(0);
  const caller = new H323Endpoint(a);
  return { caller, callee, port };
}

function nextCall(ep: H323Endpoint): Promise<EndpointCall> {
  return once(ep, 'call').then(([c]) => c as EndpointCall);
}

async function connected(c: EndpointCall): Promise<void> {
  if (c.call.state === 'active') return;
  await once(c.call, 'connected');
}

async function media(c: EndpointCall): Promise<void> {
  if (c.media) return;
  await once(c.call, 'media');
}

function dtmf(c: EndpointCall, n: number): Promise<string> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (c.dtmf.length >= n) {
        c.call.off('dtmf', check);
        resolve(c.dtmf.join(''));
      }
    };
    c.call.on('dtmf', check);
    check();
  });
}

describe('h323 loopback calls (two test endpoints)', function () {
  this.timeout(20_000);
  let eps: H323Endpoint[] = [];

  afterEach(async () => {
    for (const e of eps) await e.close();
    eps = [];
  });

  async function setup(a: EndpointOptions, b: EndpointOptions) {
    const p = await pair(a, b);
    eps.push(p.caller, p.callee);
    const incoming = nextCall(p.callee);
    const out = await p.caller.call('127.0.0.1', p.port, '9123');
    const inc = await incoming;
    return { ...p, out, inc };
  }

  it('fastStart with video: H.264 and H.263 proposed in session 2, the callee\'s preferred H.263 accepted, video RTP counted on both video ports', async () => {
    const o = { fastStart: true, rtpPackets: 10, rtpIntervalMs: 5, video: true } as const;
    const { out, inc } = await setup({ ...o, codecs: ['PCMA', 'H264', 'H263'] }, { ...o, codecs: ['PCMA', 'H263', 'H264'] });
    await Promise.all([connected(out), connected(inc), media(out), media(inc)]);
    // the callee prefers H.263: its choice wins (first of its codecs the caller proposed)
    expect(out.video).to.include({ codec: 'H263', via: 'fastStart' });
    expect(inc.video).to.include({ codec: 'H263', via: 'fastStart' });
    expect(out.video!.remoteRtp.port).to.equal(inc.videoRtp!.port);
    expect(inc.video!.remoteRtp.port).to.equal(out.videoRtp!.port);
    expect(out.media!.codec).to.equal('PCMA');
    await Promise.all([out.videoRtp!.receivedAtLeast(10), inc.videoRtp!.receivedAtLeast(10), out.rtp.receivedAtLeast(10), inc.rtp.receivedAtLeast(10)]);
    expect(out.videoRtp!.stats.invalid + inc.videoRtp!.stats.invalid).to.equal(0);
    out.call.hangup();
    await Promise.all([out.done, inc.done]);
  });

  it('fastStart with video offered to an audio-only callee: video dropped, the call goes on with audio', async () => {
    const { out, inc } = await setup(
      { fastStart: true, rtpPackets: 10, rtpIntervalMs: 5, video: true, codecs: ['PCMA', 'H264'] },
      { fastStart: true, rtpPackets: 10, rtpIntervalMs: 5, codecs: ['PCMA'] },
    );
    await Promise.all([connected(out), connected(inc), media(out), media(inc)]);
    expect(out.video).to.equal(undefined);
    expect(inc.video).to.equal(undefined);
    await Promise.all([out.rtp.receivedAtLeast(10), inc.rtp.receivedAtLeast(10)]);
    expect(out.videoRtp!.stats.received).to.equal(0);
    out.call.hangup();
    await Promise.all([out.done, inc.done]);
  });

  it('fastStart: media negotiated in the Setup/Connect exchange, RTP flows both ways, caller hangs up', async () => {
    const { out, inc } = await setup({ fastStart: true, rtpPackets: 10, rtpIntervalMs: 5 }, { fastStart: true, rtpPackets: 10, rtpIntervalMs: 5 });
    await Promise.all([connected(out), connected(inc), media(out), media(inc)]);
    expect(out.media!.via).to.equal('fastStart');
    expect(inc.media!.via).to.equal('fastStart');
    expect(out.media!.codec).to.equal('PCMU');
    expect(out.media!.remoteRtp.port).to.equal(inc.rtp.port);
    expect(inc.media!.remoteRtp.port).to.equal(out.rtp.port);
    await Promise.all([out.rtp.receivedAtLeast(10), inc.rtp.receivedAtLeast(10)]);
    expect(out.rtp.stats.invalid + inc.rtp.stats.invalid).to.equal(0);
    expect(inc.call.setup?.['h323-uu-pdu']['h323-message-body'].choice).to.equal('setup');
    expect(inc.call.calledNumber).to.equal('9123');
    out.call.hangup();
    const [a, b] = await Promise.all([out.done, inc.done]);
    expect(a).to.include({ cause: 16, by: 'local' });
    expect(b).to.include({ cause: 16, by: 'remote' });
  });

  it('slow start with tunnelled H.245: TCS/MSD/OLC in H.225.0, DTMF both ways, callee hangs up', async () => {
    const { out, inc } = await setup({ fastStart: false, tunnel: true, rtpPackets: 5, rtpIntervalMs: 5 }, { fastStart: false, tunnel: true, rtpPackets: 5, rtpIntervalMs: 5 });
    await Promise.all([media(out), media(inc)]);
    expect(out.call.tunnelling).to.equal(true);
    expect(inc.call.tunnelling).to.equal(true);
    expect(out.media!.via).to.equal('h245');
    expect(inc.media!.via).to.equal('h245');
    expect(out.media!.remoteRtp.port).to.equal(inc.rtp.port);
    expect(inc.media!.remoteRtp.port).to.equal(out.rtp.port);
    await Promise.all([out.rtp.receivedAtLeast(5), inc.rtp.receivedAtLeast(5)]);
    out.call.sendDtmf('12#');
    inc.call.sendDtmf('9*');
    expect(await dtmf(inc, 3)).to.equal('12#');
    expect(await dtmf(out, 2)).to.equal('9*');
    inc.call.hangup(16);
    const [a, b] = await Promise.all([out.done, inc.done]);
    expect(a.by).to.equal('remote');
    expect(b.by).to.equal('local');
  });

  it('separate H.245 TCP connection (no tunnelling, no fastStart): media and DTMF', async () => {
    const { out, inc } = await setup({ fastStart: false, tunnel: false, rtpPackets: 5, rtpIntervalMs: 5 }, { fastStart: false, tunnel: false, rtpPackets: 5, rtpIntervalMs: 5 });
    await connected(out);
    // Sent before the H.245 connection exists: queued and delivered once it is up.
    expect(out.call.sendDtmf('0')).to.equal(true);
    await Promise.all([media(out), media(inc)]);
    expect(await dtmf(inc, 1)).to.equal('0');
    inc.dtmf.length = 0;
    expect(out.call.tunnelling).to.equal(false);
    expect(inc.call.tunnelling).to.equal(false);
    expect(out.media!.via).to.equal('h245');
    await Promise.all([out.rtp.receivedAtLeast(5), inc.rtp.receivedAtLeast(5)]);
    out.call.sendDtmf('5');
    expect(await dtmf(inc, 1)).to.equal('5');
    inc.call.sendDtmf('7');
    expect(await dtmf(out, 1)).to.equal('7');
    out.call.hangup();
    await Promise.all([out.done, inc.done]);
  });

  it('fastStart offered to a callee that refuses it falls back to tunnelled H.245', async () => {
    const { out, inc } = await setup({ fastStart: true }, { fastStart: false });
    await Promise.all([media(out), media(inc)]);
    expect(out.media!.via).to.equal('h245');
    inc.call.hangup();
    await Promise.all([out.done, inc.done]);
  });

  it('refused call: ReleaseComplete carries the cause to the caller', async () => {
    const p = await pair({}, { answer: { mode: 'reject', cause: 17 } });
    eps.push(p.caller, p.callee);
    const out = await p.caller.call('127.0.0.1', p.port, '555');
    const r = await out.done;
    expect(r).to.include({ cause: 17, by: 'remote' });
    expect(out.call.state).to.equal('released');
  });

  it('dials the callSignalAddress a listener advertises (as carried in LCF/ACF)', async () => {
    const callee = new H323Endpoint({});
    await callee.listen(0);
    const registry = isolatedRegistry();
    const incoming = nextCall(callee);
    const call = dialTransport(callee.listenerAddress()!, { codecs: ['PCMA'], media: { rtp: { host: '127.0.0.1', port: 41000 } }, registry });
    eps.push(callee);
    await once(call, 'connected');
    const inc = await incoming;
    expect(inc.call.direction).to.equal('incoming');
    const released = once(call, 'released');
    call.hangup();
    await Promise.all([released, inc.done]);
  });

  it('video: H.264 channels open both ways over tunnelled H.245 next to the audio ones', async () => {
    const registry = isolatedRegistry();
    const codecs: Codec[] = ['PCMU', 'H264'];
    let calleeVideo!: Promise<unknown[]>;
    const listener = new H323Listener({
      host: '127.0.0.1',
      port: 0,
      callOptions: { codecs, fastStart: false, registry, media: { rtp: { host: '127.0.0.1', port: 30000 }, video: { host: '127.0.0.1', port: 30100 } } },
      onCall: (c) => {
        calleeVideo = once(c, 'video');
        c.answer();
      },
    });
    const { port } = await listener.listen();
    try {
      const call = dial({ codecs, fastStart: false, registry, host: '127.0.0.1', port, media: { rtp: { host: '127.0.0.1', port: 31000 }, video: { host: '127.0.0.1', port: 31100 } } });
      const [[audio], [video]] = (await Promise.all([once(call, 'media'), once(call, 'video')])) as [[MediaInfo], [MediaInfo]];
      expect(audio).to.include({ codec: 'PCMU', via: 'h245' });
      expect(audio.remoteRtp.port).to.equal(30000);
      expect(video.codec).to.equal('H264');
      expect(video.remoteRtp.port).to.equal(30100);
      const [theirs] = (await calleeVideo) as [MediaInfo];
      expect(theirs.remoteRtp.port).to.equal(31100);
      const released = once(call, 'released');
      call.hangup();
      await released;
    } finally {
      await listener.close();
    }
  });

  it('no listener: the dialled call is released with cause 27', async () => {
    const probe = new H323Endpoint();
    const { port } = await probe.listen(0);
    await probe.close();
    const caller = new H323Endpoint();
    eps.push(caller);
    const out = await caller.call('127.0.0.1', port);
    const r = await out.done;
    expect(r.cause).to.equal(27);
  });
});
