/**
 * Stateless digest nonces: base64url(time(6) || random(8) || HMAC-SHA256(secret, realm|time|random)[0..12]).
 * Any gateway instance holding the secret can tell a nonce it issued and its age without shared
 * state; only the nonce-count high-water mark (replay) needs the state store. Several secrets may
 * be given so a rotated-out secret still validates nonces issued just before the rotation.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const TIME_BYTES = 6;
const RAND_BYTES = 8;
const MAC_BYTES = 12;
const TOTAL = TIME_BYTES + RAND_BYTES + MAC_BYTES;
const NONCE_RE = /^[A-Za-z0-9_-]+$/;

export type NonceCheck = { ok: true; issuedAt: number } | { ok: false; reason: 'malformed' | 'bad-mac' | 'future' };

export class NonceService {
  // Raw key bytes (copied): createHmac with a Buffer key measured faster than with a KeyObject.
  private readonly secrets: Buffer[];
  private readonly prefix: Buffer;
  // check() decodes into these instead of allocating per nonce (it never yields, so one set
  // serves every call): the decoded nonce, views of its head and MAC, and prefix || head.
  private readonly decoded = Buffer.alloc(TOTAL + 1);
  private readonly decodedHead = this.decoded.subarray(0, TIME_BYTES + RAND_BYTES);
  private readonly decodedMac = this.decoded.subarray(TIME_BYTES + RAND_BYTES, TOTAL);
  private readonly signed: Buffer;
  constructor(
    secrets: ReadonlyArray<Buffer | string>,
    realm: string,
  ) {
    if (secrets.length === 0) throw new Error('NonceService needs at least one secret');
    this.secrets = secrets.map((s) => Buffer.from(typeof s === 'string' ? Buffer.from(s) : s));
    this.prefix = Buffer.from(`${realm}\u0000`);
    this.signed = Buffer.alloc(this.prefix.length + TIME_BYTES + RAND_BYTES);
    this.prefix.copy(this.signed, 0);
  }

  private mac(secret: Buffer, head: Buffer): Buffer {
    return createHmac('sha256', secret).update(this.prefix).update(head).digest().subarray(0, MAC_BYTES);
  }

  issue(nowMs: number): string {
    const head = Buffer.alloc(TIME_BYTES + RAND_BYTES);
    head.writeUIntBE(Math.floor(nowMs), 0, TIME_BYTES);
    randomBytes(RAND_BYTES).copy(head, TIME_BYTES);
    return Buffer.concat([head, this.mac(this.secrets[0]!, head)]).toString('base64url');
  }

  check(nonce: string, nowMs: number, maxFutureMs = 5000): NonceCheck {
    if (typeof nonce !== 'string' || nonce.length !== 35 || !NONCE_RE.test(nonce)) return { ok: false, reason: 'malformed' };
    if (this.decoded.write(nonce, 0, 'base64url') !== TOTAL) return { ok: false, reason: 'malformed' };
    this.decodedHead.copy(this.signed, this.prefix.length);
    let known = false;
    for (const s of this.secrets) {
      // HMAC over prefix || head in one update: the same MAC as mac() computes.
      if (timingSafeEqual(createHmac('sha256', s).update(this.signed).digest().subarray(0, MAC_BYTES), this.decodedMac)) {
        known = true;
        break;
      }
    }
    if (!known) return { ok: false, reason: 'bad-mac' };
    const issuedAt = this.decodedHead.readUIntBE(0, TIME_BYTES);
    if (issuedAt > nowMs + maxFutureMs) return { ok: false, reason: 'future' };
    return { ok: true, issuedAt };
  }
}
