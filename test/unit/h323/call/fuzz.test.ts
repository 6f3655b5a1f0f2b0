/**
 * The call state machine under hostile input: random and mutated captured call-signalling streams
 * (GnuGk's side of a real call, our own messages) fed to incoming and outgoing calls. Nothing
 * throws, no handler fails internally (gw_h323_call_internal_errors_total stays 0), and every call
 * ends released once its timers run out. Driven in-process on unconnected sockets, so each run is
 * synchronous and fast.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { Socket } from 'node:net';
import { isolatedRegistry } from '../../../../lib/metrics/registry.js';
import { H323Call, callMetrics, type CallOptions } from '../../../../lib/h323/call/index.js';
import { TpktDeframer, encodeTpkt } from '../../../../lib/h323/tpkt/index.js';
import { capturedSegments } from '../q931/helpers/fixtures.js';
import { FakeTimers } from '../q931/helpers/loopback.js';
import { callSamples, framed } from '../h225/samples.js';
import { applyEdits } from '../../../fuzz/mutate.js';

function frames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of capturedSegments()) out.push(...new TpktDeframer().push(s.bytes).frames);
  for (const s of callSamples()) out.push(...new TpktDeframer().push(framed(s.msg)).frames);
  return out;
}

// Overwrite, bit flip, delete or truncate (applyEdits' op 4); no inserts here.
const edit = fc.tuple(fc.nat(), fc.constantFrom(0, 1, 2, 4), fc.integer({ min: 0, max: 255 }));
const mutate = applyEdits;

describe('h323/call fuzz: hostile call-signalling input', function () {
  this.timeout(60_000);
  const seeds = frames();

  it('never throws, never fails internally, always ends released', async () => {
    const registry = isolatedRegistry();
    const metrics = callMetrics(registry);
    let offeredCount = 0;
    let activeCount = 0;
    const arb = fc.record({
      direction: fc.constantFrom('incoming' as const, 'outgoing' as const),
      first: fc.constantFrom(...seeds.filter((f) => f[0] === 0x08 && f[1] === 2 && f[4] === 0x05)), // a Setup
      rest: fc.array(fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { maxLength: 4 })), { maxLength: 6 }),
      mutateFirst: fc.array(edit, { maxLength: 3 }),
      answer: fc.boolean(),
      tunnel: fc.boolean(),
      fastStart: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, (t) => {
        const timers = new FakeTimers();
        const socket = new Socket();
        socket.on('error', () => undefined);
        const opts: CallOptions = {
          codecs: ['PCMU', 'PCMA', 'G729'],
          media: { rtp: { host: '127.0.0.1', port: 40000 } },
          timers,
          registry,
          tunnel: t.tunnel,
          fastStart: t.fastStart,
        };
        let offered: H323Call | undefined;
        const call = new H323Call(socket, t.direction, opts, (c) => (offered = c));
        let released = false;
        call.on('released', () => (released = true));
        const feed = (b: Uint8Array): void => {
          const f = encodeTpkt(b);
          if (f.ok) socket.emit('data', f.value);
        };
        if (t.direction === 'outgoing') call.start();
        else feed(mutate(t.first, t.mutateFirst));
        if (offered) offeredCount++;
        if (offered && t.answer) {
          offered.ring();
          offered.answer();
          if (offered.state === 'active') activeCount++;
        }
        for (const [seed, edits] of t.rest) feed(mutate(seed, edits));
        call.sendDtmf('1');
        timers.advance(10 * 60_000);
        if (!released) call.hangup();
        socket.destroy();
        return released || call.state === 'released';
      }),
      // Fixed seed: the coverage thresholds below are then deterministic.
      { numRuns: 400, seed: 0x5eed },
    );
    // The mutations must leave many calls alive long enough to exercise the later states.
    expect(offeredCount).to.be.greaterThan(40);
    expect(activeCount).to.be.greaterThan(5);
    const internal = (await metrics.internalErrors.get()).values.reduce((n, v) => n + v.value, 0);
    expect(internal).to.equal(0);
  });
});
