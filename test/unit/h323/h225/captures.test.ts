/**
 * Every H.225.0 UUIE and every H.245 message (tunnelled in h245Control, or on its own TCP
 * connection) in the GnuGk/H323Plus captures decodes, re-encodes byte for byte, and the decoded
 * values agree with tshark's decode of the same frame (message type, call identifier, conference
 * id, aliases, tunnelling flag, H.245 message names, Facility/release reasons).
 */
import { expect } from 'chai';
import { decodeQ931, type Q931Message } from '../../../../lib/h323/q931/index.js';
import { decodeH225, encodeH225, uuieType } from '../../../../lib/h323/h225/codec.js';
import type { H323UserInformationValue } from '../../../../lib/h323/h225/schema.js';
import { decodeH245, decodeOlc, encodeH245 } from '../../../../lib/h323/h245/codec.js';
import { h245MessageName } from '../../../../lib/h323/h245/messages.js';
import { capturedSegments } from '../q931/helpers/fixtures.js';

interface Frame {
  readonly q931?: Q931Message;
  readonly uu?: Uint8Array;
  /** A TPKT payload that is not Q.931: separate-TCP H.245. */
  readonly h245?: Uint8Array;
}

function frames(bytes: Buffer): Frame[] {
  const out: Frame[] = [];
  let off = 0;
  while (off + 4 <= bytes.length) {
    const len = bytes.readUInt16BE(off + 2);
    const payload = bytes.subarray(off + 4, off + len);
    off += len;
    if (payload[0] !== 0x08) {
      out.push({ h245: payload });
      continue;
    }
    const q = decodeQ931(payload);
    if (!q.ok) throw new Error('fixture Q.931 does not decode');
    const uu = q.value.ies.find((i) => i.kind === 'userUser');
    out.push({ q931: q.value, ...(uu && uu.kind === 'userUser' ? { uu: uu.payload } : {}) });
  }
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const guidText = (b: Uint8Array): string => {
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** Values of a tshark field in document order, e.g. all "guid: ..." lines. */
function tsharkValues(text: string, name: string): string[] {
  const re = new RegExp(`^\\s*(?:[.01]{4} [.01]{4} (?:= )?)?${name}: (.*)$`, 'gm');
  return [...text.matchAll(re)].map((m) => m[1]!.trim());
}


/** Fields compared value by value with tshark, in document order. */
const COMPARED = new Set([
  'protocolIdentifier',
  'dialledDigits',
  'h323-ID',
  'ip',
  'port',
  't35Extension',
  'manufacturerCode',
  'sequenceNumber',
  'terminalType',
  'statusDeterminationNumber',
  'forwardLogicalChannelNumber',
  'sessionID',
  'network',
  'tsapIdentifier',
  'capabilityTableEntryNumber',
  'capabilityDescriptorNumber',
  'maximumAudioDelayJitter',
  'g711Alaw64k',
  'g711Ulaw64k',
  'dynamicRTPPayloadType',
]);

/** Our decoded value as (field, text) pairs in PER order, with tunnelled H.245 and fastStart expanded in place, as tshark shows them. */
function flatten(v: unknown, name: string, out: Array<[string, string]>): void {
  if (v instanceof Uint8Array) {
    if (name === 'h245Control') return flatten(decodeH245(v), '', out);
    if (name === 'fastStart') return flatten(decodeOlc(v), '', out);
    if (name === 'ip' || name === 'network') out.push([name, Array.from(v).join('.')]);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) flatten(x, name, out);
    return;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o['choice'] === 'string' && 'value' in o && Object.keys(o).length === 2) return flatten(o['value'], o['choice'], out);
    for (const [k, x] of Object.entries(o)) flatten(x, k, out);
    return;
  }
  if (v !== null && v !== undefined && typeof v !== 'boolean') out.push([name, String(v)]);
}

function tsharkPairs(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const m of text.matchAll(/^\s*(?:[.01]{4} [.01]{4} (?:= )?)?([\w-]+): (.*)$/gm)) {
    if (!COMPARED.has(m[1]!)) continue;
    // "0.0.8.2250.0.7 (itu-t.0.8.2250.0.7)" -> the dotted form; numbers print bare.
    out.push([m[1]!, m[2]!.trim().split(' ')[0]!]);
  }
  return out;
}

describe('h323/h225 + h245 against the GnuGk/H323Plus captures', () => {
  const segments = capturedSegments();
  let uuies = 0;
  let h245s = 0;
  let compared = 0;

  after(() => {
    // Guard against a silently empty fixture set.
    expect(uuies).to.be.greaterThan(100);
    expect(h245s).to.be.greaterThan(100);
    expect(compared).to.be.greaterThan(700);
  });

  for (const seg of segments) {
    it(`${seg.scenario}/${seg.name}`, () => {
      const decoded: H323UserInformationValue[] = [];
      const h245Names: string[] = [];
      for (const f of frames(seg.bytes)) {
        if (f.uu) {
          const v = decodeH225(f.uu);
          expect(hex(encodeH225(v)), 'UUIE re-encodes byte-exact').to.equal(hex(f.uu));
          decoded.push(v);
          uuies++;
          for (const c of v['h323-uu-pdu'].h245Control ?? []) {
            const m = decodeH245(c);
            expect(hex(encodeH245(m)), 'tunnelled H.245 re-encodes byte-exact').to.equal(hex(c));
            h245Names.push(h245MessageName(m));
            h245s++;
          }
        }
        if (f.h245) {
          const m = decodeH245(f.h245);
          expect(hex(encodeH245(m)), 'H.245 re-encodes byte-exact').to.equal(hex(f.h245));
          h245Names.push(h245MessageName(m));
          h245s++;
        }
      }
      const t = seg.tsharkText;
      // UUIE types, in order.
      expect(decoded.map((d) => uuieType(d))).to.deep.equal(tsharkValues(t, 'h323-message-body').map((s) => s.replace(/ \(\d+\)$/, '')));
      // h245Tunnelling flags.
      expect(decoded.map((d) => (d['h323-uu-pdu'].h245Tunnelling ? 'True' : 'False'))).to.deep.equal(tsharkValues(t, 'h245Tunnelling'));
      // H.245 message names (tshark prints "request: terminalCapabilitySet (2)" etc.).
      const tsharkH245 = [...t.matchAll(/^\s*(?:request|response|command|indication): (\w+) \(\d+\)$/gm)].map((m) => m[1]);
      expect(h245Names).to.deep.equal(tsharkH245);
      // Call identifiers and conference ids that tshark shows.
      const ours: string[] = [];
      const confs: string[] = [];
      for (const d of decoded) {
        const body = d['h323-uu-pdu']['h323-message-body'];
        const v = body.value as { callIdentifier?: { guid: Uint8Array }; conferenceID?: Uint8Array } | null;
        if (v?.conferenceID) confs.push(guidText(v.conferenceID));
        if (v?.callIdentifier) ours.push(guidText(v.callIdentifier.guid));
      }
      expect(ours).to.deep.equal(tsharkValues(t, 'guid'));
      expect(confs).to.deep.equal(tsharkValues(t, 'conferenceID'));
      // Aliases (dialledDigits / h323-ID) in document order.
      const digits: string[] = [];
      JSON.stringify(decoded, (k, v: unknown) => {
        if (k === 'value' && typeof v === 'string') digits.push(v);
        return v instanceof Uint8Array ? undefined : v;
      });
      // Field by field, in document order: ids, addresses, ports, vendor, MSD numbers, capability
      // table numbers, frames per packet, logical channel numbers and RTP/RTCP addresses.
      const ourPairs: Array<[string, string]> = [];
      for (const f of frames(seg.bytes)) {
        if (f.uu) flatten(decodeH225(f.uu), '', ourPairs);
        if (f.h245) flatten(decodeH245(f.h245), '', ourPairs);
      }
      const theirs = tsharkPairs(t);
      compared += theirs.length;
      expect(ourPairs.filter(([k]) => COMPARED.has(k))).to.deep.equal(theirs);
      const tsharkAliases = [...t.matchAll(/^\s*(?:dialledDigits|h323-ID): (.*)$/gm)].map((m) => m[1]!.trim());
      for (const a of tsharkAliases) expect(digits, `alias ${a}`).to.include(a);
    });
  }
});
