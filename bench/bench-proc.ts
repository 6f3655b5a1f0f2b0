/**
 * CPU and memory of another process from /proc (Linux): CPU % is the utime+stime delta over a
 * wall-clock interval (100 % = one core busy), RSS from VmRSS in /proc/<pid>/status.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loadavg, cpus } from 'node:os';

let ticksPerSec: number | undefined;
function clkTck(): number {
  if (ticksPerSec === undefined) {
    try {
      ticksPerSec = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSec = 100;
    }
  }
  return ticksPerSec;
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm (field 2) may contain spaces and parentheses; the fields after the last ')' are fixed.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so utime (field 14) is rest[11] and stime (15) rest[12].
  return (Number(rest[11]) + Number(rest[12])) / clkTck();
}

export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export interface ProcSample {
  /** Seconds since the sampler started. */
  t: number;
  cpuPct: number;
  rssMB: number;
}

/** Samples a process every `intervalMs`; each sample's CPU % covers the interval before it. */
export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastCpu = 0;
  private lastAt = 0;
  private readonly t0 = performance.now();

  constructor(private readonly pid: number, private readonly intervalMs = 1000) {}

  start(): this {
    this.lastCpu = cpuSeconds(this.pid);
    this.lastAt = performance.now();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  private sample(): void {
    try {
      const cpu = cpuSeconds(this.pid);
      const now = performance.now();
      const dt = (now - this.lastAt) / 1000;
      this.samples.push({ t: (now - this.t0) / 1000, cpuPct: dt > 0 ? ((cpu - this.lastCpu) / dt) * 100 : NaN, rssMB: rssBytes(this.pid) / 1048576 });
      this.lastCpu = cpu;
      this.lastAt = now;
    } catch {
      this.stop(); // the process ended
    }
  }

  /** Mean CPU % and max RSS over samples taken after `fromT`. */
  since(fromT: number): { cpuPctMean: number; cpuPctMax: number; rssMBMax: number; rssMBLast: number; n: number } {
    return this.window(fromT, Infinity);
  }

  /** Like since(), over samples taken in (fromT, toT]. */
  window(fromT: number, toT: number): { cpuPctMean: number; cpuPctMax: number; rssMBMax: number; rssMBLast: number; n: number } {
    const s = this.samples.filter((x) => x.t > fromT && x.t <= toT);
    const cpu = s.map((x) => x.cpuPct);
    return {
      cpuPctMean: cpu.length ? cpu.reduce((a, b) => a + b, 0) / cpu.length : NaN,
      cpuPctMax: cpu.length ? Math.max(...cpu) : NaN,
      rssMBMax: s.length ? Math.max(...s.map((x) => x.rssMB)) : NaN,
      rssMBLast: s[s.length - 1]?.rssMB ?? NaN,
      n: s.length,
    };
  }

  elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** What the JSON reports say about the machine the figures came from. */
export function hostConditions(): { loadavg1: number; loadavg5: number; loadavg15: number; cpus: number; cpuModel: string; node: string; platform: string } {
  const [l1, l5, l15] = loadavg();
  return { loadavg1: l1 ?? NaN, loadavg5: l5 ?? NaN, loadavg15: l15 ?? NaN, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, platform: `${process.platform} ${process.arch}` };
}

/**
 * BENCH_GATEWAY_NODE_OPTIONS becomes the gateway process's NODE_OPTIONS (the lab starts it with a
 * fresh environment): e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it under load.
 */
export function gatewayNodeOptions(): Record<string, string> {
  const o = process.env.BENCH_GATEWAY_NODE_OPTIONS;
  return o ? { NODE_OPTIONS: o } : {};
}
