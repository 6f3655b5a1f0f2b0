import { expect } from 'chai';
import { backoffDelay } from '../../../lib/media/backoff.js';
import { remoteOffer } from '../../../lib/media/sdp.js';

describe('media backoff and H.323-leg SDP', () => {
  it('backoff doubles from the initial delay and is capped', () => {
    expect([0, 1, 2, 3, 4, 10, 1000].map((a) => backoffDelay(a, 100, 1000))).to.deep.equal([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(backoffDelay(-1, 100, 1000)).to.equal(100);
  });

  it('offer names the far end\'s RTP address, codec and telephone-event', () => {
    const sdp = remoteOffer({ host: '192.0.2.7', port: 5004, codec: 'PCMA' }, 3);
    expect(sdp).to.contain('o=gw-h323 1 3 IN IP4 192.0.2.7');
    expect(sdp).to.contain('c=IN IP4 192.0.2.7');
    expect(sdp).to.contain('m=audio 5004 RTP/AVP 8 101');
    expect(sdp).to.contain('a=rtpmap:101 telephone-event/8000');
    expect(sdp.endsWith('\r\n')).to.equal(true);
    expect(remoteOffer({ host: '2001:db8::1', port: 6000, codec: 'G729' })).to.contain('c=IN IP6 2001:db8::1').and.contain('a=fmtp:18 annexb=no');
    expect(() => remoteOffer({ host: '192.0.2.7', port: 0, codec: 'PCMU' })).to.throw(/port/);
  });
});
