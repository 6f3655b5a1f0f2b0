import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  SipParseError, canonicalName, getParam, getTag, parseAppSip, parseSip, parseUri, parseVia, uriOf,
} from '../../lab/drachtio-double/sip-message.js';
import { stampTopVia } from '../../lab/drachtio-double/sip-build.js';
import { SipStreamDecoder } from '../../lab/drachtio-double/transport.js';
import { fixture } from '../../support/paths.js';
import { parseTranscript } from '../../e2e/drachtio-golden/transcript.js';

const INVITE = [
  'INVITE sip:service@127.0.0.1:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-22856-1-0',
  'From: sipp <sip:sipp@127.0.0.1:5070>;tag=22856SIPpTag001',
  'To: service <sip:service@127.0.0.1:5060>',
  'Call-ID: 1-22856@127.0.0.1',
  'CSeq: 1 INVITE',
  'Contact: sip:sipp@127.0.0.1:5070',
  'Content-Type: application/sdp',
  'Content-Length:   5',
  '',
  'v=0\r\n',
].join('\r\n');

describe('drachtio double: SIP parsing', () => {
  it('parses a SIPp INVITE: start line, headers in order, body by Content-Length', () => {
    const m = parseSip(INVITE);
    expect(m.method).to.equal('INVITE');
    expect(m.uri).to.equal('sip:service@127.0.0.1:5060');
    expect(m.get('call-id')).to.equal('1-22856@127.0.0.1');
    expect(m.cseq()).to.deep.equal({ seq: 1, method: 'INVITE' });
    expect(getTag(m.get('from'))).to.equal('22856SIPpTag001');
    expect(getTag(m.get('to'))).to.equal(undefined);
    expect(m.body).to.equal('v=0\r\n');
    expect(m.headers.map((h) => h.name)[0]).to.equal('Via');
  });

  it('understands compact header names', () => {
    const compact = INVITE.replace('Call-ID:', 'i:').replace('From:', 'f:').replace('Content-Length:', 'l:');
    const m = parseSip(compact);
    expect(m.get('Call-ID')).to.equal('1-22856@127.0.0.1');
    expect(getTag(m.get('from'))).to.equal('22856SIPpTag001');
  });

  it('parses every SIP message in the recorded transcripts', () => {
    let n = 0;
    for (const name of ['a-invite-bye', 'b-cancel', 'c-auth', 'd-options', 'e-uac-bye-ping']) {
      for (const f of parseTranscript(readFileSync(fixture('drachtio', `${name}-9022-messages.txt`), 'utf8'))) {
        const i = f.payload.indexOf('\r\n');
        if (i === -1) continue;
        const sip = f.payload.slice(i + 2);
        // frames from the app are partial messages (no Via etc.): the lenient parser takes them
        const m = f.dir === 'C->S' ? parseAppSip(sip) : parseSip(sip);
        expect(m.startLine()).to.match(/SIP\/2\.0/);
        n++;
      }
    }
    expect(n).to.be.greaterThan(30);
  });

  it('rejects malformed messages with SipParseError', () => {
    const cases: Record<string, string> = {
      'no blank line': 'OPTIONS sip:a SIP/2.0\r\nVia: x',
      'bad start line': INVITE.replace('INVITE sip:service@127.0.0.1:5060 SIP/2.0', 'HELLO'),
      'missing Call-ID': INVITE.replace('Call-ID: 1-22856@127.0.0.1\r\n', ''),
      'bad CSeq': INVITE.replace('CSeq: 1 INVITE', 'CSeq: one INVITE'),
      'header without colon': INVITE.replace('Contact: sip:sipp@127.0.0.1:5070', 'Contact sip:sipp'),
      'Content-Length beyond the datagram': INVITE.replace('Content-Length:   5', 'Content-Length: 500'),
      'non-numeric Content-Length': INVITE.replace('Content-Length:   5', 'Content-Length: lots'),
    };
    for (const [what, text] of Object.entries(cases)) expect(() => parseSip(text), what).to.throw(SipParseError);
  });

  it('reads URIs, Via and parameters', () => {
    expect(parseUri('sip:127.0.0.1:5080;transport=UDP')).to.deep.equal({ host: '127.0.0.1', port: 5080, transport: 'udp' });
    expect(parseUri('sip:service@example.org')).to.deep.equal({ user: 'service', host: 'example.org' });
    expect(uriOf('"A" <sip:a@b:5;lr>;tag=1')).to.equal('sip:a@b:5;lr');
    expect(parseVia('SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bKx')).to.deep.equal({ transport: 'UDP', host: '127.0.0.1', branch: 'z9hG4bKx', rport: '' });
    expect(getParam('<sip:a@b;lr>;tag=x;expires=5', 'expires')).to.equal('5');
    expect(canonicalName('www-authenticate')).to.equal('WWW-Authenticate');
    expect(canonicalName('allow')).to.equal('Allow');
    expect(canonicalName('x-oracle')).to.equal('X-Oracle');
  });

  it('stamps rport (and received when the host differs) on the top Via only, as the server does', () => {
    const out = stampTopVia(INVITE, '127.0.0.1', 5070);
    expect(out).to.include('Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-22856-1-0;rport=5070\r\n');
    expect(out.replace(/;rport=5070/, '')).to.equal(INVITE);
    const nat = stampTopVia(INVITE, '10.0.0.9', 4000);
    expect(nat).to.include(';rport=4000;received=10.0.0.9\r\n');
    expect(stampTopVia(INVITE.replace('z9hG4bK-22856-1-0', 'z9hG4bK-1;rport'), '127.0.0.1', 9)).to.include('branch=z9hG4bK-1;rport=9\r\n');
  });

  it('cuts messages out of a TCP stream by Content-Length, skipping CRLF keep-alives', () => {
    const d = new SipStreamDecoder();
    const two = `\r\n\r\n${INVITE}${INVITE}`;
    const out = [...two].flatMap((ch) => d.push(Buffer.from(ch, 'latin1')));
    expect(out.map((b) => b.toString())).to.deep.equal([INVITE, INVITE]);
    expect(() => new SipStreamDecoder().push(Buffer.from('OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n'))).to.throw(/without Content-Length/);
  });

  it('fuzz: arbitrary input either parses or fails with SipParseError, never anything else', () => {
    const pieces = fc.constantFrom('INVITE sip:a@b SIP/2.0', 'SIP/2.0 200 OK', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1',
      'To: <sip:b@c>', 'Call-ID: x', 'CSeq: 1 INVITE', 'CSeq: x', 'Content-Length: 3', 'Content-Length: 99', ':', '', ' folded', 'abc', '\u0000');
    fc.assert(fc.property(fc.array(fc.oneof(pieces, fc.string({ maxLength: 20 })), { maxLength: 12 }), fc.boolean(), (lines, strict) => {
      try {
        const m = parseSip(lines.join('\r\n'), strict);
        expect(m.isRequest || m.status! >= 100).to.equal(true);
      } catch (err) {
        expect(err).to.be.instanceOf(SipParseError);
      }
    }), { numRuns: 1000 });
  });

  it('fuzz: a message built from generated parts round-trips through toString()', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9.!%*_+~-]{1,12}$/);
    fc.assert(fc.property(token, token, token, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.string({ unit: 'grapheme', maxLength: 50 }), (user, tag, callId, seq, body) => {
      const text = [
        `MESSAGE sip:${user}@h SIP/2.0`, 'Via: SIP/2.0/UDP h:1;branch=z9hG4bKa', `From: <sip:x@h>;tag=${tag}`, '<sip:y@h>'.replace(/^/, 'To: '),
        `Call-ID: ${callId}`, `CSeq: ${seq} MESSAGE`, `Content-Length: ${Buffer.byteLength(body)}`, '', body,
      ].join('\r\n');
      const m = parseSip(text);
      expect(m.body).to.equal(body);
      expect(getTag(m.get('from'))).to.equal(tag);
      expect(parseSip(m.toString()).toString()).to.equal(m.toString());
    }), { numRuns: 300 });
  });
});

describe('drachtio double: recorded transcripts (fixtures)', () => {
  it('every frame reassembled from a transcript has the recorded framed length', () => {
    for (const name of ['a-invite-bye', 'b-cancel', 'c-auth', 'd-options', 'e-uac-bye-ping', 'f-bad-secret']) {
      const frames = parseTranscript(readFileSync(fixture('drachtio', `${name}-9022-messages.txt`), 'utf8'));
      expect(frames.length, name).to.be.greaterThan(1);
      for (const f of frames) expect(Buffer.byteLength(f.payload, 'utf8'), name).to.equal(f.framedLength);
    }
  });
});
