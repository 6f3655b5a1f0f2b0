/**
 * The incremental verifier (ChainVerifier), which verifyAuditTexts, verifyAuditDir and the
 * gateway's background verifyAuditDirAsync all run, gives the verdicts the original whole-text
 * verifier gave. `referenceVerify` is that original implementation, frozen here as the oracle.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { GENESIS_HASH, canonicalJson, recordHash, sealRecord, type AuditInput, type AuditRecord } from '../../../../lib/audit/record.js';
import {
  ChainVerifier,
  auditFileName,
  checkShape,
  verifyAuditDirAsync,
  verifyAuditTexts,
  type VerifyOptions,
  type VerifyResult,
} from '../../../../lib/audit/verify.js';

function referenceVerify(files: Array<{ name: string; text: string }>, opts: VerifyOptions = {}): VerifyResult {
  let seq = (opts.start?.seq ?? 0) + 1;
  let prev = opts.start?.hash ?? GENESIS_HASH;
  let records = 0;
  const names = files.map((f) => f.name);
  const bad = (file: string, line: number, reason: string): VerifyResult => ({
    ok: false,
    records,
    files: names,
    head: { seq: seq - 1, hash: prev },
    firstBad: { file, line, seq, reason },
  });
  for (let fi = 0; fi < files.length; fi++) {
    const { name, text } = files[fi]!;
    if (text.length === 0) {
      if (fi !== files.length - 1) return bad(name, 1, 'empty file inside the chain');
      continue;
    }
    const lines = text.split('\n');
    const torn = lines.pop();
    for (let li = 0; li < lines.length; li++) {
      const line = lines[li]!;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return bad(name, li + 1, 'not valid JSON');
      }
      const shape = checkShape(parsed);
      if (shape) return bad(name, li + 1, shape);
      const rec = parsed as AuditRecord;
      if (rec.seq !== seq) {
        const why = rec.seq > seq ? 'record(s) missing before it' : 'duplicate, inserted or reordered record';
        return bad(name, li + 1, `seq ${rec.seq} where ${seq} expected: ${why}`);
      }
      if (rec.prev !== prev) return bad(name, li + 1, 'prev does not match the hash of the record before it');
      if (recordHash(rec) !== rec.hash) return bad(name, li + 1, 'content does not match its hash (edited)');
      if (canonicalJson(rec) !== line) return bad(name, li + 1, 'line is not in canonical form');
      if (opts.anchor && rec.seq === opts.anchor.seq && rec.hash !== opts.anchor.hash) {
        return bad(name, li + 1, 'hash differs from the anchor (chain rewritten)');
      }
      prev = rec.hash;
      seq++;
      records++;
    }
    if (torn !== '') return bad(name, lines.length + 1, 'torn last line (no newline terminator)');
  }
  if (opts.anchor && seq - 1 < opts.anchor.seq) {
    const last = names[names.length - 1] ?? '(none)';
    return bad(last, 0, `chain ends at seq ${seq - 1} but the anchor names seq ${opts.anchor.seq}: truncated`);
  }
  return { ok: true, records, files: names, head: { seq: seq - 1, hash: prev } };
}

const input = (i: number): AuditInput => ({
  gate: i % 2 ? 'digest' : 'chain',
  decision: i % 2 ? 'reject' : 'admit',
  status: i % 2 ? 403 : 0,
  reason: i % 5 === 0 ? 'naïve “quoted” ✓' : 'admitted',
  method: 'INVITE',
  callId: `c${i}`,
  pii: i % 3 === 0 ? { email: 1 } : undefined,
});

/** An honest chain of n records split into files of `perFile` lines, as the log writes it. */
function chain(n: number, perFile: number, startSeq = 0, startHash = GENESIS_HASH): { lines: string[]; files: Array<{ name: string; text: string }> } {
  const lines: string[] = [];
  let prev = startHash;
  for (let i = 1; i <= n; i++) {
    const s = sealRecord(input(i), 'k', startSeq + i, prev, new Date(1_700_000_000_000 + i));
    lines.push(s.line);
    prev = s.record.hash;
  }
  const files: Array<{ name: string; text: string }> = [];
  for (let i = 0; i < lines.length; i += perFile) {
    files.push({ name: auditFileName(files.length + 1), text: lines.slice(i, i + perFile).map((l) => `${l}\n`).join('') });
  }
  return { lines, files };
}

type Files = Array<{ name: string; text: string }>;

/** Named tampering cases; each returns the damaged file set. */
function corpora(): Array<[string, Files, VerifyOptions]> {
  const base = chain(12, 4);
  const head = referenceVerify(base.files).head;
  const at9 = referenceVerify([{ name: 'x', text: base.lines.slice(0, 9).map((l) => `${l}\n`).join('') }]).head;
  const edit = (f: Files, fi: number, from: string | RegExp, to: string): Files => f.map((x, i) => (i === fi ? { ...x, text: x.text.replace(from, to) } : x));
  const linesOf = (t: string): string[] => t.split('\n').slice(0, -1);
  const join_ = (ls: string[]): string => ls.map((l) => `${l}\n`).join('');
  const withLines = (f: Files, fi: number, fn: (ls: string[]) => string[]): Files => f.map((x, i) => (i === fi ? { ...x, text: join_(fn(linesOf(x.text))) } : x));
  const swap = (ls: string[], a: number, b: number): string[] => {
    const c = [...ls];
    [c[a], c[b]] = [c[b]!, c[a]!];
    return c;
  };
  return [
    ['honest', base.files, {}],
    ['honest, anchored at the head', base.files, { anchor: head }],
    ['no files', [], {}],
    ['no files, anchored', [], { anchor: head }],
    ['edited status', edit(base.files, 1, /"status":\d+/, '"status":299'), {}],
    ['edited reason', edit(base.files, 2, 'admitted', 'admitteD'), {}],
    ['deleted line', withLines(base.files, 1, (ls) => ls.filter((_, i) => i !== 2)), {}],
    ['duplicated line', withLines(base.files, 0, (ls) => [...ls.slice(0, 2), ls[1]!, ...ls.slice(2)]), {}],
    ['reordered lines', withLines(base.files, 2, (ls) => swap(ls, 0, 1)), {}],
    ['reordered across files', base.files.map((x, i) => (i < 2 ? { ...x, text: base.files[1 - i]!.text } : x)), {}],
    ['deleted middle file', base.files.filter((_, i) => i !== 1), {}],
    ['empty middle file', base.files.map((x, i) => (i === 1 ? { ...x, text: '' } : x)), {}],
    ['empty newest file', [...base.files, { name: auditFileName(9), text: '' }], {}],
    ['torn last line', edit(base.files, 2, /.{10}\n$/, ''), {}],
    ['torn line in a middle file', edit(base.files, 0, /.{10}\n$/, ''), {}],
    ['blank line', edit(base.files, 1, '\n', '\n\n'), {}],
    ['not canonical (whitespace)', edit(base.files, 1, '"decision":', '"decision": '), {}],
    ['wrong version', edit(base.files, 0, '"v":1', '"v":2'), {}],
    ['array, not object', edit(base.files, 0, /^[^\n]*/, '[1]'), {}],
    ['truncated tail vs anchor', base.files.slice(0, 2), { anchor: head }],
    ['rewritten tail vs anchor', base.files, { anchor: { seq: head.seq, hash: 'f'.repeat(64) } }],
    ['suffix from a start head', base.files.slice(1), { start: referenceVerify(base.files.slice(0, 1)).head }],
    ['suffix without its start', base.files.slice(1), {}],
    ['until inside the chain, garbage after it', edit(base.files, 2, /\n$/, '\n{"v":1,"seq":13,"ti'), { until: 9, anchor: at9 }],
  ];
}

async function viaDir(files: Files, opts: VerifyOptions & { chunkBytes?: number }): Promise<VerifyResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-chainv-'));
  try {
    for (const f of files) writeFileSync(join(dir, f.name), f.text);
    return await verifyAuditDirAsync(dir, opts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('policy/audit: incremental chain verifier', () => {
  for (const [name, files, opts] of corpora()) {
    if (opts.until !== undefined) continue;
    it(`same verdict as the whole-text verifier: ${name}`, async () => {
      const want = referenceVerify(files, opts);
      expect(verifyAuditTexts(files, opts)).to.deep.equal(want);
      // Reads split lines (and multi-byte characters) at every kind of boundary.
      for (const chunkBytes of [1, 7, 64, 65_536]) expect(await viaDir(files, { ...opts, chunkBytes }), `chunk ${chunkBytes}`).to.deep.equal(want);
    });
  }

  it('the honest and tampered corpora give the expected first bad records', () => {
    const verdicts = new Map(corpora().map(([name, files, opts]) => [name, verifyAuditTexts(files, opts)]));
    expect(verdicts.get('honest')).to.include({ ok: true, records: 12 });
    expect(verdicts.get('edited status')!.firstBad).to.include({ file: auditFileName(2), seq: 5 });
    expect(verdicts.get('deleted line')!.firstBad).to.include({ file: auditFileName(2), line: 3, seq: 7 });
    expect(verdicts.get('reordered lines')!.firstBad).to.include({ file: auditFileName(3), line: 1, seq: 9 });
    expect(verdicts.get('empty middle file')!.firstBad).to.include({ file: auditFileName(2), line: 1, seq: 5 });
    expect(verdicts.get('empty newest file')!.ok).to.equal(true);
    expect(verdicts.get('truncated tail vs anchor')!.firstBad!.reason).to.match(/truncated/);
    expect(verdicts.get('suffix from a start head')).to.include({ ok: true, records: 8 });
  });

  it('until: verifies the prefix up to that seq and reads nothing after it', async () => {
    const [, files, opts] = corpora().find(([n]) => n.startsWith('until'))!;
    const want = { ok: true, records: 9 };
    expect(verifyAuditTexts(files, opts)).to.include(want);
    for (const chunkBytes of [1, 64, 65_536]) expect(await viaDir(files, { ...opts, chunkBytes })).to.include(want);
    // A file after the until record is not even opened: an empty or torn one there is no fault.
    const more = [...files, { name: auditFileName(8), text: '' }, { name: auditFileName(9), text: 'x' }];
    expect(verifyAuditTexts(more, opts)).to.include(want);
    expect(verifyAuditTexts(files, { until: 0 })).to.include({ ok: true, records: 0 });
    // The until record must be the anchored one: a rewritten prefix is caught at it.
    expect(verifyAuditTexts(files, { until: 9, anchor: { seq: 9, hash: 'f'.repeat(64) } }).firstBad).to.include({ file: auditFileName(3), line: 1, seq: 9 });
  });

  it('settles at the first bad record and ignores what is fed after it', () => {
    const { lines } = chain(4, 4);
    const v = new ChainVerifier();
    expect(v.beginFile(auditFileName(1))).to.equal(true);
    expect(v.line(lines[0]!)).to.equal(true);
    expect(v.line(lines[2]!)).to.equal(false);
    expect(v.line(lines[1]!)).to.equal(false);
    expect(v.endFile('')).to.equal(false);
    expect(v.result([auditFileName(1)]).firstBad).to.include({ line: 2, seq: 2 });
    expect(v.verified).to.equal(1);
  });

  it('random damage: the three ways of verifying agree (fuzzed)', async () => {
    const base = chain(10, 3);
    const all = base.files.map((f) => f.text).join('');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom('delete', 'flip', 'insert-nl', 'cut-file'), ch: fc.constantFrom('x', '"', '\n', '{', '1', 'é') }), { minLength: 1, maxLength: 3 }),
        fc.nat({ max: 3 }),
        fc.constantFrom(1, 5, 333),
        async (ops, split, chunkBytes) => {
          let text = all;
          const cuts: number[] = [];
          for (const { at, op, ch } of ops) {
            const i = at % (text.length + 1);
            if (op === 'delete') text = text.slice(0, i) + text.slice(i + 1);
            else if (op === 'flip') text = text.slice(0, i) + ch + text.slice(i + 1);
            else if (op === 'insert-nl') text = `${text.slice(0, i)}\n${text.slice(i)}`;
            else cuts.push(i);
          }
          // Re-split into files at line ends (as rotation does) plus any random cut points.
          const ends = [...text.matchAll(/\n/g)].map((m) => m.index! + 1).filter((_, k) => k % (3 + split) === 3 + split - 1);
          const points = [...new Set([...ends, ...cuts])].sort((a, b) => a - b);
          const files: Files = [];
          let from = 0;
          for (const p of [...points, text.length]) {
            if (p < from) continue;
            files.push({ name: auditFileName(files.length + 1), text: text.slice(from, p) });
            from = p;
          }
          const want = referenceVerify(files);
          expect(verifyAuditTexts(files)).to.deep.equal(want);
          expect(await viaDir(files, { chunkBytes })).to.deep.equal(want);
        },
      ),
      { numRuns: 150 },
    );
  });
});
