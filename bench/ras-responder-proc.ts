/**
 * The answering side of the RAS latency benchmark, in a process of its own started with the
 * gateway's V8 flags (fork from bench/h323-ras.ts): either the NeighbourResponder, or a bare UDP
 * echo (the floor: Node's receive and send with no decoding). It reports its own CPU time and GC
 * pauses over the measured LRQs only, so the bench process's pcap parsing never lands in them.
 *
 * Protocol with the parent: after 'start' it answers 'listening' with its port; 'measure' (sent
 * before the measured LRQs leave) is answered 'measuring' once the warm-up's garbage is collected
 * and CPU/GC counting has begun; 'report' when they are over; then 'stop'.
 */
import { createSocket } from 'node:dgram';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { encodeRas, ipAddress, ras } from '../lib/h323/ras/messages.js';
import { NeighbourResponder } from '../lib/h323/ras/neighbour.js';
import { StaticPrefixResolver } from '../lib/h323/ras/resolver.js';

export type ResponderMode = 'responder' | 'echo';

/** GC in the responder's process while the measured LRQs run. */
export interface GcTally {
  scavenges: number;
  markCompacts: number;
  maxPauseMs: number;
  totalPauseMs: number;
}

export type ResponderToParent =
  | { readonly kind: 'listening'; readonly port: number }
  | { readonly kind: 'measuring' }
  | { readonly kind: 'report'; readonly cpuUserUs: number; readonly cpuSystemUs: number; readonly gc: GcTally };

export type ParentToResponder = { readonly kind: 'start'; readonly mode: ResponderMode } | { readonly kind: 'measure' } | { readonly kind: 'report' } | { readonly kind: 'stop' };

interface Answerer {
  start(): Promise<number>;
  stop(): Promise<void>;
}

function neighbourResponder(): Answerer {
  const r = new NeighbourResponder({
    bind: { host: '127.0.0.1', port: 0 },
    callSignalAddress: { host: '127.0.0.1', port: 1720 },
    neighbours: [{ name: 'bench', host: '127.0.0.1' }],
    resolver: new StaticPrefixResolver(['9']),
    rateLimit: { perSecond: 1e9, burst: 1e9 },
    ripAfterMs: 60000,
    lookupTimeoutMs: 65000,
    registry: new Registry(),
  });
  return { start: async () => (await r.start()).port, stop: () => r.stop() };
}

/** An LCF like the responder's for the bench's LRQ (alias 9123), naming `host`. */
export function benchLcf(host: string): Buffer {
  return Buffer.from(
    encodeRas(
      ras('locationConfirm', {
        requestSeqNum: 1,
        callSignalAddress: ipAddress(host, 1720),
        rasAddress: ipAddress(host, 1721),
        destinationInfo: [{ choice: 'dialledDigits', value: '9123' }],
        destinationType: { gateway: {}, mc: false, undefinedNode: false },
      }),
    ),
  );
}

/**
 * Answers each LRQ with a canned LCF whose requestSeqNum is copied from fixed offsets of the
 * bench's LRQ (valid for that LRQ only).
 */
function echoFloor(): Answerer {
  const lcf = benchLcf('127.0.0.1');
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  socket.on('message', (b, rinfo) => {
    const reply = Buffer.from(lcf);
    // requestSeqNum - 1: octets 2-3 of the bench LRQ, octets 1-2 of an LCF.
    reply[1] = b[2]!;
    reply[2] = b[3]!;
    socket.send(reply, rinfo.port, rinfo.address);
  });
  return {
    start: () => new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port))),
    stop: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function watchGc(): { tally: GcTally; stop(): void } {
  const tally: GcTally = { scavenges: 0, markCompacts: 0, maxPauseMs: 0, totalPauseMs: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) tally.scavenges++;
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) tally.markCompacts++;
      tally.maxPauseMs = Math.max(tally.maxPauseMs, e.duration);
      tally.totalPauseMs += e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return { tally, stop: () => obs.disconnect() };
}

let answerer: Answerer | undefined;
let cpu0: NodeJS.CpuUsage | undefined;
let gc: ReturnType<typeof watchGc> | undefined;

function send(m: ResponderToParent): void {
  process.send!(m);
}

// Only as the forked child (h323-ras.ts imports benchLcf from here).
if (process.send && process.argv[1]?.endsWith('ras-responder-proc.ts')) process.on('message', (m: ParentToResponder) => {
  void (async () => {
    switch (m.kind) {
      case 'start':
        answerer = m.mode === 'responder' ? neighbourResponder() : echoFloor();
        send({ kind: 'listening', port: await answerer.start() });
        break;
      case 'measure':
        // The warm-up's garbage is collected now rather than among the measured LRQs; the
        // collections the measured LRQs cause themselves still count.
        (globalThis as { gc?: () => void }).gc?.();
        cpu0 = process.cpuUsage();
        gc = watchGc();
        send({ kind: 'measuring' });
        break;
      case 'report': {
        const cpu = process.cpuUsage(cpu0);
        // GC entries arrive asynchronously; let the last ones in before counting.
        await new Promise((r) => setImmediate(r));
        gc?.stop();
        send({ kind: 'report', cpuUserUs: cpu.user, cpuSystemUs: cpu.system, gc: gc?.tally ?? { scavenges: 0, markCompacts: 0, maxPauseMs: 0, totalPauseMs: 0 } });
        break;
      }
      case 'stop':
        await answerer?.stop();
        process.disconnect();
        break;
    }
  })();
});
