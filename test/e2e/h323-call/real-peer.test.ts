/**
 * Calls a real H.323 endpoint or GnuGk (gatekeeper-routed call signalling) with the test
 * endpoint. Skipped unless H323_PEER is set.
 *
 *   H323_PEER=host:port            call-signalling address to dial (e.g. GnuGk 127.0.0.1:1720)
 *   H323_PEER_NUMBER=9123          called number / dialledDigits alias (default 1000)
 *   H323_PEER_FASTSTART=0          do not offer fastStart (default: offer)
 *   H323_PEER_TUNNEL=0             do not tunnel H.245 (default: tunnel)
 *   H323_LOCAL_HOST=10.0.0.5       our address for RTP/H.245 (default 127.0.0.1)
 *   H323_PEER_DTMF=123             digits to send once media is up (default 1)
 *   H323_PEER_EXPECT_CAUSE=17      expect the call to be refused with this cause instead
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { H323Endpoint } from '../../lab/h323-endpoint/endpoint.js';

const peer = process.env.H323_PEER;

describe('h323 call to a real peer (H323_PEER)', function () {
  this.timeout(60_000);
  let ep: H323Endpoint | undefined;

  before(function () {
    if (!peer) this.skip();
  });
  after(async () => {
    await ep?.close();
  });

  it('connects, negotiates media, sends RTP and DTMF, hangs up', async () => {
    const [host, port] = peer!.split(':');
    ep = new H323Endpoint({
      host: process.env.H323_LOCAL_HOST ?? '127.0.0.1',
      fastStart: process.env.H323_PEER_FASTSTART !== '0',
      tunnel: process.env.H323_PEER_TUNNEL !== '0',
      rtpPackets: 100,
    });
    const c = await ep.call(host!, Number(port ?? 1720), process.env.H323_PEER_NUMBER ?? '1000');
    const expectCause = process.env.H323_PEER_EXPECT_CAUSE;
    if (expectCause) {
      const r = await c.done;
      expect(r.cause).to.equal(Number(expectCause));
      return;
    }
    await Promise.race([once(c.call, 'connected'), c.done.then((r) => Promise.reject(new Error(`released: cause ${r.cause} ${r.reason ?? ''}`)))]);
    if (!c.media) await once(c.call, 'media');
    expect(c.media!.remoteRtp.port).to.be.greaterThan(0);
    expect(c.call.sendDtmf(process.env.H323_PEER_DTMF ?? '1')).to.equal(true);
    await c.rtp.receivedAtLeast(1);
    c.call.hangup();
    const r = await c.done;
    expect(r.by).to.equal('local');
  });
});
