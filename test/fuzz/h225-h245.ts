/**
 * Property fuzzing of the H.225.0 UUIE decoder and the H.245 decoder with fast-check: random
 * bytes, and real GnuGk/H323Plus PDUs (test/fixtures) plus the messages our stack builds, with
 * random edits. Properties:
 *  - decoding never throws anything but PerDecodeError (and the Q.931 User-user hook never throws);
 *  - whatever decodes re-encodes, and the re-encoding is a fixed point (decode -> encode again
 *    gives the same octets); unmutated seeds re-encode byte-exact;
 *  - no input takes long (no hang): the slowest decode is reported and must stay under 1 s (a hang or quadratic blow-up, not GC noise).
 * Memory is reported and must stay flat across the run.
 *
 * Short runs happen in the unit tests; a long run: `node --import tsx test/fuzz/h225-h245.ts --runs 1000000`.
 */
import fc from 'fast-check';
import { mutated } from './mutate.js';
import { runIfMain } from './cli.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeQ931 } from '../../lib/h323/q931/index.js';
import { TpktDeframer } from '../../lib/h323/tpkt/index.js';
import { PerDecodeError } from '../../lib/h323/per/index.js';
import { decodeH225, encodeH225, h225UserUserCodec } from '../../lib/h323/h225/codec.js';
import { decodeH245, encodeH245 } from '../../lib/h323/h245/codec.js';
import { fixture } from '../support/paths.js';
import { callSamples, framed, h245Samples } from '../unit/h323/h225/samples.js';

export interface Corpus {
  readonly uuies: Uint8Array[];
  readonly h245: Uint8Array[];
}

function uuieOf(frame: Uint8Array): Uint8Array | undefined {
  const q = decodeQ931(frame);
  if (!q.ok) return undefined;
  const uu = q.value.ies.find((i) => i.kind === 'userUser');
  return uu && uu.kind === 'userUser' ? uu.payload : undefined;
}

/** UUIEs and H.245 PDUs from the captures and from our own builders. */
export function seedCorpus(): Corpus {
  const uuies: Uint8Array[] = [];
  const h245: Uint8Array[] = [];
  const root = fixture('h323', 'q931');
  const frames: Uint8Array[] = [];
  for (const scenario of readdirSync(root)) {
    for (const f of readdirSync(join(root, scenario)).filter((n) => n.endsWith('.hex'))) {
      frames.push(...new TpktDeframer().push(Buffer.from(readFileSync(join(root, scenario, f), 'utf8').trim(), 'hex')).frames);
    }
  }
  for (const s of callSamples()) frames.push(...new TpktDeframer().push(framed(s.msg)).frames);
  for (const frame of frames) {
    if (frame[0] !== 0x08) {
      h245.push(frame);
      continue;
    }
    const uu = uuieOf(frame);
    if (!uu) continue;
    uuies.push(uu);
    for (const c of decodeH225(uu)['h323-uu-pdu'].h245Control ?? []) h245.push(c);
  }
  for (const s of h245Samples()) h245.push(encodeH245(s.msg));
  return { uuies, h245 };
}


const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

export const stats = { decoded: 0, refused: 0, slowestMs: 0 };

function property<T>(decodeFn: (b: Uint8Array) => T, encodeFn: (v: T) => Uint8Array): (b: Uint8Array) => boolean {
  return (bytes) => {
    const t0 = performance.now();
    let v: T;
    try {
      v = decodeFn(bytes);
    } catch (e) {
      if (!(e instanceof PerDecodeError)) throw e;
      stats.refused++;
      return true;
    } finally {
      stats.slowestMs = Math.max(stats.slowestMs, performance.now() - t0);
    }
    stats.decoded++;
    const once = encodeFn(v);
    const twice = encodeFn(decodeFn(once));
    if (!same(once, twice)) throw new Error('re-encoding is not a fixed point');
    return true;
  };
}

export interface Report {
  readonly name: string;
  readonly runs: number;
}

export async function run(runs: number): Promise<Report[]> {
  const corpus = seedCorpus();
  for (const u of corpus.uuies) if (!same(encodeH225(decodeH225(u)), u)) throw new Error('seed UUIE does not round-trip');
  for (const h of corpus.h245) if (!same(encodeH245(decodeH245(h)), h)) throw new Error('seed H.245 does not round-trip');
  const share = Math.max(1, Math.floor(runs / 5));
  const reports: Report[] = [];
  const check = (name: string, arb: fc.Arbitrary<Uint8Array>, p: (b: Uint8Array) => boolean, n: number): void => {
    fc.assert(fc.property(arb, p), { numRuns: n });
    reports.push({ name, runs: n });
  };
  const uuieProp = property(decodeH225, encodeH225);
  const h245Prop = property(decodeH245, encodeH245);
  check('uuie: random bytes', fc.uint8Array({ maxLength: 300 }), uuieProp, share);
  check('uuie: mutated real PDUs', mutated(corpus.uuies), uuieProp, share);
  check('h245: random bytes', fc.uint8Array({ maxLength: 300 }), h245Prop, share);
  check('h245: mutated real PDUs', mutated(corpus.h245), h245Prop, share);
  check(
    'user-user hook never throws',
    fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated(corpus.uuies)),
    (b) => typeof h225UserUserCodec.decode(b).ok === 'boolean',
    runs - 4 * share,
  );
  if (stats.slowestMs > 1000) throw new Error(`slowest decode took ${stats.slowestMs.toFixed(1)} ms`);
  return reports;
}

runIfMain(import.meta.url, {
  name: 'h225-h245',
  defaultRuns: 100_000,
  run,
  summary: () => [`decoded ${stats.decoded}, refused ${stats.refused}, slowest decode ${stats.slowestMs.toFixed(2)} ms`],
});
