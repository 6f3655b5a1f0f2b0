import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { makeHarness, request, authedCall, GW_URI } from '../harness.js';
import { signIdentity } from '../../../../lib/policy/passport.js';
import { REALM, makeIdentity } from '../fixtures.js';
import { verifyAuditTexts } from '../../../../lib/audit/verify.js';
import { canonicalJson } from '../../../../lib/audit/record.js';
import { audioOffer, videoOffer } from '../sdp/sdp-samples.js';

describe('policy/chain: good case and every attack in the issue', () => {
  it('admits a correctly authenticated and signed INVITE, with exactly one audit record per decision', async () => {
    const h = makeHarness();
    const { first, result } = await authedCall(h, h.alice);
    expect(first.decision).to.include({ outcome: 'challenge', status: 407 });
    const ch = first.decision.headers['Proxy-Authenticate'] as string[];
    expect(ch[0]).to.match(/algorithm=SHA-256, qop="auth"/);
    expect(ch[1]).to.match(/algorithm=MD5/);
    expect(result.decision.outcome).to.equal('admit');
    expect(result.gate).to.equal('chain');
    expect(result.state.entry!.id).to.equal('T-01');
    expect(h.audit.records.map((r) => [r.gate, r.decision, r.reason])).to.deep.equal([
      ['digest', 'challenge', 'no-credentials'],
      ['chain', 'admit', 'admitted'],
    ]);
    expect(h.audit.records[1]!.passed).to.deep.equal(['size', 'rate-source', 'digest', 'identity', 'anti-sybil', 'rate-identity', 'pii', 'codec', 'fairness']);
    const text = h.audit.records.map((r) => canonicalJson(r) + '\n').join('');
    expect(verifyAuditTexts([{ name: 'mem', text }]).ok).to.equal(true);
    const m = await h.promRegistry.getSingleMetricAsString('gw_policy_decisions_total');
    expect(m).to.include('gw_policy_decisions_total{gate="chain",outcome="admit"} 1');
    expect(m).to.include('gw_policy_decisions_total{gate="digest",outcome="challenge"} 1');
    const hist = await h.promRegistry.getSingleMetricAsString('gw_policy_decision_seconds');
    expect(hist).to.include('gw_policy_decision_seconds_count{outcome="admit"} 1');
    expect(hist).to.include('gw_policy_decision_seconds_count{outcome="challenge"} 1');
  });

  it('accepts MD5 digest too (RFC 8760 both algorithms)', async () => {
    const h = makeHarness();
    const { result } = await authedCall(h, h.alice, {}, { alg: 'MD5' });
    expect(result.decision.outcome).to.equal('admit');
  });

  describe('digest', () => {
    it('wrong password -> 403', async () => {
      const h = makeHarness();
      const { result } = await authedCall(h, h.alice, {}, { password: 'guess' });
      expect(result.decision).to.include({ status: 403, reason: 'bad-credentials' });
      expect(h.audit.records.at(-1)).to.include({ gate: 'digest', status: 403, reason: 'bad-credentials' });
    });

    it('unknown user -> 403, and the audit holds no raw username', async () => {
      const h = makeHarness();
      const stranger = makeIdentity('X-99');
      const { result } = await authedCall(h, stranger);
      expect(result.decision).to.include({ status: 403, reason: 'unknown-user' });
      expect(JSON.stringify(h.audit.records)).not.to.include('x-99');
    });

    it('suspended user -> 403', async () => {
      const h = makeHarness();
      const { result } = await authedCall(h, h.carol);
      expect(result.decision).to.include({ status: 403, reason: 'suspended' });
    });

    it('replayed nonce (same nc) -> challenged again, not admitted', async () => {
      const h = makeHarness();
      const { req, result } = await authedCall(h, h.alice);
      expect(result.decision.outcome).to.equal('admit');
      await h.chain.release(req.callId);
      const again = await h.chain.decide(req);
      expect(again.decision).to.include({ outcome: 'challenge', status: 407, reason: 'nonce-replayed' });
    });

    it('stale nonce with a correct answer -> 407 stale=true', async () => {
      const h = makeHarness();
      const first = await h.chain.decide(request(h.alice, { identity: null }));
      h.clock.advance(301_000);
      const res = await h.chain.decide(request(h.alice, {}, { challenge: first.decision }, h.clock.now()));
      expect(res.decision).to.include({ status: 407, reason: 'stale-nonce' });
      expect((res.decision.headers['Proxy-Authenticate'] as string[])[0]).to.match(/stale=true/);
    });

    it('a nonce not issued by us -> fresh challenge', async () => {
      const h = makeHarness();
      const forged = { ...(await h.chain.decide(request(h.alice, { identity: null }))).decision };
      forged.headers = { 'Proxy-Authenticate': ['Digest realm="x", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", algorithm=SHA-256'] };
      const res = await h.chain.decide(request(h.alice, {}, { challenge: forged }, h.clock.now()));
      expect(res.decision).to.include({ outcome: 'challenge', reason: 'invalid-nonce-bad-mac' });
    });

    it('malformed Authorization -> 400, never a throw', async () => {
      const h = makeHarness();
      for (const bad of ['Digest', 'Digest username="a', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l', 'Digest a=1 b=2', 'Digest username="a", username="b"', '\u0000\u0001', 'Digest ' + 'x=y,'.repeat(900)]) {
        const res = await h.chain.decide(request(h.alice, { headers: { 'Proxy-Authorization': bad }, identity: null }));
        expect(res.decision.status, bad.slice(0, 30)).to.equal(400);
        expect(res.decision.reason).to.equal('malformed-authorization');
      }
      // Longer than the size gate allows: refused before the parser runs.
      const huge = await h.chain.decide(request(h.alice, { headers: { 'Proxy-Authorization': 'Digest ' + 'x=y,'.repeat(5000) } }));
      expect(huge.decision.status).to.equal(513);
    });

    it('REGISTER is challenged with 401 / WWW-Authenticate and admitted with Authorization', async () => {
      const h = makeHarness();
      const first = await h.chain.decide(request(h.alice, { method: 'REGISTER', uri: `sip:${REALM}` }));
      expect(first.decision.status).to.equal(401);
      expect(first.decision.headers['WWW-Authenticate']).to.be.an('array');
      const res = await h.chain.decide(request(h.alice, { method: 'REGISTER', uri: `sip:${REALM}` }, { challenge: first.decision }));
      expect(res.decision.outcome).to.equal('admit');
      expect(res.state.entry!.id).to.equal('T-01');
    });
  });

  describe('identity (PASSporT / EdDSA)', () => {
    it('unsigned -> 428 Use Identity Header', async () => {
      const h = makeHarness();
      const { result } = await authedCall(h, h.alice, { identity: null });
      expect(result.decision).to.include({ status: 428, reason: 'identity-missing' });
    });

    it('unsigned is fine for a role that does not need it', async () => {
      const h = makeHarness({ identity: { requiredFor: ['expert'] } });
      const { result } = await authedCall(h, h.alice, { identity: null });
      expect(result.decision.outcome).to.equal('admit');
    });

    it('badly signed (tampered claims) -> 438', async () => {
      const h = makeHarness();
      const good = signIdentity({ kid: h.alice.kid, privateKey: h.alice.privateKey, orig: { uri: `sip:t-01@${REALM}` }, dest: { uri: [GW_URI] }, iat: h.clock.now() / 1000 });
      const [hdr, , sig] = good.split(';')[0]!.split('.');
      const claims = Buffer.from(JSON.stringify({ dest: { uri: ['sip:other@x'] }, iat: h.clock.now() / 1000, orig: { uri: `sip:t-01@${REALM}` } })).toString('base64url');
      const { result } = await authedCall(h, h.alice, { identity: `${hdr}.${claims}.${sig};info=<urn:x-council-gw:kid:${h.alice.kid}>;alg=EdDSA` });
      expect(result.decision).to.include({ status: 438, reason: 'identity-bad-signature' });
    });

    it('wrong key (signed by someone else under alice kid) -> 438', async () => {
      const h = makeHarness();
      const { privateKey } = generateKeyPairSync('ed25519');
      const id = signIdentity({ kid: h.alice.kid, privateKey, orig: { uri: `sip:t-01@${REALM}` }, dest: { uri: [GW_URI] }, iat: h.clock.now() / 1000 });
      const { result } = await authedCall(h, h.alice, { identity: id });
      expect(result.decision).to.include({ status: 438, reason: 'identity-bad-signature' });
    });

    it('unknown key id -> 436', async () => {
      const h = makeHarness();
      const id = signIdentity({ kid: 'nope', privateKey: h.alice.privateKey, orig: { uri: `sip:t-01@${REALM}` }, dest: { uri: [GW_URI] }, iat: h.clock.now() / 1000 });
      const { result } = await authedCall(h, h.alice, { identity: id });
      expect(result.decision).to.include({ status: 436, reason: 'identity-unknown-key' });
    });

    it('expired (iat older than 60 s) -> 403 Stale Date', async () => {
      const h = makeHarness();
      const id = signIdentity({ kid: h.alice.kid, privateKey: h.alice.privateKey, orig: { uri: `sip:t-01@${REALM}` }, dest: { uri: [GW_URI] }, iat: h.clock.now() / 1000 - 61 });
      const { result } = await authedCall(h, h.alice, { identity: id });
      expect(result.decision).to.include({ status: 403, reasonPhrase: 'Stale Date', reason: 'identity-expired' });
    });

    it('future-dated -> 403 Stale Date', async () => {
      const h = makeHarness();
      const id = signIdentity({ kid: h.alice.kid, privateKey: h.alice.privateKey, orig: { uri: `sip:t-01@${REALM}` }, dest: { uri: [GW_URI] }, iat: h.clock.now() / 1000 + 30 });
      const { result } = await authedCall(h, h.alice, { identity: id });
      expect(result.decision).to.include({ status: 403, reason: 'identity-future-dated' });
    });

    it('replayed signature (second call, fresh digest) -> 438', async () => {
      const h = makeHarness();
      const id = signIdentity({ kid: h.alice.kid, privateKey: h.alice.privateKey, orig: { uri: `sip:t-01@${REALM}` }, dest: { uri: [GW_URI] }, iat: h.clock.now() / 1000 });
      const one = await authedCall(h, h.alice, { identity: id });
      expect(one.result.decision.outcome).to.equal('admit');
      const two = await authedCall(h, h.alice, { identity: id });
      expect(two.result.decision).to.include({ status: 438, reason: 'identity-replayed' });
    });

    it('claims that do not match From/To -> 438', async () => {
      const h = makeHarness();
      const id = signIdentity({ kid: h.alice.kid, privateKey: h.alice.privateKey, orig: { uri: `sip:c-01@${REALM}` }, dest: { uri: [GW_URI] }, iat: h.clock.now() / 1000 });
      const { result } = await authedCall(h, h.alice, { identity: id });
      expect(result.decision).to.include({ status: 438, reason: 'identity-claims-mismatch' });
    });

    it('malformed Identity headers -> 436/437/438, never a throw', async () => {
      const h = makeHarness();
      const hdr = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const cases: Array<[string, number]> = [
        ['garbage', 438],
        ['a.b', 438],
        ['!!.??.**', 438],
        [`${hdr({ alg: 'ES256', typ: 'passport', kid: 'x' })}.e30.AAAA;info=<urn:x-council-gw:kid:x>`, 437],
        [`${hdr({ alg: 'EdDSA', typ: 'passport', kid: h.alice.kid })}.e30.AAAA;info=<https://evil/cert>`, 436],
        [`${hdr({ alg: 'EdDSA', typ: 'passport', kid: h.alice.kid })}.e30.${Buffer.alloc(64).toString('base64url')};info=<urn:x-council-gw:kid:${h.alice.kid}>`, 438],
        ['x'.repeat(4000), 438],
        ['x'.repeat(10_000), 513],
      ];
      for (const [value, status] of cases) {
        const { result } = await authedCall(h, h.alice, { identity: value });
        expect(result.decision.status, value.slice(0, 40)).to.equal(status);
      }
    });
  });

  describe('anti-Sybil', () => {
    it("digest user with someone else's key -> 403 key-identity-mismatch", async () => {
      const h = makeHarness();
      const id = signIdentity({ kid: h.bob.kid, privateKey: h.bob.privateKey, orig: { uri: `sip:t-01@${REALM}` }, dest: { uri: [GW_URI] }, iat: h.clock.now() / 1000 });
      const { result } = await authedCall(h, h.alice, { identity: id });
      expect(result.decision).to.include({ status: 403, reason: 'key-identity-mismatch' });
    });

    it('per-identity concurrent cap; a released call frees its slot', async () => {
      const h = makeHarness();
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await authedCall(h, h.alice);
        expect(r.result.decision.outcome).to.equal('admit');
        ids.push(r.req.callId);
      }
      h.clock.advance(1000);
      const third = await authedCall(h, h.alice);
      expect(third.result.decision).to.include({ status: 403, reason: 'concurrent-call-cap' });
      await h.chain.release(ids[0]!);
      h.clock.advance(1000);
      expect((await authedCall(h, h.alice)).result.decision.outcome).to.equal('admit');
    });

    it('a second INVITE re-using an active Call-ID -> 482, and cannot free the original slot', async () => {
      const h = makeHarness();
      const one = await authedCall(h, h.alice, { callId: 'dup@x' });
      expect(one.result.decision.outcome).to.equal('admit');
      h.clock.advance(1000);
      const two = await authedCall(h, h.alice, { callId: 'dup@x', body: audioOffer(['G722/8000']) });
      expect(two.result.decision).to.include({ status: 482, reason: 'duplicate-call-id' });
      expect(await h.stores.ledger.usage('T-01')).to.deep.equal({ calls: 1, bps: 80_000 });
      const bobTakeover = await authedCall(h, h.bob, { callId: 'dup@x' });
      expect(bobTakeover.result.decision.status).to.equal(482);
    });

    it('a refusal by a later gate releases the call slot', async () => {
      const h = makeHarness();
      for (let i = 0; i < 3; i++) {
        h.clock.advance(1000);
        const r = await authedCall(h, h.alice, { body: audioOffer(['G722/8000']) });
        expect(r.result.decision.status).to.equal(488);
      }
      expect((await h.stores.ledger.usage('T-01')).calls).to.equal(0);
    });
  });

  describe('SDP, size and floods', () => {
    it('malformed SDP -> 400 with Warning; no allowed codec -> 488 with Warning 305', async () => {
      const h = makeHarness();
      const bad = await authedCall(h, h.alice, { body: 'v=0\r\nm=audio abc RTP/AVP 0\r\n' });
      expect(bad.result.decision).to.include({ status: 400, reason: 'malformed-sdp' });
      expect(bad.result.decision.headers.Warning).to.match(/^399 /);
      h.clock.advance(1000);
      const none = await authedCall(h, h.alice, { body: audioOffer(['G722/8000', 'telephone-event/8000']) });
      expect(none.result.decision).to.include({ status: 488, reason: 'no-allowed-codec' });
      expect(none.result.decision.headers.Warning).to.match(/^305 council-gw "Incompatible media format: none of G722 telephone-event is allowed"$/);
    });

    it('huge headers -> 513, huge body -> 413, before any parsing', async () => {
      const h = makeHarness();
      const r1 = await h.chain.decide(request(h.alice, { headers: { Subject: 'x'.repeat(100_000) } }));
      expect(r1.decision.status).to.equal(513);
      expect(r1.gate).to.equal('size');
      const many: Record<string, string> = {};
      for (let i = 0; i < 200; i++) many[`X-H${i}`] = 'v';
      expect((await h.chain.decide(request(h.alice, { headers: many }))).decision.status).to.equal(513);
      const r2 = await h.chain.decide(request(h.alice, { body: 'v=0\r\n' + 'a=x\r\n'.repeat(50_000) }));
      expect(r2.decision.status).to.equal(413);
    });

    it('a flood from one source -> 503 with Retry-After; another source is unaffected', async () => {
      const h = makeHarness();
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) statuses.push((await h.chain.decide(request(undefined, { identity: null }))).decision.status);
      expect(statuses.slice(0, 20).every((s) => s === 407)).to.equal(true);
      expect(statuses.slice(20).every((s) => s === 503)).to.equal(true);
      const last = await h.chain.decide(request(undefined));
      expect(last.decision.headers['Retry-After']).to.equal('1');
      expect((await h.chain.decide(request(undefined, { source: '203.0.113.9' }))).decision.status).to.equal(407);
      h.clock.advance(1000);
      expect((await h.chain.decide(request(undefined))).decision.status).to.equal(407); // refilled 2 tokens
      // REGISTER has its own bucket per source: the INVITE flood did not use it up.
      const reg: number[] = [];
      for (let i = 0; i < 21; i++) reg.push((await h.chain.decide(request(undefined, { method: 'REGISTER', uri: `sip:${REALM}` }))).decision.status);
      expect(reg.slice(0, 20).every((s) => s === 401)).to.equal(true);
      expect(reg[20]).to.equal(503);
    });

    it('repeated auth failures lock the source out (403 + Retry-After), which expires', async () => {
      const h = makeHarness();
      for (let i = 0; i < 10; i++) {
        h.clock.advance(600); // stay under the INVITE rate limit
        await authedCall(h, h.alice, {}, { password: 'wrong' });
      }
      const locked = await h.chain.decide(request(h.alice));
      expect(locked.decision).to.include({ status: 403, reason: 'auth-lockout' });
      expect(Number(locked.decision.headers['Retry-After'])).to.be.within(290, 300);
      expect((await h.chain.decide(request(h.alice, { source: '203.0.113.50', identity: null }))).decision.status).to.equal(407);
      h.clock.advance(301_000);
      expect((await authedCall(h, h.alice)).result.decision.outcome).to.equal('admit');
    });

    it('identity rate limit per entry across sources', async () => {
      const h = makeHarness({ identityRates: { INVITE: { capacity: 2, refillPerSec: 0.01 } } });
      const out: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await authedCall(h, h.alice, { source: `203.0.113.${i + 1}` });
        out.push(r.result.decision.reason);
        await h.chain.release(r.req.callId);
        h.clock.advance(1000);
      }
      expect(out).to.deep.equal(['admitted', 'admitted', 'rate-limit-identity']);
    });
  });

  describe('fairness', () => {
    it('two concurrent video calls from one caller: the second is trimmed (video capped)', async () => {
      const h = makeHarness();
      const one = await authedCall(h, h.alice, { body: videoOffer(2000) });
      expect(one.result.decision.outcome).to.equal('admit');
      h.clock.advance(1000);
      const two = await authedCall(h, h.alice, { body: videoOffer(2000) });
      expect(two.result.decision.outcome).to.equal('admit');
      expect(two.result.decision.reason).to.equal('admitted;video-capped');
      expect(two.result.mutations.sdp).to.match(/b=AS:(\d+)/);
      const cap = Number(/b=AS:(\d+)/.exec(two.result.mutations.sdp!)![1]);
      expect(cap * 1000 + 80_000).to.be.at.most(3_000_000 - 2_080_000);
      expect((await h.stores.ledger.usage('T-01')).bps).to.be.at.most(3_000_000);
    });

    it('drops video when too little is left for a useful video rate', async () => {
      const h = makeHarness();
      const a = await authedCall(h, h.alice, { body: videoOffer(2700) });
      expect(a.result.decision.outcome).to.equal('admit');
      h.clock.advance(1000);
      // 3 Mbps - 2.78 Mbps leaves 220 kbps: audio (80 kbps) fits, 140 kbps of video is not worth keeping.
      const b = await authedCall(h, h.alice, { body: videoOffer(2000) });
      expect(b.result.decision.reason).to.equal('admitted;video-dropped');
      expect(b.result.mutations.sdp).to.match(/m=audio/);
      expect(b.result.mutations.sdp).not.to.match(/m=video/);
    });

    it('audio that can never fit -> 488; audio blocked by other calls -> 503 + Retry-After', async () => {
      const h = makeHarness();
      h.alice.entry.limits.maxBandwidthBps = 100_000;
      const huge = audioOffer(['PCMU/8000'], ['b=AS:500']);
      const r = await authedCall(h, h.alice, { body: huge });
      expect(r.result.decision).to.include({ status: 488, reason: 'bandwidth-exceeds-limit' });
      h.clock.advance(1000);
      const first = await authedCall(h, h.alice);
      expect(first.result.decision.outcome).to.equal('admit');
      h.clock.advance(1000);
      const second = await authedCall(h, h.alice);
      expect(second.result.decision).to.include({ status: 503, reason: 'bandwidth-quota' });
      expect(second.result.decision.headers['Retry-After']).to.equal('60');
    });
  });

  describe('PII on escalated calls', () => {
    it('redacts display names, Subject, X- headers and text bodies; audit holds counts only', async () => {
      const h = makeHarness();
      const req = {
        method: 'MESSAGE',
        from: `"Jane 555-867-5309" <sip:t-01@${REALM}>;tag=1`,
        body: 'card 4111 1111 1111 1111, mail jane@example.org, ssn 123-45-6789, from 10.1.2.3',
        contentType: 'text/plain',
        headers: { 'X-Council-Escalation': 'ESCALATE', Subject: 'call me at +44 20 7946 0958', 'X-Case-Ref': 'fe80::1' },
      };
      const first = await h.chain.decide(request(h.alice, req));
      const r = await h.chain.decide(request(h.alice, req, { challenge: first.decision }));
      expect(r.decision.outcome).to.equal('admit');
      expect(r.mutations.headers.From).to.equal(`"Jane [REDACTED:phone]" <sip:t-01@${REALM}>;tag=1`);
      expect(r.mutations.headers.Subject).to.equal('call me at [REDACTED:phone]');
      expect(r.mutations.headers['X-Case-Ref']).to.equal('[REDACTED:ipv6]');
      expect(r.mutations.body).to.equal('card [REDACTED:card], mail [REDACTED:email], ssn [REDACTED:ssn], from [REDACTED:ipv4]');
      const rec = h.audit.records.at(-1)!;
      expect(rec.pii).to.deep.equal({ phone: 2, ipv6: 1, card: 1, email: 1, ssn: 1, ipv4: 1 });
      const all = JSON.stringify(h.audit.records);
      for (const raw of ['4111', 'jane@', '123-45', '10.1.2.3', '7946']) expect(all).not.to.include(raw);
    });

    it('INFO (in-dialog) bodies are redacted too; INFO needs no digest', async () => {
      const h = makeHarness();
      const r = await h.chain.decide(request(undefined, { method: 'INFO', body: 'my card is 5500 0000 0000 0004', contentType: 'text/plain', headers: { 'X-Council-Escalation': 'escalate' } }));
      expect(r.decision.outcome).to.equal('admit');
      expect(r.mutations.body).to.equal('my card is [REDACTED:card]');
      expect(r.state.pii).to.deep.equal({ card: 1 });
    });

    it('Priority: emergency also marks the call; unmarked calls are not touched', async () => {
      const h = makeHarness();
      const esc = await authedCall(h, h.alice, { headers: { Priority: 'emergency', Subject: 'bob@example.org' } });
      expect(esc.result.mutations.headers.Subject).to.equal('[REDACTED:email]');
      h.clock.advance(1000);
      const plain = await authedCall(h, h.bob, { headers: { Subject: 'bob@example.org' } });
      expect(plain.result.mutations.headers).to.deep.equal({});
    });
  });

  it('a failing state store yields 503, never a throw or a 500', async () => {
    const h = makeHarness();
    h.stores.buckets.take = async () => {
      throw new Error('redis down');
    };
    const r = await h.chain.decide(request(h.alice));
    expect(r.decision).to.include({ status: 503, reason: 'gate-error' });
    expect(h.audit.records.at(-1)).to.include({ gate: 'rate-source', reason: 'gate-error' });
  });

  it('an audit sink that fails refuses the call with 503 (fail closed) and frees resources', async () => {
    const h = makeHarness();
    const first = await h.chain.decide(request(h.alice, { identity: null }));
    h.audit.append = async () => {
      throw new Error('disk full');
    };
    const req = request(h.alice, {}, { challenge: first.decision }, h.clock.now());
    const r = await h.chain.decide(req);
    expect(r.decision).to.include({ status: 503, reason: 'audit-unavailable' });
    expect((await h.stores.ledger.usage('T-01')).calls).to.equal(0);
  });
});
