/**
 * H.323 -> SIP with a caller that opens another codec than ours (interop capture B1): an H323Plus
 * terminal preferring G.711 u-law, without fastStart, opens g711U towards the gateway while the
 * gateway, preferring A-law, opens g711A towards it. FreeSWITCH handles one codec per leg; told
 * only of A-law it dropped every packet the terminal sent. The gateway now reopens its channel in
 * the terminal's codec and re-points FreeSWITCH's H.323 leg with it, so audio flows both ways:
 * counted on the wire, at the terminal's RTP port and at the SIP expert's (SIPp's) media port.
 */
import { expect } from 'chai';
import { H323Endpoint } from '../../lab/h323-endpoint/endpoint.js';
import { RtpCapture } from '../../support/rtp-capture.js';
import { waitUntil } from '../../lab/wait.js';
import { startH323SipLab, type H323SipLab } from './h323-harness.js';

const PT_PCMU = 0;
const PT_PCMA = 8;

/** The media port in the SDP of the SIPp expert's 200 OK (what FreeSWITCH sends the expert's audio to). */
function expertMediaPort(messages: string): number {
  const m = /SIP\/2\.0 200 OK[\s\S]*?\r?\n\r?\n[\s\S]*?m=audio (\d+) /.exec(messages);
  if (!m) throw new Error('no SDP answer in the SIPp trace');
  return Number(m[1]);
}

describe('calls: H.323 -> SIP, the caller opens another codec than the gateway (B1)', function () {
  this.timeout(30_000);
  let lab: H323SipLab | undefined;
  let caller: H323Endpoint | undefined;
  let capture: RtpCapture | undefined;

  afterEach(async () => {
    await capture?.stop().catch(() => undefined);
    await caller?.close();
    await lab?.stop();
    lab = undefined;
    caller = undefined;
    capture = undefined;
  });

  it('u-law terminal without fastStart: the gateway reopens its channel in u-law and RTP flows both ways on both legs', async () => {
    const l = (lab = await startH323SipLab({ rtpPackets: 150 }));
    // Like simph323 in B1: u-law first, no fastStart, keeps its own choice of codec.
    caller = new H323Endpoint({ codecs: ['PCMU', 'PCMA'], fastStart: false, rtpPackets: 150, callOptions: { followPeerCodec: false } });
    const uas = await l.expert('h323-uas-wait-bye');
    l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
    capture = await RtpCapture.start();
    const a = l.listener.address();
    const ec = await caller.call(a.host, a.port, '1001');
    await new Promise<void>((r) => ec.call.once('connected', () => r()));
    await waitUntil(async () => ec.receiveCodec === 'PCMU' || undefined, 'the gateway reopened its channel towards the caller in u-law');
    // Counted by the caller's socket in the codec of the channel it now receives on (before the
    // reopen it counted A-law, the codec of the first channel).
    await ec.rtp.receivedAtLeast(ec.rtp.stats.received + 40);
    const expertPort = expertMediaPort(uas.messages());
    // Everything the caller has to say (150 packets, 3 s) is sent before it hangs up.
    await waitUntil(async () => ec.rtp.stats.sent >= 150 || undefined, 'the caller sent its audio');
    ec.call.hangup();
    await ec.done;
    const seen = (await capture.stop());
    capture = undefined;
    const toCaller = seen.to(ec.rtp.port);
    const toExpert = seen.to(expertPort);
    // the expert's audio reaches the caller through FreeSWITCH in u-law ...
    expect(toCaller.byPayloadType[PT_PCMU] ?? 0, 'u-law packets at the caller').to.be.at.least(40);
    // ... and the caller's u-law reaches the expert, in the expert's A-law (FreeSWITCH transcodes)
    expect(toExpert.byPayloadType[PT_PCMA] ?? 0, 'A-law packets at the expert').to.be.at.least(100);
    expect(ec.media?.codec, 'what the caller sends').to.equal('PCMU');
    expect(await l.calls[0]!.whenFinished).to.equal('answered');
    await uas.stop();
  });
});
