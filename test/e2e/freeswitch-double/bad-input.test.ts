/**
 * The FreeSWITCH double under bad input and faults, on real sockets: it logs, drops the offender
 * and keeps serving. Also member ids across conferences (F5) through drachtio-fsmrf.
 */
import net from 'node:net';
import dgram from 'node:dgram';
import { expect } from 'chai';
import { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { EslMessageSplitter } from '../../lab/freeswitch-double/esl-tap.js';
import { parseSip, type SipMsg } from '../../lab/freeswitch-double/sip.js';
import { freePort } from '../../lab/ports.js';
import { startLab, type Lab } from './harness.js';

interface Client {
  next(): Promise<string>;
  send(text: string): void;
  closed: Promise<void>;
  socket: net.Socket;
}

function eslClient(port: number): Client {
  const socket = net.connect(port, '127.0.0.1');
  const split = new EslMessageSplitter();
  const queue: string[] = [];
  const waiters: Array<(m: string) => void> = [];
  socket.on('data', (d: Buffer) => {
    for (const m of split.push(d)) {
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    }
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return {
    socket,
    closed,
    send: (t) => socket.write(t),
    next: () => new Promise<string>((resolve, reject) => {
      const q = queue.shift();
      if (q !== undefined) return resolve(q);
      waiters.push(resolve);
      void closed.then(() => reject(new Error('connection closed')));
    }),
  };
}

async function authed(port: number): Promise<Client> {
  const c = eslClient(port);
  expect(await c.next()).to.contain('auth/request');
  c.send('auth ClueCon\n\n');
  expect(await c.next()).to.contain('+OK accepted');
  return c;
}

function body(m: string): string {
  return m.slice(m.indexOf('\n\n') + 2);
}

describe('FreeSWITCH double: bad input and faults', function () {
  this.timeout(15_000);
  let fs: FreeSwitchDouble;
  const clients: Client[] = [];
  const udp: dgram.Socket[] = [];

  beforeEach(async () => {
    // vars {}: stock FreeSWITCH, as recorded (not the repository's configuration)
    fs = await FreeSwitchDouble.start({ eslPassword: 'ClueCon', sipPort: 0, eslPort: 0, authTimeoutMs: 300, heartbeatMs: 0, vars: {} });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    for (const s of udp.splice(0)) s.close();
    await fs.stop();
  });

  const client = (): Client => {
    const c = eslClient(fs.eslPort);
    clients.push(c);
    return c;
  };

  it('refuses a wrong password with -ERR and a disconnect notice, then serves the next client', async () => {
    const c = client();
    await c.next();
    c.send('auth wrong\n\n');
    expect(await c.next()).to.contain('Reply-Text: -ERR invalid');
    expect(await c.next()).to.contain('text/disconnect-notice');
    await c.closed;
    const ok = await authed(fs.eslPort);
    clients.push(ok);
    expect(fs.problems.some((p) => p.includes('wrong password'))).to.equal(true);
  });

  it('answers commands before auth with -ERR invalid and stays open', async () => {
    const c = client();
    await c.next();
    c.send('api status\n\n');
    expect(await c.next()).to.contain('-ERR invalid');
    c.send('auth ClueCon\n\n');
    expect(await c.next()).to.contain('+OK accepted');
  });

  it('drops a client that never authenticates (timeout) and keeps serving', async () => {
    const c = client();
    await c.next();
    await c.closed;
    expect(fs.problems.some((p) => p.includes('no auth within 300 ms'))).to.equal(true);
    clients.push(await authed(fs.eslPort));
  });

  it('drops an oversized frame and malformed headers, survives abrupt disconnects', async () => {
    const big = await authed(fs.eslPort);
    clients.push(big);
    big.send('x'.repeat(70 * 1024));
    await big.closed;
    const bad = await authed(fs.eslPort);
    clients.push(bad);
    bad.send('sendmsg\nthis line has no colon\n\n');
    await bad.closed;
    const abrupt = await authed(fs.eslPort);
    abrupt.send('api sofia sta');
    abrupt.socket.destroy();
    await abrupt.closed;
    const c = await authed(fs.eslPort);
    clients.push(c);
    c.send('api sofia status\n\n');
    expect(body(await c.next())).to.match(new RegExp(`^\\s*drachtio_mrf\\s.*sip:mod_sofia@127\\.0\\.0\\.1:${fs.sipPort}`, 'm'));
    expect(fs.problems.filter((p) => /closing/.test(p))).to.have.length(2);
  });

  it('answers api commands it does not know, and unknown channels/conferences, with -ERR', async () => {
    const c = await authed(fs.eslPort);
    clients.push(c);
    c.send('api no_such_thing\n\napi conference nope list count\n\napi uuid_kill 00000000-0000-0000-0000-000000000000\n\nbogus\n\n');
    expect(body(await c.next())).to.equal('-ERR no_such_thing Command not found!\n');
    expect(body(await c.next())).to.equal('-ERR Conference nope not found\n');
    expect(body(await c.next())).to.equal('-ERR No such channel!\n');
    expect(await c.next()).to.contain('-ERR command not found');
    c.send('exit\n\n');
    expect(await c.next()).to.contain('+OK bye');
    expect(await c.next()).to.contain('text/disconnect-notice');
    await c.closed;
  });

  async function sip(text: string): Promise<SipMsg> {
    const s = dgram.createSocket('udp4');
    udp.push(s);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    const got = new Promise<SipMsg>((resolve) => {
      s.on('message', (b) => {
        const m = parseSip(b.toString());
        if (m.status !== 100) resolve(m);
      });
    });
    s.send(text.replaceAll('@PORT@', String(port)).replace(/\n/g, '\r\n'), fs.sipPort, '127.0.0.1');
    return got;
  }

  const invite = (o: { ua?: string; esl?: string; sdp?: string; callId: string }): string => {
    const body = o.sdp ?? '';
    return [
      `INVITE sip:drachtio@127.0.0.1:${fs.sipPort} SIP/2.0`,
      'Via: SIP/2.0/UDP 127.0.0.1:@PORT@;rport;branch=z9hG4bK' + o.callId,
      'From: <sip:127.0.0.1:@PORT@>;tag=abc', `To: <sip:drachtio@127.0.0.1:${fs.sipPort}>`, `Call-ID: ${o.callId}`,
      'CSeq: 1 INVITE', 'Contact: <sip:127.0.0.1:@PORT@>',
      ...(o.ua ? [`User-Agent: ${o.ua}`] : []), ...(o.esl ? [`X-esl-outbound: ${o.esl}`] : []),
      ...(body ? ['Content-Type: application/sdp'] : []), `Content-Length: ${Buffer.byteLength(body.replace(/\n/g, '\r\n'))}`, '', body,
    ].join('\n');
  };

  it('SIP: survives garbage, refuses INVITEs the mrf dialplan would not route', async () => {
    const g = dgram.createSocket('udp4');
    udp.push(g);
    g.send(Buffer.from('\x00\x01garbage\r\n\r\n'), fs.sipPort, '127.0.0.1');
    const opt = await sip([
      `OPTIONS sip:drachtio@127.0.0.1:${fs.sipPort} SIP/2.0`, 'Via: SIP/2.0/UDP 127.0.0.1:@PORT@;branch=z9hG4bKo1',
      'From: <sip:x@127.0.0.1>;tag=1', 'To: <sip:drachtio@127.0.0.1>', 'Call-ID: o1', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
    ].join('\n'));
    expect(opt.status).to.equal(200);
    expect(fs.problems.some((p) => p.startsWith('unparsable SIP'))).to.equal(true);
    expect((await sip(invite({ callId: 'c1', ua: 'softphone' }))).status).to.equal(404);
    expect((await sip(invite({ callId: 'c2', ua: 'drachtio-fsmrf:1' }))).status).to.equal(500);
    const g729 = 'v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 18\na=rtpmap:18 G729/8000\n';
    expect((await sip(invite({ callId: 'c3', ua: 'drachtio-fsmrf:1', esl: '127.0.0.1:9', sdp: g729 }))).status).to.equal(488);
  });

  it('SIP over TCP: answers on the same port, survives a garbage stream', async () => {
    const junk = net.connect(fs.sipPort, '127.0.0.1');
    junk.on('error', () => undefined);
    junk.write('x'.repeat(70 * 1024));
    await new Promise<void>((r) => junk.once('close', () => r()));
    const s = net.connect(fs.sipPort, '127.0.0.1');
    s.on('error', () => undefined);
    const reply = new Promise<SipMsg>((resolve) => {
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\r\n\r\n')) resolve(parseSip(buf));
      });
    });
    s.write([
      `OPTIONS sip:drachtio@127.0.0.1:${fs.sipPort};transport=tcp SIP/2.0`, 'Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKt1',
      'From: <sip:x@127.0.0.1>;tag=1', 'To: <sip:drachtio@127.0.0.1>', 'Call-ID: t1', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
    ].join('\r\n'));
    const m = await reply;
    s.destroy();
    expect(m.status).to.equal(200);
    expect(fs.problems.some((p) => p.includes('oversized SIP over TCP'))).to.equal(true);
  });

  it('SIP: hangs up with a BYE when the outbound ESL target is unreachable', async () => {
    const dead = await freePort();
    const s = dgram.createSocket('udp4');
    udp.push(s);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const msgs: SipMsg[] = [];
    const bye = new Promise<SipMsg>((resolve) => s.on('message', (b) => {
      const m = parseSip(b.toString());
      msgs.push(m);
      if (m.method === 'BYE') resolve(m);
    }));
    s.send(invite({ callId: 'c4', ua: 'drachtio-fsmrf:1', esl: `127.0.0.1:${dead}` }).replaceAll('@PORT@', String(s.address().port)).replace(/\n/g, '\r\n'), fs.sipPort, '127.0.0.1');
    const m = await bye;
    expect(msgs[0]!.status).to.equal(200);
    expect(msgs[0]!.body).to.contain('RTP/SAVP'); // 3pcc offer (F2)
    expect(m.headers.find(([k]) => k === 'Reason')?.[1]).to.contain('DESTINATION_OUT_OF_ORDER');
    expect(fs.channelInfo()[0]!.state).to.equal('hangup');
  });
});

describe('FreeSWITCH double: HEARTBEAT', () => {
  it('sends HEARTBEAT events with session counts to subscribers only', async () => {
    const fs = await FreeSwitchDouble.start({ eslPassword: 'ClueCon', sipPort: 0, eslPort: 0, heartbeatMs: 50, maxSessions: 42 });
    const quiet = await authed(fs.eslPort);
    const c = await authed(fs.eslPort);
    try {
      c.send('event json HEARTBEAT\n\n');
      expect(await c.next()).to.contain('+OK event listener enabled json');
      const hb = JSON.parse(body(await c.next())) as Record<string, string>;
      expect(hb).to.include({ 'Event-Name': 'HEARTBEAT', 'Max-Sessions': '42', 'Session-Count': '0' });
      // the unsubscribed client got nothing: its next message is the reply to this command
      quiet.send('api version\n\n');
      expect(await quiet.next()).to.contain('api/response');
    } finally {
      c.socket.destroy();
      quiet.socket.destroy();
      await fs.stop();
    }
  });
});

describe('FreeSWITCH double: conferences through drachtio-fsmrf', function () {
  this.timeout(15_000);
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.stop();
    lab = undefined;
  });

  it('member ids are global across conferences (F5); max_members is applied', async function () {
    lab = await startLab();
    if (!lab.fs) this.skip();
    const ms = lab.app.ms;
    const c1 = await ms.createConference(`f5-a-${Date.now()}`);
    const c2 = await ms.createConference(`f5-b-${Date.now()}`, { maxMembers: 3 });
    const ep = await ms.createEndpoint();
    const { memberId } = await ep.join(c1);
    expect([c1.memberId, c2.memberId, memberId]).to.deep.equal([1, 2, 3]);
    expect(await c1.getSize()).to.equal(2);
    const info = lab.fs!.conferenceInfo().find((c) => c.name === c2.name)!;
    expect(info.maxMembers).to.equal(3);
    // ep is a 3pcc leg ACKed recvonly like the control legs: in a conference its hangup would
    // never run (F1), so all three are killed.
    for (const uuid of [ep.uuid, c1.endpoint.uuid, c2.endpoint.uuid]) expect(await ms.api(`uuid_kill ${uuid}`)).to.equal('+OK\n');
    await lab.app.stop();
    await lab.fs!.idle();
    expect(lab.fs!.channelInfo().every((c) => c.state === 'hangup')).to.equal(true);
    expect(lab.fs!.conferenceInfo()).to.deep.equal([]);
  });
});
