import { expect } from 'chai';
import { Registry, Counter } from 'prom-client';
import { EventLoopLagMonitor } from '../../../lib/ops/event-loop-lag.js';
import { OpsServer, type HealthReport } from '../../../lib/ops/http-server.js';
import { ActiveCalls } from '../../../lib/sip/active-calls.js';

function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* a wedged handler */ }
}

describe('ops: event-loop lag', () => {
  it('reports a blocked event loop (what drachtio-server cannot see, n5-app-hangs)', async () => {
    const m = new EventLoopLagMonitor(new Registry(), 20, 10_000);
    m.start();
    try {
      await new Promise((r) => setTimeout(r, 50));
      expect(m.lagMs()).to.be.lessThan(300);
      blockFor(400);
      // Even before the next tick runs, the time since the last tick counts.
      expect(m.lagMs()).to.be.at.least(350);
      await new Promise((r) => setTimeout(r, 30));
      expect(m.lagMs()).to.be.at.least(350);
    } finally {
      m.stop();
    }
  });
});

describe('ops: HTTP endpoint', () => {
  let server: OpsServer;
  let port = 0;
  let report: HealthReport = { ok: true, status: 'ok', checks: {} };
  const registry = new Registry();
  const c = new Counter({ name: 'gw_test_total', help: 'x', registers: [registry] });

  before(async () => {
    server = new OpsServer({ host: '127.0.0.1', port: 0, registry, health: () => report });
    port = await server.start();
  });
  after(() => server.stop());

  it('serves Prometheus text on /metrics', async () => {
    c.inc(3);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    expect(await res.text()).to.match(/^gw_test_total 3$/m);
  });

  it('answers /health 200 when ok and 503 when not, with the failing check', async () => {
    let res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).to.equal(200);
    report = { ok: false, status: 'degraded', checks: { drachtio: { ok: false, detail: 'down' } } };
    res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).to.equal(503);
    expect(await res.json()).to.deep.include({ status: 'degraded' });
  });

  it('404s unknown paths and 405s other methods', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).to.equal(404);
    const res = await fetch(`http://127.0.0.1:${port}/health`, { method: 'POST' });
    expect(res.status).to.equal(405);
  });
});

describe('active calls', () => {
  it('drained() resolves when the last call ends, or reports what is left at the timeout', async () => {
    const calls = new ActiveCalls(new Registry());
    expect(await calls.drained(10)).to.equal(0);
    calls.add('a');
    calls.add('b');
    const p = calls.drained(10_000);
    calls.remove('a');
    calls.remove('b');
    expect(await p).to.equal(0);
    calls.add('c');
    expect(await calls.drained(20)).to.equal(1);
  });
});
