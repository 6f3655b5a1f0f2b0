import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { fixture } from '../../support/paths.js';
import {
  compareEsl, DEL_MEMBER, diffLines, DISCONNECT_NOTICE, HANGUP_CALLSTATE, normalise, parseRecordedEsl, parseRecordedSip, type NormRecord,
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

  it('masks the event socket password and the sound file directory, keeping the file name; drops video-floor-change', () => {
    const n = normalise([
      { stream: 0, dir: 'app->FS', line: 'command: auth s3cr3t-of-this-run' },
      { stream: 1, dir: 'app->FS', line: 'command: sendmsg u call-command=execute execute-app-name=playback execute-app-arg=/tmp/fs-double-AbC/oracle-2s-660hz.wav' },
      { stream: 1, dir: 'FS->app', line: 'text/event-json Event-Name=CHANNEL_EXECUTE Application=playback Application-Data=/tmp/fs-double-AbC/oracle-2s-660hz.wav' },
      { stream: 2, dir: 'app->FS', line: 'command: api conference c play /opt/freeswitch/run/sounds/oracle-2s-660hz.wav' },
      { stream: 2, dir: 'FS->app', line: 'api/response body=+OK (play) Playing file /tmp/x/oracle-2s-660hz.wav' },
      { stream: 2, dir: 'FS->app', line: 'api/response body=+OK (play) Playing file /tmp/x/other.wav' },
      // a floor event (with a video-capable member): dropped like floor-change
      { stream: 2, dir: 'FS->app', line: 'text/event-json Event-Name=CUSTOM Event-Subclass=conference::maintenance Action=video-floor-change' },
    ]).map((r) => r.line);
    expect(n).to.deep.equal([
      'command: auth <password>',
      'command: sendmsg u call-command=execute execute-app-name=playback execute-app-arg=<sounds>/oracle-2s-660hz.wav',
      'text/event-json Event-Name=CHANNEL_EXECUTE Application=playback Application-Data=<sounds>/oracle-2s-660hz.wav',
      'command: api conference c play <sounds>/oracle-2s-660hz.wav',
      'api/response body=+OK (play) Playing file <sounds>/oracle-2s-660hz.wav',
      'api/response body=+OK (play) Playing file /tmp/x/other.wav',
    ]);
    const recorded = normalise(parseRecordedEsl(rec('play-esl-messages.txt')));
    expect(recorded.some((r) => r.line.includes('ClueCon'))).to.equal(false);
    expect(recorded.some((r) => r.line.includes('/opt/freeswitch'))).to.equal(false);
    expect(recorded.filter((r) => r.line.includes('<sounds>/oracle-2s-660hz.wav')).length).to.equal(3);
  });

  it('tolerates only the raced CHANNEL_CALLSTATE HANGUP right before the disconnect notice', () => {
    const out = (stream: number, lines: string[]): NormRecord[] => lines.map((line) => ({ stream, dir: 'FS->app' as const, line }));
    const exec = 'text/event-json Event-Name=CHANNEL_EXECUTE_COMPLETE Application=hangup Application-Response=_none_ Channel-Call-State=ACTIVE Answer-State=hangup';
    const without = out(1, [exec, DISCONNECT_NOTICE]);
    const withIt = out(1, [exec, HANGUP_CALLSTATE, DISCONNECT_NOTICE]);
    const race = { freeswitchRaces: true };
    // strict by default (the double), either way round with the option (a real FreeSWITCH)
    expect(compareEsl(without, withIt)).to.contain(`+ ${HANGUP_CALLSTATE}`);
    expect(compareEsl(without, withIt, race)).to.equal('');
    expect(compareEsl(withIt, without, race)).to.equal('');
    // not elsewhere: before another event, without the disconnect notice, twice, on the inbound connection
    expect(compareEsl(without, out(1, [HANGUP_CALLSTATE, exec, DISCONNECT_NOTICE]), race)).to.not.equal('');
    expect(compareEsl(out(1, [exec]), out(1, [exec, HANGUP_CALLSTATE]), race)).to.not.equal('');
    expect(compareEsl(without, out(1, [exec, HANGUP_CALLSTATE, HANGUP_CALLSTATE, DISCONNECT_NOTICE]), race)).to.not.equal('');
    expect(compareEsl(out(0, [DISCONNECT_NOTICE]), out(0, [HANGUP_CALLSTATE, DISCONNECT_NOTICE]), race)).to.not.equal('');
    // any other difference in that stream still fails, and shows the whole diff
    const other = compareEsl(without, out(1, ['text/event-json Event-Name=CHANNEL_HANGUP', HANGUP_CALLSTATE, DISCONNECT_NOTICE]), race);
    expect(other).to.contain('- text/event-json Event-Name=CHANNEL_EXECUTE_COMPLETE');
  });

  it("tolerates only conf's del-member moving across one adjacent reply", () => {
    const out = (stream: number, lines: string[]): NormRecord[] => lines.map((line) => ({ stream, dir: 'FS->app' as const, line }));
    const ok = 'command/reply Reply-Text=+OK';
    const done = 'text/event-json Event-Name=CUSTOM Event-Subclass=conference::maintenance Action=play-file-done';
    const recorded = out(2, [done, ok, DEL_MEMBER, DISCONNECT_NOTICE]);
    const race = { freeswitchRaces: true };
    expect(compareEsl(recorded, out(2, [done, DEL_MEMBER, ok, DISCONNECT_NOTICE]))).to.not.equal('');
    expect(compareEsl(recorded, out(2, [done, DEL_MEMBER, ok, DISCONNECT_NOTICE]), race)).to.equal('');
    expect(compareEsl(out(2, [done, DEL_MEMBER, ok, DISCONNECT_NOTICE]), recorded, race)).to.equal('');
    // not a missing or doubled del-member, not across another event, not on the inbound connection
    expect(compareEsl(recorded, out(2, [done, ok, DISCONNECT_NOTICE]), race)).to.not.equal('');
    expect(compareEsl(recorded, out(2, [done, DEL_MEMBER, ok, DEL_MEMBER, DISCONNECT_NOTICE]), race)).to.not.equal('');
    expect(compareEsl(recorded, out(2, [DEL_MEMBER, done, ok, DISCONNECT_NOTICE]), race)).to.not.equal('');
    expect(compareEsl(out(0, [ok, DEL_MEMBER]), out(0, [DEL_MEMBER, ok]), race)).to.not.equal('');
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
