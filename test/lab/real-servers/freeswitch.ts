/**
 * A real FreeSWITCH from FREESWITCH_BIN, with the project's conf tree (sip-configs/freeswitch, or
 * FS_CONF_DIR) copied to a temp dir and adapted: event socket and the drachtio_mrf profile on
 * loopback and free ports, modules the build does not have left out. The ESL password, RTP range
 * and the SDP address reach the config the way compose passes them: FS_ESL_SECRET, FS_RTP_START,
 * FS_RTP_END, FS_EXT_RTP_IP in FreeSWITCH's environment (env-set lines in the files).
 * Ready once ESL accepts the password and `sofia status` shows drachtio_mrf RUNNING.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { eslApi, runningProfileAddress } from './esl.js';
import { freePort, freeRtpRange, freeSipPort } from './ports.js';
import { binaryFromEnv, spawnServer, stopOnFailure, waitReady, workDir, type ServerProcess } from './process.js';

export const FS_CONF_SOURCE = join(repoRoot, 'sip-configs/freeswitch');

/** Files a conf tree must have for fsmrf to work (checked before FreeSWITCH is started). */
export const REQUIRED_FS_FILES = [
  'freeswitch.xml',
  'vars.xml',
  'autoload_configs/modules.conf.xml',
  'autoload_configs/event_socket.conf.xml',
  'autoload_configs/switch.conf.xml',
  'autoload_configs/sofia.conf.xml',
  'autoload_configs/conference.conf.xml',
  'sip_profiles/mrf.xml',
] as const;

/** Every file under `dir`, keyed by its path relative to `dir` (forward slashes). */
export function readConfTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(relative(dir, p).split('\\').join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/**
 * Sets `<param name="NAME" value="..."/>` in a FreeSWITCH XML file. Exactly one such param must
 * exist: a renamed or duplicated one is an error naming the file, not a silent no-op.
 */
export function setParam(xml: string, name: string, value: string, file = 'config'): string {
  const re = new RegExp(`(<param\\s+name="${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\s+value=")[^"]*("\\s*/>)`, 'g');
  const n = [...xml.matchAll(re)].length;
  if (n !== 1) throw new Error(`${file}: expected one <param name="${name}" .../>, found ${n}`);
  if (/["<>&]/.test(value)) throw new Error(`${file}: value for ${name} may not contain " < > &`);
  return xml.replace(re, (_m, a: string, b: string) => `${a}${value}${b}`);
}

/**
 * modules.conf.xml with the `<load module="mod_x"/>` lines of modules not in `available` turned
 * into comments (FreeSWITCH would only log an error for each, but the log is cleaner and the
 * caller can say which were left out).
 */
export function keepAvailableModules(xml: string, available: ReadonlySet<string>): { xml: string; loaded: string[]; dropped: string[] } {
  const loaded: string[] = [];
  const dropped: string[] = [];
  const out = xml.replace(/<load\s+module="([^"]+)"\s*\/>/g, (m, mod: string) => {
    if (available.has(mod)) {
      loaded.push(mod);
      return m;
    }
    dropped.push(mod);
    return `<!-- ${mod}: not in this FreeSWITCH build -->`;
  });
  return { xml: out, loaded, dropped };
}

/** The module names (`mod_x`) found as `mod_x.so` in a FreeSWITCH module folder. */
export function modulesIn(modDir: string): Set<string> {
  return new Set(readdirSync(modDir).filter((f) => /^mod_.+\.so$/.test(f)).map((f) => f.slice(0, -3)));
}

export interface FreeSwitchConfOptions {
  eslHost: string;
  eslPort: number;
  /** Address and port of the drachtio_mrf profile (SIP and RTP). */
  sipHost: string;
  sipPort: number;
  /** Module names in this build; when given, modules.conf.xml keeps only those. */
  availableModules?: ReadonlySet<string>;
}

/**
 * The conf tree to start FreeSWITCH with: `files` (readConfTree of sip-configs/freeswitch) with
 * the event socket and the drachtio_mrf profile moved to the given addresses and ports, and
 * modules.conf.xml trimmed to the build's modules. Throws naming what is missing when the tree is
 * not complete (fsmrf also needs a dialplan file with the `mrf` context).
 */
export function freeswitchConf(files: ReadonlyMap<string, string>, o: FreeSwitchConfOptions): { files: Map<string, string>; droppedModules: string[] } {
  const missing: string[] = REQUIRED_FS_FILES.filter((f) => !files.has(f));
  const dialplans = [...files.keys()].filter((f) => f.startsWith('dialplan/') && f.endsWith('.xml'));
  if (!dialplans.some((f) => /<context\s+name="mrf"/.test(files.get(f) ?? ''))) missing.push('dialplan/*.xml with <context name="mrf">');
  if (missing.length) throw new Error(`the FreeSWITCH conf tree is not complete, missing: ${missing.join(', ')}`);
  const out = new Map(files);
  const edit = (f: string, fn: (xml: string) => string): void => {
    out.set(f, fn(out.get(f) as string));
  };
  edit('autoload_configs/event_socket.conf.xml', (x) => setParam(setParam(x, 'listen-ip', o.eslHost, 'event_socket.conf.xml'), 'listen-port', String(o.eslPort), 'event_socket.conf.xml'));
  edit('sip_profiles/mrf.xml', (x) => {
    if (!/<profile\s+name="drachtio_mrf">/.test(x)) throw new Error('sip_profiles/mrf.xml: no <profile name="drachtio_mrf">');
    let y = setParam(x, 'sip-ip', o.sipHost, 'sip_profiles/mrf.xml');
    y = setParam(y, 'rtp-ip', o.sipHost, 'sip_profiles/mrf.xml');
    return setParam(y, 'sip-port', String(o.sipPort), 'sip_profiles/mrf.xml');
  });
  let droppedModules: string[] = [];
  if (o.availableModules) {
    const r = keepAvailableModules(out.get('autoload_configs/modules.conf.xml') as string, o.availableModules);
    for (const need of ['mod_event_socket', 'mod_sofia', 'mod_dialplan_xml', 'mod_dptools', 'mod_commands', 'mod_conference']) {
      if (!r.loaded.includes(need)) throw new Error(`FreeSWITCH build lacks ${need} (or modules.conf.xml does not load it); fsmrf cannot work without it`);
    }
    out.set('autoload_configs/modules.conf.xml', r.xml);
    droppedModules = r.dropped;
  }
  return { files: out, droppedModules };
}

/** FreeSWITCH's module folder: FS_MOD_DIR, else `<prefix>/lib/freeswitch/mod` next to the binary. */
export function moduleDir(bin: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.FS_MOD_DIR) return env.FS_MOD_DIR;
  const guess = join(dirname(bin), '..', 'lib', 'freeswitch', 'mod');
  return existsSync(guess) ? guess : undefined;
}

export interface FreeSwitchServer {
  kind: 'freeswitch';
  eslHost: string;
  eslPort: number;
  secret: string;
  /** host:port of the drachtio_mrf profile, as `sofia status` reports it. */
  sip: string;
  rtpStart: number;
  rtpEnd: number;
  droppedModules: string[];
  process: ServerProcess;
  workDir: string;
  /** The variables the suites read (test/e2e/freeswitch-double/harness.ts). */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export interface StartFreeSwitchOptions {
  /** Binary; default FREESWITCH_BIN from `env`. */
  bin?: string;
  env?: NodeJS.ProcessEnv;
  /** Conf tree to copy; default FS_CONF_DIR from `env`, else sip-configs/freeswitch. */
  confDir?: string;
  /** Module folder; default FS_MOD_DIR, else next to the binary. */
  modDir?: string;
  host?: string;
  eslPort?: number;
  sipPort?: number;
  rtp?: { start: number; end: number };
  /** ESL password; default random (never FreeSWITCH's default, which the gateway refuses). */
  secret?: string;
  /** FS_JITTERBUFFER_MSEC for the profile; default the file's (20:150). */
  jitterBufferMsec?: string;
  timeoutMs?: number;
}

export async function startFreeSwitch(o: StartFreeSwitchOptions = {}): Promise<FreeSwitchServer> {
  const env = o.env ?? process.env;
  const bin = o.bin ?? binaryFromEnv('FREESWITCH_BIN', 'FreeSWITCH', env);
  const host = o.host ?? '127.0.0.1';
  const confSource = o.confDir ?? env.FS_CONF_DIR ?? FS_CONF_SOURCE;
  const modDir = o.modDir ?? moduleDir(bin, env);
  const eslPort = o.eslPort ?? (await freePort(host));
  const sipPort = o.sipPort ?? (await freeSipPort(host));
  // 500 ports: each gateway call holds two channels of an RTP/RTCP pair each, so this is room for
  // 125 calls at once (50 calls/s held 500 ms plus their teardown); 100 ports ran out at 50/s
  // ("No audio RTP ports available!", the calls refused with 503). Four such ranges fit below the
  // SIP ports, so test:real's FreeSWITCH and the lab's can run side by side.
  const rtp = o.rtp ?? (await freeRtpRange(500, host));
  const secret = o.secret ?? `fs${randomBytes(12).toString('hex')}`;
  const confOpts: FreeSwitchConfOptions = { eslHost: host, eslPort, sipHost: host, sipPort };
  if (modDir && existsSync(modDir)) confOpts.availableModules = modulesIn(modDir);
  const conf = freeswitchConf(readConfTree(confSource), confOpts);

  const dir = workDir('freeswitch');
  const sub = (n: string): string => {
    const p = join(dir, n);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const confDir = sub('conf');
  for (const [f, text] of conf.files) {
    mkdirSync(dirname(join(confDir, f)), { recursive: true });
    writeFileSync(join(confDir, f), text);
  }
  // -np: normal scheduling. Started as root FreeSWITCH otherwise makes itself SCHED_FIFO and, on
  // a host it shares with the gateway and drachtio-server, starves them: the gateway's ESL
  // `connect` to each outbound socket comes late, FreeSWITCH's waiting sessions spin, and at 50
  // calls/s the calls collapse (docs/media.md, "Performance"). A container without CAP_SYS_NICE
  // gets normal scheduling anyway; a host of its own may keep real-time priority.
  const args = ['-np', '-nonat', '-nc', '-nf', '-conf', confDir, '-log', sub('log'), '-db', sub('db'), '-run', sub('run'),
    '-temp', sub('temp'), '-cache', sub('cache'), '-storage', sub('storage'), '-recordings', sub('recordings')];
  if (modDir) args.push('-mod', modDir);
  const fsEnv: Record<string, string> = {
    FS_ESL_SECRET: secret,
    FS_RTP_START: String(rtp.start),
    FS_RTP_END: String(rtp.end),
    FS_EXT_RTP_IP: host,
  };
  if (o.jitterBufferMsec) fsEnv.FS_JITTERBUFFER_MSEC = o.jitterBufferMsec;
  const sp = spawnServer({ name: 'freeswitch', bin, args, cwd: dir, env: fsEnv, logFile: join(dir, 'freeswitch.stdout.log') });
  const fsLog = join(dir, 'log', 'freeswitch.log');
  const sip = await stopOnFailure(sp, waitReady(sp, `ESL on ${host}:${eslPort} and the drachtio_mrf profile RUNNING`, async () => {
    return runningProfileAddress(await eslApi(host, eslPort, secret, 'sofia status'));
  }, o.timeoutMs ?? 120_000, 250).catch((e: Error) => {
    const tail = existsSync(fsLog) ? readFileSync(fsLog, 'utf8').slice(-4000) : '';
    throw new Error(`${e.message}\n--- ${fsLog}:\n${tail}`);
  }));
  return {
    kind: 'freeswitch',
    eslHost: host,
    eslPort,
    secret,
    sip,
    rtpStart: rtp.start,
    rtpEnd: rtp.end,
    droppedModules: conf.droppedModules,
    process: sp,
    workDir: dir,
    env: () => ({ FS_HOST: host, FS_PORT: String(eslPort), FS_SECRET: secret, FS_SIP: sip }),
    stop: () => sp.stop(20_000),
  };
}
