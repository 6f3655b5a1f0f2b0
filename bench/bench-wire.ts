/**
 * Set-up times from packet timestamps (tshark over a tcpdump file).
 *
 * SIP: transactions are paired by (Call-ID, CSeq number), so a challenged call (INVITE -> 407,
 * INVITE with credentials -> 200) yields both the time the gateway took on the INVITE that it
 * admitted and the caller-visible time from the first INVITE. Only the leg between the caller
 * and the first hop counts (requests *to* `toPort`, finals *from* it).
 *
 * H.225: each call is one TCP connection (H.245 tunnelled), so Setup and Connect are paired by
 * tshark's tcp.stream; TPKT on a non-standard port is only dissected when told (-d ...,tpkt).
 */
import { tshark } from './bench-capture.js';

export interface SipCallTimes {
  /** INVITEs sent (distinct Call-IDs). */
  calls: number;
  /** Calls whose last INVITE got a 2xx. */
  answered: number;
  /** Final status of the last INVITE of calls not answered (e.g. {503: 3}). */
  rejected: Record<string, number>;
  /** Calls whose last INVITE got no final response in the capture. */
  unanswered: number;
  /** Last INVITE (the admitted one) -> its 2xx, ms. */
  setupMs: number[];
  /** First INVITE -> 2xx, ms (includes any 407 round trip). */
  totalMs: number[];
  /** Epoch ms of the first INVITE and of the last 2xx (achieved rate = answered / span). */
  firstInviteAt: number;
  lastAnswerAt: number;
}

interface Txn {
  sent?: number;
  final?: number;
  status?: number;
}

export async function sipSetupTimes(file: string, toPort: number): Promise<SipCallTimes> {
  const out = await tshark([
    '-r', file, '-n', '-d', `udp.port==${toPort},sip`, '-d', `tcp.port==${toPort},sip`, '-Y', 'sip', '-T', 'fields', '-E', 'separator=\t',
    '-e', 'frame.time_epoch', '-e', 'sip.Call-ID', '-e', 'sip.Method', '-e', 'sip.Status-Code', '-e', 'sip.CSeq.method', '-e', 'sip.CSeq.seq',
    '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'tcp.srcport', '-e', 'tcp.dstport',
  ]);
  const calls = new Map<string, Map<number, Txn>>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [t, ids, methods, statuses, cseqMethods, cseqs, us, ud, ts, td] = line.split('\t');
    const time = Number(t) * 1000;
    const src = Number(us || ts);
    const dst = Number(ud || td);
    // A TCP segment can carry several messages; tshark then lists each field comma-separated.
    const idList = (ids ?? '').split(',');
    const m = (methods ?? '').split(',');
    const s = (statuses ?? '').split(',');
    const cm = (cseqMethods ?? '').split(',');
    const cs = (cseqs ?? '').split(',');
    idList.forEach((id, i) => {
      if (!id || cm[i] !== 'INVITE') return;
      const seq = Number(cs[i]);
      let txns = calls.get(id);
      if (!txns && m[i] === 'INVITE' && dst === toPort) calls.set(id, (txns = new Map()));
      if (!txns) return;
      let txn = txns.get(seq);
      if (!txn) txns.set(seq, (txn = {}));
      // First copy only: retransmissions must not shorten or lengthen the sample.
      if (m[i] === 'INVITE' && dst === toPort && txn.sent === undefined) txn.sent = time;
      const code = Number(s[i]);
      if (code >= 200 && src === toPort && txn.final === undefined) {
        txn.final = time;
        txn.status = code;
      }
    });
  }
  const r: SipCallTimes = { calls: 0, answered: 0, rejected: {}, unanswered: 0, setupMs: [], totalMs: [], firstInviteAt: Infinity, lastAnswerAt: -Infinity };
  for (const txns of calls.values()) {
    const seqs = [...txns.keys()].filter((k) => txns.get(k)!.sent !== undefined).sort((a, b) => a - b);
    if (!seqs.length) continue;
    r.calls++;
    const first = txns.get(seqs[0]!)!;
    const last = txns.get(seqs[seqs.length - 1]!)!;
    r.firstInviteAt = Math.min(r.firstInviteAt, first.sent!);
    if (last.final === undefined) r.unanswered++;
    else if (last.status! < 300) {
      r.answered++;
      r.setupMs.push(last.final - last.sent!);
      r.totalMs.push(last.final - first.sent!);
      r.lastAnswerAt = Math.max(r.lastAnswerAt, last.final);
    } else r.rejected[String(last.status)] = (r.rejected[String(last.status)] ?? 0) + 1;
  }
  return r;
}

export interface H225Times {
  /** Setups seen (TCP connections to the port with a Setup). */
  calls: number;
  connected: number;
  /** Setup -> Connect per call, ms. */
  setupMs: number[];
  /** ReleaseComplete before any Connect, by direction of the first one. */
  releasedBeforeConnect: number;
  firstSetupAt: number;
  lastConnectAt: number;
}

const Q931 = { setup: 0x05, connect: 0x07, releaseComplete: 0x5a } as const;

export async function h225SetupTimes(file: string, port: number): Promise<H225Times> {
  const fields = ['-Y', 'q931', '-T', 'fields', '-E', 'separator=\t', '-e', 'frame.time_epoch', '-e', 'tcp.stream', '-e', 'q931.message_type', '-e', 'tcp.srcport', '-e', 'tcp.dstport'];
  // tshark's TPKT heuristic finds H.225 on any port (tshark 4.0 here); forcing `-d
  // tcp.port==N,tpkt` instead made tshark 4 pick another of the two TPKT dissectors and decode no
  // Q.931 at all, so the decode-as is only the fallback.
  let out = await tshark(['-r', file, '-n', ...fields]);
  if (!out.trim()) out = await tshark(['-r', file, '-n', '-d', `tcp.port==${port},tpkt`, ...fields]);
  const streams = new Map<string, { setup?: number; connect?: number; released?: boolean }>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [t, stream, types, , dp] = line.split('\t');
    const time = Number(t) * 1000;
    const toGw = Number(dp) === port;
    for (const ty of (types ?? '').split(',')) {
      if (!ty) continue;
      const code = Number(ty); // tshark prints 0x05 or 5 depending on version; Number() takes both
      let s = streams.get(stream ?? '');
      if (!s) streams.set(stream ?? '', (s = {}));
      if (code === Q931.setup && toGw && s.setup === undefined) s.setup = time;
      else if (code === Q931.connect && !toGw && s.connect === undefined) s.connect = time;
      else if (code === Q931.releaseComplete && s.connect === undefined) s.released = true;
    }
  }
  const r: H225Times = { calls: 0, connected: 0, setupMs: [], releasedBeforeConnect: 0, firstSetupAt: Infinity, lastConnectAt: -Infinity };
  for (const s of streams.values()) {
    if (s.setup === undefined) continue;
    r.calls++;
    r.firstSetupAt = Math.min(r.firstSetupAt, s.setup);
    if (s.connect !== undefined) {
      r.connected++;
      r.setupMs.push(s.connect - s.setup);
      r.lastConnectAt = Math.max(r.lastConnectAt, s.connect);
    } else if (s.released) r.releasedBeforeConnect++;
  }
  return r;
}

export function pct(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summary(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return { n: s.length, p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99), max: s[s.length - 1] ?? NaN, mean };
}

/** Achieved rate: answered calls over the span from the first request to the last answer. */
export function achievedRate(answered: number, firstAt: number, lastAt: number): number {
  const span = (lastAt - firstAt) / 1000;
  // One call alone has no span; with fewer than two answers a rate means nothing.
  return answered >= 2 && span > 0 ? (answered - 1) / span : NaN;
}
