/**
 * H.245 procedures without a network: two sessions wired back to back reach master/slave
 * agreement, exchange capabilities, open one audio channel each way with the right addresses,
 * pass DTMF; a session refuses channels with codecs it did not offer; identical MSD numbers are
 * retried; unanswered procedures time out.
 */
import { expect } from 'chai';
import { H245Session, type H245SessionEvents, type H245SessionOptions } from '../../../../lib/h323/call/h245-session.js';
import { decodeH245, encodeH245 } from '../../../../lib/h323/h245/codec.js';
import fc from 'fast-check';
import { codecOf, command, h245MessageKind, request, response, openLogicalChannel, openLogicalChannelAck, terminalCapabilitySet, type Codec } from '../../../../lib/h323/h245/messages.js';
import type { MultimediaSystemControlMessageValue, OpenLogicalChannelValue } from '../../../../lib/h323/h245/schema.js';
import { FakeTimers } from '../q931/helpers/loopback.js';

interface Side {
  s: H245Session;
  sent: MultimediaSystemControlMessageValue[];
  tx: Array<{ codec: Codec; port: number }>;
  rx: Codec[];
  dtmf: string[];
  failures: string[];
  ended: number;
}

function side(
  codecs: Codec[],
  port: number,
  timers: FakeTimers,
  random: () => number,
  deliver: (m: MultimediaSystemControlMessageValue) => void,
  videoPort?: number,
  extra: Partial<H245SessionOptions> = {},
): Side {
  const out: Side = { sent: [], tx: [], rx: [], dtmf: [], failures: [], ended: 0 } as unknown as Side;
  const ev: H245SessionEvents = {
    send: (m) => {
      // Everything goes through the real encoder and decoder.
      const wire = decodeH245(encodeH245(m));
      out.sent.push(wire);
      deliver(wire);
    },
    onTransmit: (t) => out.tx.push({ codec: t.codec, port: t.rtp.port }),
    onReceive: (r) => out.rx.push(r.codec),
    onDtmf: (d) => out.dtmf.push(d),
    onEndSession: () => out.ended++,
    onFailure: (r) => out.failures.push(r),
  };
  const media = { rtp: { host: '127.0.0.1', port }, ...(videoPort ? { video: { host: '127.0.0.1', port: videoPort } } : {}) };
  out.s = new H245Session({ codecs, media, timers, random, ...extra }, ev);
  return out;
}

function wire(
  codecsA: Codec[], codecsB: Codec[], randA: () => number, randB: () => number, videoA?: number, videoB?: number,
  optsA: Partial<H245SessionOptions> = {}, optsB: Partial<H245SessionOptions> = {},
) {
  const timers = new FakeTimers();
  const queue: Array<() => void> = [];
  let a!: Side;
  let b!: Side;
  a = side(codecsA, 5000, timers, randA, (m) => queue.push(() => b.s.handle(m)), videoA, optsA);
  b = side(codecsB, 6000, timers, randB, (m) => queue.push(() => a.s.handle(m)), videoB, optsB);
  const pump = (): void => {
    for (let i = 0; i < 1000 && queue.length > 0; i++) queue.shift()!();
  };
  return { a, b, timers, pump };
}

describe('h323/call H.245 session', () => {
  it('back to back: MSD agrees, TCS exchanged, one channel each way with the peer addresses, DTMF, end session', () => {
    const { a, b, pump } = wire(['PCMA', 'PCMU'], ['PCMU', 'PCMA', 'G729'], () => 100, () => 200);
    a.s.start();
    b.s.start();
    pump();
    expect(a.s.isMaster).to.not.equal(b.s.isMaster);
    // One codec both ways, without a reopen: the master opens in the slave's preference, the
    // slave waits for that channel and opens in the same codec.
    const slaveCodec = a.s.isMaster ? 'PCMU' : 'PCMA';
    expect(a.tx).to.deep.equal([{ codec: slaveCodec, port: 6000 }]);
    expect(b.tx).to.deep.equal([{ codec: slaveCodec, port: 5000 }]);
    expect(a.rx).to.deep.equal([slaveCodec]);
    expect(b.rx).to.deep.equal([slaveCodec]);
    a.s.sendDtmf('1#');
    b.s.sendDtmf('A');
    pump();
    expect(b.dtmf).to.deep.equal(['1', '#']);
    expect(a.dtmf).to.deep.equal(['A']);
    a.s.end();
    pump();
    expect(b.ended).to.equal(1);
    expect(a.failures.concat(b.failures)).to.deep.equal([]);
  });

  it('video: with video ports on both sides, an H.264 channel opens each way next to audio', () => {
    const { a, b, pump } = wire(['PCMU', 'H264'], ['PCMU', 'H263', 'H264'], () => 1, () => 2, 5100, 6100);
    a.s.start();
    b.s.start();
    pump();
    // (in either order: a slave's audio channel waits for the master's, its video does not)
    expect(a.tx).to.have.deep.members([
      { codec: 'PCMU', port: 6000 },
      { codec: 'H264', port: 6100 },
    ]);
    expect(b.tx).to.have.deep.members([
      { codec: 'PCMU', port: 5000 },
      { codec: 'H264', port: 5100 },
    ]);
    expect(a.rx).to.have.members(['PCMU', 'H264']);
  });

  it('video refused by a side without a video port: the call stays audio-only, no failure', () => {
    const { a, b, pump } = wire(['PCMU', 'H264'], ['PCMU', 'H264'], () => 1, () => 2, 5100, undefined);
    a.s.start();
    b.s.start();
    pump();
    expect(a.tx).to.deep.equal([{ codec: 'PCMU', port: 6000 }]);
    expect(b.sent.map(h245MessageKind)).to.include('response.openLogicalChannelReject');
    expect(a.failures.concat(b.failures)).to.deep.equal([]);
  });

  it('only one side starts: the other answers and starts too', () => {
    const { a, b, pump } = wire(['PCMU'], ['PCMU'], () => 1, () => 2);
    a.s.start();
    pump();
    expect(a.tx).to.have.length(1);
    expect(b.tx).to.have.length(1);
  });

  it('identical status determination numbers are rejected and retried with new ones', () => {
    let n = 0;
    const seq = [7, 7, 9, 1];
    const { a, b, pump } = wire(['PCMU'], ['PCMU'], () => seq[n++ % 4]!, () => seq[n++ % 4]!);
    a.s.start();
    b.s.start();
    pump();
    expect(a.sent.map(h245MessageKind)).to.include('response.masterSlaveDeterminationReject');
    expect(a.s.isMaster).to.not.equal(b.s.isMaster);
    expect(a.tx).to.have.length(1);
  });

  it('no common audio codec: the capability exchange ends in a failure', () => {
    const { a, b, pump } = wire(['PCMA'], ['G729'], () => 1, () => 2);
    a.s.start();
    b.s.start();
    pump();
    expect(a.failures.concat(b.failures).join()).to.match(/no common audio codec/);
  });

  it('an OLC with a codec we did not offer is rejected (dataTypeNotSupported)', () => {
    const timers = new FakeTimers();
    const s = side(['PCMU'], 5000, timers, () => 1, () => undefined);
    s.s.handle(request('openLogicalChannel', openLogicalChannel({ channel: 9, codec: 'G722', rtcp: { host: '127.0.0.1', port: 7001 } })));
    expect(s.sent.map(h245MessageKind)).to.deep.equal(['response.openLogicalChannelReject']);
    expect(s.rx).to.deep.equal([]);
  });

  it('unanswered TerminalCapabilitySet times out after timeoutMs', () => {
    const timers = new FakeTimers();
    const s = side(['PCMU'], 5000, timers, () => 1, () => undefined);
    s.s.start();
    timers.advance(9999);
    expect(s.failures).to.deep.equal([]);
    timers.advance(1);
    expect(s.failures[0]).to.match(/timeout/);
  });

  it('answers requests it does not act on: loop reject, multiplex reject, FunctionNotUnderstood', () => {
    const timers = new FakeTimers();
    const s = side(['PCMU'], 5000, timers, () => 1, () => undefined);
    s.s.handle(request('maintenanceLoopRequest', { type: { choice: 'systemLoop', value: null } }));
    s.s.handle(request('requestMultiplexEntry', { entryNumbers: [1, 2] }));
    s.s.handle(request('genericRequest', { messageIdentifier: { choice: 'standard', value: '0.0.8.460.18' } }));
    s.s.handle({ choice: 'request', value: { choice: '$unknown', index: 9, value: Uint8Array.of(7) } });
    expect(s.sent.map(h245MessageKind)).to.deep.equal([
      'response.maintenanceLoopReject',
      'response.requestMultiplexEntryReject',
      'indication.functionNotUnderstood',
      'indication.functionNotUnderstood',
    ]);
  });

  it('SendTerminalCapabilitySet makes it send its capabilities again; RequestChannelClose is acked', () => {
    const timers = new FakeTimers();
    const s = side(['PCMU'], 5000, timers, () => 1, () => undefined);
    s.s.start();
    s.s.handle(command('sendTerminalCapabilitySet', { choice: 'genericRequest', value: null }));
    s.s.handle(request('requestChannelClose', { forwardLogicalChannelNumber: 101 }));
    expect(s.sent.map(h245MessageKind)).to.deep.equal([
      'request.terminalCapabilitySet',
      'request.masterSlaveDetermination',
      'request.terminalCapabilitySet',
      'response.requestChannelCloseAck',
    ]);
  });

  it('round trip delay requests are answered with the same sequence number', () => {
    const timers = new FakeTimers();
    const s = side(['PCMU'], 5000, timers, () => 1, () => undefined);
    s.s.handle(request('roundTripDelayRequest', { sequenceNumber: 42 }));
    expect(s.sent).to.deep.equal([{ choice: 'response', value: { choice: 'roundTripDelayResponse', value: { sequenceNumber: 42 } } }]);
  });
});

/**
 * One codec both ways (interop capture B1): an H323Plus terminal preferring u-law opened g711U
 * towards the gateway while the gateway sent g711A; FreeSWITCH, told only of A-law, dropped all the
 * terminal's audio. The session now reopens its audio channel in the peer's codec; as master only
 * after leaving a following peer the chance to move first, so two such sessions never swap.
 */
describe('h323/call H.245 session: one audio codec both ways', () => {
  const GATEWAY = { terminalType: 60 };
  const H323PLUS_TERMINAL = { terminalType: 50, followPeerCodec: false };
  const last = <T>(xs: T[]): T | undefined => xs[xs.length - 1];

  it('B1: an H323Plus terminal preferring u-law (both laws offered), the gateway master preferring A-law: the gateway opens u-law, no reopen', () => {
    const { a: gw, b: term, pump, timers } = wire(['PCMA', 'PCMU'], ['PCMU', 'PCMA'], () => 1, () => 2, undefined, undefined, GATEWAY, H323PLUS_TERMINAL);
    gw.s.start();
    term.s.start();
    pump();
    timers.advance(1000);
    pump();
    expect(gw.s.isMaster).to.equal(true);
    expect(gw.tx.map((t) => t.codec)).to.deep.equal(['PCMU']);
    expect(term.tx.map((t) => t.codec)).to.deep.equal(['PCMU']);
    expect(gw.sent.map(h245MessageKind)).to.not.include('request.closeLogicalChannel');
  });

  it('a peer that opens another codec than it lists first: the gateway (master) reopens in it after masterFollowDelayMs', () => {
    const timers = new FakeTimers();
    const gw = side(['PCMA', 'PCMU'], 5000, timers, () => 1, () => undefined, undefined, GATEWAY);
    gw.s.start();
    gw.s.handle(request('terminalCapabilitySet', terminalCapabilitySet({ sequenceNumber: 1, codecs: ['PCMA', 'PCMU'] })));
    gw.s.handle(response('terminalCapabilitySetAck', { sequenceNumber: 1 }));
    gw.s.handle(request('masterSlaveDetermination', { terminalType: 50, statusDeterminationNumber: 5 }));
    expect(gw.s.isMaster).to.equal(true);
    gw.s.handle(request('openLogicalChannel', openLogicalChannel({ channel: 1, codec: 'PCMU', rtcp: { host: '127.0.0.1', port: 7001 } })));
    const olcCodecs = (): Array<Codec | undefined> => gw.sent
      .filter((m) => h245MessageKind(m) === 'request.openLogicalChannel')
      .map((m) => codecOf((m.value as { value: OpenLogicalChannelValue }).value.forwardLogicalChannelParameters.dataType));
    expect(olcCodecs()).to.deep.equal(['PCMA']);
    timers.advance(249);
    expect(gw.sent.map(h245MessageKind)).to.not.include('request.closeLogicalChannel');
    timers.advance(1);
    const kinds = gw.sent.map(h245MessageKind);
    expect(kinds.slice(kinds.indexOf('request.closeLogicalChannel'))).to.deep.equal(['request.closeLogicalChannel', 'request.openLogicalChannel']);
    const clc = gw.sent.find((m) => h245MessageKind(m) === 'request.closeLogicalChannel')!;
    expect((clc.value as { value: { forwardLogicalChannelNumber: number } }).value.forwardLogicalChannelNumber).to.equal(101);
    expect(olcCodecs()).to.deep.equal(['PCMA', 'PCMU']);
    // The new channel's ack tells the call to re-point its media in u-law.
    gw.s.handle(response('openLogicalChannelAck', openLogicalChannelAck(102, { host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 })));
    expect(gw.tx.map((t) => t.codec)).to.deep.equal(['PCMU']);
    expect(gw.failures).to.deep.equal([]);
  });

  it('as slave: waits for the master\'s channel and opens in its codec, no timer needed', () => {
    const { a: gw, b: mcu, pump } = wire(['PCMA', 'PCMU'], ['PCMU', 'PCMA'], () => 1, () => 2, undefined, undefined, GATEWAY, { terminalType: 160, followPeerCodec: false });
    gw.s.start();
    mcu.s.start();
    pump();
    expect(gw.s.isMaster).to.equal(false);
    expect(gw.tx.map((t) => t.codec)).to.deep.equal(['PCMU']);
    expect(gw.sent.map(h245MessageKind)).to.not.include('request.closeLogicalChannel');
    expect(last(mcu.rx)).to.equal('PCMU');
  });

  it('as slave: a master that opens no audio channel within slaveWaitMs gets ours anyway, in its preferred codec', () => {
    const timers = new FakeTimers();
    const gw = side(['PCMA', 'PCMU'], 5000, timers, () => 1, () => undefined, undefined, GATEWAY);
    gw.s.start();
    gw.s.handle(request('terminalCapabilitySet', terminalCapabilitySet({ sequenceNumber: 1, codecs: ['PCMU', 'PCMA'] })));
    gw.s.handle(response('terminalCapabilitySetAck', { sequenceNumber: 1 }));
    gw.s.handle(request('masterSlaveDetermination', { terminalType: 160, statusDeterminationNumber: 5 }));
    expect(gw.s.isMaster).to.equal(false);
    expect(gw.sent.map(h245MessageKind)).to.not.include('request.openLogicalChannel');
    timers.advance(500);
    const olcs = gw.sent.filter((m) => h245MessageKind(m) === 'request.openLogicalChannel');
    expect(olcs).to.have.length(1);
    expect(codecOf((olcs[0]!.value as { value: OpenLogicalChannelValue }).value.forwardLogicalChannelParameters.dataType)).to.equal('PCMU');
  });

  it('the peer\'s channel already open when ours is due: ours opens in its codec, nothing to reopen', () => {
    const timers = new FakeTimers();
    const gw = side(['PCMA', 'PCMU'], 5000, timers, () => 1, () => undefined, undefined, GATEWAY);
    gw.s.handle(request('terminalCapabilitySet', terminalCapabilitySet({ sequenceNumber: 1, codecs: ['PCMU', 'PCMA'] })));
    gw.s.handle(request('openLogicalChannel', openLogicalChannel({ channel: 1, codec: 'PCMU', rtcp: { host: '127.0.0.1', port: 7001 } })));
    gw.s.handle(response('terminalCapabilitySetAck', { sequenceNumber: 1 }));
    gw.s.handle(request('masterSlaveDetermination', { terminalType: 50, statusDeterminationNumber: 5 }));
    const olcs = gw.sent.filter((m) => h245MessageKind(m) === 'request.openLogicalChannel');
    expect(olcs).to.have.length(1);
    expect(codecOf((olcs[0]!.value as { value: OpenLogicalChannelValue }).value.forwardLogicalChannelParameters.dataType)).to.equal('PCMU');
  });

  it('a peer that cannot receive the codec it sends: our channel stays as it is', () => {
    const timers = new FakeTimers();
    const gw = side(['PCMA', 'PCMU'], 5000, timers, () => 1, () => undefined, undefined, GATEWAY);
    gw.s.handle(request('terminalCapabilitySet', terminalCapabilitySet({ sequenceNumber: 1, codecs: ['PCMA'] })));
    gw.s.handle(response('terminalCapabilitySetAck', { sequenceNumber: 1 }));
    gw.s.handle(request('masterSlaveDetermination', { terminalType: 50, statusDeterminationNumber: 5 }));
    gw.s.handle(request('openLogicalChannel', openLogicalChannel({ channel: 1, codec: 'PCMU', rtcp: { host: '127.0.0.1', port: 7001 } })));
    timers.advance(1000);
    const kinds = gw.sent.map(h245MessageKind);
    expect(kinds.filter((k) => k === 'request.openLogicalChannel')).to.have.length(1);
    expect(kinds).to.not.include('request.closeLogicalChannel');
  });

  it('followPeerCodec false keeps our own choice (H323Plus behaviour, for the lab endpoint)', () => {
    const { a, b, pump, timers } = wire(['PCMA', 'PCMU'], ['PCMU', 'PCMA'], () => 1, () => 2, undefined, undefined, { terminalType: 60, followPeerCodec: false }, H323PLUS_TERMINAL);
    a.s.start();
    b.s.start();
    pump();
    timers.advance(1000);
    pump();
    expect(a.tx.map((t) => t.codec)).to.deep.equal(['PCMA']);
    expect(b.tx.map((t) => t.codec)).to.deep.equal(['PCMU']);
  });

  it('property: whatever the codec orders, roles and message interleaving, if one side follows both directions end in one codec, reopened at most once per side', () => {
    const codec = fc.constantFrom<Codec>('PCMA', 'PCMU', 'G729');
    fc.assert(
      fc.property(
        fc.uniqueArray(codec, { minLength: 1, maxLength: 3 }), fc.uniqueArray(codec, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(50, 60), fc.constantFrom(50, 60), fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 0xffffff }),
        fc.constantFrom<[boolean, boolean]>([true, true], [true, false], [false, true]), fc.array(fc.boolean(), { maxLength: 200 }),
        (ca, cb, ta, tb, na, nb, [fa, fb], order) => {
          fc.pre(ca.some((c) => cb.includes(c)) && (ta !== tb || (((na - nb + 0x1000000) % 0x1000000) % 0x800000) !== 0));
          const timers = new FakeTimers();
          // Two TCP directions, each in order; which one delivers next is the interleaving.
          const toB: Array<() => void> = [];
          const toA: Array<() => void> = [];
          let a!: Side;
          let b!: Side;
          a = side(ca, 5000, timers, () => na, (m) => toB.push(() => b.s.handle(m)), undefined, { terminalType: ta, followPeerCodec: fa });
          b = side(cb, 6000, timers, () => nb, (m) => toA.push(() => a.s.handle(m)), undefined, { terminalType: tb, followPeerCodec: fb });
          a.s.start();
          b.s.start();
          let i = 0;
          const drain = (): void => {
            for (let n = 0; n < 2000 && (toA.length > 0 || toB.length > 0); n++) {
              const pickA = toB.length === 0 || (toA.length > 0 && (order[i++ % Math.max(order.length, 1)] ?? true));
              (pickA ? toA : toB).shift()!();
            }
          };
          drain();
          timers.advance(1000); // the master's follow delay; the 10 s procedure timeouts stay away
          drain();
          expect(a.failures.concat(b.failures)).to.deep.equal([]);
          expect(last(a.tx)?.codec, 'a sends').to.equal(last(a.rx));
          expect(last(b.tx)?.codec, 'b sends').to.equal(last(b.rx));
          expect(last(a.tx)?.codec).to.equal(last(b.tx)?.codec);
          expect(a.tx.length).to.be.at.most(2);
          expect(b.tx.length).to.be.at.most(2);
        },
      ),
      { numRuns: 300 },
    );
  });
});
