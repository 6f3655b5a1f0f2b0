/**
 * Aligned PER (X.691) codec: hand-computed encodings for each type and constraint form, the
 * extension rules that make received messages re-encode byte-exact, fragmentation, and the
 * decoder's refusal of hostile lengths.
 */
import { expect } from 'chai';
import {
  BOOLEAN,
  NULL,
  OID,
  PerDecodeError,
  bitString,
  charString,
  choice,
  decode,
  encode,
  enumerated,
  extChoice,
  extSequence,
  extensionInfo,
  integer,
  octetString,
  opt,
  ref,
  sequence,
  sequenceOf,
  size,
  type AnySchema,
  type Schema,
} from '../../../lib/h323/per/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

function vector<T>(schema: Schema<T>, value: T, expected: string): void {
  expect(hex(encode(schema, value)), 'encoding').to.equal(expected.replace(/\s+/g, ''));
  expect(decode(schema, bytes(expected)), 'decoding').to.deep.equal(value);
}

describe('PER codec (X.691 aligned)', () => {
  describe('INTEGER', () => {
    it('constrained, range <= 255: minimal bit-field, not aligned', () => {
      vector(sequence({ a: integer(0, 7), b: integer(0, 1) }), { a: 5, b: 1 }, 'b0');
    });
    it('constrained, range 256: one aligned octet', () => {
      vector(sequence({ f: BOOLEAN, n: integer(0, 255) }), { f: true, n: 0x8a }, '80 8a');
    });
    it('constrained, range <= 64K: two aligned octets (RequestSeqNum)', () => {
      vector(integer(1, 65535), 1, '0000');
      vector(integer(1, 65535), 1719, '06b6');
    });
    it('constrained, range > 64K: octet count in 2 bits, then octets (BandWidth)', () => {
      vector(integer(0, 4294967295), 0, '0000');
      vector(integer(0, 4294967295), 70000, '80 011170');
      vector(integer(0, 4294967295), 4294967295, 'c0 ffffffff');
    });
    it('semi-constrained and unconstrained', () => {
      vector(integer(0), 300, '02 012c');
      vector(integer(), -1, '01 ff');
      vector(integer(), 128, '02 0080');
      vector(integer(), -129, '02 ff7f');
    });
    it('extensible range: outside the root goes unconstrained after the ext bit', () => {
      vector(integer(0, 16383, true), 20000, '80 02 4e20');
      vector(integer(0, 16383, true), 24, '00 0018');
    });
    it('refuses values outside a non-extensible range when encoding', () => {
      expect(() => encode(integer(1, 10), 11)).to.throw(/outside/);
    });
  });

  describe('ENUMERATED, BOOLEAN, NULL', () => {
    const e = enumerated(['a', 'b', 'c'], ['d']);
    it('root value: ext bit + index', () => vector(e, 'c', '40'));
    it('extension value: ext bit + normally small number', () => vector(e, 'd', '80'));
    it('unknown extension value is kept and re-encoded', () => {
      const v = decode(enumerated(['a', 'b', 'c'], []), bytes('81'));
      expect(v).to.equal('$ext:1');
      expect(hex(encode(enumerated(['a', 'b', 'c'], []), v))).to.equal('81');
    });
    it('NULL takes no bits; an empty complete encoding is one zero octet', () => {
      vector(NULL, null, '00');
      vector(sequence({ n: NULL, b: BOOLEAN }), { n: null, b: true }, '80');
    });
  });

  describe('strings', () => {
    const digits = charString('IA5', size(1, 128), '0123456789#*,');
    it('permitted alphabet FROM("0123456789#*,"): 4-bit indexes, aligned, 7-bit length', () => {
      vector(digits, '9123', '06 c456');
    });
    it('refuses characters outside the permitted alphabet', () => {
      expect(() => encode(digits, '12a')).to.throw(/not in permitted alphabet/);
      expect(() => decode(digits, bytes('00 f0'))).to.throw(PerDecodeError);
    });
    it('BMPString SIZE(1..128): 16-bit characters', () => {
      vector(charString('BMP', size(1, 128)), 'ab', '02 0061 0062');
    });
    it('IA5String unconstrained: 8-bit characters after an octet length', () => {
      vector(charString('IA5'), 'sip:a@b', '07 7369703a614062');
    });
    it('NumericString: indexes into " 0123456789"', () => {
      vector(charString('Numeric', size(4)), '12 3', '2304');
    });
    it('OCTET STRING: fixed <= 2 octets unaligned, fixed 4 aligned, variable with length', () => {
      vector(sequence({ b: BOOLEAN, p: octetString(size(2)) }), { b: true, p: bytes('06b7') }, '83 5b 80');
      vector(sequence({ b: BOOLEAN, ip: octetString(size(4)) }), { b: true, ip: bytes('7f000001') }, '80 7f000001');
      vector(octetString(size(1, 20)), bytes('0102'), '08 0102');
      vector(octetString(), bytes('4757'), '02 4757');
    });
    it('BIT STRING SIZE(32) aligned, unconstrained with length', () => {
      vector(sequence({ b: BOOLEAN, s: bitString(size(32)) }), { b: true, s: { length: 32, bytes: bytes('deadbeef') } }, '80 deadbeef');
      vector(bitString(), { length: 3, bytes: bytes('a0') }, '03 a0');
    });
    it('OBJECT IDENTIFIER: octet length + BER arcs', () => {
      vector(OID, '1.3.6.1.4.1.17090.0.9', '0a 2b0601040181854200 09');
      vector(OID, '0.0.8.2250.0.7', '06 0008914a0007');
    });
    it('OIDs decoded again and again, alternating and differing only in the last arc, stay distinct', () => {
      // The decoder remembers recent OID encodings; a near miss must not return a remembered string.
      const oids = ['0.0.8.2250.0.7', '0.0.8.2250.0.6', '1.3.6.1.4.1.17090.0.9', '0.0.8.2250.0.7', '1.3.6.1.4.1.17090.0.10', '0.0.8.2250.0.6'];
      for (let round = 0; round < 3; round++) for (const o of oids) expect(decode(OID, encode(OID, o))).to.equal(o);
      const many = Array.from({ length: 20 }, (_, i) => `1.3.6.1.4.1.17090.0.${i}`);
      for (const o of [...many, ...many.reverse()]) expect(decode(OID, encode(OID, o))).to.equal(o);
    });
    it('character strings of every length up to past the 8-character pieces the decoder builds them in', () => {
      const bmp = charString('BMP', size(1, 256));
      const ia5 = charString('IA5', size(1, 256));
      const text = 'Guardian Council \u00e9\u4e2d room 12 \u20ac';
      for (let n = 1; n <= text.length; n++) {
        const v = text.slice(0, n);
        expect(decode(bmp, encode(bmp, v))).to.equal(v);
        const ascii = v.replace(/[^\x00-\x7f]/g, '?');
        expect(decode(ia5, encode(ia5, ascii))).to.equal(ascii);
      }
      expect(hex(encode(bmp, 'ab\u20ac'))).to.equal('0200610062' + '20ac');
      expect(() => decode(ia5, bytes('00 80'))).to.throw(PerDecodeError, /not permitted/);
    });
  });

  describe('length determinants and fragmentation', () => {
    it('lengths 128..16383 take two octets', () => {
      const v = new Uint8Array(200).fill(7);
      expect(hex(encode(octetString(), v)).slice(0, 4)).to.equal('80c8');
      expect(decode(octetString(), encode(octetString(), v))).to.deep.equal(v);
    });
    it('16K and more is fragmented in 16K multiples, ending with a (possibly zero) length', () => {
      const exact = new Uint8Array(16384).fill(1);
      const enc = encode(octetString(), exact);
      expect(enc.length).to.equal(1 + 16384 + 1);
      expect(enc[0]).to.equal(0xc1);
      expect(enc[enc.length - 1]).to.equal(0x00);
      expect(decode(octetString(), enc)).to.deep.equal(exact);

      const big = Uint8Array.from({ length: 70000 }, (_, i) => i & 0xff);
      const e2 = encode(octetString(), big);
      expect(e2[0]).to.equal(0xc4); // 4 x 16K
      expect(e2[1 + 65536]).to.equal(0x80 | ((70000 - 65536) >> 8));
      expect(decode(octetString(), e2)).to.deep.equal(big);
    });
    it('SEQUENCE OF fragments by item count', () => {
      const items = Array.from({ length: 20000 }, (_, i) => i % 3 === 0);
      const s = sequenceOf(BOOLEAN);
      const enc = encode(s, items);
      expect(enc[0]).to.equal(0xc1);
      expect(decode(s, enc)).to.deep.equal(items);
    });
    it('constrained SEQUENCE OF SIZE(1..512) uses an aligned two-octet count', () => {
      vector(sequenceOf(BOOLEAN, size(1, 512)), [true, false], '0001 80');
    });
  });

  describe('SEQUENCE and CHOICE extensions', () => {
    const v1 = extSequence({ a: integer(0, 255), b: opt(BOOLEAN) }, { x: opt(integer(0, 255)) });
    const v2 = extSequence({ a: integer(0, 255), b: opt(BOOLEAN) }, { x: opt(integer(0, 255)), y: opt(charString('IA5')), z: BOOLEAN });

    it('extension additions are open types after a bitmap trimmed to the last present one', () => {
      // ext=1 b=0 | a=0x11 | bitmap len-1=0 (7 bits incl. flag), bit x=1 | open type 01 2a
      vector(v1, { a: 0x11, x: 42 }, '80 11 01 01 2a');
    });
    it('additions unknown to the receiver are kept and re-encoded as received', () => {
      const wire = encode(v2, { a: 1, y: 'hi', z: true });
      const old = decode(v1, wire);
      expect(old).to.deep.equal({ a: 1 });
      expect(extensionInfo(old)?.count).to.equal(3);
      expect(hex(encode(v1, old))).to.equal(hex(wire));
      expect(decode(v2, encode(v1, old))).to.deep.equal({ a: 1, y: 'hi', z: true });
    });
    it('re-encodes with the sender\'s bitmap width even when trailing bits are clear', () => {
      // bitmap of 3 bits with only x present: a trimming encoder would write 1 bit
      const wire = bytes('80 05 05 00 01 07'); // hand-built: ext, a=5, n-1=2, bits 100, open type(x=7)
      const v = decode(v2, wire);
      expect(v).to.deep.equal({ a: 5, x: 7 });
      expect(hex(encode(v2, v))).to.equal(hex(wire));
    });
    const c1 = extChoice({ p: NULL, q: integer(0, 3) }, { r: BOOLEAN });
    const c2 = extChoice({ p: NULL, q: integer(0, 3) }, { r: BOOLEAN, s: charString('IA5') });
    it('CHOICE root index and extension alternative as open type', () => {
      vector(c1, { choice: 'q', value: 2 }, '60');
      vector(c1, { choice: 'r', value: true }, '80 01 80');
    });
    it('unknown CHOICE extension alternative is kept and re-encoded', () => {
      const wire = encode(c2, { choice: 's', value: 'x' });
      const v = decode(c1, wire);
      expect(v).to.deep.equal({ choice: '$unknown', index: 1, value: bytes('0178') });
      expect(hex(encode(c1, v))).to.equal(hex(wire));
    });
    it('non-extensible CHOICE with one alternative takes no index bits', () => {
      vector(choice({ only: integer(0, 15) }), { choice: 'only', value: 9 }, '90');
    });
  });

  describe('hostile input', () => {
    it('a length beyond the remaining input fails before allocating', () => {
      expect(() => decode(octetString(), bytes('bfff 00'))).to.throw(PerDecodeError, /exceeds remaining/);
      expect(() => decode(sequenceOf(integer(0, 255)), bytes('c4'))).to.throw(PerDecodeError);
    });
    it('zero-size items cannot be multiplied without bound', () => {
      const fragments = Buffer.alloc(64, 0xc4);
      expect(() => decode(sequenceOf(NULL), fragments)).to.throw(PerDecodeError, /exceeds/);
    });
    it('deep nesting is refused instead of overflowing the stack', () => {
      interface Node {
        next?: Node;
      }
      const Node: AnySchema = sequence({ next: opt(ref<Node>(() => Node)) });
      const deep = Buffer.alloc(200, 0xff);
      expect(() => decode(Node as Schema<Node>, deep)).to.throw(PerDecodeError, /too deep/);
    });
    it('a constrained number whose bits exceed the upper bound is refused (SIZE(1..20) sent as 22)', () => {
      expect(() => decode(octetString(size(1, 20)), bytes('a8' + '00'.repeat(22)))).to.throw(PerDecodeError, /above upper bound/);
      expect(() => decode(integer(0, 4), bytes('e0'))).to.throw(PerDecodeError, /above upper bound/);
    });
    it('truncated input is a PerDecodeError', () => {
      expect(() => decode(integer(1, 65535), bytes('00'))).to.throw(PerDecodeError, /truncated/);
    });
  });
});
