import { expect } from 'chai';
import fc from 'fast-check';
import {
  EslCommandParser, EslFrameError, MAX_COMMAND_BYTES, apiResponse, cmdHeader, disconnectNotice, jsonEvent,
} from '../../lab/freeswitch-double/esl-wire.js';
import { EslMessageSplitter } from '../../lab/freeswitch-double/esl-tap.js';

describe('freeswitch-double ESL framing', () => {
  it('splits pipelined commands, keeps sendmsg headers (empty values too)', () => {
    const p = new EslCommandParser();
    const cmds = p.push(Buffer.from(
      'event json HEARTBEAT\n\napi sofia status\n\nsendmsg abc\nexecute-app-name: hangup\nexecute-app-arg: \ncall-command: execute\nEvent-UUID: e1\n\n',
    ));
    expect(cmds.map((c) => c.line)).to.deep.equal(['event json HEARTBEAT', 'api sofia status', 'sendmsg abc']);
    expect(cmdHeader(cmds[2]!, 'execute-app-arg')).to.equal('');
    expect(cmdHeader(cmds[2]!, 'EVENT-UUID')).to.equal('e1');
  });

  it('reassembles commands split across chunks and accepts CRLF', () => {
    const p = new EslCommandParser();
    expect(p.push(Buffer.from('auth Clue'))).to.deep.equal([]);
    expect(p.push(Buffer.from('Con\r\n\r\nexit\n'))).to.have.length(1);
    expect(p.push(Buffer.from('\n')).map((c) => c.line)).to.deep.equal(['exit']);
  });

  it('reads a Content-Length body', () => {
    const p = new EslCommandParser();
    const [c] = p.push(Buffer.from('sendmsg x\ncall-command: execute\nContent-Length: 5\n\nhello'));
    expect(c!.body).to.equal('hello');
  });

  it('rejects an oversized frame without end and malformed header lines', () => {
    const p = new EslCommandParser();
    expect(() => p.push(Buffer.alloc(MAX_COMMAND_BYTES + 10, 0x41))).to.throw(EslFrameError);
    expect(() => new EslCommandParser().push(Buffer.from('sendmsg x\nno colon here\n\n'))).to.throw(EslFrameError);
    expect(() => new EslCommandParser().push(Buffer.from('api x\nContent-Length: -3\n\n'))).to.throw(EslFrameError);
  });

  it('never throws anything but EslFrameError on arbitrary bytes', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
      const p = new EslCommandParser();
      try {
        for (const c of chunks) p.push(Buffer.from(c));
      } catch (e) {
        expect(e).to.be.instanceOf(EslFrameError);
      }
    }), { numRuns: 300 });
  });

  it('server messages round-trip through the tap splitter', () => {
    const s = new EslMessageSplitter();
    const wire = apiResponse('+OK\n') + jsonEvent({ 'Event-Name': 'HEARTBEAT' }) + disconnectNotice('u1');
    const msgs = [...s.push(Buffer.from(wire.slice(0, 30))), ...s.push(Buffer.from(wire.slice(30)))];
    expect(msgs).to.have.length(3);
    expect(msgs[0]).to.equal(apiResponse('+OK\n'));
    expect(msgs[2]).to.contain('Controlled-Session-UUID: u1');
  });
});
