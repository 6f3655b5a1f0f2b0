import { expect } from 'chai';
import { contextFromSrf, forwardingFor, headersForSrf, policyMiddleware, policyOf, type SrfLikeRequest } from '../../../../lib/policy/srf-adapter.js';
import { makeHarness, request } from '../harness.js';
import type { PolicyChain } from '../../../../lib/policy/chain.js';
import type Srf from 'drachtio-srf';

/** A stand-in with the srf request surface the adapter uses (get/has/headers/source_*). */
function srfReq(headers: Record<string, string>, extra: Partial<SrfLikeRequest> = {}): SrfLikeRequest {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: 'INVITE',
    uri: 'sip:council@gw.example.test',
    get: (n: string) => lower.get(n.toLowerCase()) ?? '',
    has: (n: string) => lower.has(n.toLowerCase()),
    source_address: '198.51.100.7',
    source_port: '5062',
    protocol: 'TCP',
    body: '',
    headers,
    ...extra,
  } as SrfLikeRequest;
}

function run(chain: PolicyChain, req: SrfLikeRequest) {
  return new Promise<{ sent?: { status: number; reason: string; opts: { headers: Record<string, unknown> } }; next: boolean }>((resolve) => {
    const res = {
      send: (status: number, reason: string, opts: { headers: Record<string, unknown> }) => resolve({ sent: { status, reason, opts }, next: false }),
    } as unknown as Parameters<ReturnType<typeof policyMiddleware>>[1];
    policyMiddleware(chain)(req, res, () => resolve({ next: true }));
  });
}

/** Compile-time check: the middleware plugs into srf.use with drachtio-srf's own types. */
export function wire(srf: Srf, chain: PolicyChain): void {
  srf.use('invite', policyMiddleware(chain));
  srf.use('register', policyMiddleware(chain, { multiValue: 'first' }));
}

describe('policy/srf-adapter', () => {
  it('builds the context from an srf request', () => {
    const ctx = contextFromSrf(srfReq({ 'Call-ID': 'abc', Subject: 'hi' }));
    expect(ctx.method).to.equal('INVITE');
    expect(ctx.callId).to.equal('abc');
    expect(ctx.header('subject')).to.equal('hi');
    expect(ctx.header('X-None')).to.equal(undefined);
    expect(ctx.source).to.deep.equal({ address: '198.51.100.7', port: 5062, transport: 'tcp' });
    expect(ctx.headerNames()).to.deep.equal(['Call-ID', 'Subject']);
  });

  it('sends the challenge with its headers and does not call next', async () => {
    const h = makeHarness();
    const out = await run(h.chain, srfReq({ 'Call-ID': 'c1', From: '<sip:t-01@gw.example.test>;tag=1', To: '<sip:council@gw.example.test>' }));
    expect(out.next).to.equal(false);
    expect(out.sent!.status).to.equal(407);
    expect(out.sent!.reason).to.equal('Proxy Authentication Required');
    const ch = String(out.sent!.opts.headers['Proxy-Authenticate']);
    // srf writes `Name: value\r\n`; two challenges must end up on two lines, SHA-256 first.
    const lines = `Proxy-Authenticate: ${ch}`.split('\r\n');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^Proxy-Authenticate: Digest realm="gw.example.test", nonce="[A-Za-z0-9_-]{35}", algorithm=SHA-256, qop="auth"$/);
    expect(lines[1]).to.match(/^Proxy-Authenticate: Digest .*algorithm=MD5/);
  });

  it('the real srf message serialiser puts each challenge on its own header line', async () => {
    const SipMessage = (await import('drachtio-srf/lib/sip-parser/message.js' as string)).default as new () => { set(h: string, v: string): void; toString(): string; status?: number; reason?: string; version?: string; headers: Record<string, string> };
    const h = makeHarness();
    const d = (await h.chain.decide(request(h.alice, { identity: null }))).decision;
    const m = new SipMessage();
    m.status = 407;
    m.reason = 'Proxy Authentication Required';
    m.version = '2.0';
    for (const [k, v] of Object.entries(headersForSrf(d.headers))) m.set(k, v);
    const text = m.toString();
    expect(text.match(/^Proxy-Authenticate: Digest /gim)).to.have.length(2);
    const first = Object.entries(headersForSrf(d.headers, 'first'));
    expect(first[0]![1]).not.to.include('\r\n');
  });

  it('calls next with the decision in req.locals.policy when admitted', async () => {
    const h = makeHarness();
    const ch = await h.chain.decide(request(h.alice, { identity: null, callId: 'c2' }));
    const plain = request(h.alice, { callId: 'c2' }, { challenge: ch.decision }, h.clock.now());
    const headers: Record<string, string> = {};
    for (const n of plain.headerNames()) headers[n] = plain.header(n)!;
    const req = srfReq(headers, { body: plain.body });
    const out = await run(h.chain, req);
    expect(out.next).to.equal(true);
    expect(policyOf(req)!.decision.outcome).to.equal('admit');
    expect(policyOf(req)!.mutations.sdp).to.match(/^v=0/);
    const fwd = forwardingFor(policyOf(req)!);
    expect(fwd.localSdpB).to.equal(policyOf(req)!.mutations.sdp);
    expect(fwd.headers).to.deep.equal({});
    expect(fwd).not.to.have.property('body');
  });

  it('answers 503 if the chain itself throws, and never throws to drachtio', async () => {
    const broken = { decide: async () => { throw new Error('boom'); } } as unknown as PolicyChain;
    const out = await run(broken, srfReq({}));
    expect(out.sent!.status).to.equal(503);
  });
});
