/**
 * A REGISTER flood from one source on the wire (issue 15, item 2): UDP client -> drachtio
 * (double, or real by DRACHTIO_* env) -> gateway. Every request past the burst is answered
 * 503 + Retry-After, but the audit gets one record for the first refusal and, when the process
 * is stopped with SIGTERM (the window is longer than the test, so the drain is what writes it),
 * one aggregate carrying the count of all the others; `gatewayctl audit verify` accepts the chain.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { labPerson, writeRegistry } from '../../lab/policy-lab.js';
import { SipUdpClient, type SipResponse } from '../../lab/sip-client.js';
import { metricValue } from '../../lab/wait.js';
import { main as cli } from '../../../apps/cli/index.js';
import { hashId } from '../../../lib/audit/record.js';

const REALM = 'council.test';
const FLOOD = 5000;
const BURST = 5;
const SOURCE = '127.0.0.41';

interface Rec { seq: number; gate: string; reason: string; status: number; decision: string; source?: string; aggregate?: string; count?: number; method?: string; firstTime?: string; lastTime?: string }

describe('audit under a REGISTER flood, on the wire', function () {
  this.timeout(120_000);
  let target: DrachtioTarget;
  let gw: GatewayProcess;
  let client: SipUdpClient;
  let auditDir: string;

  before(async () => {
    target = await startDrachtioTarget();
    const reg = writeRegistry([labPerson('Alice', REALM)]);
    auditDir = mkdtempSync(join(tmpdir(), 'gw-audit-flood-'));
    gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        policy: { realm: REALM, rates: { registerPerSourceBurst: BURST, registerPerSourcePerSec: 0.001 } },
        registry: { file: reg.file },
        // Longer than the test: the only window end is the SIGTERM drain.
        audit: { dir: auditDir, aggregateWindowS: 3600 },
      },
      env: { DRACHTIO_SECRET: target.secret, POLICY_NONCE_SECRET: 'n' },
    });
    await gw.waitForOutput(/connected to drachtio-server/);
    client = await SipUdpClient.open(SOURCE);
  });

  after(async () => {
    client?.close();
    await gw?.stop('SIGTERM');
    await target?.stop();
  });

  function records(): Rec[] {
    return readdirSync(auditDir).filter((f) => f.endsWith('.jsonl')).sort()
      .flatMap((f) => readFileSync(join(auditDir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec));
  }

  it(`${FLOOD} REGISTERs: ${BURST} challenged, the rest 503 + Retry-After; two audit records for the refusals, written by the SIGTERM drain; audit verify passes`, async () => {
    const to = { host: target.sipHost, port: target.sipPort };
    const seqBefore = metricValue(await gw.metrics(), 'gw_audit_head_seq') ?? 0;
    const statuses = new Map<number, number>();
    let withRetryAfter = 0;
    let next = 0;
    // 32 in flight at a time: as fast as the path answers, without losing datagrams to a full socket buffer.
    const worker = async (): Promise<void> => {
      while (next < FLOOD) {
        next++;
        const text = client.build({ method: 'REGISTER', uri: `sip:${to.host}:${to.port}`, fromUser: 'alice', toUser: 'alice', callId: randomUUID(), cseq: 1, headers: { Expires: '300' } });
        const r: SipResponse = await client.request(to, text, 10_000);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 503 && Number(r.header('Retry-After')) > 0) withRetryAfter++;
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    expect(Object.fromEntries(statuses)).to.deep.equal({ 401: BURST, 503: FLOOD - BURST });
    expect(withRetryAfter).to.equal(FLOOD - BURST);

    // While running: the challenges and the first refusal are durable; the rest only counted.
    const m = await gw.metrics();
    expect((metricValue(m, 'gw_audit_head_seq') ?? 0) - seqBefore).to.equal(BURST + 1);
    expect(m).to.match(new RegExp(`^gw_audit_aggregated_total\\{reason="rate-limit-source"\\} ${FLOOD - BURST - 1}$`, 'm'));
    expect(m).not.to.include(SOURCE);

    expect(await gw.stop('SIGTERM')).to.equal(0);
    const recs = records().filter((r) => r.seq > seqBefore);
    const shape = (r: Rec): string => `${r.decision} ${r.status} ${r.reason} ${r.aggregate ?? 'own'}`;
    // The first six in decision order (requests in flight interleave), the aggregate last.
    expect(recs.slice(0, -1).map(shape).sort()).to.deep.equal([
      ...Array.from({ length: BURST }, () => 'challenge 401 no-credentials own'),
      'reject 503 rate-limit-source own',
    ]);
    expect(recs.map(shape).at(-1)).to.equal('reject 503 rate-limit-source source');
    const own = recs.find((r) => r.reason === 'rate-limit-source' && !r.aggregate)!;
    const agg = recs.at(-1)!;
    expect(agg.count).to.equal(FLOOD - BURST - 1);
    expect(agg).to.include({ method: 'REGISTER', gate: 'rate-source' });
    const idKey = readFileSync(join(auditDir, '.id-key'), 'utf8').trim();
    expect(agg.source).to.equal(own.source).and.to.equal(hashId(idKey, 'source', SOURCE));
    expect(Date.parse(agg.firstTime!)).to.be.at.most(Date.parse(agg.lastTime!));

    const files = readdirSync(auditDir).filter((f) => f.endsWith('.jsonl'));
    const bytes = files.reduce((a, f) => a + statSync(join(auditDir, f)).size, 0);
    expect(bytes).to.be.below(20 * 1024); // a record per refusal would be ~1 MB
    expect(files.map((f) => readFileSync(join(auditDir, f), 'utf8')).join('')).not.to.include(SOURCE);
    let out = '';
    const io = { out: (s: string) => { out += s; }, err: (s: string) => { out += s; }, env: {} };
    expect(await cli(['audit', 'verify', auditDir], io), out).to.equal(0);
  });
});
