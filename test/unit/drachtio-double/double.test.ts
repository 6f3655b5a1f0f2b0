/**
 * The double's behaviour on real sockets: control-port protocol and bad input, SIP server
 * transactions (100, retransmissions, ACK/CANCEL), routing among apps, dead apps, and the client
 * transactions it runs for app-originated requests (timers with a shortened T1).
 */
import net from 'node:net';
import { once } from 'node:events';
import { expect } from 'chai';
import { DrachtioDouble } from '../../lab/drachtio-double/double.js';
import { freePort } from '../../lab/ports.js';
import { RawApp, UdpPeer, appResponse, request } from './helpers.js';

const SECRET = 'cymru';
const T1 = 20;

describe('drachtio double', function () {
  this.timeout(10_000);
  let d: DrachtioDouble;
  const apps: RawApp[] = [];
  const peers: UdpPeer[] = [];

  const app = async (verbs: string[] = ['invite', 'options', 'info', 'bye', 'cdr:attempt', 'cdr:start', 'cdr:stop']): Promise<RawApp> => {
    const a = await RawApp.ready(d.controlPort, SECRET, verbs);
    apps.push(a);
    return a;
  };
  const peer = async (): Promise<UdpPeer> => {
    const p = await UdpPeer.open();
    peers.push(p);
    return p;
  };
  const problem = (re: RegExp): Promise<string> => new Promise((resolve) => {
    const seen = d.problems.find((p) => re.test(p));
    if (seen) return resolve(seen);
    const on = (p: string): void => {
      if (re.test(p)) {
        d.off('problem', on);
        resolve(p);
      }
    };
    d.on('problem', on);
  });

  beforeEach(async () => {
    d = await DrachtioDouble.start({ secret: SECRET, sipHost: '127.0.0.1', sipPort: 0, transports: ['udp', 'tcp'], controlPort: 0, timers: { t1: T1, t2: 8 * T1, t4: 10 * T1 } });
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) a.close();
    for (const p of peers.splice(0)) await p.close();
    await d.stop();
  });

  it('restarts on the same ports after stop() (a restarted server: apps reconnect and route again)', async () => {
    const ports = { sipPort: d.sipPort, controlPort: d.controlPort };
    const a = await app(['options']);
    await d.stop();
    await a.closed;
    d = await DrachtioDouble.start({ secret: SECRET, ...ports, timers: { t1: T1 } });
    expect({ sipPort: d.sipPort, controlPort: d.controlPort }).to.deep.equal(ports);
    const p = await peer();
    p.send(request('OPTIONS', p.port, d.sipPort), d.sipPort);
    await p.waitFor((m) => m.startsWith('SIP/2.0 503')); // no app has routed yet
    const b = await app(['options']);
    p.send(request('OPTIONS', p.port, d.sipPort), d.sipPort);
    await b.inbox.waitFor((m) => m.type === 'sip');
  });

  describe('control port', () => {
    it('authenticates: OK with hostports and a version srf will ping; wrong secret -> NO and close', async () => {
      const a = await RawApp.connect(d.controlPort);
      apps.push(a);
      const ok = await a.request(['authenticate', SECRET, '']);
      expect(ok.tokens.slice(3)).to.deep.equal(['OK', `tcp/127.0.0.1:${d.sipPort},udp/127.0.0.1:${d.sipPort}`, 'v0.9.10-double', `tcp/127.0.0.1:${d.sipPort},udp/127.0.0.1:${d.sipPort}`]);
      const pong = await a.request(['ping']);
      expect(pong.tokens.slice(3)).to.deep.equal(['OK', 'pong']);
      const b = await RawApp.connect(d.controlPort);
      apps.push(b);
      const no = await b.request(['authenticate', 'wrong', '']);
      expect(no.tokens.slice(3)).to.deep.equal(['NO', 'incorrect secret']);
      await b.closed;
    });

    for (const [what, bytes, re] of [
      ['garbage', 'GET / HTTP/1.1\r\n\r\n', /bad length prefix/],
      ['an oversize frame (6-digit length)', '100000#x', /oversize frame/],
      ['a frame with a lying length', '12#x|ping|extra-bytes-after', /bad length prefix/],
    ] as const) {
      it(`drops a link that sends ${what}, logs why, and keeps serving other apps`, async () => {
        const good = await app();
        const bad = await RawApp.connect(d.controlPort);
        apps.push(bad);
        bad.writeRaw(bytes);
        await bad.closed;
        expect(await problem(re)).to.match(/control link \d+ .*closing that link/);
        expect((await good.request(['ping'])).tokens[3]).to.equal('OK');
        const again = await app();
        expect((await again.request(['ping'])).tokens[4]).to.equal('pong');
      });
    }

    it('answers NO to a well-framed payload that is not a message, an unknown type, and keeps the link', async () => {
      const a = await app();
      a.writeRaw('5#hello');
      const no = await a.inbox.waitFor((m) => m.type === 'response' && m.tokens[3] === 'NO');
      expect(no.tokens[4]).to.equal('invalid message');
      const unknown = await a.request(['frobnicate', 'x']);
      expect(unknown.tokens.slice(3)).to.deep.equal(['NO', 'unknown message type: frobnicate']);
      expect((await a.request(['ping'])).tokens[4]).to.equal('pong');
      expect(d.problems.join('\n')).to.match(/unparseable payload/).and.to.match(/unknown message type 'frobnicate'/);
    });

    it('refuses anything before authenticate', async () => {
      const a = await RawApp.connect(d.controlPort);
      apps.push(a);
      const r = await a.request(['route', 'invite']);
      expect(r.tokens.slice(3)).to.deep.equal(['NO', 'not authenticated']);
      await a.closed;
    });
  });

  describe('SIP from the network', () => {
    it('sends 100 Trying, reports the INVITE with the received-on address, absorbs a retransmission', async () => {
      const a = await app();
      const p = await peer();
      const inv = request('INVITE', p.port, d.sipPort, { branch: 'z9hG4bK-rt-1' });
      p.send(inv, d.sipPort);
      await p.waitFor((m) => m.startsWith('SIP/2.0 100 Trying'));
      const f = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('INVITE'));
      expect(f.tokens.slice(2, 6)).to.deep.equal(['network', String(Buffer.byteLength(inv)), 'udp', '127.0.0.1']);
      expect(f.tokens.slice(9)).to.deep.equal(['', '127.0.0.1', String(d.sipPort), '']);
      expect(f.sip).to.include(`branch=z9hG4bK-rt-1;rport=${p.port}\r\n`);
      p.send(inv, d.sipPort); // retransmission: answered with the last response, not passed up
      await p.waitFor(() => p.count((m) => m.startsWith('SIP/2.0 100')) === 2);
      const opt = request('OPTIONS', p.port, d.sipPort);
      p.send(opt, d.sipPort); // ordering barrier: anything from the retransmission would arrive first
      await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('OPTIONS'));
      expect(a.sipFrames('INVITE')).to.have.length(1);
    });

    it('fills Via/To-tag/Contact/Content-Type in the app answer and echoes the SIP as sent', async () => {
      const a = await app();
      const p = await peer();
      const inv = request('INVITE', p.port, d.sipPort, { body: 'v=0\r\n' });
      p.send(inv, d.sipPort);
      const f = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('INVITE'));
      const txid = f.tokens[8]!;
      const ans = appResponse(200, 'OK', f.sip!).replace('Content-Length: 0\r\n\r\n', 'Content-Length: 5\r\n\r\nv=0\r\n');
      const r = await a.request(['sip', txid, ''], ans);
      const sent = await p.waitFor((m) => m.startsWith('SIP/2.0 200'));
      expect(r.sip).to.equal(sent);
      expect(r.tokens.slice(3, 6)).to.deep.equal(['OK', 'application', String(Buffer.byteLength(sent))]);
      expect(r.tokens[11]).to.equal(`${/Call-ID: (.*)/.exec(inv)![1]!.trim()};from-tag=${/;tag=(\w+)/.exec(inv)![1]}`);
      expect(r.tokens.slice(12)).to.deep.equal(['', 'Msg sent:', '']);
      expect(sent).to.match(/^To: <sip:service@127\.0\.0\.1:\d+>;tag=\w{13}\r\n/m);
      expect(sent).to.include(`Contact: <sip:127.0.0.1:${d.sipPort}>\r\n`).and.to.include('Content-Type: application/sdp\r\n');
      expect(sent).to.include(`Via: SIP/2.0/UDP 127.0.0.1:${p.port};branch=`);
      await a.inbox.waitFor((m) => m.type === 'cdr:start');
    });

    it('absorbs the ACK to a non-2xx final (it never reaches the app) and retransmits the final until then', async () => {
      const a = await app();
      const p = await peer();
      const inv = request('INVITE', p.port, d.sipPort, { branch: 'z9hG4bK-busy' });
      p.send(inv, d.sipPort);
      const f = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('INVITE'));
      await a.request(['sip', f.tokens[8]!, ''], appResponse(486, 'Busy Here', f.sip!));
      await p.waitFor(() => p.count((m) => m.startsWith('SIP/2.0 486')) >= 2, 2000, 'a retransmitted 486 (timer G)');
      const toTag = /^To:.*;tag=(\w+)/m.exec(p.inbox.items.find((m) => m.startsWith('SIP/2.0 486'))!)![1]!;
      p.send(request('ACK', p.port, d.sipPort, { branch: 'z9hG4bK-busy', callId: /Call-ID: (.*)/.exec(inv)![1]!.trim(), fromTag: /;tag=(\w+)/.exec(inv)![1]!, toTag }), d.sipPort);
      p.send(request('OPTIONS', p.port, d.sipPort), d.sipPort);
      await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('OPTIONS'));
      expect(a.sipFrames('ACK')).to.have.length(0);
      await a.inbox.waitFor((m) => m.type === 'cdr:stop' && m.tokens[4] === 'call-rejected');
    });

    it('answers CANCEL with 200 and the INVITE with 487, then tells the app on the INVITE transaction', async () => {
      const a = await app();
      const p = await peer();
      const inv = request('INVITE', p.port, d.sipPort, { branch: 'z9hG4bK-c1', user: 'cancel' });
      p.send(inv, d.sipPort);
      const f = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('INVITE'));
      await a.request(['sip', f.tokens[8]!, ''], appResponse(180, 'Ringing', f.sip!));
      await p.waitFor((m) => m.startsWith('SIP/2.0 180'));
      const cancel = inv.replace(/^INVITE/, 'CANCEL').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL').replace(/\r\nContact:[^\r]*/, '');
      p.send(cancel, d.sipPort);
      const ok = await p.waitFor((m) => m.startsWith('SIP/2.0 200') && m.includes('CANCEL'));
      const terminated = await p.waitFor((m) => m.startsWith('SIP/2.0 487'));
      const tag = (m: string): string => /^To:.*;tag=(\w+)/m.exec(m)![1]!;
      expect(tag(ok)).to.equal(tag(terminated));
      const c = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('CANCEL'));
      expect(c.tokens[8]).to.equal(f.tokens[8]);
      expect(c.tokens[3]).to.equal(f.tokens[3]); // bytes token repeats the INVITE's size
      expect(c.tokens[9]).to.match(/;from-tag=/);
      const late = await a.request(['sip', f.tokens[8]!, ''], appResponse(200, 'OK', f.sip!));
      expect(late.tokens.slice(3)).to.deep.equal(['NOK', 'Response not sent due to unknown transaction']);
    });

    it('REGISTER: the app Contact/Expires pass through, a To-tag is added, no dialog is made (h-register)', async () => {
      const a = await app(['register']);
      const p = await peer();
      p.send(request('REGISTER', p.port, d.sipPort, { user: 'alice', callId: 'reg-1' }), d.sipPort);
      const f = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('REGISTER'));
      const contact = `<sip:alice@127.0.0.1:${p.port};transport=UDP>;expires=3600`;
      const r = await a.request(['sip', f.tokens[8]!, ''], appResponse(200, 'OK', f.sip!, [`contact: ${contact}`, 'expires: 3600']));
      expect(r.tokens.slice(6, 7)).to.deep.equal(['']); // transport token empty for non-INVITE, as recorded
      expect(r.tokens[11]).to.equal('');
      const ok = await p.waitFor((m) => m.startsWith('SIP/2.0 200'));
      expect(ok).to.include(`Contact: ${contact}\r\n`).and.to.include('Expires: 3600\r\n');
      expect(ok).to.match(/^To: <sip:alice@127\.0\.0\.1:\d+>;tag=\w{13}\r$/m);
      expect(d.dialogCount).to.equal(0);
    });

    it('answers 503 without Retry-After when no app routes the method', async () => {
      const p = await peer();
      p.send(request('INVITE', p.port, d.sipPort), d.sipPort);
      const r = await p.waitFor((m) => m.startsWith('SIP/2.0 503'));
      expect(p.inbox.items[0]).to.match(/^SIP\/2\.0 100 Trying/);
      expect(r).not.to.match(/Retry-After/i);
      expect(r).to.match(/^To:.*;tag=/m);
    });

    it('hands new INVITEs round robin to the apps that routed invite (two apps: in the order they routed)', async () => {
      const a1 = await app(['invite']);
      const optionsOnly = await app(['options']);
      const a2 = await app(['invite']);
      const p = await peer();
      for (let i = 0; i < 4; i++) p.send(request('INVITE', p.port, d.sipPort, { callId: `rr-${i}` }), d.sipPort);
      await a1.inbox.waitFor(() => a1.sipFrames('INVITE').length === 2);
      await a2.inbox.waitFor(() => a2.sipFrames('INVITE').length === 2);
      const ids = (a: RawApp): string[] => a.sipFrames('INVITE').map((f) => /Call-ID: (\S+)/.exec(f.sip!)![1]!);
      expect(ids(a1)).to.deep.equal(['rr-0', 'rr-2']);
      expect(ids(a2)).to.deep.equal(['rr-1', 'rr-3']);
      expect(optionsOnly.sipFrames()).to.have.length(0);
    });

    it('round robin over route entries as the real server keeps them: a dead app\'s entry is erased when reached', async () => {
      const a = await app(['invite']);
      const b = await app(['invite']);
      const c = await app(['invite']);
      const p = await peer();
      const owners: string[] = [];
      const who = new Map<RawApp, string>([[a, 'A'], [b, 'B'], [c, 'C']]);
      const next = async (callId: string): Promise<void> => {
        p.send(request('INVITE', p.port, d.sipPort, { callId }), d.sipPort);
        const got = await Promise.any([...who.keys()].map((x) => x.inbox.waitFor((m) => m.type === 'sip' && m.sip!.includes(`Call-ID: ${callId}\r`)).then(() => x)));
        owners.push(who.get(got)!);
      };
      for (let i = 0; i < 3; i++) await next(`dead-rr-${i}`);
      expect(owners.splice(0)).to.deep.equal(['A', 'C', 'B']); // a new entry goes in after the first
      const gone = once(d, 'appGone');
      c.close();
      await gone;
      who.delete(c);
      const e = await app(['invite']);
      who.set(e, 'E');
      expect(d.routes.list('invite')).to.have.length(4); // C's entry is still there
      for (let i = 3; i < 7; i++) await next(`dead-rr-${i}`);
      expect(owners).to.deep.equal(['B', 'A', 'E', 'B']);
      expect(d.routes.list('invite')).to.have.length(3);
    });

    it('answers 481 itself to in-dialog requests of a dialog whose app died (not routed to a survivor)', async () => {
      const owner = await app(['invite']);
      const survivor = await app(['invite', 'info', 'bye', 'cdr:stop']);
      const p = await peer();
      const inv = request('INVITE', p.port, d.sipPort, { callId: 'dead-1', fromTag: 'caller1' });
      p.send(inv, d.sipPort);
      const f = await owner.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('INVITE'));
      await owner.request(['sip', f.tokens[8]!, ''], appResponse(200, 'OK', f.sip!));
      const ok = await p.waitFor((m) => m.startsWith('SIP/2.0 200'));
      const toTag = /^To:.*;tag=(\w+)/m.exec(ok)![1]!;
      p.send(request('ACK', p.port, d.sipPort, { callId: 'dead-1', fromTag: 'caller1', toTag }), d.sipPort);
      await owner.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('ACK'));
      const gone = once(d, 'appGone');
      owner.close();
      await gone;
      p.send(request('INFO', p.port, d.sipPort, { callId: 'dead-1', fromTag: 'caller1', toTag, cseq: 2 }), d.sipPort);
      p.send(request('BYE', p.port, d.sipPort, { callId: 'dead-1', fromTag: 'caller1', toTag, cseq: 3 }), d.sipPort);
      await p.waitFor((m) => m.startsWith('SIP/2.0 481') && m.includes('INFO'));
      await p.waitFor((m) => m.startsWith('SIP/2.0 481') && m.includes('BYE'));
      expect(survivor.sipFrames()).to.have.length(0);
      // as recorded in n2: the survivor, which routed cdr:stop, gets the dead dialog's stop with the BYE
      const cdr = await survivor.inbox.waitFor((m) => m.type === 'cdr:stop');
      expect(cdr.tokens.slice(2, 3).concat(cdr.tokens.slice(4))).to.deep.equal(['network', 'normal-release']);
      expect(cdr.sip).to.match(/^BYE /).and.to.match(/^Call-ID: dead-1\r$/m);
      expect(d.dialogCount).to.equal(0);
    });

    it("a survivor's new BYE carrying a dead app's dialog (Call-ID, tags, CSeq) goes out as given; its 200 comes back to the survivor", async () => {
      const owner = await app(['invite']);
      const survivor = await app(['invite']);
      const p = await peer();
      p.send(request('INVITE', p.port, d.sipPort, { callId: 'ha-1', fromTag: 'caller1' }), d.sipPort);
      const f = await owner.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('INVITE'));
      await owner.request(['sip', f.tokens[8]!, ''], appResponse(200, 'OK', f.sip!));
      const ok = await p.waitFor((m) => m.startsWith('SIP/2.0 200'));
      const toTag = /^To:.*;tag=(\w+)/m.exec(ok)![1]!;
      const gone = once(d, 'appGone');
      owner.close();
      await gone;
      const bye = [
        `BYE sip:sipp@127.0.0.1:${p.port} SIP/2.0`,
        'Call-ID: ha-1',
        `From: <sip:service@127.0.0.1:${d.sipPort}>;tag=${toTag}`,
        `To: sipp <sip:sipp@127.0.0.1:${p.port}>;tag=caller1`,
        'CSeq: 1 BYE',
        'Route: <sip:10.9.9.9;lr>',
        'Content-Length: 0',
        '', '',
      ].join('\r\n');
      const sentFrame = await survivor.request(['sip', '', ''], bye);
      const got = await p.waitFor((m) => m.startsWith('BYE '));
      expect(sentFrame.tokens[3]).to.equal('OK');
      expect(got).to.match(new RegExp(`^BYE sip:sipp@127\\.0\\.0\\.1:${p.port} SIP/2\\.0\r$`, 'm'));
      expect(got).to.match(/^Call-ID: ha-1\r$/m).and.to.match(/^CSeq: 1 BYE\r$/m);
      expect(got).to.match(new RegExp(`^From: <sip:service@127\\.0\\.0\\.1:${d.sipPort}>;tag=${toTag}\r$`, 'm'));
      expect(got).to.match(/^To: sipp <sip:sipp@127\.0\.0\.1:\d+>;tag=caller1\r$/m);
      // Route is not an app-settable header on the real server
      expect(got).not.to.match(/^Route:/m);
      const via = /^Via: (.*)\r$/m.exec(got)![1]!;
      p.send(`SIP/2.0 200 OK\r\nVia: ${via}\r\nFrom: <sip:service@127.0.0.1:${d.sipPort}>;tag=${toTag}\r\nTo: sipp <sip:sipp@127.0.0.1:${p.port}>;tag=caller1\r\nCall-ID: ha-1\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n`, d.sipPort);
      const res = await survivor.inbox.waitFor((m) => m.type === 'sip' && !!m.sip?.startsWith('SIP/2.0 200') && m.tokens[8] === sentFrame.tokens[10]);
      expect(res.sip).to.match(/^CSeq: 1 BYE\r$/m);
    });

    it('a new request with a proxy token goes to the proxy, the Request-URI unchanged', async () => {
      const a = await app([]);
      const proxy = await peer();
      await a.request(['sip', '', '', `sip:127.0.0.1:${proxy.port}`], `BYE sip:someone@192.0.2.7:5999 SIP/2.0\r\nCall-ID: px-1\r\nFrom: <sip:a@127.0.0.1>;tag=l1\r\nTo: <sip:b@192.0.2.7>;tag=r1\r\nCSeq: 9 BYE\r\nContent-Length: 0\r\n\r\n`);
      const got = await proxy.waitFor((m) => m.startsWith('BYE '));
      expect(got.split('\r\n')[0]).to.equal('BYE sip:someone@192.0.2.7:5999 SIP/2.0');
      expect(got).to.match(/^CSeq: 9 BYE\r$/m);
    });

    it('an INVITE pending at an app that died: CANCEL gets 200 + 487; unanswered ones are dropped after 64*T1', async () => {
      const a = await app(['invite']);
      const p = await peer();
      const inv1 = request('INVITE', p.port, d.sipPort, { callId: 'pend-1', branch: 'z9hG4bK-p1' });
      const inv2 = request('INVITE', p.port, d.sipPort, { callId: 'pend-2', branch: 'z9hG4bK-p2' });
      p.send(inv1, d.sipPort);
      p.send(inv2, d.sipPort);
      await a.inbox.waitFor(() => a.sipFrames('INVITE').length === 2);
      const gone = once(d, 'appGone');
      a.close();
      await gone;
      const cancel = (inv: string): string => inv.replace(/^INVITE/, 'CANCEL').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL');
      p.send(cancel(inv1), d.sipPort);
      await p.waitFor((m) => m.startsWith('SIP/2.0 487') && m.includes('pend-1'));
      const second = a.sipFrames('INVITE').find((f) => f.sip!.includes('pend-2'))!;
      await problem(new RegExp(`INVITE transaction ${second.tokens[8]} of dead app \\d+ abandoned after 64\\*T1`));
      p.send(cancel(inv2), d.sipPort);
      await p.waitFor((m) => m.startsWith('SIP/2.0 481') && m.includes('pend-2'));
      expect(p.inbox.items.filter((m) => m.includes('pend-2')).map((m) => m.split('\r\n')[0])).to.deep.equal(['SIP/2.0 100 Trying', 'SIP/2.0 481 Call/Transaction Does Not Exist']);
    });

    it('re-INVITE: 100 from the double, app answers with Contact, its ACK gets a new transaction id', async () => {
      const a = await app();
      const p = await peer();
      p.send(request('INVITE', p.port, d.sipPort, { callId: 're-1', fromTag: 'c1' }), d.sipPort);
      const f = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('INVITE'));
      const r200 = await a.request(['sip', f.tokens[8]!, ''], appResponse(200, 'OK', f.sip!));
      const toTag = /^To:.*;tag=(\w+)/m.exec(r200.sip!)![1]!;
      p.send(request('ACK', p.port, d.sipPort, { callId: 're-1', fromTag: 'c1', toTag }), d.sipPort);
      const ack1 = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('ACK'));
      p.send(request('INVITE', p.port, d.sipPort, { callId: 're-1', fromTag: 'c1', toTag, cseq: 2, branch: 'z9hG4bK-re2' }), d.sipPort);
      await p.waitFor((m) => m.startsWith('SIP/2.0 100') && m.includes('z9hG4bK-re2'));
      const re = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('INVITE') && m.tokens[8] !== f.tokens[8]);
      expect(re.tokens[9]).to.equal('re-1;from-tag=c1');
      expect(re.tokens).to.have.length(11); // no received-on address for in-dialog requests
      const r2 = await a.request(['sip', re.tokens[8]!, ''], appResponse(200, 'OK', re.sip!));
      expect(r2.sip).to.match(/^Contact: <sip:127\.0\.0\.1:\d+>\r$/m);
      expect(r2.tokens[11]).to.equal('re-1;from-tag=c1');
      p.send(request('ACK', p.port, d.sipPort, { callId: 're-1', fromTag: 'c1', toTag, cseq: 2 }), d.sipPort);
      const ack2 = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('ACK') && m !== ack1);
      expect(ack1.tokens[8]).to.equal(f.tokens[8]);
      expect(ack2.tokens[8]).not.to.be.oneOf([f.tokens[8], re.tokens[8]]);
      expect(a.inbox.items.filter((m) => m.type === 'cdr:start')).to.have.length(1);
    });

    it('answers 400 to an unparseable but addressable request, drops junk, logs both, keeps serving', async () => {
      const a = await app();
      const p = await peer();
      p.send(request('OPTIONS', p.port, d.sipPort).replace(/Content-Length: 0/, 'Content-Length: lots'), d.sipPort);
      const bad = await p.waitFor((m) => m.startsWith('SIP/2.0 400'));
      expect(bad).to.match(/CSeq: 1 OPTIONS/);
      p.send('\u0000\u0001 not sip at all', d.sipPort);
      expect(await problem(/unparseable SIP .*dropped/)).to.match(/no end of headers/);
      expect(await problem(/unparseable SIP .*answered 400/)).to.match(/bad Content-Length/);
      p.send(request('OPTIONS', p.port, d.sipPort), d.sipPort);
      await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('OPTIONS'));
    });

    it('closes a TCP SIP connection that cannot be framed and keeps accepting others', async () => {
      const s = net.connect({ host: '127.0.0.1', port: d.sipPort });
      await once(s, 'connect');
      s.on('error', () => { /* reset by the double is expected */ });
      s.write('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP x\r\n\r\n');
      await once(s, 'close');
      expect(await problem(/tcp .*without Content-Length; closing connection/)).to.be.a('string');
      const a = await app();
      const s2 = net.connect({ host: '127.0.0.1', port: d.sipPort });
      await once(s2, 'connect');
      s2.write(request('OPTIONS', 5999, d.sipPort).replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
      const f = await a.inbox.waitFor((m) => m.type === 'sip');
      expect(f.tokens[4]).to.equal('tcp');
      s2.destroy();
    });
    it('a SIP TCP link dropped mid-call: the app BYE gets a fabricated 503, logged, and the double keeps serving', async () => {
      const a = await app();
      const closedPort = await freePort();
      const s = net.connect({ host: '127.0.0.1', port: d.sipPort });
      await once(s, 'connect');
      s.write(request('INVITE', closedPort, d.sipPort, { callId: 'tcp-drop', fromTag: 'c7' }).replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
      const f = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('INVITE'));
      expect(f.tokens[4]).to.equal('tcp');
      const r200 = await a.request(['sip', f.tokens[8]!, ''], appResponse(200, 'OK', f.sip!));
      expect(r200.sip).to.match(/^Contact: <sip:127\.0\.0\.1:\d+;transport=tcp>\r$/m);
      const closed = once(d, 'sipTcpClosed');
      s.destroy();
      await closed;
      const bye = await a.request(['sip', '', 'tcp-drop;from-tag=c7'], 'BYE sip:placeholder SIP/2.0\r\nContent-Length: 0\r\n\r\n');
      const failed = await a.inbox.waitFor((m) => m.type === 'sip' && m.tokens[8] === bye.tokens[10]);
      expect(failed.sip).to.match(/^SIP\/2\.0 503 /);
      expect(failed.tokens.slice(2, 7)).to.deep.equal(['network', '0', 'tcp', '', '0']);
      expect(await problem(/send BYE to tcp:127\.0\.0\.1:\d+ failed/)).to.match(/ECONNREFUSED/);
      const p = await peer();
      p.send(request('OPTIONS', p.port, d.sipPort), d.sipPort);
      await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('OPTIONS'));
    });
  });

  describe('requests from apps (client transactions)', () => {
    it('new request: fills Via/From/To/Call-ID/CSeq/Contact and replies with the SIP as sent', async () => {
      const a = await app([]);
      const p = await peer();
      const r = await a.request(['sip', '', ''], `OPTIONS sip:x@127.0.0.1:${p.port} SIP/2.0\r\nX-Probe: 1\r\nContent-Length: 0\r\n\r\n`);
      const sent = await p.waitFor((m) => m.startsWith('OPTIONS'));
      expect(r.sip).to.equal(sent);
      expect(r.tokens.slice(3, 9)).to.deep.equal(['OK', 'application', String(Buffer.byteLength(sent)), 'udp', '127.0.0.1', String(d.sipPort)]);
      expect(r.tokens.slice(11)).to.deep.equal(['Msg sent:', '']);
      expect(sent).to.match(new RegExp(`^Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${d.sipPort};rport;branch=z9hG4bK\\w+\\r$`, 'm'));
      expect(sent).to.match(/^From: <sip:127\.0\.0\.1:\d+>;tag=\w{13}\r$/m).and.to.match(/^To: <sip:x@127\.0\.0\.1:\d+>\r$/m);
      expect(sent).to.match(/^CSeq: \d+ OPTIONS\r$/m).and.to.match(/^Call-ID: \S+\r$/m).and.to.match(/^Max-Forwards: 70\r$/m);
      expect(sent).to.match(/^X-Probe: 1\r$/m);
    });

    it('over UDP retransmits a non-INVITE (timer E), then fabricates 408 to the app (timer F)', async () => {
      const a = await app([]);
      const silent = await peer();
      const r = await a.request(['sip', '', ''], `OPTIONS sip:x@127.0.0.1:${silent.port} SIP/2.0\r\nContent-Length: 0\r\n\r\n`);
      const txid = r.tokens[10]!;
      const t = await a.inbox.waitFor((m) => m.type === 'sip' && m.tokens[8] === txid, 64 * T1 + 2000, 'fabricated 408');
      expect(t.sip).to.match(/^SIP\/2\.0 408 Request Timeout/);
      expect(t.tokens.slice(2, 7)).to.deep.equal(['network', '0', 'udp', '', '0']);
      expect(silent.count((m) => m.startsWith('OPTIONS'))).to.be.within(5, 12);
      expect(new Set(silent.inbox.items).size).to.equal(1); // identical copies
    });

    it('a retransmitted final response to a non-INVITE is absorbed (timer K), the app sees it once', async () => {
      const a = await app(['options']);
      const p = await peer();
      const r = await a.request(['sip', '', ''], `OPTIONS sip:x@127.0.0.1:${p.port} SIP/2.0\r\nContent-Length: 0\r\n\r\n`);
      const sent = await p.waitFor((m) => m.startsWith('OPTIONS'));
      const ok = sent.replace(/^OPTIONS [^\r]*/, 'SIP/2.0 200 OK').replace(/^(To: [^\r]*)/m, '$1;tag=x').replace(/^(Max-Forwards|Contact)[^\r]*\r\n/gm, '');
      p.send(ok, d.sipPort);
      p.send(ok, d.sipPort);
      p.send(request('OPTIONS', p.port, d.sipPort), d.sipPort); // ordering barrier
      await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('OPTIONS'));
      const answers = a.inbox.items.filter((m) => m.type === 'sip' && m.tokens[8] === r.tokens[10]);
      expect(answers).to.have.length(1);
      expect(answers[0]!.tokens.slice(2, 5)).to.deep.equal(['network', String(Buffer.byteLength(ok)), 'udp']);
    });

    it('over UDP retransmits an INVITE with doubling intervals (timer A), 408 at timer B', async () => {
      const a = await app([]);
      const silent = await peer();
      const r = await a.request(['sip', '', ''], `INVITE sip:x@127.0.0.1:${silent.port} SIP/2.0\r\nContent-Length: 0\r\n\r\n`);
      const t = await a.inbox.waitFor((m) => m.type === 'sip' && m.tokens[8] === r.tokens[10], 64 * T1 + 2000, 'fabricated 408');
      expect(t.sip).to.match(/^SIP\/2\.0 408/);
      // sends at 0, 1, 3, 7, 15, 31, 63 x T1 within 64 x T1 (the last one may lose the race with B)
      expect(silent.count((m) => m.startsWith('INVITE'))).to.be.within(6, 7);
    });

    it('a provisional stops INVITE retransmission; non-2xx final is ACKed by the double; app ACK -> NOK', async () => {
      const a = await app([]);
      const p = await peer();
      const r = await a.request(['sip', '', ''], `INVITE sip:x@127.0.0.1:${p.port} SIP/2.0\r\nContent-Length: 0\r\n\r\n`);
      const inv = await p.waitFor((m) => m.startsWith('INVITE'));
      const resp = (code: string): string => inv.replace(/^INVITE [^\r]*/, `SIP/2.0 ${code}`).replace(/^(To: [^\r]*)/m, '$1;tag=callee').replace(/^(Max-Forwards|Contact)[^\r]*\r\n/gm, '');
      p.send(resp('180 Ringing'), d.sipPort);
      const ring = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('SIP/2.0 180'));
      expect(ring.tokens[8]).to.equal(r.tokens[10]);
      const copiesBeforeRinging = p.count((m) => m.startsWith('INVITE'));
      p.send(resp('486 Busy Here'), d.sipPort);
      const ack = await p.waitFor((m) => m.startsWith('ACK'));
      expect(/branch=(\w+)/.exec(ack)![1]).to.equal(/branch=(\w+)/.exec(inv)![1]);
      expect(ack).to.match(/^To: [^\r]*;tag=callee\r$/m).and.to.match(/^CSeq: \d+ ACK\r$/m);
      p.send(resp('486 Busy Here'), d.sipPort); // retransmitted final: re-ACKed, not passed up
      await p.waitFor(() => p.count((m) => m.startsWith('ACK')) === 2);
      const busy = a.inbox.items.filter((m) => m.type === 'sip' && m.sip!.startsWith('SIP/2.0 486'));
      expect(busy).to.have.length(1);
      // at most one copy can still have been in flight when the 180 was processed
      expect(p.count((m) => m.startsWith('INVITE'))).to.be.at.most(copiesBeforeRinging + 1);
      const appAck = await a.request(['sip', '', ''], `ACK sip:x@127.0.0.1:${p.port} SIP/2.0\r\nContent-Length: 0\r\n\r\n`);
      expect(appAck.tokens.slice(3)).to.deep.equal(['NOK', 'Server error: ACK for non-success final response is automatically generated by server']);
    });

    it('CANCEL of an app INVITE reuses its branch; 200 (CANCEL) is not passed up, the 487 is, and is ACKed', async () => {
      const a = await app([]);
      const p = await peer();
      const r = await a.request(['sip', '', ''], `INVITE sip:x@127.0.0.1:${p.port} SIP/2.0\r\nContent-Length: 0\r\n\r\n`);
      const inv = await p.waitFor((m) => m.startsWith('INVITE'));
      const resp = (req: string, code: string): string => req.replace(/^[A-Z]+ [^\r]*/, `SIP/2.0 ${code}`).replace(/^(To: [^\r]*)/m, '$1;tag=callee').replace(/^(Max-Forwards|Contact)[^\r]*\r\n/gm, '');
      p.send(resp(inv, '180 Ringing'), d.sipPort);
      await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('SIP/2.0 180'));
      const c = await a.request(['sip', r.tokens[10]!, ''], `CANCEL sip:x@127.0.0.1:${p.port} SIP/2.0\r\nContent-Length: 0\r\n\r\n`);
      expect(c.tokens[3]).to.equal('OK');
      const cancel = await p.waitFor((m) => m.startsWith('CANCEL'));
      const branch = (m: string): string => /branch=(\w+)/.exec(m)![1]!;
      expect(branch(cancel)).to.equal(branch(inv));
      expect(cancel).to.match(/^CSeq: (\d+) CANCEL\r$/m);
      expect(/^CSeq: (\d+)/m.exec(cancel)![1]).to.equal(/^CSeq: (\d+)/m.exec(inv)![1]);
      p.send(resp(cancel, '200 OK'), d.sipPort);
      p.send(resp(inv, '487 Request Terminated'), d.sipPort);
      const t487 = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('SIP/2.0 487'));
      expect(t487.tokens[8]).to.equal(r.tokens[10]);
      await p.waitFor((m) => m.startsWith('ACK'));
      expect(a.inbox.items.filter((m) => m.type === 'sip' && /CSeq: \d+ CANCEL/.test(m.sip!))).to.have.length(0);
    });

    it('in-dialog request with sip:placeholder goes to the remote target with the dialog tags and next CSeq', async () => {
      const a = await app();
      const p = await peer();
      const inv = request('INVITE', p.port, d.sipPort, { callId: 'dlg-1', fromTag: 'caller9' });
      p.send(inv, d.sipPort);
      const f = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('INVITE'));
      const r200 = await a.request(['sip', f.tokens[8]!, ''], appResponse(200, 'OK', f.sip!));
      const ourTag = /^To:.*;tag=(\w+)/m.exec(r200.sip!)![1]!;
      p.send(request('ACK', p.port, d.sipPort, { callId: 'dlg-1', fromTag: 'caller9', toTag: ourTag }), d.sipPort);
      const ackFrame = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('ACK'));
      expect(ackFrame.tokens[8]).to.equal(f.tokens[8]); // first ACK on the INVITE's transaction id
      expect(ackFrame.tokens[4]).to.equal('');
      const dialogId = 'dlg-1;from-tag=caller9';
      const bye = await a.request(['sip', '', dialogId], 'BYE sip:placeholder SIP/2.0\r\nContent-Length: 0\r\n\r\n');
      expect(bye.tokens[3]).to.equal('OK');
      const got = await p.waitFor((m) => m.startsWith('BYE'));
      expect(got).to.match(new RegExp(`^BYE sip:sipp@127\\.0\\.0\\.1:${p.port} SIP/2\\.0\\r`));
      expect(got).to.match(new RegExp(`^From: <sip:service@127\\.0\\.0\\.1:${d.sipPort}>;tag=${ourTag}\\r$`, 'm'));
      expect(got).to.match(/^To: sipp <sip:sipp@127\.0\.0\.1:\d+>;tag=caller9\r$/m).and.to.match(/^Call-ID: dlg-1\r$/m);
      const resp = got.replace(/^BYE [^\r]*/, 'SIP/2.0 200 OK').replace(/^Max-Forwards[^\r]*\r\n/m, '');
      p.send(resp, d.sipPort);
      const okFrame = await a.inbox.waitFor((m) => m.type === 'sip' && m.sip!.startsWith('SIP/2.0 200'));
      expect(okFrame.tokens[8]).to.equal(bye.tokens[10]);
      expect(okFrame.tokens[9]).to.equal(dialogId);
      const again = await a.request(['sip', '', dialogId], 'INFO sip:placeholder SIP/2.0\r\nContent-Length: 0\r\n\r\n');
      expect(again.tokens[3]).to.equal('NO');
      expect(again.tokens[4]).to.match(/unable to find dialog/);
    });
  });
});
