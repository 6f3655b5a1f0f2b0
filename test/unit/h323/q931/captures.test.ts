/**
 * Real GnuGk / H323Plus call signalling (s3a, s3b, s4, s5, s7): every captured TCP payload deframes, every
 * Q.931 message decodes with the IE values Wireshark shows for the same bytes, and re-encodes
 * (Q.931, then TPKT) to exactly the captured octets.
 */
import { expect } from 'chai';
import {
  decodeQ931,
  encodeQ931,
  findIe,
  messageName,
  missingMandatoryIes,
  userUserPayload,
  type Q931Ie,
  type Q931Message,
} from '../../../../lib/h323/q931/index.js';
import { encodeTpkt, TpktDeframer } from '../../../../lib/h323/tpkt/index.js';
import { capturedSegments } from './helpers/fixtures.js';
import { field, ieName, parseTsharkFrames, trailingNumber, type TsharkIe, type TsharkQ931 } from './helpers/tshark-text.js';

const segments = capturedSegments();

const tsharkNames: Record<string, string> = {
  bearerCapability: 'Bearer capability',
  cause: 'Cause',
  callState: 'Call state',
  progressIndicator: 'Progress indicator',
  display: 'Display',
  callingPartyNumber: 'Calling party number',
  calledPartyNumber: 'Called party number',
  userUser: 'User-user',
};

function expectedName(ie: Q931Ie): string {
  if (ie.kind === 'unknown') return ie.id === 0x1c ? 'Facility' : `0x${ie.id.toString(16)}`;
  return tsharkNames[ie.kind] ?? ie.kind;
}

function num(ie: TsharkIe, name: string): number | undefined {
  return trailingNumber(field(ie.fields, name));
}

/** Compare one of our IEs with tshark's view of the same octets. */
function compareIe(ours: Q931Ie, theirs: TsharkIe, where: string): void {
  expect(ieName(theirs), where).to.equal(expectedName(ours));
  switch (ours.kind) {
    case 'bearerCapability':
      expect(num(theirs, 'Coding standard'), where).to.equal(ours.codingStandard);
      expect(num(theirs, 'Information transfer capability'), where).to.equal(ours.transferCapability);
      expect(num(theirs, 'Transfer mode'), where).to.equal(ours.transferMode);
      expect(num(theirs, 'Information transfer rate'), where).to.equal(ours.transferRate);
      expect(num(theirs, 'User information layer 1 protocol'), where).to.equal(ours.layer1Protocol);
      expect(Number(field(theirs.fields, 'Rate multiplier')) || undefined, where).to.equal(ours.rateMultiplier);
      expect(Number(field(theirs.fields, 'Length')), where).to.equal(
        2 + (ours.rateMultiplier === undefined ? 0 : 1) + (ours.layer1Protocol === undefined ? 0 : 1) + (ours.extra?.length ?? 0),
      );
      break;
    case 'cause':
      expect(num(theirs, 'Cause location'), where).to.equal(ours.location);
      expect(num(theirs, 'Coding standard'), where).to.equal(ours.codingStandard);
      expect(num(theirs, 'Cause value'), where).to.equal(ours.value);
      break;
    case 'display':
      // tshark prints the text up to the NUL H323Plus appends.
      expect(field(theirs.fields, 'Display information'), where).to.equal(ours.text.replace(/\0+$/, ''));
      expect(Number(field(theirs.fields, 'Length')), where).to.equal(ours.text.length);
      break;
    case 'callingPartyNumber':
      expect(field(theirs.fields, 'Calling party number digits'), where).to.equal(ours.digits);
      expect(num(theirs, 'Number type'), where).to.equal(ours.numberType);
      expect(num(theirs, 'Numbering plan'), where).to.equal(ours.numberingPlan);
      break;
    case 'calledPartyNumber':
      expect(field(theirs.fields, 'Called party number digits'), where).to.equal(ours.digits);
      expect(num(theirs, 'Number type'), where).to.equal(ours.numberType);
      expect(num(theirs, 'Numbering plan'), where).to.equal(ours.numberingPlan);
      break;
    case 'userUser':
      expect(Number(field(theirs.fields, 'Length')), where).to.equal(ours.payload.length + 1);
      expect(num(theirs, 'Protocol discriminator'), where).to.equal(ours.protocolDiscriminator);
      break;
    case 'unknown':
      expect(Number(field(theirs.fields, 'Length')), where).to.equal(ours.contents.length);
      break;
    default:
      expect.fail(`${where}: no comparison for ${ours.kind}`);
  }
}

function compareMessage(msg: Q931Message, q: TsharkQ931, where: string): void {
  expect(Number(field(q.fields, 'Call reference value length')), where).to.equal(msg.callReference.length);
  expect(field(q.fields, 'Call reference flag'), where).to.equal(
    msg.callReference.flag ? 'Message sent to originating side' : 'Message sent from originating side',
  );
  expect(parseInt(field(q.fields, 'Call reference value') ?? 'x', 16), where).to.equal(msg.callReference.value);
  expect(trailingNumber(field(q.fields, 'Message type')), where).to.equal(msg.messageType);
  expect(msg.ies.map(expectedName), where).to.deep.equal(q.ies.map(ieName));
  msg.ies.forEach((ie, k) => compareIe(ie, q.ies[k]!, `${where} IE #${k}`));
}

describe('h323/q931 captured GnuGk/H323Plus signalling', () => {
  it('has the fixtures (five scenarios, Q.931 and separate H.245)', () => {
    expect(segments.length).to.be.greaterThan(140);
    expect(new Set(segments.map((s) => s.scenario)).size).to.equal(5);
  });

  let q931Count = 0;
  const typesSeen = new Set<string>();
  const kindsSeen = new Set<string>();

  for (const seg of segments) {
    it(`${seg.scenario}/${seg.name}: deframes, decodes as tshark does, re-encodes byte-exact`, () => {
      const deframer = new TpktDeframer();
      const r = deframer.push(seg.bytes);
      expect(r.error).to.equal(undefined);
      expect(deframer.inFrame).to.equal(false);
      const frames = parseTsharkFrames(seg.tsharkText);
      expect(frames).to.have.length(1);
      const tpkt = frames[0]!.tpkt;
      expect(r.frames.map((f) => f.length + 4)).to.deep.equal(tpkt.map((t) => t.length));

      const rebuilt: Buffer[] = [];
      r.frames.forEach((payload, k) => {
        const where = `${seg.name} frame ${k}`;
        const d = decodeQ931(payload);
        const q = tpkt[k]!.q931;
        if (!q) {
          // Separate H.245 channel (s3b): not Q.931, and we say so rather than misreading it.
          expect(tpkt[k]!.others, where).to.include('H.245');
          expect(d.ok, where).to.equal(false);
          if (!d.ok) expect(d.error.code).to.equal('not-q931');
          const framedH245 = encodeTpkt(payload);
          if (framedH245.ok) rebuilt.push(framedH245.value);
          return;
        }
        expect(d.ok, where).to.equal(true);
        if (!d.ok) return;
        const msg = d.value;
        q931Count++;
        typesSeen.add(messageName(msg) ?? 'other');
        for (const ie of msg.ies) kindsSeen.add(ie.kind);
        // No IE was demoted to unknown because we misread it.
        expect(msg.ies.filter((ie) => ie.kind === 'unknown' && ie.problem !== undefined), where).to.deep.equal([]);
        compareMessage(msg, q, where);
        expect(missingMandatoryIes(msg), where).to.deep.equal([]);
        expect(userUserPayload(msg), where).to.be.instanceOf(Uint8Array);
        const enc = encodeQ931(msg);
        expect(enc.ok, where).to.equal(true);
        if (!enc.ok) return;
        expect(Buffer.from(enc.value).equals(Buffer.from(payload)), where).to.equal(true);
        const framed = encodeTpkt(enc.value);
        expect(framed.ok).to.equal(true);
        if (framed.ok) rebuilt.push(framed.value);
      });
      expect(Buffer.concat(rebuilt).toString('hex')).to.equal(seg.bytes.toString('hex'));
    });
  }

  it('covered the message types and IEs the captures hold', () => {
    expect(q931Count).to.be.greaterThan(50);
    expect([...typesSeen].sort()).to.deep.equal(['CallProceeding', 'Connect', 'Facility', 'ReleaseComplete', 'Setup']);
    expect([...kindsSeen].sort()).to.deep.equal([
      'bearerCapability',
      'calledPartyNumber',
      'callingPartyNumber',
      'cause',
      'display',
      'unknown',
      'userUser',
    ]);
  });

  it('reads the Setup of s3a as H323Plus sent it (1001 calls 1002)', () => {
    const seg = segments.find((s) => s.scenario === 's3a-call-tunnelled' && s.name.startsWith('0014-'))!;
    const d = decodeQ931(seg.bytes.subarray(4));
    expect(d.ok).to.equal(true);
    if (!d.ok) return;
    const m = d.value;
    expect(m.callReference).to.deep.equal({ length: 2, value: 0x1924, flag: false });
    expect(messageName(m)).to.equal('Setup');
    expect(findIe(m, 'bearerCapability')).to.deep.equal({
      kind: 'bearerCapability',
      codingStandard: 0,
      transferCapability: 0,
      transferMode: 0,
      transferRate: 0x10,
      layer1Protocol: 5,
    });
    expect(findIe(m, 'display')?.text).to.equal('ep1001\0');
    expect(findIe(m, 'callingPartyNumber')).to.deep.equal({ kind: 'callingPartyNumber', numberType: 0, numberingPlan: 1, digits: '1001' });
    expect(findIe(m, 'calledPartyNumber')?.digits).to.equal('1002');
    const uu = findIe(m, 'userUser')!;
    expect(uu.protocolDiscriminator).to.equal(5);
    expect(uu.payload.length).to.equal(192);
    // First octets of the PER H323-UserInformation: h323-uu-pdu, setup CHOICE.
    expect(Buffer.from(uu.payload.subarray(0, 2)).toString('hex')).to.equal('20b8');
  });

  it('reads the ReleaseComplete cause (normal call clearing, user)', () => {
    const seg = segments.find((s) => s.scenario === 's3a-call-tunnelled' && s.name.startsWith('0750-'))!;
    const d = decodeQ931(seg.bytes.subarray(4));
    expect(d.ok).to.equal(true);
    if (!d.ok) return;
    expect(d.value.callReference.flag).to.equal(true);
    expect(findIe(d.value, 'cause')).to.deep.equal({ kind: 'cause', codingStandard: 0, location: 0, value: 16 });
  });
});
