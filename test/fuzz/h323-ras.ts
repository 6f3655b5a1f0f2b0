/**
 * Property fuzzing of the PER decoder through the RAS schema (fast-check): random bytes, bytes
 * that start like a RAS message, and the real GnuGk/H323Plus RAS packets (test/fixtures/h323/ras)
 * with random edits. Properties:
 *  - decodeRas either returns or throws PerDecodeError (never anything else: a socket handler
 *    catches that one class and counts the datagram as malformed);
 *  - whatever it accepts encodes again, and that encoding decodes to the same value;
 *  - the real packets themselves re-encode byte-exact (sanity of the seed corpus).
 * Allocation is bounded by the decoder's length checks; hangs show up as the run not finishing;
 * the slowest single decode and the heap are reported.
 *
 * Short runs happen in the unit tests; the long run: `node --import tsx test/fuzz/h323-ras.ts --runs 1000000`
 * (default 1e6).
 */
import fc from 'fast-check';
import { runIfMain } from './cli.js';
import { mutated } from './mutate.js';
import { isDeepStrictEqual } from 'node:util';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerDecodeError } from '../../lib/h323/per/index.js';
import { decodeRas, encodeRas } from '../../lib/h323/ras/messages.js';
import type { RasMessageValue } from '../../lib/h323/ras/schema.js';
import { fixture } from '../support/paths.js';

export function seedPackets(): Uint8Array[] {
  const root = fixture('h323', 'ras');
  const out: Uint8Array[] = [];
  for (const d of readdirSync(root))
    for (const f of readdirSync(join(root, d)).filter((n) => n.endsWith('.hex'))) out.push(Buffer.from(readFileSync(join(root, d, f), 'utf8').trim(), 'hex'));
  return out;
}

export const stats = { accepted: 0, rejected: 0, slowestMs: 0, slowestInput: '' };

/** The property: decode is total (value or PerDecodeError) and accepted values round-trip. */
export function decodeIsSafe(bytes: Uint8Array): boolean {
  let v: RasMessageValue;
  const t0 = performance.now();
  try {
    v = decodeRas(bytes);
  } catch (e) {
    const ms = performance.now() - t0;
    if (ms > stats.slowestMs) {
      stats.slowestMs = ms;
      stats.slowestInput = Buffer.from(bytes).toString('hex');
    }
    if (e instanceof PerDecodeError) {
      stats.rejected++;
      return true;
    }
    throw e;
  }
  const ms = performance.now() - t0;
  if (ms > stats.slowestMs) {
    stats.slowestMs = ms;
    stats.slowestInput = Buffer.from(bytes).toString('hex');
  }
  stats.accepted++;
  const again = decodeRas(encodeRas(v));
  if (!isDeepStrictEqual(again, v)) throw new Error(`round trip changed the value for ${Buffer.from(bytes).toString('hex')}`);
  return true;
}


interface FuzzProperty {
  readonly name: string;
  readonly share: number;
  readonly arb: fc.Arbitrary<Uint8Array>;
}

export function properties(): FuzzProperty[] {
  const seeds = seedPackets();
  return [
    { name: 'random bytes', share: 0.3, arb: fc.uint8Array({ maxLength: 400 }) },
    {
      name: 'RAS-looking random bytes',
      share: 0.2,
      arb: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 })).map(([h, rest]) => Uint8Array.from([h & 0x7f, ...rest])),
    },
    { name: 'mutated real packets', share: 0.5, arb: mutated(seeds, { minEdits: 1 }) },
  ];
}

export interface RunReport {
  readonly name: string;
  readonly runs: number;
  readonly ms: number;
}

export async function run(runs: number, options: { seed?: number; log?: (line: string) => void } = {}): Promise<RunReport[]> {
  for (const p of seedPackets()) {
    if (Buffer.compare(Buffer.from(encodeRas(decodeRas(p))), Buffer.from(p)) !== 0) throw new Error('seed packet does not re-encode byte-exact');
  }
  const reports: RunReport[] = [];
  for (const p of properties()) {
    const numRuns = Math.max(1, Math.round(runs * p.share));
    const t0 = performance.now();
    await new Promise<void>((resolve) => setImmediate(resolve));
    fc.assert(fc.property(p.arb, decodeIsSafe), { numRuns, ...(options.seed === undefined ? {} : { seed: options.seed }) });
    const ms = performance.now() - t0;
    reports.push({ name: p.name, runs: numRuns, ms });
    options.log?.(`${p.name}: ${numRuns} runs in ${ms.toFixed(0)} ms, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(1)} MB`);
  }
  return reports;
}

runIfMain(import.meta.url, {
  name: 'h323-ras',
  defaultRuns: 1_000_000,
  run,
  summary: () => [`accepted ${stats.accepted}, rejected ${stats.rejected}, slowest decode ${stats.slowestMs.toFixed(2)} ms (input ${stats.slowestInput.slice(0, 80)}...)`],
});
