import { expect } from 'chai';
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { parseAuthParams, parseNameAddr, parseSipUri, formatNameAddr } from '../../../../lib/policy/sip-parse.js';
import { parseIdentityHeader, signIdentity, Ed25519Verifier } from '../../../../lib/policy/passport.js';
import { NonceService } from '../../../../lib/policy/nonce.js';
import { findPii, luhnValid, redactPii } from '../../../../lib/policy/pii.js';
import { rawPublicKey } from '../fixtures.js';

describe('policy/parsers', () => {
  it('parses digest credentials with quoting, escapes and mixed case names', () => {
    const p = parseAuthParams('Digest Username="a\\"b", realm="r", nonce=abc, NC=00000001 , qop=auth');
    expect(p.ok).to.equal(true);
    if (!p.ok) return;
    expect(p.scheme).to.equal('Digest');
    expect([...p.params]).to.deep.equal([
      ['username', 'a"b'],
      ['realm', 'r'],
      ['nonce', 'abc'],
      ['nc', '00000001'],
      ['qop', 'auth'],
    ]);
  });

  it('fuzz: the header parsers never throw on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        parseAuthParams(s);
        parseAuthParams(`Digest ${s}`);
        parseIdentityHeader(s);
        parseNameAddr(s);
        parseSipUri(s);
        redactPii(s);
      }),
      { numRuns: 500 },
    );
  });

  it('fuzz: digest params survive a round trip through quoting', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, fc.string({ maxLength: 20 })), { selector: (t) => t[0], maxLength: 10 }), (pairs) => {
        const hdr = 'Digest ' + pairs.map(([k, v]) => `${k}="${v.replace(/(["\\])/g, '\\$1')}"`).join(', ');
        const p = parseAuthParams(hdr);
        if (pairs.length === 0) return;
        expect(p.ok).to.equal(true);
        if (p.ok) expect([...p.params]).to.deep.equal(pairs);
      }),
      { numRuns: 200 },
    );
  });

  it('splits name-addr and rebuilds it', () => {
    const n = parseNameAddr('"Jane \\"J\\" Doe" <sip:jane@example.com>;tag=1');
    expect(n).to.deep.equal({ display: 'Jane "J" Doe', uri: 'sip:jane@example.com', rest: ';tag=1' });
    expect(formatNameAddr(n!)).to.equal('"Jane \\"J\\" Doe" <sip:jane@example.com>;tag=1');
    expect(parseNameAddr('"a<b>" <sip:x@y>')).to.deep.equal({ display: 'a<b>', uri: 'sip:x@y', rest: '' });
    expect(parseNameAddr('"unterminated <sip:x@y>')).to.equal(undefined);
    expect(parseNameAddr('sip:a@b;tag=2')).to.deep.equal({ display: '', uri: 'sip:a@b', rest: ';tag=2' });
    expect(parseSipUri('sips:Bob@Example.COM:5061;transport=tls')).to.deep.equal({ scheme: 'sips', user: 'Bob', host: 'example.com' });
    expect(parseSipUri('mailto:x')).to.equal(undefined);
  });

  it('fuzz: any display name survives format -> parse (what the PII gate forwards is what it meant)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }).filter((d) => !/[\r\n]/.test(d)), fc.stringMatching(/^[a-z0-9]{1,8}$/), (display, user) => {
        const n = { display, uri: `sip:${user}@example.com`, rest: ';tag=1' };
        const back = parseNameAddr(formatNameAddr(n));
        expect(back).to.deep.equal(display === '' ? { ...n, display: '' } : n);
      }),
      { numRuns: 300 },
    );
  });

  it('fuzz: a signed PASSporT parses back to its claims and verifies; any flipped byte does not', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pub = rawPublicKey(publicKey);
    const v = new Ed25519Verifier();
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{1,12}$/), fc.integer({ min: 0, max: 2 ** 31 }), fc.nat(), (user, iat, flip) => {
        const h = signIdentity({ kid: 'k1', privateKey, orig: { uri: `sip:${user}@x` }, dest: { tn: ['12025550100'] }, iat });
        const p = parseIdentityHeader(h);
        expect(p.ok).to.equal(true);
        if (!p.ok) return;
        expect(p.value.claims.orig.uri).to.equal(`sip:${user}@x`);
        expect(p.value.claims.iat).to.equal(iat);
        expect(v.verify(pub, p.value.signingInput, p.value.signature)).to.equal(true);
        const sig = Buffer.from(p.value.signature);
        sig[flip % 64] ^= 1 << (flip % 8);
        expect(v.verify(pub, p.value.signingInput, sig)).to.equal(false);
      }),
      { numRuns: 50 },
    );
  });

  it('node:crypto and @noble/ed25519 agree on signatures (independent cross-check)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pub = Buffer.from(rawPublicKey(publicKey), 'base64url');
    const v = new Ed25519Verifier();
    for (let i = 0; i < 5; i++) {
      const p = parseIdentityHeader(signIdentity({ kid: 'k', privateKey, orig: { tn: '1' }, dest: { tn: ['2'] }, iat: i }));
      if (!p.ok) throw new Error('parse');
      expect(await ed.verifyAsync(p.value.signature, p.value.signingInput, pub)).to.equal(true);
      const bad = Buffer.from(p.value.signingInput);
      bad[bad.length - 1] ^= 1;
      expect(await ed.verifyAsync(p.value.signature, bad, pub)).to.equal(false);
      expect(v.verify(rawPublicKey(publicKey), bad, p.value.signature)).to.equal(false);
    }
    // and a signature made by noble verifies with node:crypto
    const sk = ed.utils.randomSecretKey();
    const npub = await ed.getPublicKeyAsync(sk);
    const msg = Buffer.from('passport-signing-input');
    const sig = await ed.signAsync(msg, sk);
    expect(v.verify(Buffer.from(npub).toString('base64url'), msg, Buffer.from(sig))).to.equal(true);
  });

  it('nonces: issued ones verify with age; tampered, foreign or future ones do not', () => {
    const n = new NonceService(['a'], 'r');
    const t = Date.UTC(2026, 0, 1);
    const nonce = n.issue(t);
    expect(n.check(nonce, t + 5000)).to.deep.equal({ ok: true, issuedAt: t });
    expect(new NonceService(['b'], 'r').check(nonce, t)).to.deep.equal({ ok: false, reason: 'bad-mac' });
    expect(new NonceService(['b', 'a'], 'r').check(nonce, t).ok).to.equal(true); // rotated secret still valid
    expect(new NonceService(['a'], 'other-realm').check(nonce, t).ok).to.equal(false);
    expect(n.check(nonce, t - 60_000)).to.deep.equal({ ok: false, reason: 'future' });
    const raw = Buffer.from(nonce, 'base64url');
    raw[0] ^= 1;
    expect(n.check(raw.toString('base64url'), t).ok).to.equal(false);
    expect(n.check('short', t)).to.deep.equal({ ok: false, reason: 'malformed' });
  });

  it('PII: Luhn, categories, priority and no false positives on ordinary numbers', () => {
    expect(luhnValid('4111111111111111')).to.equal(true);
    expect(luhnValid('4111111111111112')).to.equal(false);
    expect(findPii('4111-1111-1111-1111').map((x) => x.category)).to.deep.equal(['card']);
    expect(findPii('2001:db8::ff00:42:8329 and ::ffff:192.0.2.1').map((x) => x.category)).to.deep.equal(['ipv6', 'ipv6']);
    expect(findPii('meet at 12:30:45 on 2026-01-02, room 42, version 1.2.3').length).to.equal(0);
    expect(redactPii('SSN 078-05-1120; bad 000-12-3456').counts).to.deep.equal({ ssn: 1, phone: 1 });
    expect(redactPii('a@b.co').text).to.equal('[REDACTED:email]');
  });

  it('fuzz: redaction leaves no detectable PII', () => {
    const piece = fc.constantFrom('jane@example.org', '4111 1111 1111 1111', '123-45-6789', '+1 202 555 0100', '192.0.2.44', '2001:db8::7', ' hello ', ', ', 'room 12');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
        const text = parts.join(' ');
        const r = redactPii(text);
        expect(findPii(r.text)).to.deep.equal([]);
        for (const p of ['jane@example.org', '4111 1111', '123-45-6789', '555 0100', '192.0.2.44', '2001:db8::7']) expect(r.text).not.to.include(p);
      }),
      { numRuns: 300 },
    );
  });
});
