/**
 * Golden transcripts: the same SIP traffic as in each recording (a-f) is driven with SIPp through
 * the drachtio target (the double, or a real server via DRACHTIO_*), a frame tap and the
 * recording app; the control-connection frames, normalised, must equal the recording's.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { fixture } from '../../support/paths.js';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { startFrameTap, type FrameTap } from '../../lab/frame-tap.js';
import { startRecordingApp, type RecordingApp, type RecordingAppOptions } from '../../lab/recording-app.js';
import { runSipp, startSippUas, stopAllSipp, type SippOptions, type SippUas } from '../../lab/sipp.js';
import { diffLines, normalise, parseTranscript, type TranscriptFrame } from './transcript.js';

describe('drachtio golden transcripts (captures a-f, i, k)', function () {
  this.timeout(40_000);
  let target: DrachtioTarget | undefined;
  let tap: FrameTap | undefined;
  let app: RecordingApp | undefined;
  let uas: SippUas | undefined;

  afterEach(async () => {
    await app?.stop();
    await uas?.stop();
    await tap?.stop();
    await target?.stop();
    stopAllSipp();
    app = undefined;
    uas = undefined;
    tap = undefined;
    target = undefined;
  });

  async function lab(appOpts: Partial<RecordingAppOptions> = {}): Promise<void> {
    target = await startDrachtioTarget();
    tap = await startFrameTap(target.host, target.port);
    app = await startRecordingApp({ host: '127.0.0.1', port: tap.port, secret: target.secret, ...appOpts });
  }

  function sipp(o: Partial<SippOptions> & { scenario: string }): Promise<ReturnType<typeof runSipp> extends Promise<infer R> ? R : never> {
    return runSipp({ target: `${target!.sipHost}:${target!.sipPort}`, calls: 1, timeoutMs: 20_000, ...o });
  }

  function expected(name: string): TranscriptFrame[] {
    // a-f were recorded with the control port on 9022, the later ones on 9024
    const file = /^[a-f]-/.test(name) ? `${name}-9022-messages.txt` : `${name}-9024-messages.txt`;
    return parseTranscript(readFileSync(fixture('drachtio', file), 'utf8'));
  }

  /** Wait until the tap has seen as many frames per direction as the recording, then compare. */
  async function compareWith(name: string): Promise<void> {
    const exp = expected(name);
    const need = (d: string): number => exp.filter((f) => f.dir === d).length;
    const have = (d: string): number => tap!.frames.filter((f) => f.stream === 0 && f.dir === d).length;
    const reached = (): boolean => have('C->S') >= need('C->S') && have('S->C') >= need('S->C');
    await tap!.waitFor(() => reached(), 12_000).catch(() => { /* compare what arrived: the diff says what is missing */ });
    const actual: TranscriptFrame[] = tap!.frames.filter((f) => f.stream === 0).map((f) => ({ dir: f.dir, payload: f.payload }));
    const e = normalise(exp);
    const a = normalise(actual);
    for (const dir of ['S->C', 'C->S'] as const) {
      const diff = diffLines(e[dir], a[dir]);
      if (diff) throw new Error(`${name}: ${dir} frames differ from the recording (- recorded, + this run, target ${target!.kind}):\n${diff}`);
    }
    expect(tap!.errors, 'framing errors seen by the tap').to.deep.equal([]);
  }

  it('a-invite-bye: INVITE/100/200/ACK/BYE/200', async () => {
    await lab();
    const r = await sipp({ scenario: 'uac', service: 'service' });
    expect(r.successful, r.stderr).to.equal(1);
    await compareWith('a-invite-bye');
  });

  it('b-cancel: INVITE/100/180, CANCEL -> 200 + 487 from the server, then reported to the app', async () => {
    await lab();
    const r = await sipp({ scenario: 'cancel.xml', service: 'cancel' });
    expect(r.successful, r.stderr).to.equal(1);
    await compareWith('b-cancel');
    expect(app!.events).to.include('INVITE canceled by caller');
  });

  it('c-auth: 401 from the app, ACK absorbed, INVITE with credentials -> 200, BYE', async () => {
    await lab();
    const r = await sipp({ scenario: 'auth.xml', service: 'auth', auth: { user: 'alice', password: 'secret' } });
    expect(r.successful, r.stderr).to.equal(1);
    await compareWith('c-auth');
  });

  it('d-options: OPTIONS -> 200', async () => {
    await lab();
    const r = await sipp({ scenario: 'options.xml', service: 'service' });
    expect(r.successful, r.stderr).to.equal(1);
    await compareWith('d-options');
  });

  it('e-uac-bye-ping: app-originated INVITE to a SIPp UAS, BYE from the app, ping/pong', async () => {
    await lab({ routes: false, enablePing: true, pingInterval: 5000 });
    uas = await startSippUas({ scenario: 'uas' });
    await app!.placeCall(`sip:service@127.0.0.1:${uas.port}`, 1000);
    await compareWith('e-uac-bye-ping');
    const r = await uas.stop();
    uas = undefined;
    // the built-in UAS lingers in its closing timewait, so its counters lag: check its trace instead
    expect(r.messages).to.match(/ACK sip:[^\n]*\n/).and.to.match(/BYE sip:[^\n]*\n/);
  });

  it('k-tcp: the a-invite-bye call over TCP (transport tokens, Contact ;transport=tcp)', async () => {
    await lab({ extraRoutes: ['register', 'message'], sessionName: 'main' });
    const r = await sipp({ scenario: 'uac', service: 'service', transport: 'tcp' });
    expect(r.successful, r.stderr).to.equal(1);
    await compareWith('k-tcp');
  });

  it('i-reinvite: re-INVITE with new SDP (100 from the server, new ACK transaction id), then BYE', async () => {
    await lab({ extraRoutes: ['register', 'message'], sessionName: 'main' });
    const r = await sipp({ scenario: 'reinvite.xml', service: 'service' });
    expect(r.successful, r.stderr).to.equal(1);
    await compareWith('i-reinvite');
  });

  it('f-bad-secret: wrong secret -> NO|incorrect secret and the server closes', async () => {
    target = await startDrachtioTarget();
    tap = await startFrameTap(target.host, target.port);
    let err: unknown;
    try {
      app = await startRecordingApp({ host: '127.0.0.1', port: tap.port, secret: 'wrong' });
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/failed to authenticate/);
    await compareWith('f-bad-secret');
  });
});
