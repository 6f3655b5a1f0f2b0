/**
 * Ports for the real servers. Single ports come from the project's helpers (test/lab/ports.ts:
 * free for UDP and TCP); FreeSWITCH also needs an RTP range, picked here below the ranges those
 * helpers hand out (SIP 12000-19999, SIPp media 20000-31999) and below Linux's ephemeral range,
 * so no socket bound to port 0 lands in it meanwhile.
 */
import dgram from 'node:dgram';
import { freePort, freeSipPort } from '../ports.js';

export { freePort, freeSipPort };

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

export const RTP_RANGE_FLOOR = 10000;
export const RTP_RANGE_CEIL = 11999;

/** `count` consecutive UDP ports free on `host` (an even start: RTP on even, RTCP on odd ports). */
export async function freeRtpRange(count = 500, host = '127.0.0.1'): Promise<{ start: number; end: number }> {
  const slots = Math.floor((RTP_RANGE_CEIL - RTP_RANGE_FLOOR + 1) / count);
  for (let i = 0; i < 100; i++) {
    const start = RTP_RANGE_FLOOR + count * Math.floor(Math.random() * slots);
    let ok = true;
    for (let p = start; p < start + count && ok; p++) ok = await udpFree(p, host);
    if (ok) return { start, end: start + count - 1 };
  }
  throw new Error(`no ${count} consecutive free UDP ports between ${RTP_RANGE_FLOOR} and ${RTP_RANGE_CEIL}`);
}
