/**
 * H.245 procedures without a network: two sessions wired back to back reach master/slave
 * agreement, exchange capabilities, open one audio channel each way with the right addresses,
 * pass DTMF; a session refuses channels with codecs it did not offer; identical MSD numbers are
 * retried; unanswered procedures time out.
 */
import { expect } from 'chai';
import { H245Session, type H245SessionEvents } from '../../../../lib/h323/call/h245-session.js';
import { decodeH245, encodeH245 } from '../../../../lib/h323/h245/codec.js';
import { command, h245MessageKind, request, openLogicalChannel, type Codec } from '../../../../lib/h323/h245/messages.js';
import type { MultimediaSystemControlMessageValue } from '../../../../lib/h323/h245/schema.js';
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
  out.s = new H245Session({ codecs, media, timers, random }, ev);
  return out;
}

function wire(codecsA: Codec[], codecsB: Codec[], randA: () => number, randB: () => number, videoA?: number, videoB?: number) {
  const timers = new FakeTimers();
  const queue: Array<() => void> = [];
  let a!: Side;
  let b!: Side;
  a = side(codecsA, 5000, timers, randA, (m) => queue.push(() => b.s.handle(m)), videoA);
  b = side(codecsB, 6000, timers, randB, (m) => queue.push(() => a.s.handle(m)), videoB);
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
    expect(a.tx).to.deep.equal([{ codec: 'PCMA', port: 6000 }]);
    expect(b.tx).to.deep.equal([{ codec: 'PCMU', port: 5000 }]);
    expect(a.rx).to.deep.equal(['PCMU']);
    expect(b.rx).to.deep.equal(['PCMA']);
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
    expect(a.tx).to.deep.equal([
      { codec: 'PCMU', port: 6000 },
      { codec: 'H264', port: 6100 },
    ]);
    expect(b.tx).to.deep.equal([
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
