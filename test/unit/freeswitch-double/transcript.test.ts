import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { fixture } from '../../support/paths.js';
import {
  compareEsl, diffLines, normalise, parseRecordedEsl, parseRecordedSip,
} from '../../lab/freeswitch-double/transcript.js';
import { toneStreamMs } from '../../lab/freeswitch-double/double.js';
import { decodeG711, encodeG711, transcodeG711 } from '../../lab/freeswitch-double/rtp.js';

const rec = (s: string): string => readFileSync(fixture('freeswitch', s), 'utf8');

describe('freeswitch-double transcripts', () => {
  it('parses the recorded ESL messages with streams and directions', () => {
    const play = parseRecordedEsl(rec('play-esl-messages.txt'));
    expect(play[0]).to.deep.equal({ stream: 0, dir: 'FS->app', line: 'auth/request' });
    expect(play.filter((r) => r.stream === 1 && r.dir === 'app->FS').map((r) => r.line)).to.include(
      'command: sendmsg 5b64a093-8415-4ab4-8b15-682c9a79d887 call-command=execute execute-app-name=hangup',
    );
    const conf = parseRecordedEsl(rec('conf-esl-messages.txt'));
    expect(new Set(conf.map((r) => r.stream))).to.deep.equal(new Set([0, 1, 2]));
  });

  it('normalises uuids, conference names and ports; drops heartbeat and talk events', () => {
    const n = normalise(parseRecordedEsl(rec('conf-esl-messages.txt')));
    expect(n.some((r) => /Event-Name=HEARTBEAT|Action=(start-talking|floor-change)/.test(r.line))).to.equal(false);
    expect(n.some((r) => /[0-9a-f]{8}-[0-9a-f]{4}-/.test(r.line))).to.equal(false);
    expect(n.some((r) => r.line.includes('<conf1> list count'))).to.equal(true);
    expect(compareEsl(n, n)).to.equal('');
  });

  it('reads the drachtio<->FreeSWITCH SIP start lines', () => {
    expect(parseRecordedSip(rec('play-sip-messages.txt'))).to.deep.equal([
      'in  INVITE sip:drachtio@127.0.0.1:<port> SIP/2.0',
      'out SIP/2.0 100 Trying',
      'out SIP/2.0 200 OK',
      'in  ACK sip:drachtio@127.0.0.1:<port>;transport=udp SIP/2.0',
      'out BYE sip:127.0.0.1:<port> SIP/2.0',
      'in  SIP/2.0 200 OK',
    ]);
  });

  it('shows a readable diff', () => {
    const d = diffLines(['a', 'b', 'c'], ['a', 'x', 'c']);
    expect(d).to.contain('- b').and.contain('+ x').and.contain('  a');
    expect(diffLines(['a'], ['a'])).to.equal('');
  });

  it('computes tone_stream lengths', () => {
    expect(toneStreamMs('tone_stream://%(1500,500,440);loops=1')).to.equal(2000);
    expect(toneStreamMs('tone_stream://%(400,200,425);loops=10')).to.equal(6000);
    expect(toneStreamMs('tone_stream://%(400,200,425);loops=-1')).to.equal(Number.POSITIVE_INFINITY);
    expect(toneStreamMs('/some/file.wav')).to.equal(undefined);
  });

  it('G.711 A-law <-> u-law conversion keeps the signal', () => {
    for (const s of [0, 100, -100, 1000, -5000, 20000, -32000]) {
      const a = encodeG711('PCMA', s);
      const u = transcodeG711('PCMA', 'PCMU', Buffer.from([a]))[0]!;
      const back = decodeG711('PCMU', u);
      expect(Math.abs(back - s)).to.be.at.most(Math.max(40, Math.abs(s) * 0.1));
    }
  });
});
