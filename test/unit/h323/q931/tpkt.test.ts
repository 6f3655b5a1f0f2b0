/** TPKT deframer and encoder (RFC 1006) on captured H.225.0 streams and on hostile input. */
import { expect } from 'chai';
import { encodeTpkt, TPKT_MAX_FRAME_LENGTH, TpktDeframer } from '../../../../lib/h323/tpkt/index.js';
import { capturedSegments, segment } from './helpers/fixtures.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The whole s3a call signalling, both directions' segments back to back, as one byte stream. */
function capturedStream(): { bytes: Buffer; frames: string[] } {
  const segs = capturedSegments().filter((s) => s.scenario === 's3a-call-tunnelled');
  const bytes = Buffer.concat(segs.map((s) => s.bytes));
  const frames: string[] = [];
  let o = 0;
  while (o < bytes.length) {
    const len = bytes.readUInt16BE(o + 2);
    frames.push(bytes.subarray(o + 4, o + len).toString('hex'));
    o += len;
  }
  return { bytes, frames };
}

function pushAll(d: TpktDeframer, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    const r = d.push(c);
    expect(r.error).to.equal(undefined);
    out.push(...r.frames.map(toHex));
  }
  return out;
}

describe('h323/tpkt framing', () => {
  it('encodes version 3, reserved 0 and the length including the header', () => {
    const r = encodeTpkt(Uint8Array.of(1, 2, 3));
    expect(r.ok).to.equal(true);
    if (r.ok) expect(toHex(r.value)).to.equal('03000007010203');
    const empty = encodeTpkt(new Uint8Array(0));
    if (empty.ok) expect(toHex(empty.value)).to.equal('03000004');
  });

  it('refuses to encode a payload that does not fit 16 bits', () => {
    expect(encodeTpkt(new Uint8Array(TPKT_MAX_FRAME_LENGTH - 4)).ok).to.equal(true);
    const r = encodeTpkt(new Uint8Array(TPKT_MAX_FRAME_LENGTH - 3));
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.error.code).to.equal('frame-too-large');
  });

  it('splits a captured segment holding two frames (s3a 0037)', () => {
    const seg = segment('s3a-call-tunnelled', '0037-');
    const d = new TpktDeframer();
    const r = d.push(seg.bytes);
    expect(r.frames.map((f) => f.length + 4)).to.deep.equal([33, 32]);
    expect(d.inFrame).to.equal(false);
  });

  it('yields the same frames whatever the chunking: whole stream, one octet at a time, every 2-way split', () => {
    const { bytes, frames } = capturedStream();
    expect(frames.length).to.be.greaterThan(25);
    expect(pushAll(new TpktDeframer(), [bytes])).to.deep.equal(frames);
    const oneByOne = [...bytes].map((b) => Uint8Array.of(b));
    expect(pushAll(new TpktDeframer(), oneByOne)).to.deep.equal(frames);
    // Every split point of the first 600 octets (headers, bodies and boundaries all get cut).
    const head = bytes.subarray(0, 600);
    const expected = pushAll(new TpktDeframer(), [head]);
    for (let cut = 0; cut <= head.length; cut++) {
      const d = new TpktDeframer();
      expect(pushAll(d, [head.subarray(0, cut), head.subarray(cut)])).to.deep.equal(expected);
    }
  });

  it('reports a frame in progress and the octets it holds', () => {
    const d = new TpktDeframer();
    expect(d.inFrame).to.equal(false);
    d.push(Uint8Array.of(3, 0));
    expect(d.inFrame).to.equal(true);
    expect(d.buffered).to.equal(2);
    d.push(Uint8Array.of(0, 8, 1, 2));
    expect(d.buffered).to.equal(6);
    const r = d.push(Uint8Array.of(3, 4, 3));
    expect(r.frames.map(toHex)).to.deep.equal(['01020304']);
    expect(d.inFrame).to.equal(true);
    expect(d.buffered).to.equal(1);
  });

  it('passes empty keep-alive frames (03 00 00 04) through as empty payloads', () => {
    const r = new TpktDeframer().push(Buffer.from('03000004030000050a03000004', 'hex'));
    expect(r.frames.map(toHex)).to.deep.equal(['', '0a', '']);
  });

  it('fails on a wrong version at the first octet, keeping frames completed before it', () => {
    const d = new TpktDeframer();
    const r = d.push(Buffer.from('030000050a' + '474554', 'hex'));
    expect(r.frames.map(toHex)).to.deep.equal(['0a']);
    expect(r.error?.code).to.equal('bad-version');
    // The stream is dead: nothing after the error is ever parsed.
    const again = d.push(Buffer.from('030000050b', 'hex'));
    expect(again.frames).to.deep.equal([]);
    expect(again.error?.code).to.equal('bad-version');
  });

  it('fails on a length shorter than the header', () => {
    expect(new TpktDeframer().push(Buffer.from('03000003', 'hex')).error?.code).to.equal('bad-length');
  });

  it('refuses an oversized frame from its header, before buffering its body', () => {
    const d = new TpktDeframer({ maxFrameSize: 1000 });
    const r = d.push(Buffer.from('030003e9', 'hex'));
    expect(r.error?.code).to.equal('frame-too-large');
    expect(d.buffered).to.be.at.most(4);
    const okSize = new TpktDeframer({ maxFrameSize: 1000 }).push(Buffer.concat([Buffer.from('030003e8', 'hex'), Buffer.alloc(996)]));
    expect(okSize.error).to.equal(undefined);
    expect(okSize.frames).to.have.length(1);
  });

  it('abort() marks the stream dead (used for timeouts and close inside a frame)', () => {
    const d = new TpktDeframer();
    d.push(Uint8Array.of(3));
    expect(d.abort('timeout', 'slow').code).to.equal('timeout');
    expect(d.push(Buffer.from('000005aa', 'hex')).error?.code).to.equal('timeout');
  });
});
