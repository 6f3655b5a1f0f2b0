/**
 * Every Q.931 message type we encode, framed in TPKT and written to a pcap as one TCP conversation
 * on port 1720 (tshark dissects TPKT/Q.931/H.225 there by default), is dissected by tshark (an independent decoder) without malformed packets or
 * expert warnings, and tshark reads back the values we set.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  buildMessage,
  callReference,
  decodeQ931,
  encodeQ931,
  H323_SPEECH_BEARER,
  type MessageFields,
  type MessageTypeName,
} from '../../../../lib/h323/q931/index.js';
import { encodeTpkt } from '../../../../lib/h323/tpkt/index.js';
import { segment } from './helpers/fixtures.js';
import { TcpPcap } from './helpers/pcap.js';
import { field, ieName, parseTsharkFrames, trailingNumber, type TsharkFrame, type TsharkIe } from './helpers/tshark-text.js';

const run = promisify(execFile);

/** The H.225.0 payload (User-user IE minus its discriminator) of the first frame of a captured segment. */
function capturedUuie(prefix: string): Uint8Array {
  const bytes = segment('s3a-call-tunnelled', prefix).bytes;
  const d = decodeQ931(bytes.subarray(4, bytes.readUInt16BE(2)));
  if (!d.ok) throw new Error(`fixture ${prefix} does not decode`);
  const uu = d.value.ies.find((i) => i.kind === 'userUser');
  if (!uu || uu.kind !== 'userUser') throw new Error(`fixture ${prefix} has no User-user`);
  return uu.payload;
}

interface Case {
  readonly type: MessageTypeName;
  readonly fromClient: boolean;
  readonly fields: MessageFields;
  /** Expected tshark message type text. */
  readonly tsharkType: string;
  /** Extra checks on tshark's IEs. */
  readonly check: (ies: TsharkIe[]) => void;
}

function ie(ies: TsharkIe[], name: string): TsharkIe {
  const found = ies.find((i) => ieName(i) === name);
  expect(found, `tshark shows IE ${name}`).to.not.equal(undefined);
  return found!;
}

const n = (i: TsharkIe, name: string): number | undefined => trailingNumber(field(i.fields, name));

describe('h323/q931 encoder vs tshark', function () {
  this.timeout(30_000);
  let dir: string;
  let frames: TsharkFrame[] = [];
  let cases: Case[] = [];
  let hasTshark = true;

  before(async function () {
    try {
      await run('tshark', ['--version']);
    } catch {
      hasTshark = false;
      this.skip();
    }
    const setupUu = capturedUuie('0014-');
    const procUu = capturedUuie('0021-');
    const connectUu = capturedUuie('0027-');
    const facilityUu = capturedUuie('0031-');
    const releaseUu = capturedUuie('0750-');
    const out = callReference(0x1234);
    const back = callReference(0x1234, true);
    cases = [
      {
        type: 'Setup',
        fromClient: true,
        tsharkType: 'SETUP (0x05)',
        fields: {
          callReference: out,
          bearerCapability: H323_SPEECH_BEARER,
          display: 'Council GW',
          callingPartyNumber: { numberType: 1, numberingPlan: 1, presentation: 1, screening: 3, digits: '4930123' },
          calledPartyNumber: { numberType: 4, numberingPlan: 9, digits: '9123' },
          userUser: setupUu,
        },
        check: (ies) => {
          const bc = ie(ies, 'Bearer capability');
          expect(n(bc, 'Information transfer capability')).to.equal(0);
          expect(n(bc, 'Information transfer rate')).to.equal(0x10);
          expect(n(bc, 'User information layer 1 protocol')).to.equal(5);
          expect(field(ie(ies, 'Display').fields, 'Display information')).to.equal('Council GW');
          const calling = ie(ies, 'Calling party number');
          expect(field(calling.fields, 'Calling party number digits')).to.equal('4930123');
          expect(n(calling, 'Number type')).to.equal(1);
          expect(n(calling, 'Numbering plan')).to.equal(1);
          expect(n(calling, 'Presentation indicator')).to.equal(1);
          expect(n(calling, 'Screening indicator')).to.equal(3);
          const called = ie(ies, 'Called party number');
          expect(field(called.fields, 'Called party number digits')).to.equal('9123');
          expect(n(called, 'Number type')).to.equal(4);
          expect(n(called, 'Numbering plan')).to.equal(9);
          expect(Number(field(ie(ies, 'User-user').fields, 'Length'))).to.equal(setupUu.length + 1);
        },
      },
      {
        // A second Setup as GnuGk sends it for a video-capable call: unrestricted digital, 6 x 64 kbit/s.
        type: 'Setup',
        fromClient: true,
        tsharkType: 'SETUP (0x05)',
        fields: {
          callReference: out,
          bearerCapability: { codingStandard: 0, transferCapability: 8, transferMode: 0, transferRate: 0x18, rateMultiplier: 6, layer1Protocol: 5 },
          calledPartyNumber: { numberType: 0, numberingPlan: 1, digits: '9123' },
          userUser: setupUu,
        },
        check: (ies) => {
          const bc = ie(ies, 'Bearer capability');
          expect(n(bc, 'Information transfer capability')).to.equal(8);
          expect(n(bc, 'Information transfer rate')).to.equal(0x18);
          expect(field(bc.fields, 'Rate multiplier')).to.equal('6');
          expect(n(bc, 'User information layer 1 protocol')).to.equal(5);
        },
      },
      {
        type: 'CallProceeding',
        fromClient: false,
        tsharkType: 'CALL PROCEEDING (0x02)',
        fields: { callReference: back, userUser: procUu },
        check: (ies) => expect(Number(field(ie(ies, 'User-user').fields, 'Length'))).to.equal(procUu.length + 1),
      },
      {
        type: 'Progress',
        fromClient: false,
        tsharkType: 'PROGRESS (0x03)',
        fields: { callReference: back, progressIndicator: { codingStandard: 0, location: 1, description: 8 }, userUser: procUu },
        check: (ies) => {
          const p = ie(ies, 'Progress indicator');
          expect(n(p, 'Location')).to.equal(1);
          expect(n(p, 'Progress description')).to.equal(8);
        },
      },
      {
        type: 'Alerting',
        fromClient: false,
        tsharkType: 'ALERTING (0x01)',
        fields: { callReference: back, display: 'ringing', userUser: procUu },
        check: (ies) => expect(field(ie(ies, 'Display').fields, 'Display information')).to.equal('ringing'),
      },
      {
        type: 'Connect',
        fromClient: false,
        tsharkType: 'CONNECT (0x07)',
        fields: { callReference: back, display: 'expert-7', userUser: connectUu },
        check: (ies) => {
          expect(field(ie(ies, 'Display').fields, 'Display information')).to.equal('expert-7');
          expect(Number(field(ie(ies, 'User-user').fields, 'Length'))).to.equal(connectUu.length + 1);
        },
      },
      {
        type: 'Facility',
        fromClient: true,
        tsharkType: 'FACILITY (0x62)',
        fields: { callReference: out, otherIes: [{ kind: 'unknown', codeset: 0, id: 0x1c, contents: new Uint8Array(0) }], userUser: facilityUu },
        check: (ies) => expect(Number(field(ie(ies, 'Facility').fields, 'Length'))).to.equal(0),
      },
      {
        type: 'Information',
        fromClient: true,
        tsharkType: 'INFORMATION (0x7b)',
        fields: { callReference: out, calledPartyNumber: { numberType: 0, numberingPlan: 1, digits: '5' }, userUser: facilityUu },
        check: (ies) => expect(field(ie(ies, 'Called party number').fields, 'Called party number digits')).to.equal('5'),
      },
      {
        type: 'Notify',
        fromClient: false,
        tsharkType: 'NOTIFY (0x6e)',
        // Notification indicator 0x27: "user resumed" (0x01) with extension bit.
        fields: { callReference: back, otherIes: [{ kind: 'unknown', codeset: 0, id: 0x27, contents: Uint8Array.of(0x81) }], userUser: facilityUu },
        check: (ies) => expect(n(ie(ies, 'Notification indicator'), 'Notification description')).to.equal(1),
      },
      {
        type: 'StatusEnquiry',
        fromClient: true,
        tsharkType: 'STATUS ENQUIRY (0x75)',
        fields: { callReference: out, display: 'status?' },
        check: (ies) => expect(field(ie(ies, 'Display').fields, 'Display information')).to.equal('status?'),
      },
      {
        type: 'Status',
        fromClient: false,
        tsharkType: 'STATUS (0x7d)',
        fields: {
          callReference: back,
          cause: { codingStandard: 0, location: 0, value: 30 },
          callState: { codingStandard: 0, value: 10 },
          userUser: facilityUu,
        },
        check: (ies) => {
          expect(n(ie(ies, 'Cause'), 'Cause value')).to.equal(30);
          expect(n(ie(ies, 'Call state'), 'Call state')).to.equal(10);
        },
      },
      {
        type: 'ReleaseComplete',
        fromClient: false,
        tsharkType: 'RELEASE COMPLETE (0x5a)',
        fields: { callReference: back, cause: { codingStandard: 0, location: 1, value: 17 }, userUser: releaseUu },
        check: (ies) => {
          const c = ie(ies, 'Cause');
          expect(n(c, 'Cause value')).to.equal(17);
          expect(n(c, 'Cause location')).to.equal(1);
        },
      },
    ];
    const pcap = new TcpPcap({ ip: '127.0.0.1', port: 40000 }, { ip: '127.0.0.4', port: 1720 });
    for (const c of cases) {
      const enc = encodeQ931(buildMessage(c.type, c.fields));
      if (!enc.ok) throw new Error(`${c.type}: ${enc.error.message}`);
      const framed = encodeTpkt(enc.value);
      if (!framed.ok) throw new Error(framed.error.message);
      pcap.send(c.fromClient, framed.value);
    }
    dir = mkdtempSync(join(tmpdir(), 'q931-tshark-'));
    const file = join(dir, 'q931.pcap');
    writeFileSync(file, pcap.finish());
    const { stdout } = await run('tshark', ['-r', file, '-V'], { maxBuffer: 64 * 1024 * 1024 });
    frames = parseTsharkFrames(stdout).filter((f) => f.tpkt.length > 0);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tshark finds one TPKT + Q.931 message per segment we wrote', function () {
    if (!hasTshark) this.skip();
    expect(frames).to.have.length(cases.length);
    for (const f of frames) {
      expect(f.tpkt).to.have.length(1);
      expect(f.tpkt[0]!.q931, `frame ${f.number}`).to.not.equal(undefined);
    }
    // The User-user payload reached tshark's H.225.0 dissector (and, per the next test, it was happy).
    cases.forEach((c, k) => {
      expect(frames[k]!.tpkt[0]!.others.includes('H.225.0 CS'), c.type).to.equal(c.fields.userUser !== undefined);
    });
  });

  it('no malformed packet and no expert warning or error in any frame', function () {
    if (!hasTshark) this.skip();
    for (const f of frames) {
      const bad = f.lines.filter((l) => /Malformed|Expert Info \((Error|Warning)|\[Dissector bug/.test(l));
      expect(bad, `frame ${f.number}`).to.deep.equal([]);
    }
  });

  it('tshark reads back the message type, call reference and IE values we set', function () {
    if (!hasTshark) this.skip();
    cases.forEach((c, k) => {
      const q = frames[k]!.tpkt[0]!.q931!;
      expect(field(q.fields, 'Message type'), c.type).to.equal(c.tsharkType);
      expect(parseInt(field(q.fields, 'Call reference value') ?? 'x', 16), c.type).to.equal(0x1234);
      expect(field(q.fields, 'Call reference flag'), c.type).to.equal(
        c.fromClient ? 'Message sent from originating side' : 'Message sent to originating side',
      );
      c.check(q.ies);
    });
  });
});
