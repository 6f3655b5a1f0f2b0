/** G.711 encoders (ITU-T G.711 segment tables) and a test tone, so the endpoint sends real audio. */

export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

export function linearToAlaw(sample: number): number {
  let s = Math.max(-32767, Math.min(32767, Math.round(sample)));
  const sign = s >= 0 ? 0x80 : 0;
  if (s < 0) s = -s - 1;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = exp === 0 ? (s >> 4) & 0x0f : (s >> (exp + 3)) & 0x0f;
  return (sign | (exp << 4) | mant) ^ 0x55;
}

/** `seconds` of a sine tone at 8 kHz, G.711-encoded ('PCMU' or 'PCMA'). */
export function tone(codec: 'PCMU' | 'PCMA', seconds = 1, hz = 1000, amplitude = 8000): Uint8Array {
  const n = Math.round(8000 * seconds);
  const out = new Uint8Array(n);
  const enc = codec === 'PCMU' ? linearToUlaw : linearToAlaw;
  for (let i = 0; i < n; i++) out[i] = enc(amplitude * Math.sin((2 * Math.PI * hz * i) / 8000));
  return out;
}
