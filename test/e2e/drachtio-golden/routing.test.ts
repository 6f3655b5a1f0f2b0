/**
 * Routing and response details of drachtio-server v0.9.10 that apps rely on (lib/ha/route-weight.ts),
 * checked on the wire against the drachtio target (the double, or a real server via DRACHTIO_*):
 *
 * - `route|<verb>` sent again adds another entry (ClientController::wants_requests inserts into a
 *   multimap without deduplicating): the app gets proportionally more of the round robin.
 * - `remove_route|<verb>` (no_longer_wants_requests) drops all of the app's entries, for every
 *   verb; the verb in the message is never compared.
 * - A To tag the app puts on its response (SipDialogController::doRespondToSipRequest, "we allow
 *   the app to set the local tag") is the tag on the wire, and for an INVITE the dialog's.
 *
 * Raw control-protocol apps (no srf: srf refuses a repeated route) and a UDP caller. A real server
 * may be shared with other suites, so each routing test uses a verb only it routes, warms up with
 * one live app (the server erases its dead apps' entries only when a selection walks over them),
 * and judges counts over whole round-robin cycles, not the order (which depends on the size of
 * the server's whole table; see test/lab/drachtio-double/routes.ts).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { RawApp, UdpPeer, appResponse, request } from '../../unit/drachtio-double/helpers.js';

describe('drachtio golden: routes and app-chosen To tags', function () {
  this.timeout(30_000);
  let target: DrachtioTarget;
  let caller: UdpPeer;
  const apps: RawApp[] = [];
  const run = randomBytes(4).toString('hex');
  let n = 0;

  beforeEach(async () => {
    target = await startDrachtioTarget();
    caller = await UdpPeer.open();
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) a.close();
    await caller.close();
    await target.stop();
  });

  const app = async (verbs: string[]): Promise<RawApp> => {
    const a = await RawApp.ready(target.port, target.secret, verbs);
    apps.push(a);
    return a;
  };
  const ok = async (a: RawApp, tokens: string[]): Promise<void> => {
    const r = await a.request(tokens);
    expect(r.tokens[3], `${tokens.join('|')} answered ${r.tokens.slice(3).join('|')}`).to.equal('OK');
  };
  const header = (msg: string, name: string): string => new RegExp(`^${name}:[ \\t]*(.*?)\\r?$`, 'mi').exec(msg)?.[1] ?? '';
  const toTag = (msg: string): string | undefined => /;tag=([^\s]+)/.exec(header(msg, 'To'))?.[1];

  /**
   * Sends `count` out-of-dialog requests one after the other; each is answered 200 by the app it
   * reached. Returns the names of those apps in order.
   */
  async function send(method: string, count: number, named: Record<string, RawApp>): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const callId = `${method.toLowerCase()}-${run}-${++n}`;
      caller.send(request(method, caller.port, target.sipPort, { callId }), target.sipPort);
      const got = await Promise.any(Object.entries(named).map(async ([name, a]) => {
        const f = await a.inbox.waitFor((m) => m.type === 'sip' && !!m.sip?.includes(`Call-ID: ${callId}\r\n`), 5000, `${method} ${callId}`);
        return { name, a, f };
      })).catch(() => { throw new Error(`${method} ${callId} reached no app`); });
      const r = await got.a.request(['sip', got.f.tokens[8]!, ''], appResponse(200, 'OK', got.f.sip!));
      expect(r.tokens[3]).to.equal('OK');
      await caller.waitFor((m) => m.startsWith('SIP/2.0 200') && m.includes(`Call-ID: ${callId}\r\n`), 5000, `200 to ${callId}`);
      out.push(got.name);
    }
    return out;
  }
  const counts = (names: string[]): Record<string, number> => names.reduce<Record<string, number>>((c, x) => ({ ...c, [x]: (c[x] ?? 0) + 1 }), {});

  it('a repeated route|<verb> adds an entry: an app that routed it 3 times gets 3 of every 4 requests', async () => {
    const A = await app(['publish']);
    // warm-up with A alone: every request is A's (and a shared real server drops stale entries)
    expect(await send('PUBLISH', 6, { A })).to.deep.equal(['A', 'A', 'A', 'A', 'A', 'A']);
    const B = await app(['publish']);
    await ok(A, ['route', 'publish']);
    await ok(A, ['route', 'publish']);
    // 4 entries (A x3, B x1): two whole round-robin cycles
    expect(counts(await send('PUBLISH', 8, { A, B }))).to.deep.equal({ A: 6, B: 2 });
    if (target.double) expect(target.double.routes.list('publish')).to.have.length(4);
  });

  it('remove_route|<verb> drops all of the app\'s routes, whatever the verb (even one it never routed)', async () => {
    const A = await app(['notify', 'info']);
    expect(await send('NOTIFY', 4, { A })).to.deep.equal(['A', 'A', 'A', 'A']);
    expect(await send('INFO', 4, { A })).to.deep.equal(['A', 'A', 'A', 'A']);
    const B = await app(['notify', 'info']);
    expect(counts(await send('INFO', 4, { A, B }))).to.deep.equal({ A: 2, B: 2 });
    // naming one verb: the other goes too
    await ok(A, ['remove_route', 'notify']);
    expect(await send('INFO', 4, { A, B })).to.deep.equal(['B', 'B', 'B', 'B']);
    expect(await send('NOTIFY', 4, { A, B })).to.deep.equal(['B', 'B', 'B', 'B']);
    // routed again, then removed naming a verb A never routed: both go
    await ok(A, ['route', 'notify']);
    await ok(A, ['route', 'info']);
    expect(counts(await send('INFO', 4, { A, B }))).to.deep.equal({ A: 2, B: 2 });
    await ok(A, ['remove_route', 'subscribe']);
    expect(await send('INFO', 4, { A, B })).to.deep.equal(['B', 'B', 'B', 'B']);
    expect(await send('NOTIFY', 4, { A, B })).to.deep.equal(['B', 'B', 'B', 'B']);
  });

  it('an INVITE answered with an app-chosen To tag: 180 and 200 carry it, ACK and BYE with it reach the app', async () => {
    const A = await app(['invite']);
    const tag = `app${run}`;
    const callId = `inv-${run}-${++n}`;
    const inv = request('INVITE', caller.port, target.sipPort, { callId, fromTag: `c${run}` });
    caller.send(inv, target.sipPort);
    const f = await A.inbox.waitFor((m) => m.type === 'sip' && !!m.sip?.includes(`Call-ID: ${callId}\r\n`), 5000, 'INVITE at the app');
    const reply = (status: number, reason: string): string =>
      appResponse(status, reason, f.sip!).replace(/^to: .*$/m, `to: ${header(f.sip!, 'To')};tag=${tag}`);
    const r180 = await A.request(['sip', f.tokens[8]!, ''], reply(180, 'Ringing'));
    expect(r180.tokens[3]).to.equal('OK');
    const ringing = await caller.waitFor((m) => m.startsWith('SIP/2.0 180') && m.includes(callId), 5000, '180');
    expect(toTag(ringing)).to.equal(tag);
    const r200 = await A.request(['sip', f.tokens[8]!, ''], reply(200, 'OK'));
    expect(r200.tokens[3]).to.equal('OK');
    const answer = await caller.waitFor((m) => m.startsWith('SIP/2.0 200') && m.includes(callId), 5000, '200');
    expect(toTag(answer)).to.equal(tag);
    // the dialog's local tag is the app's: in-dialog requests with it find the dialog
    caller.send(request('ACK', caller.port, target.sipPort, { callId, fromTag: `c${run}`, toTag: tag, cseq: 1 }), target.sipPort);
    await A.inbox.waitFor((m) => m.type === 'sip' && !!m.sip?.startsWith('ACK ') && m.sip.includes(callId), 5000, 'ACK at the app');
    caller.send(request('BYE', caller.port, target.sipPort, { callId, fromTag: `c${run}`, toTag: tag, cseq: 2 }), target.sipPort);
    const bye = await A.inbox.waitFor((m) => m.type === 'sip' && !!m.sip?.startsWith('BYE ') && m.sip.includes(callId), 5000, 'BYE at the app');
    await A.request(['sip', bye.tokens[8]!, ''], appResponse(200, 'OK', bye.sip!));
    const byeOk = await caller.waitFor((m) => m.startsWith('SIP/2.0 200') && m.includes(callId) && /^CSeq: 2 BYE/m.test(m), 5000, '200 to BYE');
    expect(toTag(byeOk)).to.equal(tag);
  });

  it('a 486 and a 200 to OPTIONS with an app-chosen To tag carry it; without one the server picks a tag', async () => {
    const A = await app(['invite', 'options']);
    const cases: { method: string; status: number; reason: string; tag?: string }[] = [
      { method: 'INVITE', status: 486, reason: 'Busy Here', tag: `busy${run}` },
      { method: 'OPTIONS', status: 200, reason: 'OK', tag: `opt${run}` },
      { method: 'INVITE', status: 486, reason: 'Busy Here' },
    ];
    for (const c of cases) {
      const callId = `${c.method.toLowerCase()}-${run}-${++n}`;
      const ids = { callId, branch: `z9hG4bK-${run}-${n}`, fromTag: `f${run}${n}` };
      caller.send(request(c.method, caller.port, target.sipPort, ids), target.sipPort);
      const f = await A.inbox.waitFor((m) => m.type === 'sip' && !!m.sip?.includes(`Call-ID: ${callId}\r\n`), 5000, `${c.method} at the app`);
      const body = appResponse(c.status, c.reason, f.sip!).replace(/^to: .*$/m, `to: ${header(f.sip!, 'To')}${c.tag ? `;tag=${c.tag}` : ''}`);
      const r = await A.request(['sip', f.tokens[8]!, ''], body);
      expect(r.tokens[3]).to.equal('OK');
      const res = await caller.waitFor((m) => m.startsWith(`SIP/2.0 ${c.status}`) && m.includes(callId), 5000, `${c.status} to ${c.method}`);
      if (c.tag) expect(toTag(res), `${c.status} to ${c.method}`).to.equal(c.tag);
      else expect(toTag(res), 'a tag of the server\'s own').to.match(/^\w+$/);
      // ACK to the non-2xx: the INVITE's branch (hop-by-hop, stops the server's retransmissions)
      if (c.method === 'INVITE') caller.send(request('ACK', caller.port, target.sipPort, { ...ids, toTag: toTag(res)!, cseq: 1 }), target.sipPort);
    }
  });
});
