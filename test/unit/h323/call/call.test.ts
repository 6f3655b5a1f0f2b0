/**
 * The per-call state machine against a scripted peer on a real TCP connection (127.0.0.1), with
 * injected timers: each timer (no answer to Setup, no Connect, no answer, H.245) releases the
 * call with ReleaseComplete and the right cause; bad input is answered with ReleaseComplete and
 * the connection closed; StatusEnquiry gets a Status with the call state.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { isolatedRegistry } from '../../../../lib/metrics/registry.js';
import { H323Call, type CallOptions, type ReleaseInfo } from '../../../../lib/h323/call/index.js';
import { MessageType, findIe, decodeUserUser, buildMessage, callReference, type Q931Message } from '../../../../lib/h323/q931/index.js';
import { h225UserUserCodec, ipTransport, transportToHostPort, uuieBody, uuieType } from '../../../../lib/h323/h225/codec.js';
import { callProceedingMessage, alertingMessage, connectMessage, facilityMessage, releaseCompleteMessage, setupMessage, statusInquiryMessage, tunnelMessage } from '../../../../lib/h323/h225/build.js';
import { encodeH245 } from '../../../../lib/h323/h245/codec.js';
import { command } from '../../../../lib/h323/h245/messages.js';
import { decodeH245 } from '../../../../lib/h323/h245/codec.js';
import { h245MessageName } from '../../../../lib/h323/h245/messages.js';
import { encodeTpkt } from '../../../../lib/h323/tpkt/index.js';
import { FakeTimers, loopback, type Loopback } from '../q931/helpers/loopback.js';
import { Peer } from './helpers.js';
import { IDS, CR_OUT, CR_BACK } from '../h225/samples.js';

const cause = (m: Q931Message): number | undefined => findIe(m, 'cause')?.value;

function tunnelled(m: Q931Message): string[] {
  const uu = decodeUserUser(m, h225UserUserCodec);
  if (!uu.ok) return [];
  return (uu.value['h323-uu-pdu'].h245Control ?? []).map((b) => h245MessageName(decodeH245(b)));
}

describe('h323/call state machine (scripted peer, injected timers)', () => {
  let lb: Loopback;
  let timers: FakeTimers;
  let call: H323Call | undefined;

  const opts = (o: Partial<CallOptions> = {}): CallOptions => ({
    codecs: ['PCMU', 'PCMA'],
    media: { rtp: { host: '127.0.0.1', port: 40000 } },
    timers,
    registry: isolatedRegistry(),
    setupTimeoutMs: 4000,
    noConnectMs: 30000,
    noAnswerMs: 20000,
    h245TimeoutMs: 5000,
    ...o,
  });

  beforeEach(async () => {
    lb = await loopback();
    timers = new FakeTimers();
  });
  afterEach(async () => {
    call?.removeAllListeners();
    call = undefined;
    await lb.close();
  });

  function released(c: H323Call): Promise<ReleaseInfo> {
    return once(c, 'released').then(([r]) => r as ReleaseInfo);
  }

  it('outgoing: no answer to Setup -> ReleaseComplete cause 18 (no user responding) after setupTimeoutMs', async () => {
    const peer = new Peer(lb, timers, 'server');
    call = new H323Call(lb.client, 'outgoing', opts());
    const rel = released(call);
    call.start({ calledNumber: '9123' });
    const setup = await peer.next(MessageType.Setup);
    expect(findIe(setup, 'calledPartyNumber')?.digits).to.equal('9123');
    const uu = decodeUserUser(setup, h225UserUserCodec);
    expect(uu.ok && uuieType(uu.value)).to.equal('setup');
    timers.advance(3999);
    expect(call.state).to.equal('calling');
    timers.advance(1);
    const rc = await peer.next(MessageType.ReleaseComplete);
    expect(cause(rc)).to.equal(18);
    expect(rc.callReference).to.deep.equal(setup.callReference);
    expect(await rel).to.include({ cause: 18, by: 'local' });
  });

  it('outgoing: proceeding and alerting but no Connect -> cause 19 after noConnectMs', async () => {
    const peer = new Peer(lb, timers, 'server');
    call = new H323Call(lb.client, 'outgoing', opts({ fastStart: false }));
    const rel = released(call);
    const events: string[] = [];
    call.on('proceeding', () => events.push('proceeding'));
    call.on('alerting', () => events.push('alerting'));
    call.start();
    const setup = await peer.next(MessageType.Setup);
    const back = { ...setup.callReference, flag: true };
    peer.ch.send(callProceedingMessage(back, IDS, { h245Tunnelling: true }));
    peer.ch.send(alertingMessage(back, IDS, { h245Tunnelling: true }));
    await once(call, 'alerting');
    expect(events).to.deep.equal(['proceeding', 'alerting']);
    timers.advance(10_000); // setup timer was disarmed by CallProceeding
    expect(call.state).to.equal('alerting');
    timers.advance(20_000);
    expect(cause(await peer.next(MessageType.ReleaseComplete))).to.equal(19);
    expect((await rel).cause).to.equal(19);
  });

  it('outgoing: Connect without H.245 answers -> H.245 timeout releases with cause 102', async () => {
    const peer = new Peer(lb, timers, 'server');
    call = new H323Call(lb.client, 'outgoing', opts({ fastStart: false }));
    const rel = released(call);
    call.start();
    const setup = await peer.next(MessageType.Setup);
    peer.ch.send(connectMessage({ ...setup.callReference, flag: true }, IDS, { h245Tunnelling: true }));
    await once(call, 'connected');
    const carriers = [await peer.next(MessageType.Facility), await peer.next(MessageType.Facility)];
    expect(carriers.flatMap(tunnelled)).to.deep.equal(['terminalCapabilitySet', 'masterSlaveDetermination']);
    timers.advance(5000);
    const rc = await peer.next(MessageType.ReleaseComplete);
    expect(cause(rc)).to.equal(102);
    expect((await rel).reason).to.match(/H\.245 timeout/);
  });

  it('incoming: Setup -> CallProceeding, not answered -> cause 19 after noAnswerMs; StatusEnquiry answered', async () => {
    const peer = new Peer(lb, timers, 'client');
    let offered: H323Call | undefined;
    call = new H323Call(lb.server, 'incoming', opts(), (c) => (offered = c));
    const rel = released(call);
    peer.ch.send(setupMessage(CR_OUT, IDS, { h245Tunnelling: true, calledNumber: '9123', callingNumber: '1001' }));
    const cp = await peer.next(MessageType.CallProceeding);
    expect(cp.callReference).to.deep.equal(CR_BACK);
    expect(offered).to.equal(call);
    expect(call.calledNumber).to.equal('9123');
    expect(call.callingNumber).to.equal('1001');
    peer.ch.send(statusInquiryMessage(CR_OUT, IDS, { h245Tunnelling: true }));
    const st = await peer.next(MessageType.Status);
    expect(findIe(st, 'callState')?.value).to.equal(9);
    expect(cause(st)).to.equal(30);
    timers.advance(20_000);
    expect(cause(await peer.next(MessageType.ReleaseComplete))).to.equal(19);
    expect((await rel).cause).to.equal(19);
  });

  it('incoming: no Setup within setupTimeoutMs -> connection closed, never offered', async () => {
    const peer = new Peer(lb, timers, 'client');
    let offered = false;
    call = new H323Call(lb.server, 'incoming', opts(), () => (offered = true));
    const rel = released(call);
    timers.advance(4000);
    expect((await rel).cause).to.equal(102);
    timers.advance(2000); // close grace: destroy if the peer does not close
    await peer.untilClosed();
    expect(offered).to.equal(false);
  });

  it('incoming: Setup with an undecodable UUIE -> ReleaseComplete cause 100, never offered', async () => {
    const peer = new Peer(lb, timers, 'client');
    let offered = false;
    call = new H323Call(lb.server, 'incoming', opts(), () => (offered = true));
    const rel = released(call);
    peer.ch.send(buildMessage('Setup', { callReference: callReference(77), userUser: Uint8Array.of(0xff, 0xff, 0xff) }));
    const rc = await peer.next(MessageType.ReleaseComplete);
    expect(cause(rc)).to.equal(100);
    expect(rc.callReference).to.deep.equal(callReference(77, true));
    expect((await rel).cause).to.equal(100);
    expect(offered).to.equal(false);
  });

  it('incoming: a first message that is not Setup -> ReleaseComplete cause 98', async () => {
    const peer = new Peer(lb, timers, 'client');
    call = new H323Call(lb.server, 'incoming', opts());
    peer.ch.send(connectMessage(CR_OUT, IDS, { h245Tunnelling: true }));
    expect(cause(await peer.next(MessageType.ReleaseComplete))).to.equal(98);
  });

  it('active call: a frame that is not Q.931 -> ReleaseComplete cause 95 and the connection closes', async () => {
    const peer = new Peer(lb, timers, 'client');
    call = new H323Call(lb.server, 'incoming', opts({ fastStart: false }));
    const rel = released(call);
    peer.ch.send(setupMessage(CR_OUT, IDS, { h245Tunnelling: true }));
    await peer.next(MessageType.CallProceeding);
    const t = encodeTpkt(Uint8Array.of(0x42, 1, 2, 3));
    if (t.ok) lb.client.write(t.value);
    expect(cause(await peer.next(MessageType.ReleaseComplete))).to.equal(95);
    expect((await rel).by).to.equal('local');
    timers.advance(2000);
    await peer.untilClosed();
  });

  it('slowloris: a TPKT frame that never completes is cut off with ReleaseComplete cause 111', async () => {
    const peer = new Peer(lb, timers, 'client');
    call = new H323Call(lb.server, 'incoming', opts({ fastStart: false }));
    const rel = released(call);
    peer.ch.send(setupMessage(CR_OUT, IDS, { h245Tunnelling: true }));
    await peer.next(MessageType.CallProceeding);
    lb.client.write(Uint8Array.of(3, 0, 0, 200, 8));
    await new Promise<void>((r) => lb.server.once('data', () => r()));
    timers.advance(10_000);
    expect(cause(await peer.next(MessageType.ReleaseComplete))).to.equal(111);
    expect((await rel).reason).to.match(/timeout/);
  });


  it('incoming without tunnelling: Connect carries our h245Address; nobody connects -> cause 102', async () => {
    const peer = new Peer(lb, timers, 'client');
    call = new H323Call(lb.server, 'incoming', opts({ fastStart: false }));
    const rel = released(call);
    peer.ch.send(setupMessage(CR_OUT, IDS, { h245Tunnelling: false }));
    await peer.next(MessageType.CallProceeding);
    call.answer();
    const connect = await peer.next(MessageType.Connect);
    const uu = decodeUserUser(connect, h225UserUserCodec);
    const addr = uu.ok ? transportToHostPort(uuieBody(uu.value, 'connect')?.h245Address) : undefined;
    expect(addr?.host).to.equal('127.0.0.1');
    expect(addr?.port).to.be.greaterThan(0);
    expect(uu.ok && uu.value['h323-uu-pdu'].h245Tunnelling).to.equal(false);
    timers.advance(5000);
    expect(cause(await peer.next(MessageType.ReleaseComplete))).to.equal(102);
    expect((await rel).reason).to.equal('no H.245 connection');
  });

  async function activeIncoming(peer: Peer): Promise<H323Call> {
    const c = new H323Call(lb.server, 'incoming', opts({ fastStart: false, endSessionGraceMs: 1500 }));
    peer.ch.send(setupMessage(CR_OUT, IDS, { h245Tunnelling: true }));
    await peer.next(MessageType.CallProceeding);
    c.answer();
    await peer.next(MessageType.Connect);
    return c;
  }
  const endSession = (): Uint8Array => encodeH245(command('endSessionCommand', { choice: 'disconnect', value: null }));
  const facilityH245 = (peer: Peer): string[] => peer.got.filter((m) => m.messageType === MessageType.Facility).flatMap(tunnelled);

  it('remote EndSessionCommand without ReleaseComplete: we answer with EndSessionCommand, then ReleaseComplete 16 after endSessionGraceMs', async () => {
    const peer = new Peer(lb, timers, 'client');
    call = await activeIncoming(peer);
    const rel = released(call);
    peer.ch.send(tunnelMessage(CR_OUT, [endSession()]));
    await peer.nextWhere((m) => m.messageType === MessageType.Facility && tunnelled(m).includes('endSessionCommand'));
    expect(call.state).to.equal('active'); // waiting for the peer's ReleaseComplete and its cause
    timers.advance(1499);
    expect(peer.got.some((m) => m.messageType === MessageType.ReleaseComplete)).to.equal(false);
    timers.advance(1);
    const rc = await peer.next(MessageType.ReleaseComplete);
    expect(cause(rc)).to.equal(16);
    expect(await rel).to.include({ by: 'remote', cause: 16 });
  });

  for (const c of [17, 21, 34, 31]) {
    it(`remote EndSessionCommand then ReleaseComplete cause ${c}: the call reports ${c}, we send no ReleaseComplete of our own`, async () => {
      const peer = new Peer(lb, timers, 'client');
      call = await activeIncoming(peer);
      const rel = released(call);
      peer.ch.send(tunnelMessage(CR_OUT, [endSession()]));
      await peer.nextWhere((m) => m.messageType === MessageType.Facility && tunnelled(m).includes('endSessionCommand'));
      peer.ch.send(releaseCompleteMessage(CR_OUT, IDS, { h245Tunnelling: true, cause: c }));
      expect(await rel).to.deep.equal({ cause: c, by: 'remote' });
      await peer.untilClosed();
      expect(peer.got.filter((m) => m.messageType === MessageType.ReleaseComplete)).to.have.length(0);
      expect(facilityH245(peer)).to.not.include('endSessionCommand'); // answered once, not again
    });
  }

  it('remote ReleaseComplete with only an H.225.0 reason (no Cause IE): the reason is mapped (inConf -> 17)', async () => {
    const peer = new Peer(lb, timers, 'client');
    call = await activeIncoming(peer);
    const rel = released(call);
    peer.ch.send(tunnelMessage(CR_OUT, [endSession()]));
    peer.ch.send(releaseCompleteMessage(CR_OUT, IDS, { h245Tunnelling: true, reason: { choice: 'inConf', value: null } }));
    expect(await rel).to.deep.equal({ cause: 17, by: 'remote', reason: 'inConf' });
  });

  it('local hangup while waiting for the peer\'s ReleaseComplete: ours goes out with our cause', async () => {
    const peer = new Peer(lb, timers, 'client');
    call = await activeIncoming(peer);
    const rel = released(call);
    peer.ch.send(tunnelMessage(CR_OUT, [endSession()]));
    await peer.nextWhere((m) => m.messageType === MessageType.Facility && tunnelled(m).includes('endSessionCommand'));
    call.hangup(41);
    expect(cause(await peer.next(MessageType.ReleaseComplete))).to.equal(41);
    expect(await rel).to.include({ cause: 41, by: 'local' });
  });

  it('local hangup with cause 31: the peer receives EndSessionCommand then ReleaseComplete cause 31', async () => {
    const peer = new Peer(lb, timers, 'client');
    call = await activeIncoming(peer);
    call.hangup(31);
    expect(cause(await peer.next(MessageType.ReleaseComplete))).to.equal(31);
    expect(facilityH245(peer)).to.include('endSessionCommand');
  });

  it('outgoing: Facility callForwarded -> redirected event with the new address, then release cause 23', async () => {
    const peer = new Peer(lb, timers, 'server');
    call = new H323Call(lb.client, 'outgoing', opts({ fastStart: false }));
    const redirected = once(call, 'redirected');
    const rel = released(call);
    call.start();
    const setup = await peer.next(MessageType.Setup);
    peer.ch.send(
      facilityMessage({ ...setup.callReference, flag: true }, IDS, {
        h245Tunnelling: true,
        reason: { choice: 'callForwarded', value: null },
        alternativeAddress: ipTransport('10.9.8.7', 1720),
      }),
    );
    const [info] = (await redirected) as [{ reason: string; alternativeAddress: unknown }];
    expect(info).to.deep.equal({ reason: 'callForwarded', alternativeAddress: { host: '10.9.8.7', port: 1720 } });
    expect(cause(await peer.next(MessageType.ReleaseComplete))).to.equal(23);
    expect((await rel).cause).to.equal(23);
  });

  it('DSCP outside 0..63 is refused', () => {
    expect(() => new H323Call(lb.server, 'incoming', opts({ socket: { dscp: 64 } }))).to.throw(RangeError);
  });

  it('DSCP is handed to the socket hook', () => {
    const seen: number[] = [];
    call = new H323Call(lb.server, 'incoming', opts({ socket: { dscp: 46, setDscp: (_s, d) => (seen.push(d), true) } }));
    expect(seen).to.deep.equal([46]);
  });
});
