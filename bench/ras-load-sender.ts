/**
 * LRQ load generator for the RAS latency benchmark, run as a child process (fork from
 * bench/h323-ras.ts) so that its own work and GC pauses do not land in the responder's process.
 *
 * It sends GnuGk's neighbour LRQ (from the captures, requestSeqNum 1..N, replyAddress = this
 * socket) at a fixed rate to the responder, paced by a 1 ms timer (each tick sends what is due,
 * so at 5k/s packets leave in bursts of about five, like a busy neighbour's), timestamps each
 * send and each answer, and reports to the parent over IPC. Sender-side round trips include this
 * process's own scheduling; the parent also reads packet timestamps from a loopback capture.
 */
import { createSocket } from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRas, encodeRas, ipAddress } from '../lib/h323/ras/messages.js';
import { fixture } from '../test/support/paths.js';

export interface SenderJob {
  readonly host: string;
  readonly port: number;
  readonly rate: number;
  readonly total: number;
  /** Give up waiting for answers this long after the last send (ms). */
  readonly drainMs: number;
  /**
   * LRQs sent first at the same rate from another socket (so another source port, excluded from
   * the capture's pairing and from the report), to let the responder's JIT settle.
   */
  readonly warmup: number;
  /** Rate of the warm-up LRQs (default `rate`): faster than a slow run's rate, so the JIT is done. */
  readonly warmupRate?: number;
}

/**
 * Sent to the parent when the warm-up is over; the measured LRQs start when the parent answers
 * with SenderGo (after the responder has taken its CPU/GC snapshot).
 */
export interface SenderReady {
  readonly kind: 'ready';
}

export interface SenderGo {
  readonly kind: 'go';
}

export interface SenderReport {
  readonly kind: 'report';
  readonly sent: number;
  readonly answered: number;
  /** Sender-side round trips (ms), one per answered LRQ. */
  readonly rtts: number[];
  /** UDP port the LRQs left from (to pick them out of a capture). */
  readonly port: number;
  readonly wallMs: number;
}

function gnugkLrq(): Uint8Array {
  const dir = fixture('h323', 'ras', 's1a-ep-ras-and-neighbour-lrq-noreply');
  const f = readdirSync(dir).find((n) => n.startsWith('0006-') && n.endsWith('.hex'))!;
  return Buffer.from(readFileSync(join(dir, f), 'utf8').trim(), 'hex');
}

async function run(job: SenderJob): Promise<SenderReport> {
  if (job.warmup > 0) await phase({ ...job, total: job.warmup, rate: job.warmupRate ?? job.rate });
  return phase(
    job,
    () =>
      new Promise<void>((resolve) => {
        process.once('message', (m: SenderGo) => {
          if (m.kind === 'go') resolve();
        });
        process.send!({ kind: 'ready' } satisfies SenderReady);
      }),
  );
}

async function phase(job: SenderJob, beforeStart?: () => Promise<void>): Promise<SenderReport> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  const base = decodeRas(gnugkLrq());
  if (base.choice !== 'locationRequest') throw new Error('fixture is not an LRQ');
  base.value.replyAddress = ipAddress('127.0.0.1', port);
  const total = Math.min(65535, job.total);
  const packets: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    base.value.requestSeqNum = i + 1;
    packets.push(encodeRas(base));
  }
  const sentAt = new Float64Array(total + 1);
  const rtt = new Float64Array(total + 1).fill(-1);
  let answered = 0;
  let sent = 0;
  let lastSend = 0;
  socket.on('message', (b) => {
    const now = performance.now();
    // LCF/LRJ: CHOICE index octet, then requestSeqNum (1..65535) as an aligned 16-bit offset.
    const seq = ((b[1]! << 8) | b[2]!) + 1;
    if (seq <= total && rtt[seq]! < 0 && sentAt[seq]! > 0) {
      rtt[seq] = now - sentAt[seq]!;
      answered++;
    }
  });
  // Collect the encoding's garbage now, not (on the other core) among the measured LRQs.
  (globalThis as { gc?: () => void }).gc?.();
  await beforeStart?.();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * job.rate));
      while (sent < due) {
        sentAt[sent + 1] = performance.now();
        socket.send(packets[sent]!, job.port, job.host);
        sent++;
      }
      if (sent >= total) {
        clearInterval(timer);
        lastSend = performance.now();
        resolve();
      }
    }, 1);
  });
  // Wait for the answers: finished when all arrived, or drainMs after the last send.
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (answered >= total || performance.now() - lastSend > job.drainMs) {
        clearInterval(check);
        resolve();
      }
    }, 5);
  });
  const wallMs = performance.now() - t0;
  socket.close();
  const rtts: number[] = [];
  for (let i = 1; i <= total; i++) if (rtt[i]! >= 0) rtts.push(rtt[i]!);
  return { kind: 'report', sent, answered, rtts, port, wallMs };
}

process.once('message', (job: SenderJob) => {
  run(job).then(
    (report) => process.send!(report, () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
});
