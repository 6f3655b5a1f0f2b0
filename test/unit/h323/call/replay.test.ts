/**
 * Interop by replay: the GnuGk side of the captured s4 call (GnuGk -> "gateway" 127.0.0.4:1720,
 * the flow our gateway answers) is played frame by frame against our incoming call; our answers
 * must be what an H.323 callee sends: CallProceeding, Connect with tunnelling kept, our TCS/MSD
 * tunnelled, acks for GnuGk's TCS and MSD, an OLC with a common G.711 codec, an OLCAck with our
 * RTP/RTCP addresses for the OLC GnuGk opened; GnuGk's ReleaseComplete releases the call.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { isolatedRegistry } from '../../../../lib/metrics/registry.js';
import { H323Call, type ReleaseInfo } from '../../../../lib/h323/call/index.js';
import { MessageType, decodeQ931, decodeUserUser, encodeUserUser, type Q931Message } from '../../../../lib/h323/q931/index.js';
import { TpktChannel } from '../../../../lib/h323/tpkt/channel.js';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { h225UserUserCodec, ipTransport, transportToHostPort, uuieBody } from '../../../../lib/h323/h225/codec.js';
import { decodeH245 } from '../../../../lib/h323/h245/codec.js';
import { ackMediaChannel, h245MessageKind, pick } from '../../../../lib/h323/h245/messages.js';
import type { MultimediaSystemControlMessageValue } from '../../../../lib/h323/h245/schema.js';
import { FakeTimers, loopback, type Loopback } from '../q931/helpers/loopback.js';
import { segment } from '../q931/helpers/fixtures.js';
import { Peer } from './helpers.js';

const S4 = 's4-call-via-neighbour-lcf';

function h245Of(m: Q931Message): MultimediaSystemControlMessageValue[] {
  const uu = decodeUserUser(m, h225UserUserCodec);
  return uu.ok ? (uu.value['h323-uu-pdu'].h245Control ?? []).map((b) => decodeH245(b)) : [];
}

describe('h323/call: replay of the captured GnuGk call against our callee', () => {
  let lb: Loopback;
  let peer: Peer;
  let call: H323Call | undefined;
  const timers = new FakeTimers();

  beforeEach(async () => {
    lb = await loopback();
    peer = new Peer(lb, timers, 'client');
  });
  afterEach(async () => {
    call?.removeAllListeners();
    await lb.close();
  });

  /** Collect tunnelled H.245 sent by our call until `n` messages arrived. */
  async function h245From(n: number): Promise<MultimediaSystemControlMessageValue[]> {
    const out: MultimediaSystemControlMessageValue[] = [];
    while (out.length < n) out.push(...h245Of(await peer.next(MessageType.Facility)));
    return out;
  }

  it('answers GnuGk the way an H.323 callee must', async () => {
    let offered: H323Call | undefined;
    call = new H323Call(
      lb.server,
      'incoming',
      // followPeerCodec off: the recording was made with our channel opening at once in our first
      // codec (the choice that keeps one codec both ways is covered in test/unit/h323/h245).
      { codecs: ['PCMU', 'PCMA'], media: { rtp: { host: '127.0.0.1', port: 42000 } }, timers, registry: isolatedRegistry(), fastStart: true, followPeerCodec: false },
      (c) => (offered = c),
    );
    const receiving = once(call, 'receiving');
    const released = once(call, 'released');
    lb.client.write(segment(S4, '0017-').bytes);
    await peer.next(MessageType.CallProceeding);
    expect(offered).to.equal(call);
    expect(call.calledNumber).to.equal('9123');
    expect(call.tunnelling).to.equal(true);
    call.answer();
    const connect = await peer.next(MessageType.Connect);
    const cu = decodeUserUser(connect, h225UserUserCodec);
    expect(cu.ok && cu.value['h323-uu-pdu'].h245Tunnelling).to.equal(true);
    expect((await h245From(2)).map(h245MessageKind)).to.deep.equal(['request.terminalCapabilitySet', 'request.masterSlaveDetermination']);

    lb.client.write(segment(S4, '0028-').bytes); // GnuGk's TCS
    expect((await h245From(1)).map(h245MessageKind)).to.deep.equal(['response.terminalCapabilitySetAck']);

    lb.client.write(segment(S4, '0033-').bytes); // MSD + TCSAck + MSDAck
    const afterMsd = await h245From(2);
    expect(afterMsd.map(h245MessageKind)).to.deep.equal(['response.masterSlaveDeterminationAck', 'request.openLogicalChannel']);
    const olc = pick(afterMsd[1]!, 'request', 'openLogicalChannel')!;
    expect(olc.forwardLogicalChannelParameters.dataType).to.deep.equal({ choice: 'audioData', value: { choice: 'g711Ulaw64k', value: 20 } });

    lb.client.write(segment(S4, '0042-').bytes); // GnuGk opens its channel to us
    const [ack] = await h245From(1);
    const olcAck = pick(ack!, 'response', 'openLogicalChannelAck')!;
    expect(ackMediaChannel(olcAck)).to.deep.equal({ host: '127.0.0.1', port: 42000 });
    expect((await receiving)[0]).to.have.property('codec');

    lb.client.write(segment(S4, '0743-').bytes); // ReleaseComplete + EndSessionCommand
    const [info] = (await released) as [ReleaseInfo];
    expect(info.by).to.equal('remote');
    expect(info.cause).to.equal(16);
  });
});

describe('h323/call: every captured GnuGk Setup towards the gateway is offered and answered', () => {
  const setups: Array<[string, string]> = [
    ['s4-call-via-neighbour-lcf', '0017-'],
    ['s5-unregistered-setup-via-neighbour', '0011-'],
    ['s7-statusport-makecall', '0069-'],
  ];
  for (const [scenario, prefix] of setups) {
    it(`${scenario}/${prefix}: CallProceeding, then Connect with tunnelling on`, async () => {
      const lb = await loopback();
      const timers = new FakeTimers();
      const peer = new Peer(lb, timers, 'client');
      const call = new H323Call(lb.server, 'incoming', {
        codecs: ['PCMA', 'PCMU'],
        media: { rtp: { host: '127.0.0.1', port: 42000 } },
        timers,
        registry: isolatedRegistry(),
      });
      try {
        lb.client.write(segment(scenario, prefix).bytes);
        await peer.next(MessageType.CallProceeding);
        expect(call.state).to.equal('offered');
        expect(call.calledNumber).to.equal('9123');
        call.ring();
        await peer.next(MessageType.Alerting);
        call.answer();
        const connect = await peer.next(MessageType.Connect);
        const uu = decodeUserUser(connect, h225UserUserCodec);
        expect(uu.ok && uu.value['h323-uu-pdu'].h245Tunnelling).to.equal(true);
        const released = once(call, 'released');
        call.hangup();
        await released;
        expect((await peer.next(MessageType.ReleaseComplete)).messageType).to.equal(MessageType.ReleaseComplete);
      } finally {
        call.removeAllListeners();
        await lb.close();
      }
    });
  }
});

describe('h323/call: replay of the captured gateway answers against our caller', () => {
  let lb: Loopback;
  let peer: Peer;
  let call: H323Call | undefined;
  const timers = new FakeTimers();

  beforeEach(async () => {
    lb = await loopback();
    peer = new Peer(lb, timers, 'server');
  });
  afterEach(async () => {
    call?.removeAllListeners();
    await lb.close();
  });

  async function h245From(n: number): Promise<MultimediaSystemControlMessageValue[]> {
    const out: MultimediaSystemControlMessageValue[] = [];
    while (out.length < n) out.push(...h245Of(await peer.next(MessageType.Facility)));
    return out;
  }

  it('falls back from fastStart to tunnelled H.245 and gets media from the H323Plus OLCAck', async () => {
    call = new H323Call(lb.client, 'outgoing', {
      codecs: ['PCMU', 'PCMA'],
      // The recordings were made with our channel opening at once in our first codec; the codec
      // choice that keeps both directions in one codec is covered in test/unit/h323/h245.
      followPeerCodec: false,
      media: { rtp: { host: '127.0.0.1', port: 43000 } },
      timers,
      registry: isolatedRegistry(),
    });
    const media = once(call, 'media');
    const released = once(call, 'released');
    call.start({ calledNumber: '9123' });
    await peer.next(MessageType.Setup);
    lb.server.write(segment(S4, '0019-').bytes); // CallProceeding
    await once(call, 'proceeding');
    lb.server.write(segment(S4, '0023-').bytes); // Connect (fastConnectRefused) + TCS + MSD
    await once(call, 'connected');
    const first = (await h245From(4)).map(h245MessageKind);
    expect(first).to.have.members([
      'request.terminalCapabilitySet',
      'request.masterSlaveDetermination',
      'response.terminalCapabilitySetAck',
      'response.masterSlaveDeterminationAck',
    ]);
    lb.server.write(segment(S4, '0032-').bytes); // TCSAck for our TCS
    const [olc] = await h245From(1);
    expect(pick(olc!, 'request', 'openLogicalChannel')?.forwardLogicalChannelNumber).to.equal(101);
    lb.server.write(segment(S4, '0035-').bytes); // MSDAck
    lb.server.write(segment(S4, '0036-').bytes); // the gateway opens its channel (G.711 A-law)
    const [ack] = await h245From(1);
    expect(ackMediaChannel(pick(ack!, 'response', 'openLogicalChannelAck')!)).to.deep.equal({ host: '127.0.0.1', port: 43000 });
    lb.server.write(segment(S4, '0045-').bytes); // OLCAck for channel 101: where we send
    const [m] = (await media) as [{ via: string; remoteRtp: { port: number } }];
    expect(m.via).to.equal('h245');
    expect(m.remoteRtp.port).to.equal(5000);
    lb.server.write(segment(S4, '0746-').bytes); // ReleaseComplete + EndSessionCommand
    expect(((await released) as [ReleaseInfo])[0].by).to.equal('remote');
  });
});

describe('h323/call: replay of the captured separate-H.245 answer (s3b) against our caller', () => {
  let lb: Loopback;
  let peer: Peer;
  let call: H323Call | undefined;
  let h245Server: Server | undefined;
  const timers = new FakeTimers();
  const S3B = 's3b-call-h245-separate-tcp';

  beforeEach(async () => {
    lb = await loopback();
    peer = new Peer(lb, timers, 'server');
  });
  afterEach(async () => {
    call?.removeAllListeners();
    await lb.close();
    await new Promise<void>((r) => (h245Server ? h245Server.close(() => r()) : r()));
  });

  it('connects to the h245Address in Connect and runs H.245 on that connection', async () => {
    // The H.245 side of the captured callee, on a real listener; the captured Connect is re-encoded
    // with its h245Address pointing there.
    h245Server = createServer();
    h245Server.listen(0, '127.0.0.1');
    await once(h245Server, 'listening');
    const port = (h245Server.address() as AddressInfo).port;
    const accepted = once(h245Server, 'connection') as Promise<[Socket]>;

    call = new H323Call(lb.client, 'outgoing', {
      codecs: ['PCMU', 'PCMA'],
      // The recordings were made with our channel opening at once in our first codec; the codec
      // choice that keeps both directions in one codec is covered in test/unit/h323/h245.
      followPeerCodec: false,
      media: { rtp: { host: '127.0.0.1', port: 44000 } },
      timers,
      registry: isolatedRegistry(),
      fastStart: false,
      tunnel: false,
    });
    const media = once(call, 'media');
    const released = once(call, 'released');
    call.start();
    await peer.next(MessageType.Setup);
    lb.server.write(segment(S3B, '0021-').bytes);
    const connect = decodeQ931(segment(S3B, '0027-').bytes.subarray(4));
    if (!connect.ok) throw new Error('fixture');
    const uu = decodeUserUser(connect.value, h225UserUserCodec);
    if (!uu.ok) throw new Error('fixture');
    const body = uuieBody(uu.value, 'connect')!;
    expect(transportToHostPort(body.h245Address)).to.deep.equal({ host: '127.0.0.3', port: 50059 });
    body.h245Address = ipTransport('127.0.0.1', port);
    const moved = encodeUserUser(connect.value, h225UserUserCodec, uu.value);
    if (!moved.ok) throw new Error(moved.error);
    peer.ch.send(moved.value);

    const [sock] = await accepted;
    const got: MultimediaSystemControlMessageValue[] = [];
    let wake: (() => void) | undefined;
    const link = new TpktChannel(sock, { onFrame: (f) => (got.push(decodeH245(f)), wake?.()) }, { timers, registry: isolatedRegistry(), channel: 'h245' });
    const receive = async (n: number): Promise<string[]> => {
      while (got.length < n) await new Promise<void>((r) => (wake = r));
      return got.splice(0, n).map(h245MessageKind);
    };
    expect(await receive(2)).to.deep.equal(['request.terminalCapabilitySet', 'request.masterSlaveDetermination']);
    for (const f of ['0034-', '0036-']) sock.write(segment(S3B, f).bytes); // callee's TCS and MSD
    expect(await receive(2)).to.deep.equal(['response.terminalCapabilitySetAck', 'response.masterSlaveDeterminationAck']);
    for (const f of ['0042-', '0043-']) sock.write(segment(S3B, f).bytes); // acks for ours
    expect(await receive(1)).to.deep.equal(['request.openLogicalChannel']);
    sock.write(segment(S3B, '0047-').bytes); // callee's OLC
    expect(await receive(1)).to.deep.equal(['response.openLogicalChannelAck']);
    sock.write(segment(S3B, '0049-').bytes); // OLCAck for our channel 101
    const [m] = (await media) as [{ via: string; remoteRtp: { host: string; port: number } }];
    expect(m.via).to.equal('h245');
    expect(m.remoteRtp.host).to.equal('127.0.0.3');
    sock.write(segment(S3B, '0749-').bytes); // EndSessionCommand
    expect(await receive(1)).to.deep.equal(['command.endSessionCommand']);
    sock.end(); // H323Plus closes H.245 first: the call waits for the ReleaseComplete and its cause
    lb.server.write(segment(S3B, '0750-').bytes); // ReleaseComplete, cause 16
    expect(((await released) as [ReleaseInfo])[0]).to.deep.equal({ cause: 16, by: 'remote' });
    expect(peer.got.filter((x) => x.messageType === MessageType.ReleaseComplete)).to.have.length(0);
    link.close();
    sock.destroy();
  });
});
