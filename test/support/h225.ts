/**
 * Reading back the H.225 a test caught on the wire: the Setup UUIE of a Q.931 Setup, and the
 * check that no raw PII is in the bytes (as octets, IA5/latin1, or as BMP, UTF-16BE).
 */
import { expect } from 'chai';
import { decodeUserUser, type Q931Message } from '../../lib/h323/q931/index.js';
import { h225UserUserCodec } from '../../lib/h323/h225/codec.js';

/** The Setup-UUIE of `m`'s User-user IE; throws when it does not decode or is not a Setup. */
export function setupBody(m: Q931Message) {
  const uu = decodeUserUser(m, h225UserUserCodec);
  if (!uu.ok) throw new Error(`User-user: ${JSON.stringify(uu.error)}`);
  const b = uu.value['h323-uu-pdu']['h323-message-body'];
  if (b.choice !== 'setup') throw new Error(`not a Setup: ${b.choice}`);
  return b.value;
}

/** Asserts that none of `pii` is in `wire`, neither as octets nor as BMP (UTF-16BE). */
export function expectNoRawPii(wire: Buffer, pii: readonly string[]): void {
  for (const p of pii) {
    expect(wire.includes(Buffer.from(p, 'latin1')), `${p} (octets)`).to.equal(false);
    expect(wire.includes(Buffer.from(p, 'utf16le').swap16()), `${p} (BMP)`).to.equal(false);
  }
}
