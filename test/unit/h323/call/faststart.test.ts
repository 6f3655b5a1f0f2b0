/**
 * fastStart offer/answer as pure functions: the callee picks the first of its codecs the caller
 * proposed in both directions, answers with its own RTP/RTCP in the transmit proposal, and the
 * caller reads from the answer where to send and what it will receive.
 */
import { expect } from 'chai';
import { answerFastStart, offerFastStart, parseFastStartOffer, readFastStartAnswer } from '../../../../lib/h323/call/faststart.js';

describe('h323/call fastStart offer/answer', () => {
  const offer = offerFastStart(['PCMU', 'PCMA', 'H264', 'G729'], { host: '10.0.0.1', port: 5000 });

  it('offers a transmit and a receive proposal per audio codec (video is not offered)', () => {
    const p = parseFastStartOffer(offer);
    expect(p.map((x) => x.codec)).to.deep.equal(['PCMU', 'PCMU', 'PCMA', 'PCMA', 'G729', 'G729']);
    expect(p.map((x) => x.olc.forwardLogicalChannelNumber)).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });

  it('the callee picks its preferred common codec and the caller learns both directions', () => {
    const choice = answerFastStart(parseFastStartOffer(offer), ['G729', 'PCMA'], { host: '10.0.0.2', port: 7000 })!;
    expect(choice.codec).to.equal('G729');
    expect(choice.sendTo).to.deep.equal({ host: '10.0.0.1', port: 5000 });
    expect(choice.remoteRtcp).to.deep.equal({ host: '10.0.0.1', port: 5001 });
    const r = readFastStartAnswer(choice.accepted);
    expect(r.tx).to.deep.equal({ codec: 'G729', rtp: { host: '10.0.0.2', port: 7000 }, rtcp: { host: '10.0.0.2', port: 7001 } });
    expect(r.rx).to.equal('G729');
  });

  it('no common codec: no answer (the call falls back to H.245)', () => {
    expect(answerFastStart(parseFastStartOffer(offer), ['G722'], { host: '10.0.0.2', port: 7000 })).to.equal(undefined);
  });

  it('with a video address: H.264/H.263 proposals in session 2 after the audio ones; the callee accepts one video codec', () => {
    const v = offerFastStart(['PCMA', 'H264', 'H263'], { host: '10.0.0.1', port: 5000 }, { host: '10.0.0.1', port: 5002 });
    const p = parseFastStartOffer(v);
    expect(p.map((x) => x.codec)).to.deep.equal(['PCMA', 'PCMA', 'H264', 'H264', 'H263', 'H263']);
    const choice = answerFastStart(p, ['PCMA', 'H263', 'H264'], { host: '10.0.0.2', port: 7000 }, { host: '10.0.0.2', port: 7002 })!;
    expect(choice.codec).to.equal('PCMA');
    expect(choice.video).to.include({ codec: 'H263' });
    expect(choice.video!.sendTo).to.deep.equal({ host: '10.0.0.1', port: 5002 });
    expect(choice.accepted).to.have.length(4);
    const r = readFastStartAnswer(choice.accepted);
    expect(r.tx).to.deep.equal({ codec: 'PCMA', rtp: { host: '10.0.0.2', port: 7000 }, rtcp: { host: '10.0.0.2', port: 7001 } });
    expect(r.videoTx).to.deep.equal({ codec: 'H263', rtp: { host: '10.0.0.2', port: 7002 }, rtcp: { host: '10.0.0.2', port: 7003 } });
    expect(r.videoRx).to.equal('H263');
  });

  it('video proposals without our video address or codec: audio-only answer (video dropped, call goes on)', () => {
    const v = offerFastStart(['PCMA', 'H264'], { host: '10.0.0.1', port: 5000 }, { host: '10.0.0.1', port: 5002 });
    const noAddr = answerFastStart(parseFastStartOffer(v), ['PCMA', 'H264'], { host: '10.0.0.2', port: 7000 })!;
    expect(noAddr.video).to.equal(undefined);
    expect(noAddr.accepted).to.have.length(2);
    const noCodec = answerFastStart(parseFastStartOffer(v), ['PCMA', 'H263'], { host: '10.0.0.2', port: 7000 }, { host: '10.0.0.2', port: 7002 })!;
    expect(noCodec.video).to.equal(undefined);
    expect(readFastStartAnswer(noCodec.accepted).videoTx).to.equal(undefined);
    // video alone is no answer: audio is what the call needs
    expect(answerFastStart(parseFastStartOffer(v), ['H264'], { host: '10.0.0.2', port: 7000 }, { host: '10.0.0.2', port: 7002 })).to.equal(undefined);
  });

  it('garbage elements are skipped, never thrown', () => {
    expect(parseFastStartOffer([Uint8Array.of(0xff), new Uint8Array(0), ...offer.slice(0, 2)])).to.have.length(2);
    expect(readFastStartAnswer([Uint8Array.of(1, 2, 3)])).to.deep.equal({});
  });
});
