import { expect } from 'chai';
import {
  formatReason, offeredH323Codecs, parseReason, q850FromReason, q850Reason, q850ToSip, sipToQ850,
} from '../../../lib/calls/index.js';

describe('calls: Q.850 <-> SIP causes (RFC 3398) and Reason (RFC 3326/6432)', () => {
  it('maps Q.850 causes to SIP statuses per RFC 3398 8.2.6.1', () => {
    const table: Array<[number, number]> = [
      [1, 404], [2, 404], [3, 404], [17, 486], [18, 408], [19, 480], [20, 480], [21, 403], [22, 410], [23, 410],
      [26, 404], [27, 502], [28, 484], [29, 501], [31, 480], [34, 503], [38, 503], [41, 503], [42, 503], [47, 503],
      [55, 403], [57, 403], [58, 503], [65, 488], [70, 488], [79, 501], [87, 403], [88, 488], [102, 504],
      [111, 500], [127, 500],
    ];
    for (const [cause, status] of table) expect(q850ToSip(cause), `cause ${cause}`).to.equal(status);
  });

  it('maps unlisted causes by class', () => {
    expect(q850ToSip(25)).to.equal(480);
    expect(q850ToSip(44)).to.equal(503);
    expect(q850ToSip(63)).to.equal(501);
    expect(q850ToSip(95)).to.equal(500);
    expect(q850ToSip(0)).to.equal(500);
  });

  it('maps SIP statuses to Q.850 causes per RFC 3398 7.2.4.1', () => {
    const table: Array<[number, number]> = [
      [400, 41], [401, 21], [402, 21], [403, 21], [404, 1], [405, 63], [406, 79], [407, 21], [408, 102],
      [410, 22], [413, 127], [414, 127], [415, 79], [416, 127], [420, 127], [480, 18], [481, 41], [482, 25],
      [483, 25], [484, 28], [485, 1], [486, 17], [487, 127], [488, 127], [500, 41], [501, 79], [502, 38],
      [503, 41], [504, 102], [505, 127], [513, 127], [600, 17], [603, 21], [604, 1], [606, 58],
    ];
    for (const [status, cause] of table) expect(sipToQ850(status), `status ${status}`).to.equal(cause);
    expect(sipToQ850(499)).to.equal(31);
    expect(sipToQ850(599)).to.equal(41);
    expect(sipToQ850(699)).to.equal(31);
  });

  it('round-trips the busy / no-answer / unallocated paths', () => {
    expect(sipToQ850(q850ToSip(17))).to.equal(17);
    expect(sipToQ850(q850ToSip(1))).to.equal(1);
    expect(q850ToSip(sipToQ850(486))).to.equal(486);
  });

  it('formats the Reason header with the Q.850 text', () => {
    expect(q850Reason(17)).to.equal('Q.850;cause=17;text="User busy"');
    expect(q850Reason(16)).to.equal('Q.850;cause=16;text="Normal call clearing"');
    expect(q850Reason(999)).to.equal('Q.850;cause=999');
    expect(formatReason({ protocol: 'SIP', cause: 200, text: 'Call completed elsewhere' }))
      .to.equal('SIP;cause=200;text="Call completed elsewhere"');
  });

  it('escapes quotes and backslashes and drops control characters (RFC 6432)', () => {
    const v = formatReason({ protocol: 'Q.850', cause: 21, text: 'say "no"\\\r\nnow' });
    expect(v).to.equal('Q.850;cause=21;text="say \\"no\\"\\\\now"');
    expect(parseReason(v)).to.deep.equal([{ protocol: 'Q.850', cause: 21, text: 'say "no"\\now' }]);
  });

  it('parses one or several Reason values, case-insensitively, skipping bad ones', () => {
    expect(parseReason('Q.850;cause=17;text="User busy"')).to.deep.equal([{ protocol: 'Q.850', cause: 17, text: 'User busy' }]);
    expect(parseReason('SIP ;cause=486 ;text="Busy, here", q.850;CAUSE=17')).to.deep.equal([
      { protocol: 'SIP', cause: 486, text: 'Busy, here' },
      { protocol: 'Q.850', cause: 17 },
    ]);
    expect(parseReason('Q.850;cause=abc')).to.deep.equal([]);
    expect(parseReason('Q.850')).to.deep.equal([]);
    expect(parseReason('')).to.deep.equal([]);
    expect(parseReason(undefined)).to.deep.equal([]);
    expect(q850FromReason('SIP;cause=487, Q.850;cause=16')).to.equal(16);
    expect(q850FromReason('SIP;cause=487')).to.equal(undefined);
  });

  it('intersects the caller offer with G.711/G.729 in the caller order', () => {
    const sdp = (m: string, extra: string[] = []): string =>
      ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', m, ...extra].join('\r\n') + '\r\n';
    expect(offeredH323Codecs(sdp('m=audio 4000 RTP/AVP 8 0 101', ['a=rtpmap:101 telephone-event/8000']))).to.deep.equal(['PCMA', 'PCMU']);
    expect(offeredH323Codecs(sdp('m=audio 4000 RTP/AVP 96 18 0', ['a=rtpmap:96 opus/48000/2', 'a=rtpmap:18 G729/8000']))).to.deep.equal(['G729', 'PCMU']);
    expect(offeredH323Codecs(sdp('m=audio 4000 RTP/AVP 96', ['a=rtpmap:96 opus/48000/2']))).to.deep.equal([]);
    expect(offeredH323Codecs('')).to.deep.equal([]);
  });
});
