/**
 * Video planning between SIP and H.323 (FreeSWITCH relays, never transcodes video) and the SDP
 * the H.323 leg's FreeSWITCH endpoint is offered.
 */
import { expect } from 'chai';
import { planSipToH323Video, refuseVideo, sipVideoCodecs } from '../../../lib/calls/video.js';
import { h323LegCodecs, remoteOffer, sdpVideoAddress } from '../../../lib/media/sdp.js';

const offer = (video: string): string =>
  ['v=0', 'o=a 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 4000 RTP/AVP 8 101', 'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000', ...video.split('|').filter(Boolean), ''].join('\r\n');

describe('calls/video', () => {
  it('reads the video codecs of the first active m=video line (rtpmap or static 34)', () => {
    expect(sipVideoCodecs(offer('m=video 4002 RTP/AVP 96 97 34|a=rtpmap:96 VP8/90000|a=rtpmap:97 H264/90000'))).to.deep.equal(['VP8', 'H264', 'H263']);
    expect(sipVideoCodecs(offer('m=video 0 RTP/AVP 96|a=rtpmap:96 H264/90000'))).to.deep.equal([]);
    expect(sipVideoCodecs(offer(''))).to.deep.equal([]);
  });

  it('plans H.323 video from the caller offer: H.264/H.263 kept in its order, VP8 only -> dropped (no common codec)', () => {
    expect(planSipToH323Video(offer('m=video 4002 RTP/AVP 96 97|a=rtpmap:96 VP8/90000|a=rtpmap:97 H264/90000'))).to.deep.equal({ h323: ['H264'] });
    expect(planSipToH323Video(offer('m=video 4002 RTP/AVP 34 97|a=rtpmap:97 H264/90000'))).to.deep.equal({ h323: ['H263', 'H264'] });
    // H263-1998 is RFC 4629 payload, not the RFC 2190 H.263 room systems send: not relayable as is
    expect(planSipToH323Video(offer('m=video 4002 RTP/AVP 98|a=rtpmap:98 H263-1998/90000'))).to.deep.equal({ h323: [], dropped: 'no-common-codec' });
    expect(planSipToH323Video(offer('m=video 4002 RTP/AVP 96|a=rtpmap:96 VP8/90000'))).to.deep.equal({ h323: [], dropped: 'no-common-codec' });
    expect(planSipToH323Video(offer(''))).to.deep.equal({ h323: [], dropped: 'no-video-offered' });
  });

  it('refuses video with port 0 and leaves audio alone', () => {
    const r = refuseVideo(offer('m=video 4002 RTP/AVP 96|a=rtpmap:96 VP8/90000'));
    expect(r).to.match(/^m=video 0 RTP\/AVP 96\r$/m);
    expect(r).to.match(/^m=audio 4000 RTP\/AVP 8 101\r$/m);
  });

  it('offers FreeSWITCH the H.323 side video (H.264 dynamic 96, H.263 static 34), or keeps it refused with port 0', () => {
    const o = remoteOffer({ host: '10.0.0.9', port: 5000, codec: 'PCMA', video: { host: '10.0.0.9', port: 5002, codec: 'H264' } });
    expect(o).to.match(/m=audio 5000 RTP\/AVP 8 101\r\n[\s\S]*m=video 5002 RTP\/AVP 96\r\nc=IN IP4 10\.0\.0\.9\r\na=rtpmap:96 H264\/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\na=sendrecv\r\n$/);
    expect(remoteOffer({ host: '10.0.0.9', port: 5000, codec: 'PCMA', video: { host: '10.0.0.9', port: 5002, codec: 'H263' } })).to.match(/m=video 5002 RTP\/AVP 34\r\n/);
    expect(remoteOffer({ host: '10.0.0.9', port: 5000, codec: 'PCMA', video: { host: '10.0.0.9', port: 0, codec: 'H264' } })).to.match(/m=video 0 RTP\/AVP 96\r\na=rtpmap:96 H264\/90000\r\n$/);
    expect(() => remoteOffer({ host: '10.0.0.9', port: 5000, codec: 'PCMA', video: { host: '10.0.0.9', port: 70000, codec: 'H264' } })).to.throw(/video port/);
  });

  it('finds where FreeSWITCH receives video (media-level c= wins), undefined when refused or absent', () => {
    const fs = ['v=0', 'o=FreeSWITCH 1 2 IN IP4 10.0.0.5', 's=FreeSWITCH', 'c=IN IP4 10.0.0.5', 't=0 0', 'm=audio 20000 RTP/AVP 8', 'a=rtpmap:8 PCMA/8000'];
    expect(sdpVideoAddress([...fs, 'm=video 20002 RTP/AVP 96', 'a=rtpmap:96 H264/90000', ''].join('\r\n'))).to.deep.equal({ host: '10.0.0.5', port: 20002 });
    expect(sdpVideoAddress([...fs, 'm=video 20002 RTP/AVP 96', 'c=IN IP4 10.0.0.6', ''].join('\r\n'))).to.deep.equal({ host: '10.0.0.6', port: 20002 });
    expect(sdpVideoAddress([...fs, 'm=video 0 RTP/AVP 96', ''].join('\r\n'))).to.equal(undefined);
    expect(sdpVideoAddress(fs.join('\r\n'))).to.equal(undefined);
    expect(sdpVideoAddress(undefined)).to.equal(undefined);
    expect(sdpVideoAddress('garbage\r\nm=video x')).to.equal(undefined);
  });

  it('names the leg\'s video codec in its codec_string (FreeSWITCH applies it to re-offers)', () => {
    expect(h323LegCodecs('PCMU')).to.deep.equal(['PCMU', 'PCMA', 'G722', 'G729']);
    expect(h323LegCodecs('PCMA', 'H264')).to.deep.equal(['PCMA', 'PCMU', 'G722', 'G729', 'H264']);
  });
});
