/**
 * Faults: the ESL connection dropping mid-call (all connections, or only the inbound one), and
 * FreeSWITCH gone at call time (503 at once, no queueing), plus capped reconnect backoff against
 * an address where nothing listens.
 */
import { expect } from 'chai';
import { stopAllSipp } from '../../lab/sipp.js';
import { freePort } from '../../lab/ports.js';
import { metricValue } from '../../lab/wait.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { MediaController } from '../../../lib/media/controller.js';
import { validateMediaConfig } from '../../../lib/media/config.js';
import { MediaUnavailableError } from '../../../lib/media/errors.js';
import type { MediaSession } from '../../../lib/media/session.js';
import { eslConnectionsAtMost, payloadType, sippCaller, startMediaLab, udpPeer, type MediaLab, type UdpPeer } from './harness.js';

describe('media: faults', function () {
  this.timeout(30_000);
  let lab: MediaLab | undefined;
  let peer: UdpPeer | undefined;

  beforeEach(async () => {
    lab = await startMediaLab();
    peer = await udpPeer();
  });
  afterEach(async () => {
    stopAllSipp();
    peer?.close();
    await lab?.stop();
    lab = undefined;
  });

  /** A SIPp caller (waits for our BYE) bridged to an H.323-side endpoint; resolves once bridged. */
  async function bridgedCall(l: MediaLab): Promise<{ session: MediaSession; sipp: ReturnType<typeof sippCaller> }> {
    let resolveS!: (s: MediaSession) => void;
    let rejectS!: (e: Error) => void;
    const ready = new Promise<MediaSession>((res, rej) => {
      resolveS = res;
      rejectS = rej;
    });
    l.onInvite((req, res) => {
      const s = l.media.session();
      (async () => {
        const c = await s.connectCaller(req, res);
        const h = await s.createEndpointFor({ host: '127.0.0.1', port: peer!.port, codec: 'PCMU' });
        await s.bridge(c.endpoint, h.endpoint);
        return s;
      })().then(resolveS, rejectS);
    });
    const sipp = sippCaller(l, { user: 'hold', scenario: 'caller-wait-bye' });
    const session = await ready;
    // media flows before the fault
    await peer!.waitForCount(5, (p) => payloadType(p) === 0);
    return { session, sipp };
  }

  for (const kind of ['all', 'inbound'] as const) {
    it(`ESL ${kind === 'all' ? 'connections all' : 'inbound connection only'} dropped mid-call: both legs torn down, BYE to the caller, nothing leaks, reconnects`, async function () {
      const l = lab!;
      if (!l.fs) this.skip(); // cannot cut a real FreeSWITCH's event socket from here
      const fs = l.fs!;
      const { session, sipp } = await bridgedCall(l);
      const down = new Promise<string>((r) => l.media.once('down', r));
      const up = new Promise<void>((r) => down.then(() => l.media.once('up', () => r())));
      const released = new Promise<string>((r) => session.once('released', r));
      fs.dropConnections(kind === 'all' ? undefined : 'inbound');
      expect(await down).to.equal('esl-lost');
      expect(['media-server-lost', 'sip-leg-ended', 'h323-leg-ended']).to.include(await released);
      const r = await sipp; // got our BYE and answered it
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(session.liveEndpoints).to.equal(0);
      expect(l.media.sessionCount).to.equal(0);
      expect(fs.channelInfo().map((c) => c.state)).to.deep.equal(['hangup', 'hangup']);
      await up;
      expect(l.media.state).to.equal('up');
      await eslConnectionsAtMost(fs, 1); // the new inbound connection only
      const text = await l.registry.metrics();
      expect(metricValue(text, 'gw_media_reconnects_total')).to.equal(1);
      expect(metricValue(text, 'gw_media_server_up')).to.equal(1);
      // usable again
      const s = l.media.session();
      const h = await s.createEndpointFor({ host: '127.0.0.1', port: peer!.port, codec: 'PCMA' });
      expect(h.local.port).to.be.greaterThan(0);
      await s.release('test');
      expect(fs.channelInfo().every((c) => c.state === 'hangup')).to.equal(true);
    });
  }

  it('FreeSWITCH gone at call time: 503 at once, no queueing', async function () {
    const l = lab!;
    if (!l.fs) this.skip(); // stopping the FreeSWITCH is a double-only move
    const down = new Promise<string>((r) => l.media.once('down', r));
    await l.fs!.stop();
    await down;
    const timings: number[] = [];
    l.onInvite((req, res) => {
      const t0 = process.hrtime.bigint();
      try {
        const s = l.media.session();
        void s.connectCaller(req, res);
      } catch (e) {
        expect(e).to.be.instanceOf(MediaUnavailableError);
        res.send((e as MediaUnavailableError).sipStatus);
        timings.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    });
    const r = await sippCaller(l, { user: 'nofs', scenario: 'caller-bye' });
    expect(r.exitCode).to.not.equal(0);
    expect(r.messages).to.match(/SIP\/2\.0 503/);
    expect(timings).to.have.length(1);
    expect(timings[0]).to.be.lessThan(50); // synchronous refusal: no ESL round trip, no queue
    expect(l.media.state).to.equal('down');
    const text = await l.registry.metrics();
    expect(metricValue(text, 'gw_media_server_up')).to.equal(0);
    expect(metricValue(text, 'gw_media_unavailable_total')).to.equal(1);
  });

  it('no FreeSWITCH at start: start() resolves false, reconnect delays back off and cap, server() fails fast', async () => {
    const port = await freePort(); // nothing listens there
    const registry = isolatedRegistry();
    const c = new MediaController(lab!.srf, validateMediaConfig({
      esl: { host: '127.0.0.1', port, secret: 'not-the-default' },
      listen: { address: '127.0.0.1', port: 0 },
      reconnect: { initialDelayMs: 20, maxDelayMs: 80, connectTimeoutMs: 1000 },
    }), { registry });
    const delays: number[] = [];
    const fifth = new Promise<void>((r) => c.on('reconnecting', (i) => {
      delays.push(i.delayMs);
      if (delays.length === 5) r();
    }));
    try {
      expect(await c.start()).to.equal(false);
      expect(c.state).to.equal('down');
      expect(() => c.session()).to.throw(MediaUnavailableError);
      await fifth;
      expect(delays).to.deep.equal([20, 40, 80, 80, 80]);
      const text = await registry.metrics();
      expect(metricValue(text, 'gw_media_server_up')).to.equal(0);
      expect(metricValue(text, 'gw_media_reconnects_total')).to.equal(0);
    } finally {
      await c.stop();
    }
    expect(c.state).to.equal('stopped');
  });
});
