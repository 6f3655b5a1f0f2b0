/**
 * H.323 -> SIP with a caller that prefers another codec than ours (interop capture B1): an H323Plus
 * terminal preferring G.711 u-law, without fastStart, opened g711U towards the gateway while the
 * gateway, preferring A-law, opened g711A towards it. FreeSWITCH handles one codec per leg; told
 * only of A-law it dropped every packet the terminal sent. The gateway now opens its channel in the
 * terminal's codec (or reopens it there, see test/unit/h323/h245) and re-points FreeSWITCH's H.323
 * leg with it, so audio flows both ways:
 * counted by the terminal's own RTP socket and on the wire at the SIP expert's (SIPp's) media port.
 */
import { expect } from 'chai';
import { H323Endpoint } from '../../lab/h323-endpoint/endpoint.js';
import { RtpTap } from '../../support/rtp-tap.js';
import { freeMediaPort } from '../../lab/ports.js';
import { waitUntil } from '../../lab/wait.js';
import { startH323SipLab, type H323SipLab } from './h323-harness.js';

const PT_PCMA = 8;

describe('calls: H.323 -> SIP, the caller opens another codec than the gateway (B1)', function () {
  this.timeout(30_000);
  let lab: H323SipLab | undefined;
  let caller: H323Endpoint | undefined;
  let tap: RtpTap | undefined;

  afterEach(async () => {
    await tap?.stop();
    await caller?.close();
    await lab?.stop();
    lab = undefined;
    caller = undefined;
    tap = undefined;
  });

  it('u-law terminal without fastStart that keeps its choice: the gateway sends u-law too (opened in the terminal\'s preference) and RTP flows both ways on both legs', async () => {
    const l = (lab = await startH323SipLab({ rtpPackets: 150 }));
    // Like simph323 in B1: u-law first, no fastStart, keeps its own choice of codec.
    caller = new H323Endpoint({ codecs: ['PCMU', 'PCMA'], fastStart: false, rtpPackets: 150, callOptions: { followPeerCodec: false } });
    const expertPort = await freeMediaPort();
    tap = await RtpTap.start([expertPort]);
    const uas = await l.expert('h323-uas-wait-bye', 1000, 1500, { mediaPort: expertPort });
    l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
    const a = l.listener.address();
    const ec = await caller.call(a.host, a.port, '1001');
    await new Promise<void>((r) => ec.call.once('connected', () => r()));
    await waitUntil(async () => ec.receiveCodec === 'PCMU' || undefined, 'the gateway\'s channel towards the caller in u-law');
    // Counted by the caller's own socket, in the codec of the channel it now receives on (before
    // the reopen it counted A-law, the codec of the first channel).
    await ec.rtp.receivedAtLeast(ec.rtp.stats.received + 40);
    // Everything the caller has to say (150 packets, 3 s) is sent before it hangs up.
    await waitUntil(async () => ec.rtp.stats.sent >= 150 || undefined, 'the caller sent its audio');
    ec.call.hangup();
    await ec.done;
    // the caller's u-law reaches the expert, in the expert's A-law (FreeSWITCH transcodes)
    expect(tap.to(expertPort, (p) => p.pt === PT_PCMA).length, `A-law packets at the expert; flows: ${tap.summary()}`).to.be.at.least(100);
    expect(ec.media?.codec, 'what the caller sends').to.equal('PCMU');
    expect(await l.calls[0]!.whenFinished).to.equal('answered');
    await uas.stop();
  });
});
