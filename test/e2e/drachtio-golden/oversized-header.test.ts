/**
 * An INVITE with an oversized header line (test/fixtures/interop/drachtio-oversized-header.txt):
 * drachtio-server v0.9.10 answers it `400 Bad Request` itself, statelessly (sofia-sip truncates
 * lines over 8192 bytes when logging the message, and the truncated message fails its sanity
 * check), and the app never sees it. Runs against the double, or a real server via DRACHTIO_*.
 */
import net from 'node:net';
import dgram from 'node:dgram';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { fixture } from '../../support/paths.js';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { startFrameTap, type FrameTap } from '../../lab/frame-tap.js';
import { startRecordingApp, type RecordingApp } from '../../lab/recording-app.js';
import { SipUdpClient, parseResponse, type SipResponse } from '../../lab/sip-client.js';

const RECORDED = readFileSync(fixture('interop', 'drachtio-oversized-header.txt'), 'utf8');
/** The status line the recording gives for the caller's side. */
const RECORDED_STATUS = RECORDED.split('\n').find((l) => l.startsWith('SIP/2.0 '))!;
/** `X-Padding: ` is 11 bytes, so a value of 9000 makes the 9011-byte line of the recording. */
const HEADER = 'X-Padding';

describe('drachtio golden: an oversized header (interop finding)', function () {
  this.timeout(20_000);
  let target: DrachtioTarget;
  let tap: FrameTap;
  let app: RecordingApp;
  let client: SipUdpClient;
  let to: { host: string; port: number };

  before(async () => {
    target = await startDrachtioTarget();
    tap = await startFrameTap(target.host, target.port);
    app = await startRecordingApp({ host: '127.0.0.1', port: tap.port, secret: target.secret });
    client = await SipUdpClient.open();
    to = { host: target.sipHost, port: target.sipPort };
  });

  after(async () => {
    client?.close();
    await app?.stop();
    await tap?.stop();
    await target?.stop();
  });

  function invite(callId: string, padding: number): string {
    return client.build({
      method: 'INVITE', uri: `sip:service@${to.host}:${to.port}`, fromUser: 'alice', toUser: 'service', callId, cseq: 1,
      headers: { [HEADER]: 'a'.repeat(padding) }, body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n',
    });
  }

  /** ACK for a 2xx (new branch, to the Contact), so the server stops resending it. */
  function ack2xx(inviteText: string, r: SipResponse): void {
    const target = /<([^>]+)>/.exec(r.header('Contact') ?? '')?.[1] ?? `sip:${to.host}:${to.port}`;
    const via = (/\r\nVia: ([^\r\n]+)/.exec(inviteText)?.[1] ?? '').replace(/branch=[^;]+/, `branch=z9hG4bK${randomBytes(6).toString('hex')}`);
    const from = /\r\nFrom: ([^\r\n]+)/.exec(inviteText)?.[1] ?? '';
    client.send(to, [`ACK ${target} SIP/2.0`, `Via: ${via}`, `From: ${from}`, `To: ${r.header('To')}`, `Call-ID: ${r.header('Call-ID')}`,
      `CSeq: 1 ACK`, 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n'));
  }

  /** Every response to `text` sent from a socket of its own, up to and including the final one. */
  async function allResponses(text: string): Promise<SipResponse[]> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = sock.address().port;
    const out: SipResponse[] = [];
    try {
      return await new Promise<SipResponse[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no final response; got ${out.map((x) => x.status).join(',')}`)), 5000);
        sock.on('message', (m) => {
          const r = parseResponse(m.toString('utf8'));
          if (!r) return;
          out.push(r);
          if (r.status >= 200) {
            clearTimeout(timer);
            resolve(out);
          }
        });
        sock.send(text.replace(`${client.host}:${client.port}`, `127.0.0.1:${port}`), to.port, to.host);
      });
    } finally {
      sock.close();
    }
  }

  /** Control frames (both directions) that mention this Call-ID. */
  const framesOf = (callId: string): number => tap.frames.filter((f) => f.payload.includes(callId)).length;

  it(`a 9,000-byte header over UDP: "${RECORDED_STATUS}" from the server, nothing to the app`, async () => {
    expect(RECORDED_STATUS).to.equal('SIP/2.0 400 Bad Request');
    const callId = randomUUID();
    const rs = await allResponses(invite(callId, 9000));
    // stateless: the 400 is the only response (no 100 Trying before it)
    expect(rs.map((x) => `SIP/2.0 ${x.status} ${x.reason}`)).to.deep.equal([RECORDED_STATUS]);
    const r = rs[0]!;
    expect(r.header('To')).to.match(/;tag=/);
    expect(r.header('Via')).to.match(/;rport=\d+/);
    // a normal call afterwards reaches the app and is answered: the app was never told of the first
    const ok = randomUUID();
    const okText = invite(ok, 10);
    const r2 = await client.request(to, okText);
    expect(r2.status).to.equal(200);
    ack2xx(okText, r2);
    expect(framesOf(ok)).to.be.greaterThan(0);
    expect(framesOf(callId), 'frames about the oversized INVITE').to.equal(0);
    expect(app.events.filter((e) => e.startsWith('INVITE'))).to.have.length(1);
  });

  it('the threshold is a line of 8192 bytes: 8192 passes to the app, 8193 gets 400', async () => {
    const pass = randomUUID();
    const passText = invite(pass, 8192 - `${HEADER}: `.length);
    const r1 = await client.request(to, passText);
    expect(r1.status).to.equal(200);
    ack2xx(passText, r1);
    expect(framesOf(pass)).to.be.greaterThan(0);
    const cut = randomUUID();
    const r2 = await client.request(to, invite(cut, 8193 - `${HEADER}: `.length));
    expect(`SIP/2.0 ${r2.status} ${r2.reason}`).to.equal(RECORDED_STATUS);
    expect(framesOf(cut)).to.equal(0);
  });

  it('over TCP: the same 400, then the server closes the connection', async () => {
    const callId = randomUUID();
    const text = invite(callId, 9000).replace('SIP/2.0/UDP', 'SIP/2.0/TCP');
    const sock = net.connect({ host: to.host, port: to.port });
    let got = '';
    sock.on('data', (d: Buffer) => { got += d.toString('utf8'); });
    const closed = new Promise<void>((resolve) => sock.once('end', () => resolve()));
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    sock.write(text);
    await closed;
    sock.destroy();
    expect(got.split('\r\n')[0]).to.equal(RECORDED_STATUS);
    expect(framesOf(callId)).to.equal(0);
  });
});
