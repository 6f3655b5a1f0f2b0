/**
 * `gatewayctl doctor`: checks what a gateway needs before it can take calls, in dependency
 * order, each with a bounded time, and reports one row per check. Every check talks to the real
 * thing on the wire (drachtio authenticate, FreeSWITCH ESL auth, a GnuGk LRQ ping), never a mock.
 * Exit code: 0 when all pass, else the code of the first failing check (see DOCTOR_CODES).
 */
import { connect, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { GatewayConfig } from '../config/gateway-config.js';
import { loadConfig, type Env } from '../config/gateway-config.js';
import { FileRegistry } from '../registry/store.js';
import { verifyAuditDir } from '../audit/verify.js';
import { decodeRas, encodeRas, ras, aliasFromString, ipAddress } from '../h323/ras/messages.js';

export const DOCTOR_CODES = {
  config: 10,
  registry: 11,
  audit: 12,
  drachtio: 13,
  freeswitch: 14,
  gnugk: 15,
  redis: 16,
  clock: 17,
} as const;

export type CheckName = keyof typeof DOCTOR_CODES;

export interface CheckResult {
  check: CheckName;
  status: 'ok' | 'fail' | 'skip';
  detail: string;
  ms: number;
}

export interface DoctorTargets {
  /** Event socket of FreeSWITCH, when the deployment has one. */
  freeswitch?: { host: string; port: number; secret: string };
  /** Redis shared state, when configured. */
  redis?: { url: string };
}

const TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); })]).finally(() => clearTimeout(t));
}

/** Reads from a socket until `onData(buffer)` returns a verdict; gives up (and closes) at the deadline. */
function converse(sock: Socket, onData: (buf: string) => string | undefined, timeoutMs = TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('close', () => clearTimeout(timer));
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const v = onData(buf);
      if (v !== undefined) resolve(v);
    });
    sock.once('error', reject);
    sock.once('close', () => reject(new Error('connection closed')));
  });
}

function tcp(host: string, port: number, timeoutMs = TIMEOUT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, timeout: timeoutMs }, () => {
      s.setTimeout(0);
      resolve(s);
    });
    s.once('timeout', () => {
      s.destroy();
      reject(new Error(`cannot connect within ${timeoutMs} ms`));
    });
    s.once('error', reject);
  });
}

/** drachtio's control protocol: `<len>#<id>|authenticate|<secret>|` -> `...|response|<id>|OK|...`. */
export async function checkDrachtio(host: string, port: number, secret: string, timeoutMs = TIMEOUT_MS): Promise<string> {
  const sock = await tcp(host, port, timeoutMs);
  try {
    const id = randomUUID();
    const payload = `${id}|authenticate|${secret}|`;
    const reply = converse(sock, (buf) => {
      const m = /^(\d+)#/.exec(buf);
      if (!m) return undefined;
      const len = Number(m[1]);
      const body = Buffer.from(buf.slice(m[0].length), 'utf8');
      if (body.length < len) return undefined;
      return body.subarray(0, len).toString('utf8');
    }, timeoutMs);
    sock.write(`${Buffer.byteLength(payload)}#${payload}`);
    const text = await reply;
    const tokens = text.split('|');
    if (tokens[1] !== 'response' || tokens[2] !== id) throw new Error('unexpected reply from the control port');
    if (tokens[3] !== 'OK') throw new Error(`authentication refused: ${tokens.slice(4).join(' ') || 'NO'}`);
    return `authenticated; SIP on ${tokens[4] ?? '?'}; server ${tokens[5] ?? '?'}`;
  } finally {
    sock.destroy();
  }
}

/** FreeSWITCH event socket: `auth/request` -> `auth <secret>` -> `+OK accepted`. */
export async function checkEsl(host: string, port: number, secret: string, timeoutMs = TIMEOUT_MS): Promise<string> {
  const sock = await tcp(host, port, timeoutMs);
  try {
    let asked = false;
    const reply = converse(sock, (buf) => {
      if (!asked && buf.includes('auth/request')) {
        asked = true;
        sock.write(`auth ${secret}\n\n`);
        return undefined;
      }
      const m = /Reply-Text: ([^\n]*)\n/.exec(buf);
      return asked && m ? (m[1] as string) : undefined;
    }, timeoutMs);
    const r = await reply;
    if (!r.startsWith('+OK')) throw new Error(`authentication refused: ${r}`);
    return 'event socket authenticated';
  } finally {
    sock.destroy();
  }
}

/** An LRQ for GnuGk's own monitoring alias: any LCF/LRJ means GnuGk hears us and answers. */
export async function checkGnuGk(host: string, port: number, timeoutMs = TIMEOUT_MS): Promise<string> {
  const sock = createSocket('udp4');
  let timer: NodeJS.Timeout | undefined;
  // A connected UDP socket learns which local address routes to GnuGk: that goes in replyAddress.
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.connect(port, host, () => resolve());
  });
  try {
    const me = sock.address();
    const seq = 1 + Math.floor(Math.random() * 60000);
    const lrq = ras('locationRequest', {
      requestSeqNum: seq,
      destinationInfo: [aliasFromString('gatekeeper-monitoring-check')],
      replyAddress: ipAddress(me.address, me.port),
    });
    const answer = new Promise<string>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      sock.on('message', (buf) => {
        try {
          const m = decodeRas(buf);
          if (m.choice === 'locationConfirm' || m.choice === 'locationReject' || m.choice === 'requestInProgress') resolve(m.choice);
        } catch {
          /* not RAS: keep waiting */
        }
      });
    });
    sock.send(encodeRas(lrq));
    return `answered ${await answer}`;
  } finally {
    clearTimeout(timer);
    sock.close();
  }
}

export async function runDoctor(opts: { configFile?: string; env?: Env; targets?: DoctorTargets; timeoutMs?: number }): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const timeout = opts.timeoutMs ?? TIMEOUT_MS;
  // Each check bounds itself and closes what it opened; the outer bound is a backstop.
  const run = async (check: CheckName, fn: () => Promise<string | undefined>): Promise<void> => {
    const t0 = performance.now();
    try {
      const detail = await withTimeout(fn(), timeout + 500, check);
      results.push(detail === undefined ? { check, status: 'skip', detail: 'not configured', ms: performance.now() - t0 } : { check, status: 'ok', detail, ms: performance.now() - t0 });
    } catch (err) {
      results.push({ check, status: 'fail', detail: err instanceof Error ? err.message : String(err), ms: performance.now() - t0 });
    }
  };
  let cfg: GatewayConfig | undefined;
  await run('config', async () => {
    cfg = loadConfig({ ...(opts.configFile ? { file: opts.configFile } : {}), env: opts.env ?? process.env });
    return `valid (policy ${cfg.policy.enabled ? 'on' : 'off'}, ${cfg.dialPlan.length} route(s)${cfg.h323 ? ', H.323 edge' : ''})`;
  });
  const c = cfg;
  await run('registry', async () => {
    if (!c) throw new Error('config invalid');
    if (!c.policy.enabled) return undefined;
    const r = await FileRegistry.load(c.registry.file);
    if (!r.ok) throw new Error(`${r.errors.length} problem(s), first: ${r.errors[0]}`);
    const entries = await r.registry.list();
    return `${entries.length} entries, ${entries.filter((e) => e.status === 'active').length} active, ${entries.reduce((n, e) => n + e.keys.length, 0)} key(s)`;
  });
  await run('audit', async () => {
    if (!c) throw new Error('config invalid');
    if (!c.policy.enabled) return undefined;
    if (!existsSync(c.audit.dir)) return 'no audit log yet';
    const v = verifyAuditDir(c.audit.dir);
    if (!v.ok) throw new Error(`chain broken at ${v.firstBad?.file}:${v.firstBad?.line} (seq ${v.firstBad?.seq}): ${v.firstBad?.reason}`);
    return `chain intact, ${v.records} records, head seq ${v.head.seq}`;
  });
  await run('drachtio', async () => {
    if (!c) throw new Error('config invalid');
    return checkDrachtio(c.drachtio.host, c.drachtio.port, c.drachtio.secret, timeout);
  });
  await run('freeswitch', async () => {
    const fs = opts.targets?.freeswitch;
    return fs ? checkEsl(fs.host, fs.port, fs.secret, timeout) : undefined;
  });
  await run('gnugk', async () => {
    const gk = c?.h323?.gatekeeper;
    return gk ? checkGnuGk(gk.host, gk.port, timeout) : undefined;
  });
  await run('redis', async () => (opts.targets?.redis ? 'configured (checked by the state layer)' : undefined));
  await run('clock', async () => {
    // Without an outside time source here, report what the identity window allows.
    const window = c?.policy.identityWindowSec ?? 60;
    return `local clock ${new Date().toISOString()}; PASSporT iat window ${window} s (keep NTP in sync)`;
  });
  return results;
}

export function doctorTable(rows: CheckResult[]): string {
  const w = Math.max(...rows.map((r) => r.check.length), 5);
  const lines = rows.map((r) => `${r.check.padEnd(w)}  ${r.status.toUpperCase().padEnd(4)}  ${r.ms.toFixed(0).padStart(5)} ms  ${r.detail}`);
  return [`${'check'.padEnd(w)}  stat  time      detail`, ...lines].join('\n') + '\n';
}

export function doctorExitCode(rows: CheckResult[]): number {
  const bad = rows.find((r) => r.status === 'fail');
  return bad ? DOCTOR_CODES[bad.check] : 0;
}
