/**
 * Edge cases of the hot-path rewrites (issue 3 performance work): each fast path must give the
 * same answer as the straightforward code it replaced.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { parseAuthParams } from '../../../../lib/policy/sip-parse.js';
import { parseSdp } from '../../../../lib/sdp/parse.js';
import { filterSdp } from '../../../../lib/sdp/filter.js';
import { SizeGate } from '../../../../lib/policy/size-limits.js';
import { PolicyChain } from '../../../../lib/policy/chain.js';
import { admit, plainRequest, reject, type Gate } from '../../../../lib/policy/types.js';
import { MemoryAuditSink } from '../../../../lib/audit/sink.js';
import { MemoryCallLedger } from '../../../../lib/state/memory.js';
import { IdHasher, canonicalJson, canonicalRecord, hashId } from '../../../../lib/audit/record.js';
import { referenceParseAuthParams } from './reference-parsers.js';

describe('policy: hot-path fast paths', () => {
  it('auth params: a name and its = must start within 80 characters, quoted escapes resolved', () => {
    const long = 'a'.repeat(79);
    expect(parseAuthParams(`Digest ${long}=1`).ok).to.equal(true);
    expect(parseAuthParams(`Digest ${'a'.repeat(80)}=1`).ok).to.equal(false);
    expect(parseAuthParams(`Digest ${'a'.repeat(70)}${' '.repeat(12)}=1`).ok).to.equal(false);
    const q = parseAuthParams('Digest username="a\\"b\\\\c", realm="r"');
    expect(q.ok && q.params.get('username')).to.equal('a"b\\c');
    expect(parseAuthParams('Digest username="abc\\').ok).to.equal(false);
    expect(parseAuthParams('Digest username="abc" realm="r"').ok).to.equal(false);
  });

  it('SDP: bare CR and control bytes refused, CRLF/LF/TAB accepted, size by UTF-8 bytes', () => {
    const ok = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=tool:x\ty\r\n';
    expect(parseSdp(ok).ok).to.equal(true);
    for (const bad of ['\r', '\u0000', '\u001f', '\u007f', '\u000b']) {
      const r = parseSdp(ok.replace('s=-', `s=-${bad}`));
      expect(r.ok ? 'ok' : r.reason).to.equal('SDP contains control characters');
    }
    expect(parseSdp(`${ok}\r`).ok).to.equal(false);
    const wide = ok.replace('s=-', `s=${'é'.repeat(40)}`);
    expect(parseSdp(wide, Buffer.byteLength(wide)).ok).to.equal(true);
    expect(parseSdp(wide, Buffer.byteLength(wide) - 1).ok).to.equal(false);
  });

  it('SDP filter: a duplicate rtpmap/fmtp cannot smuggle a refused codec under a kept payload type', () => {
    const offer = 'v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 96 97\r\n' +
      'a=rtpmap:96 PCMU/8000\r\na=rtpmap:96 7 G722/8000\r\na=fmtp:96 x=1\r\na=fmtp:96 x=2\r\na=rtpmap:096 G722/8000\r\n';
    const r = filterSdp(offer);
    expect(r.ok && r.sdp).to.equal(
      'v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 96\r\na=rtpmap:96 PCMU/8000\r\na=fmtp:96 x=1\r\n',
    );
    expect(r.ok && r.parsed.media[0]!.rtp.map((x) => String(x.codec))).to.deep.equal(['PCMU']);
  });

  it('size gate: limits count UTF-8 bytes exactly', () => {
    const gate = new SizeGate({ maxHeaderValueBytes: 100, maxHeaderBytes: 150, maxHeaders: 10, maxBodyBytes: 20 });
    const req = (headers: Record<string, string>, body = '') => plainRequest({ method: 'INVITE', uri: 'sip:a@b', headers, body });
    // 'Subject' (7) + 31 x 3 bytes = 100 -> fits; one more character does not.
    expect(gate.decide(req({ Subject: '€'.repeat(31) })).outcome).to.equal('admit');
    expect(gate.decide(req({ Subject: '€'.repeat(32) })).reason).to.equal('header-too-large');
    expect(gate.decide(req({ Subject: '€'.repeat(31), 'X-A': '€'.repeat(15) })).outcome).to.equal('admit');
    expect(gate.decide(req({ Subject: '€'.repeat(31), 'X-A': '€'.repeat(16) })).reason).to.equal('headers-too-large');
    expect(gate.decide(req({}, 'é'.repeat(10))).outcome).to.equal('admit');
    expect(gate.decide(req({}, 'é'.repeat(11))).reason).to.equal('body-too-large');
  });

  it('audit: IdHasher tokens equal hashId, and the fixed-order record form equals canonical JSON', () => {
    const ids = new IdHasher('k', 2);
    for (const v of ['a', 'b', 'c', 'a', 'b', 'a']) {
      expect(ids.hashRecurring('identity', v)).to.equal(hashId('k', 'identity', v));
      expect(ids.hash('call', v)).to.equal(createHmac('sha256', 'k').update(`call\u0000${v}`).digest('hex').slice(0, 32));
    }
    fc.assert(
      fc.property(fc.string(), fc.string({ maxLength: 200 }), (reason, gate) => {
        const rec = { v: 1 as const, seq: 1, time: 't', gate, decision: 'admit' as const, status: 0, reason, prev: '0', hash: 'h' };
        expect(canonicalRecord(rec)).to.equal(canonicalJson(rec));
      }),
    );
  });

  it('chain: synchronous and asynchronous gates mix; a throwing sync gate yields 503', async () => {
    const seen: string[] = [];
    const sync: Gate = { name: 'sync', methods: ['INVITE'], decide: () => (seen.push('sync'), admit()) };
    const asyncGate: Gate = { name: 'async', methods: ['INVITE'], decide: async () => (seen.push('async'), admit('noted')) };
    const audit = new MemoryAuditSink();
    const chain = new PolicyChain([sync, asyncGate], { audit, ledger: new MemoryCallLedger() });
    const req = plainRequest({ method: 'INVITE', uri: 'sip:a@b', headers: { 'Call-ID': 'c1' } });
    const r = await chain.decide(req);
    expect(r.decision.outcome).to.equal('admit');
    expect(r.decision.reason).to.equal('admitted;noted');
    expect(seen).to.deep.equal(['sync', 'async']);
    const boom: Gate = { name: 'boom', methods: ['INVITE'], decide: () => { throw new Error('x'); } };
    const refuse: Gate = { name: 'no', methods: ['INVITE'], decide: () => reject(403, 'Forbidden', 'no') };
    const r2 = await new PolicyChain([boom, refuse], { audit, ledger: new MemoryCallLedger() }).decide(req);
    expect([r2.gate, r2.decision.status, r2.decision.reason]).to.deep.equal(['boom', 503, 'gate-error']);
    expect(audit.records.length).to.equal(2);
  });
});

describe('policy: hand-scanned parsers agree with the regex versions they replaced', () => {
  const same = (s: string): void => {
    const a = parseAuthParams(s);
    const b = referenceParseAuthParams(s);
    expect(a.ok ? ['ok', a.scheme, [...a.params]] : a.reason, JSON.stringify(s)).to.deep.equal(b.ok ? ['ok', b.scheme, [...b.params]] : b.reason);
  };
  const valid = 'Digest username="g-001", realm="gw.test", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="sip:c@gw.test", response="0123", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="ab"';
  const mutate = (v: string) =>
    fc.array(fc.tuple(fc.nat(v.length), fc.nat(6), fc.constantFrom('', ' ', ',', '=', '"', '\\', '\t', '\u00a0', '\ufeff', '\u2028', 'a', '-', ', x=1', ' , ', ' = ')), { maxLength: 5 }).map((edits) => {
      let s = v;
      for (const [at, del, ins] of edits) s = s.slice(0, at) + ins + s.slice(at + del);
      return s;
    });

  it('Authorization parameters', () => {
    for (const s of [valid, `Digest ${'a'.repeat(79)}=1`, `Digest ${'a'.repeat(80)}=1`, `Digest a=${' '.repeat(100)}b`, `Digest a${' '.repeat(85)}=1`, 'Digest a=1,', 'Digest a=1 ,b=2', 'Digest a="x\\', 'Digest a=1 b=2', 'Digest =1', 'Digest a\u00a0=\u00a0"1"\u00a0,\u00a0b=2\ufeff']) same(s);
    fc.assert(fc.property(fc.oneof(mutate(valid), fc.string({ maxLength: 120 }).map((s) => `Digest ${s}`), fc.string({ maxLength: 60 })), same), { numRuns: 3000 });
  });
});
