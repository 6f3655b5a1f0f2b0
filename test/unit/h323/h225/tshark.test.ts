/**
 * tshark proof: every H.225.0 message and every H.245 message our stack encodes, framed
 * (TPKT + Q.931 + UUIE on port 1720; H.245 on its own TCP connection) and written to a pcap,
 * is dissected by tshark with no malformed packet and no warning/error expert info, and tshark
 * shows the values we set (message types, aliases, ids, fastStart OLCs with RTP/RTCP addresses,
 * reasons and causes, tunnelled H.245, capabilities, DTMF).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeTpkt } from '../../../../lib/h323/tpkt/index.js';
import { encodeH245 } from '../../../../lib/h323/h245/codec.js';
import { TcpPcap } from '../q931/helpers/pcap.js';
import { callSamples, framed, h245Samples } from './samples.js';

const run = promisify(execFile);
const H245_PORT = 1800;

function splitFrames(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const chunk of text.split(/^(?=Frame \d+: )/m)) {
    const m = /^Frame (\d+): /.exec(chunk);
    if (m) out.set(Number(m[1]), chunk);
  }
  return out;
}

function values(text: string, name: string): string[] {
  const re = new RegExp(`^\\s*(?:[.01]{4} [.01]{4} (?:= )?)?${name}: (.*)$`, 'gm');
  return [...text.matchAll(re)].map((m) => m[1]!.trim());
}

function clean(frame: string, label: string): void {
  expect(frame, `${label}: malformed`).to.not.match(/Malformed Packet|Dissector bug|Exception occurred/);
  expect(frame, `${label}: expert warning/error`).to.not.match(/Expert Info \((Warning|Warn|Error)/);
}

describe('h323/h225 + h245 encoder vs tshark', function () {
  this.timeout(60_000);
  let dir: string;
  let cs: Map<number, string>;
  let h245: Map<number, string>;

  before(async function () {
    try {
      await run('tshark', ['--version']);
    } catch {
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'h225-tshark-'));
    const p = new TcpPcap({ ip: '127.0.0.1', port: 45500 }, { ip: '127.0.0.1', port: 1720 });
    for (const s of callSamples()) p.send(s.fromClient, framed(s.msg));
    writeFileSync(join(dir, 'cs.pcap'), p.finish());
    const q = new TcpPcap({ ip: '127.0.0.1', port: 45600 }, { ip: '127.0.0.1', port: H245_PORT });
    h245Samples().forEach((s, i) => {
      const t = encodeTpkt(encodeH245(s.msg));
      if (!t.ok) throw new Error(t.error.message);
      q.send(i % 2 === 0, t.value);
    });
    writeFileSync(join(dir, 'h245.pcap'), q.finish());
    const a = await run('tshark', ['-r', join(dir, 'cs.pcap'), '-V'], { maxBuffer: 64 << 20 });
    const b = await run('tshark', ['-r', join(dir, 'h245.pcap'), '-d', `tcp.port==${H245_PORT},h245`, '-V'], { maxBuffer: 64 << 20 });
    cs = splitFrames(a.stdout);
    h245 = splitFrames(b.stdout);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('dissects every call-signalling message with the UUIE type we sent', () => {
    callSamples().forEach((s, i) => {
      const f = cs.get(4 + i)!;
      expect(f, s.label).to.be.a('string');
      clean(f, s.label);
      expect(values(f, 'h323-message-body'), s.label).to.deep.equal([`${s.body} (${bodyIndex(s.body)})`]);
    });
  });

  it('shows Setup aliases, ids, addresses and the fastStart proposals', () => {
    const f = cs.get(4)!;
    expect(values(f, 'dialledDigits')).to.deep.equal(['1001', '9123']);
    expect(values(f, 'h323-ID')).to.deep.equal(['gw']);
    expect(values(f, 'guid')).to.deep.equal(['a47883d0-20e9-f111-89fb-02fc00000001']);
    expect(values(f, 'conferenceID')).to.deep.equal(['ae7883d0-20e9-f111-89fb-02fc00000001']);
    expect(values(f, 'fastStart')).to.deep.equal(['2 items']);
    expect(values(f, 'forwardLogicalChannelNumber')).to.deep.equal(['1', '2']);
    expect(values(f, 'g711Alaw64k')).to.deep.equal(['20', '20']);
    expect(values(f, 'network')).to.deep.equal(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    expect(values(f, 'tsapIdentifier')).to.deep.equal(['5001', '5000', '5001']);
    expect(values(f, 'port')).to.deep.equal(['1720', '45500']);
    expect(values(f, 'h245Tunnelling')).to.deep.equal(['True']);
    expect(values(f, 'Called party number digits')).to.deep.equal(['9123']);
  });

  it('shows the fastStart answer in Alerting: forward channel to our RTP/RTCP, reverse channel to the caller', () => {
    const f = cs.get(7)!;
    expect(values(f, 'fastStart')).to.deep.equal(['2 items']);
    expect(values(f, 'forwardLogicalChannelNumber')).to.deep.equal(['1', '2']);
    expect(values(f, 'tsapIdentifier')).to.deep.equal(['6000', '6001', '5000', '5001']);
    expect(values(f, 'dataType')).to.deep.equal(['audioData (3)', 'nullData (1)', 'audioData (3)']);
  });

  it('shows tunnelled H.245 in Connect and in the empty carrier, in order', () => {
    const connect = cs.get(8)!;
    expect([...connect.matchAll(/^\s*request: (\w+) \(\d+\)$/gm)].map((m) => m[1])).to.deep.equal(['terminalCapabilitySet', 'masterSlaveDetermination']);
    const carrier = cs.get(10)!;
    const names = [...carrier.matchAll(/^\s*(?:request|response|command|indication): (\w+) \(\d+\)$/gm)].map((m) => m[1]);
    expect(names).to.deep.equal(h245Samples().map((s) => s.name));
    expect(values(cs.get(9)!, 'port')).to.deep.equal(['1800']);
  });

  it('shows Facility reasons, release reason and causes', () => {
    expect(values(cs.get(11)!, 'reason')).to.deep.equal(['startH245 (5)']);
    expect(values(cs.get(11)!, 'port')).to.deep.equal(['1800']);
    expect(values(cs.get(12)!, 'reason')).to.deep.equal(['routeCallToGatekeeper (0)']);
    expect(values(cs.get(17)!, 'reason')).to.deep.equal(['destinationRejection (3)']);
    expect(cs.get(17)!).to.match(/Cause value: Normal call clearing \(16\)/);
    expect(cs.get(16)!).to.match(/Cause value: Response to STATUS ENQUIRY \(30\)/);
  });

  it('shows video fastStart: H.264 (H.241 generic capability) and H.263 proposals in session 2, and the H.264 answer', () => {
    const setup = cs.get(18)!;
    expect(values(setup, 'fastStart')).to.deep.equal(['6 items']);
    expect(values(setup, 'forwardLogicalChannelNumber')).to.deep.equal(['1', '2', '3', '4', '5', '6']);
    expect(values(setup, 'dataType')).to.deep.equal(['audioData (3)', 'nullData (1)', 'audioData (3)', 'videoData (2)', 'nullData (1)', 'videoData (2)', 'videoData (2)', 'nullData (1)', 'videoData (2)']);
    const h264 = 'genericVideoCapability (5): ITU-T Rec. H.241 H.264 Video Capabilities';
    expect(values(setup, 'videoData')).to.deep.equal([h264, h264, 'h263VideoCapability (3)', 'h263VideoCapability (3)']);
    expect(values(setup, 'sessionID')).to.deep.equal(['1', '1', '2', '2', '2', '2']);
    expect(values(setup, 'tsapIdentifier')).to.deep.equal(['5001', '5000', '5001', '5003', '5002', '5003', '5003', '5002', '5003']);
    const answer = cs.get(19)!;
    expect(values(answer, 'fastStart')).to.deep.equal(['4 items']);
    expect(values(answer, 'videoData')).to.deep.equal([h264, h264]);
    expect(values(answer, 'tsapIdentifier')).to.deep.equal(['6000', '6001', '5000', '5001', '6002', '6003', '5002', '5003']);
  });

  it('dissects every H.245 message on its own TCP connection', () => {
    h245Samples().forEach((s, i) => {
      const f = h245.get(4 + i)!;
      expect(f, s.name).to.be.a('string');
      clean(f, s.name);
      const names = [...f.matchAll(/^\s*(?:request|response|command|indication): (\w+) \(\d+\)$/gm)].map((m) => m[1]);
      expect(names, s.name).to.deep.equal([s.name]);
    });
    const tcs = h245.get(4)!;
    expect(values(tcs, 'receiveAudioCapability')).to.deep.equal([
      'g711Alaw64k (1)',
      'g711Ulaw64k (3)',
      'g729 (10)',
      'g729AnnexA (11)',
      'g722-64k (5)',
    ]);
    expect(values(tcs, 'receiveVideoCapability')[0]).to.equal('h263VideoCapability (3)');
    expect(values(tcs, 'receiveVideoCapability')[1]).to.match(/^genericVideoCapability \(5\).*H\.264/);
    expect(values(tcs, 'receiveUserInputCapability')).to.deep.equal(['basicString (1)', 'dtmf (4)']);
    expect(values(tcs, 'dynamicRTPPayloadType')).to.deep.equal(['101']);
    expect(values(h245.get(7)!, 'statusDeterminationNumber')).to.deep.equal(['3569041']);
    expect(values(h245.get(8)!, 'decision')).to.deep.equal(['slave (1)']);
    expect(values(h245.get(10)!, 'tsapIdentifier')).to.deep.equal(['5001']);
    expect(values(h245.get(11)!, 'tsapIdentifier')).to.deep.equal(['6000', '6001']);
    expect(values(h245.get(12)!, 'cause')).to.deep.equal(['dataTypeNotSupported (2)']);
    expect(values(h245.get(15)!, 'alphanumeric')).to.deep.equal(['123#']);
    expect(values(h245.get(16)!, 'signalType')).to.deep.equal(['7']);
    expect(values(h245.get(16)!, 'duration')).to.deep.equal(['160']);
    expect(values(h245.get(19)!, 'endSessionCommand')).to.deep.equal(['disconnect (1)']);
  });
});

function bodyIndex(body: string): number {
  return ['setup', 'callProceeding', 'connect', 'alerting', 'information', 'releaseComplete', 'facility', 'progress', 'empty', 'status', 'statusInquiry', 'setupAcknowledge', 'notify'].indexOf(body);
}
