/**
 * Property fuzzing of the TPKT deframer and the Q.931 codec with fast-check: random bytes, and
 * real GnuGk/H323Plus frames (test/fixtures) with random edits. Properties:
 *  - decodeQ931 never throws; whatever it accepts re-encodes to exactly the same octets;
 *  - encodeQ931 never throws on arbitrary typed messages; what it produces decodes and re-encodes
 *    to the same octets;
 *  - the deframer never throws, never holds more than maxFrameSize octets, and yields the same
 *    frames and error however the stream is cut into segments.
 * Hangs show up as the run not finishing (every loop consumes input); memory is reported and
 * must stay flat across the run.
 *
 * Short runs happen in the unit tests; a long run: `node --import tsx test/fuzz/q931.ts --runs 1000000`.
 */
import fc from 'fast-check';
import { runIfMain } from './cli.js';
import { mutated } from './mutate.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeQ931, encodeQ931, peekCallReference, type Q931Ie, type Q931Message } from '../../lib/h323/q931/index.js';
import { TpktDeframer, type TpktError } from '../../lib/h323/tpkt/index.js';
import { fixture } from '../support/paths.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Captured TCP payloads (one or more TPKT frames each) and the Q.931 messages inside them. */
export function seedCorpus(): { streams: Uint8Array[]; messages: Uint8Array[] } {
  const streams: Uint8Array[] = [];
  const messages: Uint8Array[] = [];
  const root = fixture('h323', 'q931');
  for (const scenario of readdirSync(root)) {
    for (const f of readdirSync(join(root, scenario)).filter((n) => n.endsWith('.hex'))) {
      const bytes = Buffer.from(readFileSync(join(root, scenario, f), 'utf8').trim(), 'hex');
      streams.push(bytes);
      for (const frame of new TpktDeframer().push(bytes).frames) if (frame[0] === 0x08) messages.push(frame);
    }
  }
  return { streams, messages };
}


/** decode never throws, and decode -> encode is the identity on everything decode accepts. */
function decodeRoundTrips(bytes: Uint8Array): boolean {
  const d = decodeQ931(bytes);
  const peeked = peekCallReference(bytes);
  if (!d.ok) return typeof d.error.code === 'string';
  if (JSON.stringify(peeked) !== JSON.stringify(d.value.callReference)) throw new Error('peekCallReference disagrees with decode');
  const e = encodeQ931(d.value);
  if (!e.ok) throw new Error(`decoded message did not re-encode: ${e.error.message}`);
  if (!sameBytes(e.value, bytes)) throw new Error('re-encode differs from input');
  return true;
}

/** Mostly 0..max-1, sometimes just outside (or not an integer), so the encoder's checks get exercised too. */
const small = (max: number): fc.Arbitrary<number> =>
  fc.oneof({ arbitrary: fc.integer({ min: 0, max: max - 1 }), weight: 12 }, { arbitrary: fc.constantFrom(-1, max, 1.5), weight: 1 });
const text = fc.string({ maxLength: 40 });
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });

/** Typed IEs with values both inside and just outside their ranges. */
const ieArb: fc.Arbitrary<Q931Ie> = fc.oneof(
  fc.record({
    kind: fc.constant('bearerCapability' as const),
    codingStandard: small(4),
    transferCapability: small(32),
    transferMode: small(4),
    transferRate: fc.oneof(fc.constant(0x10), fc.constant(0x18), small(32)),
    rateMultiplier: fc.option(small(128), { nil: undefined }),
    layer1Protocol: fc.option(small(32), { nil: undefined }),
    extra: fc.option(bytes(4), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('cause' as const),
    codingStandard: small(4),
    location: small(16),
    recommendation: fc.option(small(128), { nil: undefined }),
    value: small(128),
    diagnostics: fc.option(bytes(6), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('callState' as const), codingStandard: small(4), value: small(64) }),
  fc.record({ kind: fc.constant('progressIndicator' as const), codingStandard: small(4), location: small(16), description: small(128) }),
  fc.record({ kind: fc.constant('display' as const), text }),
  fc.record({
    kind: fc.constant('callingPartyNumber' as const),
    numberType: small(8),
    numberingPlan: small(16),
    presentation: fc.option(small(4), { nil: undefined }),
    screening: fc.option(small(4), { nil: undefined }),
    digits: text,
  }),
  fc.record({ kind: fc.constant('calledPartyNumber' as const), numberType: small(8), numberingPlan: small(16), digits: text }),
  fc.record({ kind: fc.constant('userUser' as const), protocolDiscriminator: small(256), payload: bytes(300) }),
  fc.record({ kind: fc.constant('unknown' as const), codeset: fc.constantFrom(0, 0, 0, 5, 6), id: small(128), contents: bytes(300) }),
  fc.record({ kind: fc.constant('shift' as const), locking: fc.boolean(), codeset: small(8) }),
  fc.record({ kind: fc.constant('singleOctet' as const), octet: fc.integer({ min: 0x70, max: 0x100 }) }),
);

const messageArb: fc.Arbitrary<Q931Message> = fc.record({
  callReference: fc.oneof(
    { arbitrary: fc.record({ length: fc.constant(2), value: fc.integer({ min: 0, max: 0x7fff }), flag: fc.boolean() }), weight: 8 },
    { arbitrary: fc.record({ length: small(5), value: fc.oneof(small(128), fc.nat()), flag: fc.boolean() }), weight: 2 },
  ),
  messageType: small(128),
  ies: fc.array(ieArb, { maxLength: 6 }),
});

export const encodeStats = { accepted: 0, refused: 0 };

function encodeRoundTrips(m: Q931Message): boolean {
  const e = encodeQ931(m);
  if (!e.ok) {
    encodeStats.refused++;
    return true;
  }
  encodeStats.accepted++;
  const d = decodeQ931(e.value);
  if (!d.ok) throw new Error(`encoded message did not decode: ${d.error.message}`);
  const again = encodeQ931(d.value);
  if (!again.ok || !sameBytes(again.value, e.value)) throw new Error('decode of our own encoding re-encodes differently');
  return true;
}

/** Cut `stream` at the given points (mod its length). */
function cut(stream: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => (stream.length === 0 ? 0 : p % (stream.length + 1))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of at) {
    out.push(stream.subarray(prev, p));
    prev = p;
  }
  out.push(stream.subarray(prev));
  return out;
}

const MAX_FRAME = 4096;

function deframe(chunks: Uint8Array[]): { frames: string[]; error: TpktError['code'] | undefined } {
  const d = new TpktDeframer({ maxFrameSize: MAX_FRAME });
  const frames: string[] = [];
  let error: TpktError['code'] | undefined;
  for (const c of chunks) {
    const r = d.push(c);
    for (const f of r.frames) {
      if (f.length > MAX_FRAME - 4) throw new Error('frame larger than the limit');
      frames.push(Buffer.from(f).toString('hex'));
    }
    if (d.buffered > MAX_FRAME) throw new Error(`deframer holds ${d.buffered} octets`);
    if (r.error) {
      error = r.error.code;
      break;
    }
  }
  return { frames, error };
}

function chunkingInvariant(stream: Uint8Array, points: number[]): boolean {
  const whole = deframe([stream]);
  const pieces = deframe(cut(stream, points));
  if (JSON.stringify(whole) !== JSON.stringify(pieces)) throw new Error('chunking changed the result');
  return true;
}

interface FuzzProperty {
  readonly name: string;
  /** Fraction of the runs this property gets. */
  readonly share: number;
  readonly check: (params: fc.Parameters<unknown>) => void;
}

function prop<T>(name: string, share: number, arb: fc.Arbitrary<T>, predicate: (v: T) => boolean): FuzzProperty {
  return { name, share, check: (params) => fc.assert(fc.property(arb, predicate), params as fc.Parameters<[T]>) };
}

/** The fuzz properties, each given a share of the runs. */
export function properties(): FuzzProperty[] {
  const { streams, messages } = seedCorpus();
  const tpktStream = fc.oneof(
    bytes(200),
    mutated(streams),
    // Well-formed frames back to back, with random octets between some of them.
    fc.array(fc.oneof(fc.constantFrom(...streams), bytes(20)), { maxLength: 6 }).map((parts) => Uint8Array.from(Buffer.concat(parts))),
  );
  return [
    prop('decode random bytes', 0.2, bytes(300), decodeRoundTrips),
    prop(
      'decode Q.931-looking random bytes',
      0.15,
      fc.tuple(fc.integer({ min: 0, max: 5 }), bytes(200)).map(([crl, rest]) => Uint8Array.from([0x08, crl, ...rest])),
      decodeRoundTrips,
    ),
    prop('decode mutated real messages', 0.25, mutated(messages), decodeRoundTrips),
    prop('encode arbitrary typed messages', 0.15, messageArb, encodeRoundTrips),
    prop('deframe with arbitrary segmenting', 0.25, fc.tuple(tpktStream, fc.array(fc.nat(), { maxLength: 12 })), ([s, pts]) =>
      chunkingInvariant(s, pts),
    ),
  ];
}

export interface RunReport {
  readonly name: string;
  readonly runs: number;
  readonly ms: number;
}

/** Run every property; `runs` is shared out between them. Throws (with fast-check's counterexample) on failure. */
export async function run(runs: number, options: { seed?: number; log?: (line: string) => void } = {}): Promise<RunReport[]> {
  const reports: RunReport[] = [];
  for (const p of properties()) {
    const numRuns = Math.max(1, Math.round(runs * p.share));
    const t0 = performance.now();
    // Yield between properties so a long run does not starve the event loop of a host process.
    await new Promise<void>((resolve) => setImmediate(resolve));
    p.check({ numRuns, ...(options.seed === undefined ? {} : { seed: options.seed }) });
    const ms = performance.now() - t0;
    reports.push({ name: p.name, runs: numRuns, ms });
    options.log?.(`${p.name}: ${numRuns} runs in ${ms.toFixed(0)} ms, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(1)} MB`);
  }
  return reports;
}

runIfMain(import.meta.url, {
  name: 'q931/tpkt',
  defaultRuns: 10_000,
  run,
  summary: () => [`encoder accepted ${encodeStats.accepted} generated messages, refused ${encodeStats.refused}`],
});
