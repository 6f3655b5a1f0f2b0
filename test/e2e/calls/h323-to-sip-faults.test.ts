/**
 * H.323 -> SIP before the answer: the H.323 caller giving up while the expert rings (CANCEL,
 * nothing left behind) and the expert never answering (no-answer timer: CANCEL
 * toward SIP, ReleaseComplete cause 19 toward H.323); FreeSWITCH unavailable (cause 41, no INVITE).
 */
import { expect } from 'chai';
import { metricValue, waitUntil } from '../../lab/wait.js';
import { startH323SipLab, type H323SipLab } from './h323-harness.js';

describe('calls: H.323 -> SIP before the answer', function () {
  this.timeout(30_000);
  let lab: H323SipLab | undefined;

  afterEach(async () => {
    await lab?.stop();
    lab = undefined;
  });

  const cancelSeen = (m: string): boolean => /CANCEL sip:/.test(m) && /487 Request Terminated/.test(m) && /ACK sip:/.test(m);

  it('caller releases while the expert rings -> CANCEL, 487, session released', async () => {
    const l = (lab = await startH323SipLab({ rtpPackets: 0 }));
    const uas = await l.expert('h323-uas-ring-cancel');
    l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
    const a = l.listener.address();
    const ec = await l.endpoint.call(a.host, a.port, '1001');
    await new Promise<void>((r) => ec.call.once('alerting', () => r()));
    ec.call.hangup(16);
    expect(await l.calls[0]!.whenFinished).to.equal('caller-abandoned');
    await waitUntil(async () => cancelSeen(uas.messages()), 'CANCEL/487/ACK at SIPp');
    const sipp = await uas.stop();
    // The CANCEL carries our Reason header toward a real drachtio-server; the drachtio double builds
    // CANCELs from the INVITE alone and drops app headers, so only the CANCEL itself is checked here.
    expect(sipp.messages).to.match(/CANCEL sip:expert@/);
    expect(sipp.messages).to.not.match(/BYE sip:/);
    expect(l.media.media.sessionCount).to.equal(0);
    if (l.media.fs) expect(l.media.fs.channelInfo().every((c) => c.state === 'hangup')).to.equal(true);
    const text = await l.registry.metrics();
    expect(metricValue(text, 'gw_h323_sip_calls_total', { outcome: 'caller-abandoned' })).to.equal(1);
  });

  it('expert never answers -> no-answer timer: CANCEL to SIP, ReleaseComplete cause 19 to H.323', async () => {
    const l = (lab = await startH323SipLab({ rtpPackets: 0, noAnswerMs: 400 }));
    const uas = await l.expert('h323-uas-ring-cancel');
    l.targets.set('1001', `sip:expert@127.0.0.1:${uas.port}`);
    const a = l.listener.address();
    const ec = await l.endpoint.call(a.host, a.port, '1001');
    const rel = await ec.done;
    expect(rel.cause).to.equal(19);
    expect(await l.calls[0]!.whenFinished).to.equal('no-answer');
    await waitUntil(async () => cancelSeen(uas.messages()), 'CANCEL/487/ACK at SIPp');
    await uas.stop();
    expect(l.media.media.sessionCount).to.equal(0);
  });

  it('media server unavailable -> ReleaseComplete cause 41 at once, no INVITE', async () => {
    const l = (lab = await startH323SipLab({ rtpPackets: 0 }));
    l.targets.set('1001', 'sip:expert@127.0.0.1:9'); // never reached
    await l.media.media.stop(); // FreeSWITCH unavailable: session() throws MediaUnavailableError
    const a = l.listener.address();
    const ec = await l.endpoint.call(a.host, a.port, '1001');
    expect((await ec.done).cause).to.equal(41);
    expect(await l.calls[0]!.whenFinished).to.equal('media-unavailable');
    expect(l.invitesPlaced).to.equal(0);
    const text = await l.registry.metrics();
    expect(metricValue(text, 'gw_h323_sip_calls_total', { outcome: 'media-unavailable' })).to.equal(1);
  });
});
