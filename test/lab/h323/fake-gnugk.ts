/**
 * A stand-in for GnuGk's RAS port: answers each request with the reply GnuGk really sent in the
 * captures (test/fixtures/h323/ras), changing only requestSeqNum (and addresses that must point
 * at this test process). The codec re-encodes those replies byte-exact, so what goes on the wire
 * is GnuGk's encoding.
 */
import { decodeRas, encodeRas, ipAddress, rasType, requestSeqNum } from '../../../lib/h323/ras/messages.js';
import type { RasMessageValue } from '../../../lib/h323/ras/schema.js';
import { UdpPeer, rasFixture } from './udp-peer.js';

export const GNUGK_REPLIES = {
  gatekeeperConfirm: rasFixture('s3a-call-tunnelled', '0002'),
  registrationConfirm: rasFixture('s3a-call-tunnelled', '0004'),
  admissionConfirm: rasFixture('s4-call-via-neighbour-lcf', '0008'),
  admissionReject: rasFixture('s1c-neighbour-lrq-lrj-arj', '0006'),
  disengageConfirm: rasFixture('s4-call-via-neighbour-lcf', '0752'),
  unregistrationConfirm: rasFixture('s4-call-via-neighbour-lcf', '0758'),
  locationConfirm: rasFixture('s2-lrq-to-gnugk-lcf-lrj', '0004'),
  locationReject: rasFixture('s2-lrq-to-gnugk-lcf-lrj', '0008'),
  disengageRequest: rasFixture('s1b-neighbour-lrq-lcf-acf', '0008'),
};

/** A captured reply with its requestSeqNum replaced (and optionally other fields). */
export function replay(bytes: Buffer, seq: number, edit?: (m: RasMessageValue) => void): Uint8Array {
  const m = decodeRas(bytes);
  (m.value as { requestSeqNum: number }).requestSeqNum = seq;
  edit?.(m);
  return encodeRas(m);
}

export interface Seen {
  msg: RasMessageValue;
  bytes: Buffer;
  from: { host: string; port: number };
}

export type Policy = (req: Seen) => Uint8Array | undefined;

/** Default behaviour: what GnuGk did in the captures (LRQ 5555 -> LRJ, others -> LCF). */
export function gnugkPolicy(gk: UdpPeer, opts: { ttl?: number } = {}): Policy {
  return ({ msg }) => {
    const seq = requestSeqNum(msg)!;
    switch (rasType(msg)) {
      case 'gatekeeperRequest':
        return replay(GNUGK_REPLIES.gatekeeperConfirm, seq, (m) => {
          if (m.choice === 'gatekeeperConfirm') m.value.rasAddress = ipAddress('127.0.0.1', gk.port);
        });
      case 'registrationRequest':
        return replay(GNUGK_REPLIES.registrationConfirm, seq, (m) => {
          if (m.choice === 'registrationConfirm' && opts.ttl !== undefined) m.value.timeToLive = opts.ttl;
        });
      case 'admissionRequest':
        return replay(GNUGK_REPLIES.admissionConfirm, seq);
      case 'disengageRequest':
        return replay(GNUGK_REPLIES.disengageConfirm, seq);
      case 'unregistrationRequest':
        return replay(GNUGK_REPLIES.unregistrationConfirm, seq);
      case 'locationRequest': {
        if (msg.choice !== 'locationRequest') return undefined;
        const a = msg.value.destinationInfo[0];
        return a && a.choice === 'dialledDigits' && a.value === '5555' ? replay(GNUGK_REPLIES.locationReject, seq) : replay(GNUGK_REPLIES.locationConfirm, seq);
      }
      default:
        return undefined;
    }
  };
}

/** Runs a policy on a peer: every request received is recorded and answered (if the policy says so). */
export class FakeGnuGk {
  readonly seen: Seen[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private running = true;

  constructor(
    readonly peer: UdpPeer,
    public policy: Policy,
  ) {
    void this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const r = await this.peer.next();
      if (!this.running) return;
      const s: Seen = { msg: decodeRas(r.bytes), bytes: r.bytes, from: r.from };
      this.seen.push(s);
      const answer = this.policy(s);
      if (answer) await this.peer.send(answer, r.from);
      for (const w of this.waiters.filter((x) => this.seen.length >= x.count)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Resolves once `count` requests in total have been received (and answered). */
  received(count: number): Promise<Seen[]> {
    if (this.seen.length >= count) return Promise.resolve(this.seen.slice(0, count));
    return new Promise((resolve) => this.waiters.push({ count, resolve: () => resolve(this.seen.slice(0, count)) }));
  }

  stop(): void {
    this.running = false;
  }
}
