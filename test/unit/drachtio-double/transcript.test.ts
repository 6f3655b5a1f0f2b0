import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { fixture } from '../../support/paths.js';
import { diffLines, normalise, parseTranscript } from '../../e2e/drachtio-golden/transcript.js';

const load = (name: string): ReturnType<typeof parseTranscript> =>
  parseTranscript(readFileSync(fixture('drachtio', `${name}-9022-messages.txt`), 'utf8'));

describe('golden transcript normalisation', () => {
  it('a transcript equals itself after normalising, with ids/times/ports/tags replaced', () => {
    const n = normalise(load('a-invite-bye'));
    expect(diffLines(n['S->C'], normalise(load('a-invite-bye'))['S->C'])).to.equal(undefined);
    const text = n['S->C'].join('\n');
    expect(text).not.to.match(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(text).not.to.match(/\d\d:\d\d:\d\d\.\d{6}/);
    expect(text).not.to.match(/5070|5060/);
    expect(text).to.include('SIP/2.0 200 OK').and.to.include('<re:route|invite>');
  });

  it('values that differ only by run (ids, tags, branches, ports, Call-IDs) normalise the same', () => {
    const frames = load('d-options');
    const fresh = new Map<string, string>();
    const other = frames.map((f) => ({
      dir: f.dir,
      payload: f.payload
        .replace(/23246SIPpTag001/g, '999SIPpTag001').replace(/p8r5yDtQ901ma/g, 'zzzzzzzzzzzzz')
        .replace(/z9hG4bK-23246-1-0/g, 'z9hG4bK-1-1-0').replace(/5070/g, '40123').replace(/1-23246@/g, '7-1@')
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => {
          if (!fresh.has(u)) fresh.set(u, randomUUID());
          return fresh.get(u)!;
        }),
    }));
    const a = normalise(frames);
    const b = normalise(other);
    expect(diffLines(a['C->S'], b['C->S'])).to.equal(undefined);
    expect(diffLines(a['S->C'], b['S->C'])).to.equal(undefined);
  });

  it('a changed header, a missing frame or a reordered frame fails with a readable diff', () => {
    const frames = load('a-invite-bye');
    const base = normalise(frames)['S->C'];
    const changed = normalise(frames.map((f) => ({ ...f, payload: f.payload.replace('Contact: <sip:127.0.0.1:5060>', 'Contact: <sip:127.0.0.1:5060;transport=tcp>') })))['S->C'];
    const d1 = diffLines(base, changed)!;
    expect(d1).to.match(/^- \s+Contact: <sip:127\.0\.0\.1:<port>>$/m).and.to.match(/^\+ \s+Contact: <sip:127\.0\.0\.1:<port>;transport=tcp>$/m);
    const missing = normalise(frames.filter((f) => !f.payload.includes('|cdr:start|')))['S->C'];
    expect(diffLines(base, missing)).to.match(/^- S->C cdr:start\|application\|<time>\|uas$/m);
    const i = frames.findIndex((f) => f.payload.includes('|cdr:attempt|'));
    const swapped = [...frames];
    [swapped[i - 1], swapped[i]] = [swapped[i]!, swapped[i - 1]!];
    expect(diffLines(base, normalise(swapped)['S->C'])).to.be.a('string');
  });
});
