/**
 * RTP for the FreeSWITCH double: one UDP port per channel, packet counters, a relay between
 * bridged/conferenced legs (G.711 A-law <-> u-law converted when the legs differ) and a tone
 * source for playback. Counters only: the double never produces jitter, loss or MOS figures.
 */
import dgram from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';

export type G711 = 'PCMU' | 'PCMA';

export interface RtpCounters {
  /** RTP packets received from the far end on this channel's port. */
  rxPackets: number;
  /** RTP packets this channel's port sent to the far end (relayed or generated). */
  txPackets: number;
  /** Payload types seen inbound, with counts. */
  rxPayloadTypes: Record<number, number>;
  /** Of txPackets, those relayed from another leg (bridge/conference), not generated here. */
  relayedTx: number;
  /** Payload types sent, with counts. */
  txPayloadTypes: Record<number, number>;
  /**
   * Of rxPackets, those FreeSWITCH ignores: a payload type the leg's remote SDP did not negotiate
   * ("Could not change to payload type N, ignoring..."), or plain RTP on a leg that negotiated
   * SRTP (unprotect fails). Neither is relayed nor read for DTMF.
   */
  droppedPackets: number;
  /** Dropped packets by payload type. */
  droppedPayloadTypes: Record<number, number>;
  /** Of droppedPackets, those dropped because the leg is SRTP (the double cannot unprotect, as no peer of the tests protects). */
  srtpDropped: number;
}

/** An SDES suite a leg negotiated: its name and the length of the authentication tag it adds. */
export interface SrtpState {
  suite: string;
  tagBytes: number;
}

/** Authentication tag length per FreeSWITCH SDES suite (AEAD tags: _8 = 8 bytes, else 16). */
export const SRTP_TAG_BYTES: Record<string, number> = {
  AEAD_AES_256_GCM_8: 8, AEAD_AES_256_GCM: 16, AEAD_AES_128_GCM_8: 8, AEAD_AES_128_GCM: 16,
  AES_256_CM_HMAC_SHA1_80: 10, AES_192_CM_HMAC_SHA1_80: 10, AES_CM_128_HMAC_SHA1_80: 10,
  AES_256_CM_HMAC_SHA1_32: 4, AES_192_CM_HMAC_SHA1_32: 4, AES_CM_128_HMAC_SHA1_32: 4, AES_CM_128_NULL_AUTH: 0,
};

// ---- G.711 (ITU-T G.711 segment encoding, written from the algorithm description) ----

function ulawToLinear(u: number): number {
  const x = ~u & 0xff;
  const sign = x & 0x80;
  const exp = (x >> 4) & 0x07;
  const mant = x & 0x0f;
  const mag = (((mant << 3) + 0x84) << exp) - 0x84;
  return sign ? -mag : mag;
}

function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, sample));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

function alawToLinear(a: number): number {
  const x = a ^ 0x55;
  const sign = x & 0x80;
  const exp = (x >> 4) & 0x07;
  const mant = x & 0x0f;
  let mag = exp === 0 ? (mant << 4) + 8 : ((mant << 4) + 0x108) << (exp - 1);
  mag = Math.min(mag, 32767);
  return sign ? mag : -mag;
}

function linearToAlaw(sample: number): number {
  let s = Math.max(-32767, Math.min(32767, sample));
  const sign = s >= 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  let out: number;
  if (s < 256) out = s >> 4;
  else {
    let exp = 1;
    while (exp < 7 && s >= 256 << exp) exp++;
    out = (exp << 4) | ((s >> (exp + 3)) & 0x0f);
  }
  return (out | sign) ^ 0x55;
}

const A2U = new Uint8Array(256);
const U2A = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  A2U[i] = linearToUlaw(alawToLinear(i));
  U2A[i] = linearToAlaw(ulawToLinear(i));
}

export function encodeG711(codec: G711, sample: number): number {
  return codec === 'PCMU' ? linearToUlaw(sample) : linearToAlaw(sample);
}

export function decodeG711(codec: G711, byte: number): number {
  return codec === 'PCMU' ? ulawToLinear(byte) : alawToLinear(byte);
}

export function transcodeG711(from: G711, to: G711, payload: Buffer): Buffer {
  if (from === to) return payload;
  const table = from === 'PCMA' ? A2U : U2A;
  const out = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i]!]!;
  return out;
}

export const STATIC_PT: Record<G711, number> = { PCMU: 0, PCMA: 8 };

/** RFC 4733 event codes 0-15. */
export const DTMF_DIGITS = '0123456789*#ABCD';

/**
 * One RFC 4733 telephone-event RTP packet as a far end would send it (payload type 101 by
 * default, duration 800 timestamp units), for tests that play a SIP phone's keypad.
 */
export function telephoneEventPacket(event: number, end: boolean, seq: number, o: { pt?: number; ts?: number; ssrc?: number } = {}): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0x80;
  b[1] = o.pt ?? 101;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(o.ts ?? 4242, 4);
  b.writeUInt32BE(o.ssrc ?? 0xabcdef, 8);
  b[12] = event;
  b[13] = (end ? 0x80 : 0) | 10;
  b.writeUInt16BE(800, 14);
  return b;
}

/** The G.711 law of payload type `pt` on a leg, by its remote SDP's rtpmap (or the static 0/8). */
function g711Of(pt: number, accept: Map<number, string> | undefined): G711 | undefined {
  const name = accept?.get(pt) ?? (pt === 0 ? 'PCMU' : pt === 8 ? 'PCMA' : undefined);
  return name === 'PCMU' || name === 'PCMA' ? name : undefined;
}

/** One channel's media port. */
/** Payload of the double's own video packets (RtpPort#ownVideo). */
export const OWN_VIDEO = Buffer.alloc(120, 0);

export class RtpPort {
  readonly counters: RtpCounters = {
    rxPackets: 0, txPackets: 0, rxPayloadTypes: {}, relayedTx: 0, txPayloadTypes: {}, droppedPackets: 0, droppedPayloadTypes: {}, srtpDropped: 0,
  };
  /**
   * Payload types the leg's remote SDP negotiated, with their encoding names (PCMU, PCMA,
   * TELEPHONE-EVENT, CN, ...). Packets of any other type are dropped and counted (FreeSWITCH
   * ignores them); the telephone-event type `dtmfPt` is always accepted. Unset = accept all.
   */
  accept?: Map<number, string>;
  /** SDES-SRTP negotiated on this leg: packets out carry an auth tag and an unreadable payload, plain RTP in is dropped. */
  srtp?: SrtpState;
  /** A packet was dropped (first time per payload type and reason, for the double's log). */
  onDrop?: (pt: number, reason: 'payload-type' | 'srtp') => void;
  /** Every dropped packet. */
  onDropped?: (pt: number, reason: 'payload-type' | 'srtp') => void;
  private readonly dropSeen = new Set<string>();
  remote?: { address: string; port: number };
  codec: G711 = 'PCMU';
  /** Payload type the far end uses for the negotiated codec (static 0/8). */
  pt = 0;
  dtmfPt = 101;
  /** Where inbound packets go (bridge/conference); set by the double. */
  sink?: (pkt: Buffer, from: RtpPort) => void;
  /** An RFC 4733 telephone-event ended (reported once per event). */
  onDtmf?: (digit: string, durationSamples: number) => void;
  private lastDtmfTs?: number;
  private dtmfTimer?: NodeJS.Timeout;
  private readonly ssrc = randomInt(1, 0x7fffffff);
  private seq = randomInt(0, 0xffff);
  private ts = randomInt(0, 0x7fffffff);
  private tone?: NodeJS.Timeout;
  /**
   * Whether the channel is idle now (see startIdleSilence()): asked every 20 ms. Set by the double
   * from the channel's state (no app producing media, not bridged, not in a conference).
   */
  idle?: () => boolean;
  private silenceTimer?: NodeJS.Timeout;
  private silenceRunning = false;
  private closed = false;
  private readonly keystream = randomBytes(64);

  private constructor(private readonly sock: dgram.Socket, readonly port: number, readonly host: string) {
    sock.on('message', (pkt, rinfo) => this.onPacket(pkt, rinfo));
    sock.on('error', () => undefined);
  }

  static async open(host: string): Promise<RtpPort> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, host, () => resolve());
    });
    return new RtpPort(sock, sock.address().port, host);
  }

  private onPacket(pkt: Buffer, rinfo: dgram.RemoteInfo): void {
    if (pkt.length < 12 || (pkt[0]! & 0xc0) !== 0x80) return; // not RTP v2
    const pt = pkt[1]! & 0x7f;
    if (pt >= 72 && pt <= 76) return; // RTCP on the RTP port (rtcp-mux), not counted as RTP
    this.counters.rxPackets++;
    this.counters.rxPayloadTypes[pt] = (this.counters.rxPayloadTypes[pt] ?? 0) + 1;
    const drop = this.srtp ? 'srtp' : this.accept && pt !== this.dtmfPt && !this.accept.has(pt) ? 'payload-type' : undefined;
    if (drop) {
      this.counters.droppedPackets++;
      this.counters.droppedPayloadTypes[pt] = (this.counters.droppedPayloadTypes[pt] ?? 0) + 1;
      if (drop === 'srtp') this.counters.srtpDropped++;
      this.onDropped?.(pt, drop);
      if (!this.dropSeen.has(`${drop}:${pt}`)) {
        this.dropSeen.add(`${drop}:${pt}`);
        this.onDrop?.(pt, drop);
      }
      return;
    }
    // Symmetric RTP: learn the far end's real source, as FreeSWITCH's auto-adjust does.
    if (!this.remote || this.remote.address !== rinfo.address || this.remote.port !== rinfo.port) {
      if (!(rinfo.address === this.host && rinfo.port === this.port)) this.remote = { address: rinfo.address, port: rinfo.port };
    }
    if (pt === this.dtmfPt) this.onTelephoneEvent(pkt);
    this.sink?.(pkt, this);
  }

  private onTelephoneEvent(pkt: Buffer): void {
    const cc = pkt[0]! & 0x0f;
    const p = pkt.subarray(12 + 4 * cc);
    if (p.length < 4) return;
    const ts = pkt.readUInt32BE(4);
    if ((p[1]! & 0x80) === 0 || this.lastDtmfTs === ts) return; // not the end, or a repeated end packet
    this.lastDtmfTs = ts;
    const digit = DTMF_DIGITS[p[0]!];
    if (digit) this.onDtmf?.(digit, p.readUInt16BE(2));
  }

  /** Send RFC 4733 events for `digits` (each `ms` long, 20 ms packets, end packet sent 3 times). */
  sendDtmf(digits: string, ms = 100): void {
    const events = [...digits].map((d) => DTMF_DIGITS.indexOf(d.toUpperCase())).filter((e) => e >= 0);
    const packets: Array<{ payload: Buffer; marker: boolean; ts: number }> = [];
    let ts = this.ts;
    for (const ev of events) {
      const steps = Math.max(1, Math.round(ms / 20));
      for (let i = 1; i <= steps + 2; i++) {
        const end = i >= steps;
        const b = Buffer.alloc(4);
        b[0] = ev;
        b[1] = (end ? 0x80 : 0) | 10;
        b.writeUInt16BE(Math.min(i, steps) * 160, 2);
        packets.push({ payload: b, marker: i === 1, ts });
      }
      ts = (ts + (steps + 5) * 160) >>> 0;
    }
    const tick = (): void => {
      const next = packets.shift();
      if (!next || this.closed) {
        this.dtmfTimer = undefined;
        this.ts = ts;
        return;
      }
      const saved = this.ts;
      this.ts = next.ts;
      this.sendRaw(this.dtmfPt, next.payload, 0, next.marker);
      this.ts = saved;
      this.dtmfTimer = setTimeout(tick, 20);
    };
    if (!this.dtmfTimer) tick();
  }

  private get sendable(): boolean {
    return !this.closed && !!this.remote && !(this.remote.address === this.host && this.remote.port === this.port);
  }

  /** Forward a packet received by `from` out of this port, converting the G.711 law if needed. */
  relay(pkt: Buffer, from: RtpPort): void {
    if (!this.sendable) return;
    const pt = pkt[1]! & 0x7f;
    const cc = pkt[0]! & 0x0f;
    const headLen = 12 + 4 * cc;
    let payload = pkt.subarray(headLen);
    let outPt: number;
    // the codec of this packet's type: the negotiated one, or another the remote SDP listed
    // (FreeSWITCH switches its read codec to it: "Changing current codec to ...")
    const inCodec = pt === from.pt ? from.codec : pt === from.dtmfPt ? undefined : g711Of(pt, from.accept);
    if (inCodec) {
      payload = transcodeG711(inCodec, this.codec, payload);
      outPt = this.pt;
    } else if (pt === from.dtmfPt) outPt = this.dtmfPt;
    else return; // comfort noise and other types are not relayed
    const samples = inCodec ? payload.length : 0;
    this.counters.relayedTx++;
    this.sendRaw(outPt, payload, samples, (pkt[1]! & 0x80) !== 0);
  }

  /**
   * Video passthrough (FreeSWITCH relays video on a bridge, never transcodes it): the payload goes
   * out unchanged with this leg's payload type.
   */
  forward(pkt: Buffer, outPt: number): void {
    if (!this.sendable || pkt.length < 12) return;
    const cc = pkt[0]! & 0x0f;
    this.counters.relayedTx++;
    this.sendRaw(outPt, pkt.subarray(12 + 4 * cc), 3000, (pkt[1]! & 0x80) !== 0);
  }

  /**
   * Video packets of FreeSWITCH's own: a real 1.10.12 (mod_av) sends a leg that has a video remote
   * a few frames of its own (352x288 H.264) before it relays anything, bridged or not. Stand-ins
   * here (not decodable), so a test sees that packets reach whatever address the leg's video names.
   */
  ownVideo(pt: number, n = 4): void {
    for (let i = 0; i < n; i++) this.sendRaw(pt, OWN_VIDEO, 3000, i === n - 1);
  }

  private sendRaw(pt: number, payload: Buffer, samples: number, marker = false): void {
    if (!this.sendable) return;
    const h = Buffer.alloc(12);
    h[0] = 0x80;
    h[1] = (marker ? 0x80 : 0) | pt;
    h.writeUInt16BE(this.seq, 2);
    h.writeUInt32BE(this.ts >>> 0, 4);
    h.writeUInt32BE(this.ssrc, 8);
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + samples) >>> 0;
    this.counters.txPackets++;
    this.counters.txPayloadTypes[pt] = (this.counters.txPayloadTypes[pt] ?? 0) + 1;
    if (this.srtp) {
      // SRTP as a plain-RTP receiver sees it: the header in clear, the payload unreadable, the tag appended
      const enc = Buffer.allocUnsafe(payload.length);
      for (let i = 0; i < payload.length; i++) enc[i] = payload[i]! ^ this.keystream[i % this.keystream.length]!;
      this.sock.send(Buffer.concat([h, enc, randomBytes(this.srtp.tagBytes)]), this.remote!.port, this.remote!.address);
      return;
    }
    this.sock.send(Buffer.concat([h, payload]), this.remote!.port, this.remote!.address);
  }

  /** Send a tone (sine at `hz`, 20 ms packets) for `ms`; calls `done` when finished or stopped. */
  playTone(hz: number, ms: number, done: () => void): () => void {
    this.stopTone();
    const frames = Math.max(1, Math.round(ms / 20));
    let n = 0;
    let phase = 0;
    const finish = (): void => {
      if (this.tone) clearInterval(this.tone);
      this.tone = undefined;
      done();
    };
    const t = setInterval(() => {
      const payload = Buffer.allocUnsafe(160);
      for (let i = 0; i < 160; i++) {
        payload[i] = encodeG711(this.codec, Math.round(8000 * Math.sin(phase)));
        phase += (2 * Math.PI * hz) / 8000;
      }
      this.sendRaw(this.pt, payload, 160, n === 0);
      if (++n >= frames) finish();
    }, 20);
    this.tone = t;
    return () => {
      if (this.tone === t) finish();
    };
  }

  stopTone(): void {
    if (this.tone) clearInterval(this.tone);
    this.tone = undefined;
  }

  /**
   * FreeSWITCH with `send_silence_when_idle` set (the mrf dialplan sets -1: pure silence) writes a
   * silent frame every 20 ms while the channel sits idle in park or the socket app: as soon as the
   * leg has a remote address, until an app (playback, bridge, conference) produces media, and
   * again after it. Same SSRC and sequence as the leg's other packets; marker on the first frame
   * of each idle spell. Counted in txPackets (not relayedTx).
   */
  startIdleSilence(): void {
    if (this.silenceTimer || this.closed) return;
    const silent = (): Buffer => Buffer.alloc(160, encodeG711(this.codec, 0));
    this.silenceTimer = setInterval(() => {
      if (this.tone || this.dtmfTimer || !this.sendable || !this.idle?.()) {
        this.silenceRunning = false;
        return;
      }
      this.sendRaw(this.pt, silent(), 160, !this.silenceRunning);
      this.silenceRunning = true;
    }, 20);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTone();
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.silenceTimer = undefined;
    this.idle = undefined;
    if (this.dtmfTimer) clearTimeout(this.dtmfTimer);
    this.sink = undefined;
    this.onDtmf = undefined;
    this.onDrop = undefined;
    this.onDropped = undefined;
    this.sock.close();
  }
}
