import { expect } from 'chai';
import fc from 'fast-check';
import { FrameDecoder, encodeFrame } from '../../lab/drachtio-double/framing.js';
import { parseWire, WireParseError } from '../../lab/drachtio-double/wire.js';

function decodeAll(chunks: Buffer[]): ReturnType<FrameDecoder['push']> {
  const d = new FrameDecoder();
  return chunks.flatMap((c) => d.push(c));
}

describe('drachtio double: framing', () => {
  it('encodes the length in UTF-8 bytes, not characters', () => {
    expect(encodeFrame('ab|é').toString('utf8')).to.equal('5#ab|é');
  });

  it('decodes back-to-back frames and frames split across chunks', () => {
    const wire = Buffer.concat([encodeFrame('id1|ping'), encodeFrame('id2|route|invite'), encodeFrame('x|ü€')]);
    const bytes = [...wire].map((b) => Buffer.from([b])); // worst case: one byte per chunk
    expect(decodeAll(bytes)).to.deep.equal([
      { kind: 'frame', payload: 'id1|ping' },
      { kind: 'frame', payload: 'id2|route|invite' },
      { kind: 'frame', payload: 'x|ü€' },
    ]);
  });

  it('waits for the rest of a frame', () => {
    const d = new FrameDecoder();
    expect(d.push(Buffer.from('10#abc'))).to.deep.equal([]);
    expect(d.pendingBytes).to.equal(6);
    expect(d.push(Buffer.from('defghij'))).to.deep.equal([{ kind: 'frame', payload: 'abcdefghij' }]);
  });

  it('refuses garbage before the length', () => {
    const out = decodeAll([Buffer.from('GET / HTTP/1.1\r\n')]);
    expect(out).to.have.length(1);
    expect(out[0]).to.deep.include({ kind: 'error' });
    expect((out[0] as { reason: string }).reason).to.match(/bad length prefix/);
  });

  it('refuses a length of 6+ digits (oversize frame) as soon as the 6th digit arrives', () => {
    const d = new FrameDecoder();
    expect(d.push(Buffer.from('99999'))).to.deep.equal([]); // 5 digits may still be valid
    const out = d.push(Buffer.from('9'));
    expect(out[0]).to.deep.include({ kind: 'error' });
    expect((out[0] as { reason: string }).reason).to.match(/oversize/);
    expect(d.isBroken).to.equal(true);
    expect(d.push(encodeFrame('id|ping'))).to.deep.equal([]); // no resync after framing is lost
  });

  it('accepts a 5-digit length (the largest allowed frame)', () => {
    const payload = 'x'.repeat(99_999);
    expect(decodeAll([encodeFrame(payload)])).to.deep.equal([{ kind: 'frame', payload }]);
  });

  it('detects a lying (too short) length at the next frame boundary', () => {
    const out = decodeAll([Buffer.from('5#id|ping-and-more')]);
    expect(out[0]).to.deep.equal({ kind: 'frame', payload: 'id|pi' });
    expect(out[1]).to.deep.include({ kind: 'error' });
  });

  it('refuses zero and empty lengths', () => {
    expect(decodeAll([Buffer.from('0#')])[0]).to.deep.include({ kind: 'error' });
    expect(decodeAll([Buffer.from('#abc')])[0]).to.deep.include({ kind: 'error' });
  });

  it('fuzz: any payload list survives encode + arbitrary chunking', () => {
    fc.assert(fc.property(
      fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
      (payloads, cuts) => {
        const wire = Buffer.concat(payloads.map(encodeFrame));
        const chunks: Buffer[] = [];
        let at = 0;
        for (let i = 0; at < wire.length; i++) {
          const n = cuts[i % cuts.length]!;
          chunks.push(wire.subarray(at, at + n));
          at += n;
        }
        expect(decodeAll(chunks)).to.deep.equal(payloads.map((payload) => ({ kind: 'frame', payload })));
      },
    ), { numRuns: 300 });
  });

  it('fuzz: random bytes never throw; once broken the decoder stays quiet', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
      const d = new FrameDecoder();
      let broken = false;
      for (const c of chunks) {
        const out = d.push(Buffer.from(c));
        if (broken) expect(out).to.deep.equal([]);
        if (out.some((e) => e.kind === 'error')) broken = true;
      }
    }), { numRuns: 500 });
  });
});

describe('drachtio double: wire payloads', () => {
  it('splits the leader and the SIP part', () => {
    const m = parseWire('abc|sip|network|5|udp\r\nOPTIONS sip:x SIP/2.0\r\n\r\n');
    expect(m.id).to.equal('abc');
    expect(m.type).to.equal('sip');
    expect(m.tokens).to.deep.equal(['abc', 'sip', 'network', '5', 'udp']);
    expect(m.sip).to.equal('OPTIONS sip:x SIP/2.0\r\n\r\n');
  });

  it('rejects payloads without id|type', () => {
    for (const bad of ['hello', '|ping', 'id|', '']) expect(() => parseWire(bad), bad).to.throw(WireParseError);
  });
});
