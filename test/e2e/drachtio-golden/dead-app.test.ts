/**
 * Dead and missing apps against the recordings n1, n2 and n4 (test/fixtures/drachtio/*-calls.txt:
 * one row per call: owning app, final answer, provisional, in-dialog requests and their answers).
 * The same traffic is driven with SIPp through the double and recording apps; one app is stopped
 * mid-run as the recording killed it; the run's own table, with apps named by connection order
 * (A, B, then C) and split at the kill, must hold the same kinds of rows as the recording's.
 * (Call counts and times differ from the recording; who answers what, and how, must not.)
 */
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { fixture } from '../../support/paths.js';
import { DrachtioDouble, type FrameRecord } from '../../lab/drachtio-double/double.js';
import { startRecordingApp, type RecordingApp } from '../../lab/recording-app.js';
import { runSipp, stopAllSipp, type SippResult } from '../../lab/sipp.js';
import { parseSippTrace } from '../ha/uac-hold.js';

interface Row {
  app: string;
  t: number;
  final: string;
  provisional: string;
  inDialog: string;
}

function recordedRows(name: string): Row[] {
  return readFileSync(fixture('drachtio', `${name}-calls.txt`), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => {
    const [, app, t, , final, , provisional, ...rest] = l.trim().split(/\s+/);
    return { app: app!, t: Number(t), final: final!, provisional: provisional ?? '', inDialog: rest.join(' ') };
  });
}

/** Distinct row kinds before and after the kill (and after a new app came), in first-seen order. */
function kinds(rows: Row[], phases: number[]): string[][] {
  const out: string[][] = phases.map(() => []);
  for (const r of rows) {
    let i = phases.length - 1;
    while (i > 0 && r.t < phases[i]!) i--;
    const k = `${r.app} ${r.final} ${r.provisional} ${r.inDialog}`.trim();
    if (!out[i]!.includes(k)) out[i]!.push(k);
  }
  return out;
}

/** This run's rows from the SIPp caller trace and the double's frames. */
function runRows(res: SippResult, frames: FrameRecord[], labels: Map<number, string>, killAt: number): Row[] {
  const log = parseSippTrace(res.messages);
  const owner = new Map<string, string>();
  for (const f of frames) {
    if (f.dir !== 'server->app' || !/^[^|]*\|sip\|network\|/.test(f.payload)) continue;
    const sip = f.payload.slice(f.payload.indexOf('\r\n') + 2);
    if (!sip.startsWith('INVITE ')) continue;
    const id = /^Call-ID:\s*(\S+)/im.exec(sip)?.[1];
    if (id && !owner.has(id)) owner.set(id, labels.get(f.app) ?? '?');
  }
  const ids = [...new Set(log.map((m) => m.callId))];
  return ids.map((id) => {
    const ms = log.filter((m) => m.callId === id);
    const inv = ms.find((m) => m.dir === 'sent' && m.start.startsWith('INVITE'))!;
    const finals = ms.filter((m) => m.dir === 'received' && /^SIP\/2\.0 [2-6]/.test(m.start) && m.cseq.endsWith('INVITE'));
    const inDialog = ms.filter((m) => !m.cseq.endsWith('INVITE') && !m.cseq.endsWith('ACK'))
      .map((m) => (m.dir === 'sent' && !m.start.startsWith('SIP/') ? m.start.split(' ')[0]! : m.dir === 'received' && m.start.startsWith('SIP/') ? `${m.cseq.split(' ')[1]}:${m.start.split(' ')[1]}` : ''))
      .filter(Boolean);
    return {
      app: owner.get(id) ?? '-',
      t: inv.at - killAt,
      final: finals[0]?.start.split(' ')[1] ?? '',
      provisional: ms.some((m) => m.dir === 'received' && m.start.startsWith('SIP/2.0 100')) ? '100' : '',
      inDialog: inDialog.join(' '),
    };
  });
}

/** INVITE, 200, ACK, a hold, then INFO and BYE that accept 200 or 481 (scenario of n2). */
function infoByeScenario(holdMs: number): string {
  const req = (method: string, cseq: number, body = ''): string => `  <send retrans="500">
    <![CDATA[
      ${method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: ${cseq} ${method}
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
${body ? '      Content-Type: application/dtmf-relay\n' : ''}      Content-Length: [len]

${body}
    ]]>
  </send>
  <recv response="481" optional="true" next="after${cseq}"/>
  <recv response="200"/>
  <label id="after${cseq}"/>`;
  const xml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="n2 dead dialogs">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: service <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Subject: long call
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="${holdMs}"/>
${req('INFO', 2, '      Signal=1\n      Duration=160')}
${req('BYE', 3)}
</scenario>
`;
  const file = join(mkdtempSync(join(tmpdir(), 'sipp-n2-')), 'info-bye.xml');
  writeFileSync(file, xml);
  return file;
}

describe('dead and missing apps against the recordings (n1, n2, n4)', function () {
  this.timeout(60_000);
  let d: DrachtioDouble | undefined;
  const apps: RecordingApp[] = [];

  afterEach(async () => {
    for (const a of apps.splice(0)) await a.stop().catch(() => undefined);
    stopAllSipp();
    await d?.stop();
    d = undefined;
  });

  async function lab(): Promise<{ frames: FrameRecord[]; labels: Map<number, string>; connect(): Promise<RecordingApp> }> {
    d = await DrachtioDouble.start({ secret: 'cymru', sipHost: '127.0.0.1', sipPort: 0, controlPort: 0 });
    const frames: FrameRecord[] = [];
    const labels = new Map<number, string>();
    d.on('frame', (f) => {
      frames.push(f);
      if (!labels.has(f.app)) labels.set(f.app, String.fromCharCode(65 + labels.size));
    });
    return {
      frames,
      labels,
      connect: async () => {
        const a = await startRecordingApp({ host: '127.0.0.1', port: d!.controlPort, secret: 'cymru' });
        apps.push(a);
        return a;
      },
    };
  }

  /** Resolves at the first frame after which `pred` holds. */
  function whenFrames(pred: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      if (pred()) return resolve();
      const on = (): void => {
        if (!pred()) return;
        d!.off('frame', on);
        resolve();
      };
      d!.on('frame', on);
    });
  }

  const invites = (frames: FrameRecord[]): number => frames.filter((f) => f.dir === 'server->app' && f.payload.includes('|sip|network|') && f.payload.includes('\r\nINVITE ')).length;

  /**
   * App `id` holds no call and no unanswered INVITE: the recordings n1/n4 killed it between calls
   * (every call there ends BYE:200), so stopping it now reproduces that.
   */
  function idle(frames: FrameRecord[], id: number): boolean {
    const mine = frames.filter((f) => f.app === id);
    const got = mine.filter((f) => f.dir === 'server->app' && f.payload.includes('|sip|network|') && f.payload.includes('\r\nINVITE ')).length;
    const answered = mine.filter((f) => f.dir === 'app->server' && /\r\nSIP\/2\.0 [2-6]\d\d [^\r]*\r\n[\s\S]*cseq: \d+ INVITE/i.test(f.payload)).length;
    const up = mine.filter((f) => f.dir === 'app->server' && /\r\nSIP\/2\.0 200 [^\r]*\r\n[\s\S]*cseq: \d+ INVITE/i.test(f.payload)).length;
    const byes = mine.filter((f) => f.dir === 'app->server' && /\r\nSIP\/2\.0 200 [^\r]*\r\n[\s\S]*cseq: \d+ BYE/i.test(f.payload)).length;
    return got === answered && up === byes;
  }

  it('n2: in-dialog requests of the dead app\'s calls get 481 from the server, the survivor\'s calls 200', async () => {
    const { frames, labels, connect } = await lab();
    const a = await connect();
    await connect();
    const caller = runSipp({ target: `127.0.0.1:${d!.sipPort}`, scenario: infoByeScenario(2500), calls: 3, rate: 10, timeoutMs: 20_000 });
    // the recording killed A once its calls were up (their ACKs through)
    await whenFrames(() => frames.filter((f) => f.dir === 'server->app' && f.payload.includes('\r\nACK ')).length >= 3);
    const killAt = Date.now();
    await a.stop();
    const res = await caller;
    const rows = runRows(res, frames, labels, killAt);
    const rec = recordedRows('n2-dead-dialogs');
    expect(kinds(rows, [-Infinity])).to.deep.equal(kinds(rec, [-Infinity]));
    // n2: the dead dialogs' BYEs end the calls for the server too: their cdr:stop goes to B
    const stopsAtB = frames.filter((f) => labels.get(f.app) === 'B' && f.dir === 'server->app' && /^[^|]*\|cdr:stop\|network\|[^|]*\|normal-release/.test(f.payload));
    expect(stopsAtB).to.have.length(3);
  });

  it('n4: the only app gone, INVITEs get 100 + 503 without Retry-After; a new app serves the next calls', async () => {
    const { frames, labels, connect } = await lab();
    const a = await connect();
    const caller = runSipp({ target: `127.0.0.1:${d!.sipPort}`, scenario: 'uac', calls: 30, rate: 10, timeoutMs: 30_000, args: ['-d', '50'] });
    await whenFrames(() => invites(frames) >= 5 && idle(frames, 1));
    const killAt = Date.now();
    await a.stop();
    // the recording started the new app 2.5 s after the kill; here after 5 refused calls
    await new Promise<void>((resolve) => {
      let refused = 0;
      const onProblem = (p: string): void => {
        if (!/no app routes 'invite'/.test(p) || ++refused < 5) return;
        d!.off('problem', onProblem);
        resolve();
      };
      d!.on('problem', onProblem);
    });
    const cStart = Date.now() - killAt;
    await connect();
    const res = await caller;
    const rows = runRows(res, frames, labels, killAt);
    const rec = recordedRows('n4-single-app');
    const cRec = Math.min(...rec.filter((r) => r.app === 'C').map((r) => r.t));
    // recorded row kinds per phase: before the kill, between kill and new app, after
    const recKinds = kinds(rec.map((r) => (r.app === 'C' ? { ...r, app: 'B' } : r)), [-Infinity, 0, cRec]);
    const runKinds = kinds(rows, [-Infinity, 0, cStart + 5]);
    // the last INVITE before the new app may still be refused: compare the kinds each phase holds
    expect(runKinds[0]).to.deep.equal(recKinds[0]);
    expect(runKinds[1]).to.deep.equal(recKinds[1]);
    expect(runKinds[2]!.filter((k) => !k.startsWith('- 503'))).to.deep.equal(recKinds[2]);
    expect(res.messages).not.to.match(/^Retry-After:/im);
  });

  it('n1: new INVITEs alternate between live apps, then all go to the survivor, every call answered', async () => {
    const { frames, labels, connect } = await lab();
    const a = await connect();
    await connect();
    const caller = runSipp({ target: `127.0.0.1:${d!.sipPort}`, scenario: 'uac', calls: 40, rate: 20, timeoutMs: 30_000, args: ['-d', '50'] });
    await whenFrames(() => invites(frames) >= 16 && idle(frames, 1));
    const killAt = Date.now();
    await a.stop();
    const res = await caller;
    const rows = runRows(res, frames, labels, killAt);
    const rec = recordedRows('n1-failover-load');
    expect(kinds(rows, [-Infinity, 0])).to.deep.equal(kinds(rec, [-Infinity, 0]));
    const before = rows.filter((r) => r.t < 0 && r.app !== '-').map((r) => r.app);
    expect(before.every((x, i) => x === (i % 2 === 0 ? 'A' : 'B')), before.join('')).to.equal(true);
    expect(res.failed).to.equal(0);
  });
});
