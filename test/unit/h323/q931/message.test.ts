/** Q.931 codec behaviour beyond the captures: every IE shape, shifts, unknown IEs, and bad input. */
import { expect } from 'chai';
import {
  buildMessage,
  callReference,
  causeName,
  decodeQ931,
  decodeUserUser,
  encodeQ931,
  encodeUserUser,
  findAllIes,
  findIe,
  H323_SPEECH_BEARER,
  IeId,
  MessageType,
  missingMandatoryIes,
  peekCallReference,
  replyCallReference,
  userUserPayload,
  withUserUser,
  type Q931Message,
  type UserUserCodec,
} from '../../../../lib/h323/q931/index.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function roundTrip(h: string): Q931Message {
  const d = decodeQ931(hex(h));
  if (!d.ok) throw new Error(`decode failed: ${d.error.code} ${d.error.message}`);
  const e = encodeQ931(d.value);
  if (!e.ok) throw new Error(`encode failed: ${e.error.message}`);
  expect(toHex(e.value)).to.equal(h.replace(/\s+/g, ''));
  return d.value;
}

function encodeOk(m: Q931Message): string {
  const e = encodeQ931(m);
  if (!e.ok) throw new Error(e.error.message);
  return toHex(e.value);
}

describe('h323/q931 message codec', () => {
  describe('encoding built messages', () => {
    it('encodes an H.225.0 Setup octet by octet', () => {
      const m = buildMessage('Setup', {
        callReference: callReference(0x1924),
        // Given out of order on purpose: the builder sorts IEs by identifier (Q.931 4.5.1).
        userUser: hex('20b8'),
        calledPartyNumber: { numberType: 0, numberingPlan: 1, digits: '1002' },
        callingPartyNumber: { numberType: 0, numberingPlan: 1, digits: '1001' },
        display: 'ep1001\0',
        bearerCapability: H323_SPEECH_BEARER,
      });
      expect(encodeOk(m)).to.equal(
        '0802192405' + '04038090a5' + '2807' + toHex(Buffer.from('ep1001\0', 'latin1')) + '6c058131303031' + '700581313030' + '32' + '7e0003' + '0520b8',
      );
    });

    it('sets the call reference flag and carries 15-bit values', () => {
      expect(encodeOk(buildMessage('Alerting', { callReference: callReference(0x7fff, true) }))).to.equal('0802ffff01');
      expect(encodeOk(buildMessage('Alerting', { callReference: callReference(1) }))).to.equal('0802000101');
      expect(encodeOk(buildMessage('StatusEnquiry', { callReference: { length: 0, value: 0, flag: false } }))).to.equal('080075');
    });

    it('encodes calling party number with presentation and screening (octet 3a)', () => {
      const m = buildMessage('Setup', {
        callReference: callReference(5),
        callingPartyNumber: { numberType: 1, numberingPlan: 1, presentation: 1, screening: 3, digits: '49' },
      });
      expect(encodeOk(m)).to.equal('0802000505' + '6c04' + '11' + 'a3' + '3439');
    });

    it('encodes cause with recommendation and diagnostics, progress indicator and call state', () => {
      const m = buildMessage('Status', {
        callReference: callReference(7),
        cause: { codingStandard: 0, location: 2, recommendation: 0, value: 31, diagnostics: hex('0102') },
        callState: { codingStandard: 0, value: 10 },
        progressIndicator: { codingStandard: 0, location: 0, description: 8 },
      });
      expect(encodeOk(m)).to.equal('080200077d' + '0805' + '02809f0102' + '14010a' + '1e028088');
      expect(causeName(31)).to.equal('NormalUnspecified');
    });

    it('uses a two-octet length for User-user and accepts a payload beyond 255 octets', () => {
      const payload = new Uint8Array(300).fill(0xab);
      const m = roundTrip(encodeOk(buildMessage('Facility', { callReference: callReference(9), userUser: payload })));
      expect(userUserPayload(m)).to.deep.equal(payload);
      expect(encodeOk(m).slice(10, 16)).to.equal('7e012d');
    });

    it('bearer capability with multirate multiplier (octet 4 extension 0) and extra layer octets', () => {
      const m = roundTrip('0802000105' + '0406' + '88' + '18' + '86' + '25' + 'c0' + '81');
      expect(findIe(m, 'bearerCapability')).to.deep.equal({
        kind: 'bearerCapability',
        codingStandard: 0,
        transferCapability: 8,
        transferMode: 0,
        transferRate: 0x18,
        rateMultiplier: 6,
        layer1Protocol: 5,
        extra: hex('c081'),
      });
    });
  });

  describe('refusing to encode bad values', () => {
    const base = { callReference: callReference(1) };
    const cases: Array<[string, Q931Message]> = [
      ['cause value 200', buildMessage('ReleaseComplete', { ...base, cause: { codingStandard: 0, location: 0, value: 200 } })],
      ['location 16', buildMessage('ReleaseComplete', { ...base, cause: { codingStandard: 0, location: 16, value: 16 } })],
      ['non-integer number type', buildMessage('Setup', { ...base, calledPartyNumber: { numberType: 1.5, numberingPlan: 1, digits: '1' } })],
      ['digits beyond latin1', buildMessage('Setup', { ...base, calledPartyNumber: { numberType: 0, numberingPlan: 1, digits: 'é€' } })],
      ['display > 255 octets', buildMessage('Setup', { ...base, display: 'x'.repeat(256) })],
      ['multirate without multiplier', buildMessage('Setup', { ...base, bearerCapability: { ...H323_SPEECH_BEARER, transferRate: 0x18 } })],
      ['call state 64', buildMessage('Status', { ...base, callState: { codingStandard: 0, value: 64 } })],
      ['call reference 0x8000 in 2 octets', buildMessage('Setup', { callReference: callReference(0x8000) })],
      ['call reference length 5', buildMessage('Setup', { callReference: { length: 5, value: 1, flag: false } })],
      ['message type 0x80', { callReference: callReference(1), messageType: 0x80, ies: [] }],
      ['unknown IE id 0x80', { callReference: callReference(1), messageType: 5, ies: [{ kind: 'unknown', codeset: 0, id: 0x80, contents: new Uint8Array(0) }] }],
      ['message over 65531 octets', buildMessage('Facility', { ...base, userUser: new Uint8Array(65530) })],
    ];
    for (const [name, msg] of cases) {
      it(`refuses ${name}`, () => {
        const r = encodeQ931(msg);
        expect(r.ok).to.equal(false);
      });
    }

    it('refuses a typed IE inside a locking shift to codeset 6', () => {
      const r = encodeQ931({
        callReference: callReference(1),
        messageType: MessageType.Setup,
        ies: [{ kind: 'shift', locking: true, codeset: 6 }, { kind: 'display', text: 'x' }],
      });
      expect(r.ok).to.equal(false);
    });
  });

  describe('decoding', () => {
    it('keeps a multirate bearer capability with octet 4 extension 1 as unknown (not the canonical form)', () => {
      const m = roundTrip('0802000105' + '0404' + '88' + '98' + '86' + 'a5');
      expect(m.ies[0]).to.include({ kind: 'unknown', id: IeId.BearerCapability });
    });

    it('keeps unknown IEs, shifts, single-octet IEs and codeset-6 IEs in order for re-encode', () => {
      // Sending complete (a1), Facility 1c (unknown to us), non-locking shift to 6 + IE 0x01,
      // then codeset-0 display again, then locking shift to 5 and a 0x7e with one-octet length.
      const m = roundTrip('0802000105' + 'a1' + '1c020102' + '9e' + '0101ff' + '280141' + '95' + '7e01aa');
      expect(m.ies.map((i) => i.kind)).to.deep.equal(['singleOctet', 'unknown', 'shift', 'unknown', 'display', 'shift', 'unknown']);
      expect(m.ies[3]).to.deep.equal({ kind: 'unknown', codeset: 6, id: 1, contents: hex('ff') });
      expect(m.ies[6]).to.deep.equal({ kind: 'unknown', codeset: 5, id: 0x7e, contents: hex('aa') });
    });

    it('keeps a typed IE with reserved bits set as unknown, with the reason, byte-exact', () => {
      // Call state is fine; Cause octet 3 has its spare bit 5 set, progress indicator octet 4 lacks ext.
      const m = roundTrip('080200017d' + '0802908f' + '1e028008' + '140101');
      expect(m.ies[0]).to.include({ kind: 'unknown', id: IeId.Cause });
      expect(m.ies[1]).to.include({ kind: 'unknown', id: IeId.ProgressIndicator });
      expect(findIe(m, 'callState')?.value).to.equal(1);
      expect(missingMandatoryIes(m)).to.deep.equal([IeId.Cause]);
    });

    it('repeated IEs are all returned', () => {
      const m = roundTrip('0802000103' + '1e028088' + '1e028281');
      expect(findAllIes(m, 'progressIndicator').map((p) => p.description)).to.deep.equal([8, 1]);
    });

    it('decodes message types it does not know, dummy and one-octet call references', () => {
      expect(roundTrip('080045').messageType).to.equal(MessageType.Disconnect);
      expect(roundTrip('080100' + '4c').callReference).to.deep.equal({ length: 1, value: 0, flag: false });
      expect(roundTrip('08018501').callReference).to.deep.equal({ length: 1, value: 5, flag: true });
      expect(roundTrip('08040000000101').callReference.value).to.equal(1);
    });

    const bad: Array<[string, string, string]> = [
      ['empty', '', 'too-short'],
      ['H.245 on the call signalling channel', '0270010600', 'not-q931'],
      ['two octets', '0802', 'too-short'],
      ['ending in the call reference', '080219', 'too-short'],
      ['spare bits in the call reference length', '081219240501', 'bad-call-reference'],
      ['call reference of 9 octets', '080900', 'bad-call-reference'],
      ['message type with bit 8', '08021924ff', 'bad-message-type'],
      ['IE without length', '0802192405' + '28', 'truncated-ie'],
      ['IE longer than the message', '0802192405' + '2805414243', 'truncated-ie'],
      ['User-user with one length octet', '0802192405' + '7e00', 'truncated-ie'],
      ['User-user longer than the message', '0802192405' + '7e0005050102', 'truncated-ie'],
    ];
    for (const [name, h, code] of bad) {
      it(`refuses ${name} with ${code}`, () => {
        const r = decodeQ931(hex(h));
        expect(r.ok).to.equal(false);
        if (!r.ok) expect(r.error.code).to.equal(code);
      });
    }

    it('refuses more IEs than the cap', () => {
      const r = decodeQ931(hex('0802000105' + 'a1'.repeat(11)), { maxIes: 10 });
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.code).to.equal('too-many-ies');
      expect(decodeQ931(hex('0802000105' + 'a1'.repeat(10)), { maxIes: 10 }).ok).to.equal(true);
    });

    it('does not alias the input buffer: IE bytes survive the frame buffer being reused', () => {
      const buf = hex('08020001627e0003050102' + 'ff');
      const d = decodeQ931(buf.subarray(0, 11));
      buf.fill(0);
      expect(d.ok).to.equal(true);
      if (d.ok) expect(toHex(userUserPayload(d.value)!)).to.equal('0102');
    });
  });

  describe('answering a message that did not decode', () => {
    it('peeks the call reference of a message with a truncated IE and builds the reply reference', () => {
      const bytes = hex('0802192405' + '2805414243');
      expect(decodeQ931(bytes).ok).to.equal(false);
      const cr = peekCallReference(bytes);
      expect(cr).to.deep.equal({ length: 2, value: 0x1924, flag: false });
      expect(replyCallReference(cr!)).to.deep.equal({ length: 2, value: 0x1924, flag: true });
      expect(replyCallReference({ length: 0, value: 0, flag: false })).to.deep.equal({ length: 0, value: 0, flag: false });
    });

    it('returns undefined when there is no call reference to read', () => {
      for (const h of ['', '08', '0270', '0802', '081219', '080900']) expect(peekCallReference(hex(h)), h).to.equal(undefined);
    });
  });

  describe('mandatory IEs', () => {
    it('names what a Setup lacks', () => {
      expect(missingMandatoryIes(buildMessage('Setup', { callReference: callReference(1) }))).to.deep.equal([
        IeId.BearerCapability,
        IeId.UserUser,
      ]);
      expect(missingMandatoryIes(buildMessage('StatusEnquiry', { callReference: callReference(1) }))).to.deep.equal([]);
    });
  });

  describe('User-user hook for the H.225 codec', () => {
    // A stand-in codec: the real one (PER H323-UserInformation) plugs in the same way.
    const codec: UserUserCodec<{ tag: number }> = {
      decode: (p) => (p.length === 1 ? { ok: true, value: { tag: p[0]! } } : { ok: false, error: `length ${p.length}` }),
      encode: (v) => ({ ok: true, value: Uint8Array.of(v.tag) }),
    };

    it('puts a PDU into a message and reads it back', () => {
      const m = buildMessage('Connect', { callReference: callReference(3, true) });
      const withPdu = encodeUserUser(m, codec, { tag: 0x42 });
      expect(withPdu.ok).to.equal(true);
      if (!withPdu.ok) return;
      const wire = encodeOk(withPdu.value);
      expect(wire).to.equal('080280030' + '7' + '7e0002' + '0542');
      const back = decodeQ931(hex(wire));
      expect(back.ok).to.equal(true);
      if (back.ok) expect(decodeUserUser(back.value, codec)).to.deep.equal({ ok: true, value: { tag: 0x42 } });
    });

    it('replaces an existing User-user IE in place', () => {
      const m = withUserUser(buildMessage('Facility', { callReference: callReference(3), userUser: hex('0000'), display: 'a' }), hex('09'));
      expect(m.ies.map((i) => i.kind)).to.deep.equal(['display', 'userUser']);
      expect(userUserPayload(m)).to.deep.equal(hex('09'));
    });

    it('reports a missing payload, a codec refusal and a throwing codec as values', () => {
      const none = buildMessage('Facility', { callReference: callReference(3) });
      expect(decodeUserUser(none, codec)).to.deep.equal({ ok: false, error: 'no-user-user' });
      const two = buildMessage('Facility', { callReference: callReference(3), userUser: hex('0102') });
      expect(decodeUserUser(two, codec)).to.deep.equal({ ok: false, error: { codec: 'length 2' } });
      const throwing: UserUserCodec<number> = {
        decode: () => {
          throw new Error('boom');
        },
        encode: () => {
          throw new Error('boom');
        },
      };
      expect(decodeUserUser(two, throwing).ok).to.equal(false);
      expect(encodeUserUser(two, throwing, 1).ok).to.equal(false);
    });
  });
});
