/**
 * SIP set-up through the gateway vs. a bare SIPp UAS, measured in the same run from packet
 * timestamps (tcpdump on loopback, INVITE/OPTIONS paired with the final response by Call-ID).
 *
 *   baseline:  SIPp uac ------------------------------------> SIPp uas
 *   gateway:   SIPp uac --> drachtio --> gateway (B2BUA) ---> SIPp uas
 *   options:   SIPp OPTIONS --> drachtio --> gateway (200)
 *
 * drachtio is the double unless DRACHTIO_HOST/PORT/SECRET/SIP point at a real server. The
 * figure to compare with: real drachtio-server + a trivial srf UAS on this kind of machine,
 * 500 calls/s: INVITE->200 p50 0.9 ms, p99 2.9 ms (issue 2).
 *
 * Flags: --rate N (calls/s, default 100), --calls N (default 1000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDrachtioTarget } from '../test/lab/drachtio-target.js';
import { runSipp, startSippUas, stopAllSipp } from '../test/lab/sipp.js';
import { startGateway } from '../test/lab/gateway-process.js';
import { freePort } from '../test/lab/ports.js';
import { startCapture, requestToFinal, summarise } from './packet-latency.js';

function flag(args: string[], name: string, dflt: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : dflt;
}

interface Row {
  path: string;
  n: number;
  failed: number;
  unanswered: number;
  cps: number;
  p50: number;
  p95: number;
  p99: number;
}

export async function run(args: string[]): Promise<void> {
  const rate = flag(args, 'rate', 100);
  const calls = flag(args, 'calls', 1000);
  const dir = mkdtempSync(join(tmpdir(), 'bench-sip-'));
  const target = await startDrachtioTarget();
  const uas = await startSippUas();
  const gw = await startGateway({
    config: { drachtio: { host: target.host, port: target.port },
        policy: { enabled: false }, dialPlan: [{ prefix: '', sipTarget: `sip:\${user}@127.0.0.1:${uas.port}` }], log: { level: 'warn' } },
    env: { DRACHTIO_SECRET: target.secret },
  });
  const rows: Row[] = [];
  try {
    await gw.waitForOutput(/gateway started/);
    const sip = `${target.sipHost}:${target.sipPort}`;
    process.stdout.write(`drachtio: ${target.kind}; ${calls} calls at ${rate}/s per path\n`);

    const measure = async (path: string, toPort: number, sippTarget: string, scenario: string, method: string): Promise<void> => {
      process.stdout.write(`  running ${path} ...\n`);
      const cap = await startCapture(join(dir, `${path}.pcap`), [toPort]);
      const t0 = Date.now();
      const r = await runSipp({ target: sippTarget, scenario, calls, rate, timeoutMs: (calls / rate) * 1000 + 30_000, localPort: await freePort() });
      const secs = (Date.now() - t0) / 1000;
      await cap.stop();
      const times = await requestToFinal(cap.file, toPort, method);
      const s = summarise(times.samples);
      rows.push({ path, n: s.n, failed: r.failed, unanswered: times.unanswered, cps: calls / secs, p50: s.p50, p95: s.p95, p99: s.p99 });
    };

    await measure('baseline sipp->sipp INVITE', uas.port, `127.0.0.1:${uas.port}`, 'uac', 'INVITE');
    await measure('gateway INVITE (b2bua)', target.sipPort, sip, 'uac', 'INVITE');
    await measure('gateway OPTIONS', target.sipPort, sip, 'options.xml', 'OPTIONS');
  } finally {
    await gw.stop('SIGKILL');
    await uas.stop();
    stopAllSipp();
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const f = (x: number): string => x.toFixed(2).padStart(8);
  process.stdout.write('\npath                          paired failed unans.   cps   p50 ms   p95 ms   p99 ms\n');
  for (const r of rows) {
    process.stdout.write(`${r.path.padEnd(28)} ${String(r.n).padStart(6)} ${String(r.failed).padStart(6)} ${String(r.unanswered).padStart(6)} ${r.cps.toFixed(0).padStart(6)} ${f(r.p50)} ${f(r.p95)} ${f(r.p99)}\n`);
  }
  const base = rows[0];
  const gwRow = rows[1];
  if (base && gwRow) {
    process.stdout.write(`\nratio gateway/baseline INVITE->final: p50 ${(gwRow.p50 / base.p50).toFixed(2)}x, p99 ${(gwRow.p99 / base.p99).toFixed(2)}x\n`);
  }
}
