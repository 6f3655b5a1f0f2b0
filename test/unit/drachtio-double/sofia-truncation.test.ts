/** sofia-sip's message logger truncates lines over 8192 bytes and NUL bytes; such a message gets 400 (see the golden test). */
import { expect } from 'chai';
import { SOFIA_MAX_LINE, sofiaLogTruncation } from '../../lab/drachtio-double/double.js';

describe('drachtio double: what sofia-sip truncates', () => {
  const msg = (line: string): Buffer => Buffer.from(`INVITE sip:a@b SIP/2.0\r\n${line}\r\nContent-Length: 0\r\n\r\n`, 'latin1');

  it('a line of at most 8192 bytes passes, 8193 is cut (CR and LF both end a line)', () => {
    expect(SOFIA_MAX_LINE).to.equal(8192);
    expect(sofiaLogTruncation(msg(`X: ${'a'.repeat(8192 - 3)}`))).to.equal(undefined);
    expect(sofiaLogTruncation(msg(`X: ${'a'.repeat(8193 - 3)}`))).to.match(/8193-byte line/);
    expect(sofiaLogTruncation(msg(`X: ${'a'.repeat(5000)}\nY: ${'b'.repeat(5000)}`))).to.equal(undefined);
    expect(sofiaLogTruncation(Buffer.from(`INVITE sip:a@b SIP/2.0\r\n\r\n${'v'.repeat(9000)}`))).to.match(/9000-byte line/); // a body line too
  });

  it('a NUL byte anywhere', () => {
    expect(sofiaLogTruncation(msg('X: a\0b'))).to.match(/NUL/);
  });
});
