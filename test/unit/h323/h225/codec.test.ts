/**
 * H.225.0 / H.245 codec API: every message our builders produce decodes back to the same value;
 * the Q.931 User-user hook never throws and reports bad PDUs as errors; unknown extension
 * additions and alternatives (newer peers) survive decode -> encode byte for byte.
 */
import { expect } from 'chai';
import { decodeQ931, encodeQ931, decodeUserUser, encodeUserUser, buildMessage, callReference } from '../../../../lib/h323/q931/index.js';
import { decodeH225, encodeH225, h225UserUserCodec, h225Pdu, ipTransport, transportToHostPort, uuieBody, uuieType } from '../../../../lib/h323/h225/codec.js';
import { decodeH245, encodeH245 } from '../../../../lib/h323/h245/codec.js';
import { codecOf, receiveCodecs, request, terminalCapabilitySet, userInputDigits, fromText, text, h245AddressToHostPort, forwardH2250, reverseH2250 } from '../../../../lib/h323/h245/messages.js';
import { OpenLogicalChannel, type TerminalCapabilitySetValue } from '../../../../lib/h323/h245/schema.js';
import { decode, encode, octetString, PerDecodeError } from '../../../../lib/h323/per/index.js';
import { H323UserInformation, H323UUPDU } from '../../../../lib/h323/h225/schema.js';
import { callSamples, fastStartProposal, h245Samples, tcs } from './samples.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('h323/h225 codec API', () => {
  it('every call-signalling message we build decodes back to the same UUIE value', () => {
    for (const s of callSamples()) {
      const bytes = encodeQ931(s.msg);
      expect(bytes.ok, s.label).to.equal(true);
      const q = decodeQ931(bytes.ok ? bytes.value : new Uint8Array());
      expect(q.ok, s.label).to.equal(true);
      if (!q.ok) continue;
      const uu = decodeUserUser(q.value, h225UserUserCodec);
      expect(uu.ok, s.label).to.equal(true);
      if (!uu.ok) continue;
      expect(uuieType(uu.value), s.label).to.equal(s.body);
      expect(hex(encodeH225(uu.value)), s.label).to.equal(hex(encodeH225(decodeH225(encodeH225(uu.value)))));
    }
  });

  it('the User-user hook reports garbage as an error value, never throws', () => {
    const msg = buildMessage('Setup', { callReference: callReference(1), userUser: Uint8Array.of(0xff, 0x00, 0x13) });
    const r = decodeUserUser(msg, h225UserUserCodec);
    expect(r.ok).to.equal(false);
    const bad = h225UserUserCodec.encode({ 'h323-uu-pdu': { 'h323-message-body': { choice: 'empty', value: null }, h245Tunnelling: 3 as unknown as boolean } });
    expect(bad.ok).to.equal(false);
    const enc = encodeUserUser(buildMessage('Facility', { callReference: callReference(1) }), h225UserUserCodec, h225Pdu('empty', null, { h245Tunnelling: true }));
    expect(enc.ok).to.equal(true);
  });

  it('typed accessors: uuieBody, transport addresses', () => {
    const v = decodeH225(encodeH225(h225Pdu('facility', { protocolIdentifier: '0.0.8.2250.0.7', reason: { choice: 'startH245', value: null }, h245Address: ipTransport('10.1.2.3', 4000) })));
    expect(uuieBody(v, 'facility')?.reason.choice).to.equal('startH245');
    expect(uuieBody(v, 'setup')).to.equal(undefined);
    expect(transportToHostPort(uuieBody(v, 'facility')?.h245Address)).to.deep.equal({ host: '10.1.2.3', port: 4000 });
    expect(() => ipTransport('300.1.1.1', 1)).to.throw();
  });

  it('an unknown UUIE extension addition and an unknown message body survive re-encoding', () => {
    // A newer peer's h323-uu-pdu with one more extension addition than our schema knows.
    const future = {
      ...H323UserInformation,
      root: H323UserInformation.root.map((f) =>
        f.name === 'h323-uu-pdu' ? { ...f, schema: { ...H323UUPDU, ext: [...H323UUPDU.ext, { name: 'future', schema: octetString(), optional: true }] } } : f,
      ),
    } as typeof H323UserInformation;
    const newer = encode(future, { 'h323-uu-pdu': { 'h323-message-body': { choice: 'empty', value: null }, h245Tunnelling: true, future: Uint8Array.of(9, 9) } } as never);
    const v = decodeH225(newer);
    expect(v['h323-uu-pdu'].h245Tunnelling).to.equal(true);
    expect(hex(encodeH225(v))).to.equal(hex(newer));
    const unknownBody = encodeH225({
      'h323-uu-pdu': { 'h323-message-body': { choice: '$unknown', index: 20, value: Uint8Array.of(1, 2, 3) }, h245Tunnelling: false },
    });
    const back = decodeH225(unknownBody);
    expect(back['h323-uu-pdu']['h323-message-body']).to.deep.equal({ choice: '$unknown', index: 20, value: Uint8Array.of(1, 2, 3) });
    expect(hex(encodeH225(back))).to.equal(hex(unknownBody));
  });
});

describe('h323/h245 codec API', () => {
  it('every H.245 message we send round-trips to the same value', () => {
    for (const s of h245Samples()) {
      const b = encodeH245(s.msg);
      expect(decodeH245(b), s.name).to.deep.equal(s.msg);
    }
  });

  it('capability set: codecs read back in order, video and user input included', () => {
    expect(receiveCodecs(tcs)).to.deep.equal(['PCMA', 'PCMU', 'G729', 'G729A', 'G722', 'H263', 'H264']);
    expect(codecOf({ choice: 'audioData', value: { choice: 'g729AnnexAwAnnexB', value: 2 } })).to.equal('G729A');
  });

  it('an unknown capability (future extension alternative) is kept and re-encoded byte-exact', () => {
    const withUnknown: TerminalCapabilitySetValue = {
      ...terminalCapabilitySet({ sequenceNumber: 3, codecs: ['PCMU'] }),
    };
    withUnknown.capabilityTable!.push({ capabilityTableEntryNumber: 99, capability: { choice: '$unknown', index: 45, value: Uint8Array.of(0xde, 0xad) } });
    const bytes = encodeH245(request('terminalCapabilitySet', withUnknown));
    const back = decodeH245(bytes);
    expect(hex(encodeH245(back))).to.equal(hex(bytes));
    expect(receiveCodecs((back.value as { value: TerminalCapabilitySetValue }).value)).to.deep.equal(['PCMU']);
  });

  it('fastStart proposals: transmit proposal carries our RTCP, receive proposal our RTP and RTCP', () => {
    const [tx, rx] = fastStartProposal().map((b) => decode(OpenLogicalChannel, b));
    expect(h245AddressToHostPort(forwardH2250(tx!)?.mediaControlChannel)).to.deep.equal({ host: '127.0.0.1', port: 5001 });
    expect(rx!.forwardLogicalChannelParameters.dataType.choice).to.equal('nullData');
    expect(h245AddressToHostPort(reverseH2250(rx!)?.mediaChannel)).to.deep.equal({ host: '127.0.0.1', port: 5000 });
    expect(hex(encode(OpenLogicalChannel, rx!))).to.equal(hex(fastStartProposal()[1]!));
  });

  it('user input: signal and alphanumeric digits', () => {
    expect(userInputDigits({ choice: 'signal', value: { signalType: '5' } })).to.equal('5');
    expect(userInputDigits({ choice: 'alphanumeric', value: text('12') })).to.equal('12');
    expect(fromText(text('#*'))).to.equal('#*');
  });

  it('refuses values outside their constraints that the PER decoder lets through (fuzz counterexample)', () => {
    // An OpenLogicalChannel whose h222 pcr-pid (INTEGER (0..8191)) reads as 32512 from two octets.
    const bytes = Uint8Array.from([3, 0, 0, 100, 12, 32, 128, 24, 141, 0, 1, 0, 127, 0, 0, 1, 19, 137, 0, 128, 11, 48, 0, 128, 176, 128, 1, 128, 1, 184, 0, 64]);
    expect(() => decodeH245(bytes)).to.throw(PerDecodeError, /outside its constraints|above upper bound/);
  });

  it('refuses (does not mis-decode) root alternatives it does not model', () => {
    // request.multiplexEntrySend (root index 6, not modelled: H.223 only).
    expect(() => decodeH245(Uint8Array.of(0x06, 0x00, 0x00))).to.throw(/MultiplexEntrySend|only supported/);
  });
});
