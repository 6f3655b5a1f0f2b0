/**
 * TPKT / Q.931 channels on a real loopback TCP connection: partial frames, several frames per
 * segment, slowloris timeout (fake clock), oversized and non-TPKT input, and a last ReleaseComplete
 * before the connection is closed.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import {
  buildMessage,
  callReference,
  CauseValue,
  decodeQ931,
  encodeQ931,
  findIe,
  messageName,
  Q931Channel,
  type Q931Error,
  type Q931Message,
} from '../../../../lib/h323/q931/index.js';
import { encodeTpkt, TpktChannel, TpktDeframer, type TpktError } from '../../../../lib/h323/tpkt/index.js';
import { segment } from './helpers/fixtures.js';
import { FakeTimers, loopback, received, receiveUntilEnd, type Loopback } from './helpers/loopback.js';
import { seedCorpus } from '../../../fuzz/q931.js';

function framed(msg: Q931Message): Buffer {
  const e = encodeQ931(msg);
  if (!e.ok) throw new Error(e.error.message);
  const f = encodeTpkt(e.value);
  if (!f.ok) throw new Error(f.error.message);
  return f.value;
}

/** Collects what a Q931Channel reports, with a way to wait for the n-th message. */
class Recorder {
  readonly messages: Q931Message[] = [];
  readonly bad: Q931Error[] = [];
  readonly protocolErrors: TpktError[] = [];
  keepAlives = 0;
  closed = false;
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  readonly events = {
    onMessage: (m: Q931Message): void => {
      this.messages.push(m);
      this.wake();
    },
    onBadMessage: (e: Q931Error): void => {
      this.bad.push(e);
      this.wake();
    },
    onKeepAlive: (): void => {
      this.keepAlives++;
      this.wake();
    },
    onProtocolError: (e: TpktError): void => {
      this.protocolErrors.push(e);
    },
    onClose: (): void => {
      this.closed = true;
    },
  };

  /** Resolves when messages + bad + keep-alives reach n. */
  until(n: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ n, resolve });
      this.wake();
    });
  }

  private wake(): void {
    const count = this.messages.length + this.bad.length + this.keepAlives;
    this.waiters = this.waiters.filter((w) => {
      if (count >= w.n) w.resolve();
      return count < w.n;
    });
  }
}

describe('h323/q931 channel over loopback TCP', () => {
  let lb: Loopback | undefined;
  let registry: Registry;

  beforeEach(() => {
    registry = new Registry();
  });

  afterEach(async () => {
    await lb?.close();
    lb = undefined;
  });

  it('delivers a frame that arrives in pieces only when complete', async () => {
    lb = await loopback();
    const rec = new Recorder();
    new Q931Channel(lb.server, rec.events, { registry, timers: new FakeTimers() });
    const setup = segment('s3a-call-tunnelled', '0014-').bytes;
    // First piece ends inside the User-user IE; wait until the server has it, check nothing came out.
    const firstPiece = received(lb.server, 100);
    lb.client.write(setup.subarray(0, 100));
    await firstPiece;
    expect(rec.messages).to.have.length(0);
    lb.client.write(setup.subarray(100));
    await rec.until(1);
    expect(messageName(rec.messages[0]!)).to.equal('Setup');
    expect(findIe(rec.messages[0]!, 'calledPartyNumber')?.digits).to.equal('1002');
    expect(rec.bad).to.deep.equal([]);
  });

  it('delivers several frames written in one segment, in order, plus keep-alives', async () => {
    lb = await loopback();
    const rec = new Recorder();
    new Q931Channel(lb.server, rec.events, { registry, timers: new FakeTimers() });
    const cr = callReference(77, true);
    const burst = Buffer.concat([
      framed(buildMessage('CallProceeding', { callReference: cr, userUser: Uint8Array.of(1) })),
      Buffer.from('03000004', 'hex'),
      framed(buildMessage('Alerting', { callReference: cr, userUser: Uint8Array.of(2) })),
      framed(buildMessage('Connect', { callReference: cr, userUser: Uint8Array.of(3) })),
    ]);
    lb.client.write(burst);
    await rec.until(4);
    expect(rec.messages.map(messageName)).to.deep.equal(['CallProceeding', 'Alerting', 'Connect']);
    expect(rec.keepAlives).to.equal(1);
    const metrics = await registry.getSingleMetricAsString('gw_q931_messages_total');
    expect(metrics).to.include('gw_q931_messages_total{direction="in",type="Connect"} 1');
  });

  it('a frame that is not Q.931 is reported and the connection carries on', async () => {
    lb = await loopback();
    const rec = new Recorder();
    new Q931Channel(lb.server, rec.events, { registry, timers: new FakeTimers() });
    lb.client.write(Buffer.concat([Buffer.from('0300000720a0ff', 'hex'), framed(buildMessage('StatusEnquiry', { callReference: callReference(1) }))]));
    await rec.until(2);
    expect(rec.bad.map((e) => e.code)).to.deep.equal(['not-q931']);
    expect(rec.messages.map(messageName)).to.deep.equal(['StatusEnquiry']);
    expect(lb.server.destroyed).to.equal(false);
  });

  it('slowloris: a frame trickled in does not extend its deadline; on expiry a ReleaseComplete goes out, then FIN', async () => {
    lb = await loopback();
    const timers = new FakeTimers();
    const rec = new Recorder();
    let channel: Q931Channel | undefined;
    channel = new Q931Channel(
      lb.server,
      {
        ...rec.events,
        onProtocolError: (e) => {
          rec.protocolErrors.push(e);
          // Still possible to answer: tell the peer why the call is gone.
          channel!.send(
            buildMessage('ReleaseComplete', {
              callReference: callReference(1, true),
              cause: { codingStandard: 0, location: 0, value: CauseValue.RecoveryOnTimerExpiry },
            }),
          );
        },
      },
      { registry, timers, frameTimeoutMs: 5000 },
    );
    const clientGot = receiveUntilEnd(lb.client);
    const a = received(lb.server, 2);
    lb.client.write(Buffer.from('0300', 'hex'));
    await a;
    expect(timers.remaining).to.deep.equal([5000]);
    timers.advance(4000);
    const b = received(lb.server, 1);
    lb.client.write(Buffer.from('00', 'hex'));
    await b;
    // Still the first octet's deadline, not a fresh 5 s.
    expect(timers.remaining).to.deep.equal([1000]);
    expect(rec.protocolErrors).to.deep.equal([]);
    timers.advance(1000);
    expect(rec.protocolErrors.map((e) => e.code)).to.deep.equal(['timeout']);
    const bytes = await clientGot;
    const d = new TpktDeframer().push(bytes);
    expect(d.frames).to.have.length(1);
    const rc = decodeQ931(d.frames[0]!);
    expect(rc.ok).to.equal(true);
    if (rc.ok) {
      expect(messageName(rc.value)).to.equal('ReleaseComplete');
      expect(findIe(rc.value, 'cause')?.value).to.equal(102);
    }
    if (!rec.closed) await once(lb.server, 'close');
    expect(await registry.getSingleMetricAsString('gw_tpkt_errors_total')).to.include('reason="timeout"} 1');
  });

  it('completed frames clear the timer; a new partial frame gets its own full deadline', async () => {
    lb = await loopback();
    const timers = new FakeTimers();
    const rec = new Recorder();
    new Q931Channel(lb.server, rec.events, { registry, timers, frameTimeoutMs: 3000 });
    const m = framed(buildMessage('StatusEnquiry', { callReference: callReference(2) }));
    const got = received(lb.server, m.length);
    lb.client.write(m);
    await got;
    await rec.until(1);
    expect(timers.remaining).to.deep.equal([]);
    timers.advance(10_000);
    const partial = received(lb.server, m.length + 1);
    lb.client.write(Buffer.concat([m, m.subarray(0, 1)]));
    await partial;
    expect(timers.remaining).to.deep.equal([3000]);
    expect(rec.protocolErrors).to.deep.equal([]);
  });

  it('closes on a header announcing more than maxFrameSize, without waiting for the body', async () => {
    lb = await loopback();
    const rec = new Recorder();
    new TpktChannel(lb.server, { onFrame: () => rec.events.onKeepAlive(), onProtocolError: rec.events.onProtocolError }, { registry, timers: new FakeTimers(), maxFrameSize: 2048 });
    const clientGot = receiveUntilEnd(lb.client);
    lb.client.write(Buffer.from('0300ffff', 'hex'));
    const bytes = await clientGot;
    expect(bytes.length).to.equal(0);
    expect(rec.protocolErrors.map((e) => e.code)).to.deep.equal(['frame-too-large']);
  });

  it('closes a peer that does not speak TPKT (e.g. HTTP) at the first octet', async () => {
    lb = await loopback();
    const rec = new Recorder();
    new Q931Channel(lb.server, rec.events, { registry, timers: new FakeTimers() });
    const ended = receiveUntilEnd(lb.client);
    lb.client.write('GET / HTTP/1.1\r\n\r\n');
    await ended;
    expect(rec.protocolErrors.map((e) => e.code)).to.deep.equal(['bad-version']);
    expect(rec.messages).to.deep.equal([]);
  });

  it('destroys the socket after the grace period when the peer ignores our FIN', async () => {
    lb = await loopback({ allowHalfOpen: true });
    const timers = new FakeTimers();
    const rec = new Recorder();
    new Q931Channel(lb.server, rec.events, { registry, timers, closeGraceMs: 2000 });
    const clientEnd = once(lb.client, 'end');
    lb.client.write(Buffer.from('05', 'hex'));
    await clientEnd;
    // The half-open client keeps its side open; only the grace timer ends it.
    expect(rec.closed).to.equal(false);
    expect(timers.remaining).to.deep.equal([2000]);
    const closed = once(lb.server, 'close');
    timers.advance(2000);
    await closed;
    expect(rec.closed).to.equal(true);
  });

  it('reports a connection closed inside a frame', async () => {
    lb = await loopback();
    const rec = new Recorder();
    new Q931Channel(lb.server, rec.events, { registry, timers: new FakeTimers() });
    const closed = once(lb.server, 'close');
    lb.client.end(Buffer.from('03000010', 'hex'));
    await closed;
    expect(rec.protocolErrors.map((e) => e.code)).to.deep.equal(['closed-mid-frame']);
    expect(rec.closed).to.equal(true);
  });

  it('sends messages the peer deframes, and refuses to send once closed', async () => {
    lb = await loopback();
    const rec = new Recorder();
    const ch = new Q931Channel(lb.server, rec.events, { registry, timers: new FakeTimers() });
    const msg = buildMessage('Connect', { callReference: callReference(9, true), display: 'gw', userUser: Uint8Array.of(0x22, 0xc0) });
    const expected = framed(msg);
    const got = received(lb.client, expected.length);
    expect(ch.send(msg)).to.equal(undefined);
    expect((await got).equals(expected)).to.equal(true);
    expect(ch.send(buildMessage('Alerting', { callReference: callReference(1 << 16) }))?.code).to.equal('bad-call-reference');
    const closed = once(lb.server, 'close');
    lb.client.end();
    await closed;
    expect(ch.send(msg)).to.not.equal(undefined);
  });

  it('random and mutated streams over real connections: no crash, every connection ends cleanly', async () => {
    const { streams } = seedCorpus();
    const inputs = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 400 }),
        fc.tuple(fc.constantFrom(...streams), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([s, i, v]) => {
          const b = Uint8Array.from(s);
          b[i % b.length] = v;
          return b;
        }),
      ),
      25,
    );
    for (const input of inputs) {
      const conn = await loopback();
      lb = conn;
      const rec = new Recorder();
      new Q931Channel(conn.server, rec.events, { registry, timers: new FakeTimers() });
      const closed = once(conn.server, 'close');
      conn.client.end(Buffer.from(input));
      await closed;
      expect(rec.closed).to.equal(true);
      // Whatever was delivered matches what a deframer makes of the same bytes.
      const offline = new TpktDeframer().push(input);
      expect(rec.messages.length + rec.bad.length + rec.keepAlives).to.equal(offline.frames.length);
      await conn.close();
      lb = undefined;
    }
  });

  it('after the owner closes the channel, frames already received are not delivered', async () => {
    lb = await loopback();
    const seen: number[] = [];
    const ch: TpktChannel = new TpktChannel(
      lb.server,
      {
        onFrame: (f) => {
          seen.push(f.length);
          ch.close();
        },
      },
      { registry, timers: new FakeTimers() },
    );
    const closed = once(lb.server, 'close');
    lb.client.write(Buffer.from('030000050a03000006aabb', 'hex'));
    await closed;
    expect(seen).to.deep.equal([1]);
  });

  it('a handler that throws does not take the process down; later frames still arrive', async () => {
    lb = await loopback();
    const seen: number[] = [];
    let waiting: (() => void) | undefined;
    new TpktChannel(
      lb.server,
      {
        onFrame: (f) => {
          seen.push(f.length);
          if (seen.length === 2) waiting?.();
          if (seen.length === 1) throw new Error('owner bug');
        },
      },
      { registry, timers: new FakeTimers() },
    );
    const done = new Promise<void>((r) => (waiting = r));
    lb.client.write(Buffer.from('030000050a03000006aabb', 'hex'));
    await done;
    expect(seen).to.deep.equal([1, 2]);
  });
});
