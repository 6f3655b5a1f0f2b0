/**
 * The neighbour responder's retry cache (typed arrays, fixed memory): answers come back
 * byte-exact until they expire or newer answers push them out, never someone else's answer.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { AnswerCache } from '../../../lib/h323/ras/answer-cache.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('h323 RAS answer cache', () => {
  it('returns a copy of the answer for its key until it expires', () => {
    const c = new AnswerCache({ slots: 4, bytes: 64, ttlMs: 100 });
    c.put(7, bytes(1, 2, 3), 1000);
    const got = c.get(7, 1099);
    expect(got && [...got]).to.deep.equal([1, 2, 3]);
    got![0] = 99; // a copy: the caller may hand it to dgram and the ring may move on
    expect([...c.get(7, 1050)!]).to.deep.equal([1, 2, 3]);
    expect(c.get(7, 1100)).to.equal(undefined);
    expect(c.get(8, 1000)).to.equal(undefined);
  });

  it('keeps keys that differ only above 32 bits apart (neighbour and port are packed high)', () => {
    const c = new AnswerCache({ slots: 8, bytes: 64, ttlMs: 1000 });
    const k1 = (0 * 65536 + 1719) * 65536 + 5;
    const k2 = (1 * 65536 + 1719) * 65536 + 5;
    c.put(k1, bytes(1), 0);
    c.put(k2, bytes(2), 0);
    expect([...c.get(k1, 1)!]).to.deep.equal([1]);
    expect([...c.get(k2, 1)!]).to.deep.equal([2]);
  });

  it('forgets the oldest answer when all slots are used', () => {
    const c = new AnswerCache({ slots: 3, bytes: 64, ttlMs: 1000 });
    for (let k = 1; k <= 4; k++) c.put(k, bytes(k), 0);
    expect(c.get(1, 1)).to.equal(undefined);
    expect([2, 3, 4].map((k) => c.get(k, 1)?.[0])).to.deep.equal([2, 3, 4]);
    expect(c.size(1)).to.equal(3);
  });

  it('forgets answers whose bytes newer answers overwrote, and serves one that wraps the ring end', () => {
    const c = new AnswerCache({ slots: 16, bytes: 10, ttlMs: 1000 });
    c.put(1, bytes(1, 1, 1, 1), 0); // 0..3
    c.put(2, bytes(2, 2, 2, 2), 0); // 4..7
    c.put(3, bytes(3, 3, 3, 3), 0); // 8..9 then 0..1: wraps, overwrites key 1's bytes
    expect(c.get(1, 1)).to.equal(undefined);
    expect([...c.get(2, 1)!]).to.deep.equal([2, 2, 2, 2]);
    expect([...c.get(3, 1)!]).to.deep.equal([3, 3, 3, 3]);
  });

  it('does not keep an answer larger than its byte ring', () => {
    const c = new AnswerCache({ slots: 4, bytes: 4, ttlMs: 1000 });
    c.put(1, bytes(1, 2, 3, 4, 5), 0);
    expect(c.get(1, 1)).to.equal(undefined);
  });

  it('refuses a size it cannot work with', () => {
    expect(() => new AnswerCache({ slots: 0, bytes: 64, ttlMs: 1 })).to.throw(RangeError);
  });

  it('agrees with a plain model of its rules under random puts and gets', () => {
    // Model: an answer is served when it is among the last `slots` written, none written after it
    // for the same key, its bytes are among the last `bytes` written, and it has not expired.
    const op = fc.oneof(
      fc.record({ put: fc.constant(true), key: fc.integer({ min: 0, max: 40 }), len: fc.integer({ min: 1, max: 12 }), dt: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ put: fc.constant(false), key: fc.integer({ min: 0, max: 40 }), len: fc.constant(0), dt: fc.integer({ min: 0, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 8, max: 64 }), fc.array(op, { maxLength: 200 }), (slots, size, ops) => {
        const ttl = 100;
        const c = new AnswerCache({ slots, bytes: size, ttlMs: ttl });
        const written: { key: number; data: Uint8Array; end: number; expires: number }[] = [];
        let total = 0;
        let now = 0;
        let n = 0;
        for (const o of ops) {
          now += o.dt;
          if (o.put) {
            const data = Uint8Array.from({ length: o.len }, () => n++ & 0xff);
            c.put(o.key, data, now);
            if (o.len <= size) {
              total += o.len;
              written.push({ key: o.key, data, end: total, expires: now + ttl });
            }
            continue;
          }
          const recent = written.slice(-slots);
          const newest = [...recent].reverse().find((w) => w.key === o.key);
          const want = newest && newest.expires > now && total - (newest.end - newest.data.length) <= size ? [...newest.data] : undefined;
          const got = c.get(o.key, now);
          expect(got && [...got]).to.deep.equal(want);
        }
      }),
      { numRuns: 300 },
    );
  });
});
