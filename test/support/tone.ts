/**
 * Tones that tell participants apart on the wire: each source sends its own sine, a listener finds
 * which ones reach it, whether the media server relays packets one by one (the FreeSWITCH double)
 * or mixes them (a real mod_conference). Frequencies are multiples of 50 Hz, so each one is an
 * exact DFT bin of a 20 ms G.711 packet (160 samples) and tones in one mix do not leak into each
 * other's bins.
 */
import { decodeG711, encodeG711, STATIC_PT, type G711 } from '../lab/freeswitch-double/rtp.js';
import { writeRtpPcap, type RtpPcapPacket } from './pcap-write.js';

/** G.711 law of a static payload type (0 PCMU, 8 PCMA); undefined for anything else. */
export function lawOf(pt: number): G711 | undefined {
  return pt === STATIC_PT.PCMU ? 'PCMU' : pt === STATIC_PT.PCMA ? 'PCMA' : undefined;
}

const LINEAR: Record<G711, Float64Array> = { PCMU: new Float64Array(256), PCMA: new Float64Array(256) };
for (let b = 0; b < 256; b++) {
  LINEAR.PCMU[b] = decodeG711('PCMU', b);
  LINEAR.PCMA[b] = decodeG711('PCMA', b);
}
const BASIS = new Map<string, { cos: Float64Array; sin: Float64Array }>();

function basis(hz: number, n: number): { cos: Float64Array; sin: Float64Array } {
  const key = `${hz}/${n}`;
  let b = BASIS.get(key);
  if (!b) {
    b = { cos: new Float64Array(n), sin: new Float64Array(n) };
    for (let i = 0; i < n; i++) {
      b.cos[i] = Math.cos((2 * Math.PI * hz * i) / 8000);
      b.sin[i] = Math.sin((2 * Math.PI * hz * i) / 8000);
    }
    BASIS.set(key, b);
  }
  return b;
}

/** Amplitude (linear 16-bit scale) of the `hz` component of a G.711 payload. */
export function toneAmplitude(payload: Uint8Array, law: G711, hz: number): number {
  const n = payload.length;
  if (n === 0) return 0;
  const lin = LINEAR[law];
  const { cos, sin } = basis(hz, n);
  let re = 0;
  let im = 0;
  for (let i = 0; i < n; i++) {
    const s = lin[payload[i]!]!;
    re += s * cos[i]!;
    im -= s * sin[i]!;
  }
  return (2 * Math.hypot(re, im)) / n;
}

/** `samples` of a sine at `hz`, G.711-encoded, continuing from sample index `from`. */
export function toneSamples(law: G711, hz: number, amplitude: number, from: number, samples: number): Buffer {
  const out = Buffer.allocUnsafe(samples);
  for (let i = 0; i < samples; i++) out[i] = encodeG711(law, Math.round(amplitude * Math.sin((2 * Math.PI * hz * (from + i)) / 8000)));
  return out;
}

const DTMF_EVENTS = '0123456789*#ABCD';

/**
 * A libpcap file of G.711 RTP (Ethernet/IPv4/UDP, 20 ms packets) carrying a sine at `hz`, for
 * SIPp's play_pcap_audio (it rewrites addresses and ports, keeps payload types and timing). With
 * `dtmf`, the keypad digit is pressed every `everyMs` from `firstAtMs` on, as a phone does it:
 * RFC 4733 telephone-events (payload type `pt`, default 101) for 100 ms instead of audio, the end
 * packet sent three times; repeated so that one press lands after the call's media is bridged
 * however late that is.
 */
export function writeTonePcap(path: string, o: {
  packets: number; hz: number; amplitude?: number; codec?: G711;
  dtmf?: { digit: string; everyMs: number; firstAtMs: number; pt?: number };
}): void {
  const codec = o.codec ?? 'PCMA';
  const amplitude = o.amplitude ?? 2000;
  const event = o.dtmf ? DTMF_EVENTS.indexOf(o.dtmf.digit.toUpperCase()) : -1;
  if (o.dtmf && event < 0) throw new Error(`not a DTMF digit: ${o.dtmf.digit}`);
  const PRESS = 5; // 100 ms: packets 0..4, the last three of them end packets
  const packets: RtpPcapPacket[] = [];
  for (let i = 0; i < o.packets; i++) {
    const tMs = i * 20;
    let pt = STATIC_PT[codec];
    let payload: Buffer;
    let ts = i * 160;
    let marker = i === 0;
    const d = o.dtmf;
    const k = d && tMs >= d.firstAtMs ? Math.floor((tMs - d.firstAtMs) / 20) % Math.round(d.everyMs / 20) : -1;
    if (d && k >= 0 && k < PRESS) {
      pt = d.pt ?? 101;
      const startPacket = i - k;
      ts = startPacket * 160;
      marker = k === 0;
      const end = k >= 2;
      payload = Buffer.alloc(4);
      payload[0] = event;
      payload[1] = (end ? 0x80 : 0) | 10;
      payload.writeUInt16BE(Math.min(k + 1, 3) * 160, 2);
    } else payload = toneSamples(codec, o.hz, amplitude, i * 160, 160);
    packets.push({ pt, marker, seq: i, ts, ssrc: 0x70e5 + o.hz, payload, atUs: i * 20_000 });
  }
  writeRtpPcap(path, packets);
}

/** The RFC 4733 event digit of a telephone-event payload, or undefined. */
export function telephoneEventDigit(payload: Uint8Array): string | undefined {
  return payload.length >= 4 ? DTMF_EVENTS[payload[0]!] : undefined;
}

/**
 * Counts, per frequency, the received G.711 packets in which that tone is present (its amplitude
 * at least `fraction` of the amplitude it was sent with). Feed it packets; `waitFor` resolves
 * once every wanted frequency was heard `minPackets` times.
 */
export class ToneListener {
  readonly heard = new Map<number, number>();
  private readonly waiters = new Set<() => void>();
  packets = 0;

  constructor(
    readonly freqs: readonly number[],
    private readonly o: { sentAmplitude: number; fraction?: number } = { sentAmplitude: 2000 },
  ) {}

  /** One RTP packet (header included). Non-G.711 payload types are ignored. */
  rtp(pkt: Buffer): void {
    if (pkt.length < 12 || pkt[0]! >> 6 !== 2) return;
    const law = lawOf(pkt[1]! & 0x7f);
    if (!law) return;
    const payload = pkt.subarray(12 + 4 * (pkt[0]! & 0x0f));
    this.packets++;
    const min = this.o.sentAmplitude * (this.o.fraction ?? 0.3);
    for (const f of this.freqs) if (toneAmplitude(payload, law, f) >= min) this.heard.set(f, (this.heard.get(f) ?? 0) + 1);
    for (const w of [...this.waiters]) w();
  }

  count(hz: number): number {
    return this.heard.get(hz) ?? 0;
  }

  waitFor(freqs: readonly number[], minPackets: number, what: string, timeoutMs = 15_000): Promise<void> {
    const ok = (): boolean => freqs.every((f) => this.count(f) >= minPackets);
    if (ok()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = (): void => {
        if (!ok()) return;
        clearTimeout(timer);
        this.waiters.delete(w);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        const missing = freqs.filter((f) => this.count(f) < minPackets).map((f) => `${f} Hz (${this.count(f)})`);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: not heard ${missing.join(', ')} in ${this.packets} packets`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }
}

/**
 * Sends a sine at `hz` in 20 ms G.711 packets through `send` (e.g. an H.323 lab endpoint's RTP
 * port towards the address the call negotiated) until the returned stop function is called or
 * `packets` were sent.
 */
export function sendTone(send: (pt: number, payload: Buffer, marker: boolean) => void, law: G711, hz: number, o: { amplitude?: number; packets?: number } = {}): () => void {
  let i = 0;
  const one = (): void => {
    send(STATIC_PT[law], toneSamples(law, hz, o.amplitude ?? 2000, i * 160, 160), i === 0);
    i++;
    if (o.packets !== undefined && i >= o.packets) stop();
  };
  const t = setInterval(one, 20);
  const stop = (): void => clearInterval(t);
  one();
  return stop;
}
