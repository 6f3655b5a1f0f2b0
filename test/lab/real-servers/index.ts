/**
 * Real servers for `npm run test:real` and `npm run lab`: which ones can run here (binaries from
 * the environment, or servers already running elsewhere), starting them on free loopback ports,
 * the environment the e2e suites read, and stopping everything.
 */
import { rmSync } from 'node:fs';
import { startDrachtio, type DrachtioServer } from './drachtio.js';
import { startFreeSwitch, type FreeSwitchServer } from './freeswitch.js';
import { startGnuGk, type GnuGkServer } from './gnugk.js';
import { binaryFromEnv, MissingBinaryError } from './process.js';
import { freePort } from './ports.js';
import { startSimpH323, type SimpH323Endpoint } from './simph323.js';

export { MissingBinaryError, binaryFromEnv } from './process.js';
export { startDrachtio, drachtioConfig } from './drachtio.js';
export { startFreeSwitch, freeswitchConf } from './freeswitch.js';
export { startGnuGk, gatekeeperIni } from './gnugk.js';
export { startSimpH323, simph323Args } from './simph323.js';

export type ServerName = 'drachtio' | 'freeswitch' | 'gnugk' | 'simph323';

export type PlanEntry =
  | { mode: 'start'; bin: string }
  | { mode: 'external'; detail: string }
  | { mode: 'missing'; why: string };

export type Plan = Record<ServerName, PlanEntry>;

const BIN_VARS: Record<ServerName, [string, string]> = {
  drachtio: ['DRACHTIO_BIN', 'drachtio-server'],
  freeswitch: ['FREESWITCH_BIN', 'FreeSWITCH'],
  gnugk: ['GNUGK_BIN', 'GnuGk'],
  simph323: ['SIMPH323_BIN', 'H323Plus simph323'],
};

function fromBin(name: ServerName, env: NodeJS.ProcessEnv): PlanEntry | undefined {
  const [v, what] = BIN_VARS[name];
  if (!env[v]) return undefined;
  try {
    return { mode: 'start', bin: binaryFromEnv(v, what, env) };
  } catch (e) {
    return { mode: 'missing', why: (e as Error).message };
  }
}

/**
 * What to do for each server, from the environment alone: start it from its binary (…_BIN), use
 * one already running (the suites' own variables), or nothing (with the reason, naming the
 * variable to set).
 */
export function planServers(env: NodeJS.ProcessEnv = process.env): Plan {
  const ext = (vars: string[]): boolean => vars.every((v) => !!env[v]);
  const drachtio = fromBin('drachtio', env)
    ?? (ext(['DRACHTIO_HOST', 'DRACHTIO_PORT', 'DRACHTIO_SECRET', 'DRACHTIO_SIP'])
      ? { mode: 'external', detail: `already running at ${env.DRACHTIO_HOST}:${env.DRACHTIO_PORT}, SIP ${env.DRACHTIO_SIP}` } as const
      : { mode: 'missing', why: 'DRACHTIO_BIN is not set (nor DRACHTIO_HOST/PORT/SECRET/SIP of a running server)' } as const);
  const freeswitch = fromBin('freeswitch', env)
    ?? (ext(['FS_HOST', 'FS_PORT', 'FS_SECRET', 'FS_SIP'])
      ? { mode: 'external', detail: `already running, ESL ${env.FS_HOST}:${env.FS_PORT}, drachtio_mrf ${env.FS_SIP}` } as const
      : { mode: 'missing', why: 'FREESWITCH_BIN is not set (nor FS_HOST/FS_PORT/FS_SECRET/FS_SIP of a running FreeSWITCH)' } as const);
  const gnugk = fromBin('gnugk', env)
    ?? (ext(['GK_ADDR', 'GK_NEIGHBOUR_PORT'])
      ? { mode: 'external', detail: `already running, RAS ${env.GK_ADDR}, neighbour port ${env.GK_NEIGHBOUR_PORT}` } as const
      : { mode: 'missing', why: 'GNUGK_BIN is not set (nor GK_ADDR/GK_NEIGHBOUR_PORT of a running GnuGk)' } as const);
  let simph323: PlanEntry = fromBin('simph323', env) ?? { mode: 'missing', why: 'SIMPH323_BIN is not set' };
  if (simph323.mode === 'start' && gnugk.mode === 'missing') simph323 = { mode: 'missing', why: 'SIMPH323_BIN is set but there is no GnuGk to register with (GNUGK_BIN)' };
  return { drachtio, freeswitch, gnugk, simph323 };
}

/** What each plan entry means for the suites, one line per server. */
export function describePlan(plan: Plan): string[] {
  const effect: Record<ServerName, string> = {
    drachtio: 'SIP suites use the drachtio double',
    freeswitch: 'media suites use the FreeSWITCH double',
    gnugk: 'test/e2e/h323-ras/gnugk-live.test.ts skips',
    simph323: 'no registered H.323 endpoint: test/e2e/h323-call/real-peer.test.ts skips, GK_ALIAS is not registered',
  };
  return (Object.keys(plan) as ServerName[]).map((n) => {
    const p = plan[n];
    if (p.mode === 'start') return `  ${n.padEnd(10)} start ${p.bin}`;
    if (p.mode === 'external') return `  ${n.padEnd(10)} use: ${p.detail}`;
    return `  ${n.padEnd(10)} MISSING: ${p.why} -> ${effect[n]}`;
  });
}

export interface RealServers {
  drachtio?: DrachtioServer;
  freeswitch?: FreeSwitchServer;
  gnugk?: GnuGkServer;
  /** Auto-answering endpoint registered at GnuGk. */
  callee?: SimpH323Endpoint;
  /** Port GnuGk's first neighbour entry points at (the suite or the gateway binds it). */
  neighbourPort?: number;
  /** The variables the e2e suites read, for the servers started here. */
  env: Record<string, string>;
  /** Human-readable lines: what runs where, log files. */
  summary(): string[];
  /** Servers that did not come up (tolerant mode only), with the reason and log tail. */
  failed: Array<{ name: ServerName; error: string }>;
  /** Stops everything started (in reverse order) and waits for each exit. */
  stop(opts?: { removeWorkDirs?: boolean }): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  plan?: Plan;
  /** Alias of the auto-answering simph323 (default 2000, what gnugk-live.test.ts locates). */
  calleeAlias?: string;
  calleeHost?: string;
  calleeFastStart?: boolean;
  /** GnuGk neighbour address (the gateway's RAS); default 127.0.0.1 on a free port. */
  neighbour?: { host: string; port: number };
  /** Called after each server is up (progress output). */
  onReady?: (line: string) => void;
  /**
   * Go on without a server that fails to come up (recorded in `failed`, its suites then use the
   * double or skip) instead of stopping the others and throwing. test:real runs what it can.
   */
  tolerant?: boolean;
}

export async function startRealServers(o: StartOptions = {}): Promise<RealServers> {
  const env = o.env ?? process.env;
  const plan = o.plan ?? planServers(env);
  const started: Array<{ stop(): Promise<void>; workDir: string }> = [];
  const out: RealServers = {
    env: {},
    failed: [],
    summary: () => lines,
    async stop(s = {}) {
      for (const srv of [...started].reverse()) {
        await srv.stop().catch(() => undefined);
        if (s.removeWorkDirs) rmSync(srv.workDir, { recursive: true, force: true });
      }
      started.length = 0;
    },
  };
  const lines: string[] = [];
  const note = (l: string): void => {
    lines.push(l);
    o.onReady?.(l);
  };
  const attempt = async (name: ServerName, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      if (!o.tolerant) throw e;
      out.failed.push({ name, error: (e as Error).message });
      note(`${name} did NOT come up, going on without it: ${(e as Error).message}`);
    }
  };
  try {
    const drachtioPlan = plan.drachtio;
    if (drachtioPlan.mode === 'start') {
      const bin = drachtioPlan.bin;
      await attempt('drachtio', async () => {
        const d = await startDrachtio({ bin, env });
        started.push({ stop: d.stop, workDir: d.workDir });
        out.drachtio = d;
        Object.assign(out.env, d.env());
        note(`drachtio-server ${d.version} pid ${d.process.pid}: control ${d.host}:${d.port}, SIP ${d.sipHost}:${d.sipPort} udp+tcp; log ${d.process.logFile}`);
      });
    }
    const freeswitchPlan = plan.freeswitch;
    if (freeswitchPlan.mode === 'start') {
      const bin = freeswitchPlan.bin;
      await attempt('freeswitch', async () => {
        const f = await startFreeSwitch({ bin, env });
        started.push({ stop: f.stop, workDir: f.workDir });
        out.freeswitch = f;
        Object.assign(out.env, f.env());
        note(`FreeSWITCH pid ${f.process.pid}: ESL ${f.eslHost}:${f.eslPort}, drachtio_mrf ${f.sip}, RTP ${f.rtpStart}-${f.rtpEnd}` +
          `${f.droppedModules.length ? `, not in this build: ${f.droppedModules.join(' ')}` : ''}; conf ${f.workDir}/conf, log ${f.workDir}/log/freeswitch.log`);
      });
    }
    const gnugkPlan = plan.gnugk;
    if (gnugkPlan.mode === 'start') {
      const bin = gnugkPlan.bin;
      await attempt('gnugk', async () => {
        const nb = o.neighbour ?? { host: '127.0.0.1', port: await freePort() };
        const g = await startGnuGk({ bin, env, neighbours: [`${nb.host}:${nb.port}`] });
        started.push({ stop: g.stop, workDir: g.workDir });
        out.gnugk = g;
        out.neighbourPort = nb.port;
        Object.assign(out.env, {
          GK_ADDR: `${g.host}:${g.rasPort}`,
          GK_NEIGHBOUR_PORT: String(nb.port),
          GK_NEIGHBOUR_HOST: nb.host,
          GK_STATUS: `${g.host}:${g.statusPort}`,
          GK_REGISTER: '1',
          // The ini GnuGk runs (gnugk-live.test.ts reads its ping settings from it).
          GK_CONFIG: g.iniFile,
        });
        note(`GnuGk ${g.name} pid ${g.process.pid}: RAS ${g.host}:${g.rasPort}, call signalling ${g.host}:${g.callSignalPort}, status ${g.host}:${g.statusPort}, ` +
          `neighbour ${g.neighbours.map((n) => `${n.section}=${n.host}`).join(' ')}; ini ${g.iniFile}, log ${g.process.logFile}`);
      });
    }
    const simph323Plan = plan.simph323;
    const gk = out.gnugk;
    if (simph323Plan.mode === 'start' && gk) {
      const bin = simph323Plan.bin;
      await attempt('simph323', async () => {
        const g = gk;
        const alias = o.calleeAlias ?? '2000';
        const c = await startSimpH323({
          bin, env, alias, host: o.calleeHost ?? '127.0.0.4', mode: 'answer', fastStart: o.calleeFastStart ?? true,
          gatekeeper: `${g.host}:${g.rasPort}`, statusPort: `${g.host}:${g.statusPort}`,
        });
        started.push({ stop: c.stop, workDir: c.workDir });
        out.callee = c;
        Object.assign(out.env, {
          GK_ALIAS: alias,
          H323_PEER: `${g.host}:${g.callSignalPort}`,
          H323_PEER_NUMBER: alias,
          H323_LOCAL_HOST: '127.0.0.1',
        });
        note(`simph323 ${alias} pid ${c.process.pid}: registered at GnuGk from ${c.host}:${c.port}, auto-answer, fastStart ${o.calleeFastStart ?? true ? 'on' : 'off'}; log ${c.process.logFile}`);
      });
    }
  } catch (e) {
    await out.stop();
    throw e;
  }
  return out;
}

/** True when `e` is a missing/unusable binary (the caller says so instead of failing). */
export function isMissingBinary(e: unknown): e is MissingBinaryError {
  return e instanceof MissingBinaryError;
}

/** The spec files `npm run test:e2e` runs. */
export const E2E_SPEC = 'test/e2e/**/*.test.ts';

/**
 * Mocha's arguments for test:real: the e2e timeout, then the user's arguments; spec files among
 * them replace the default glob (`npm run test:real -- test/e2e/h323-ras/gnugk-live.test.ts`).
 */
export function mochaArgs(userArgs: readonly string[]): string[] {
  const takesValue = /^(--grep|-g|--fgrep|-f|--timeout|-t|--reporter|-R|--slow|-s|--retries|--jobs|-j|--reporter-option|-O)$/;
  const specs = userArgs.filter((a, i) => !a.startsWith('-') && !(i > 0 && takesValue.test(userArgs[i - 1] as string)));
  return ['--timeout', '60000', ...userArgs, ...(specs.length ? [] : [E2E_SPEC])];
}
