/**
 * Mutated real packets for fuzzing: a recorded PDU with a few edits (overwrite a byte, flip a
 * bit, delete, insert, truncate). Mutations of real traffic reach the deep branches of a decoder
 * that random bytes almost never do.
 */
import fc from 'fast-check';

export function mutated(seeds: Uint8Array[], opts: { minEdits?: number; maxEdits?: number } = {}): fc.Arbitrary<Uint8Array> {
  const edit = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 255 }));
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: opts.minEdits ?? 0, maxLength: opts.maxEdits ?? 8 }))
    .map(([seed, edits]) => applyEdits(seed, edits));
}

export function applyEdits(seed: Uint8Array, edits: ReadonlyArray<readonly [number, number, number]>): Uint8Array {
  let b = Array.from(seed);
  for (const [pos, op, val] of edits) {
    if (b.length === 0) break;
    const i = pos % b.length;
    if (op === 0) b[i] = val;
    else if (op === 1) b[i] = b[i]! ^ (1 << (val % 8));
    else if (op === 2) b.splice(i, 1);
    else if (op === 3) b.splice(i, 0, val);
    else b = b.slice(0, i);
  }
  return Uint8Array.from(b);
}
