/**
 * A real GnuGk from GNUGK_BIN, with the project's sip-configs/gnugk/gatekeeper.ini rewritten to a
 * temp copy: Home and the RAS, call-signalling and status ports on loopback, no multicast or
 * broadcast listener, and the [Neighbor::...] entries pointed at the gateway RAS addresses the
 * caller gives (entries left without an address are removed). Everything else in the file
 * (prefixes, LRQ features, routing policy) is taken as it is. Ready once the status port greets.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { freePort } from './ports.js';
import { binaryFromEnv, spawnServer, stopOnFailure, waitReady, workDir, type ServerProcess } from './process.js';

export const GATEKEEPER_INI = join(repoRoot, 'sip-configs/gnugk/gatekeeper.ini');

/** An INI file as GnuGk reads it, kept line by line so comments and order survive a rewrite. */
export class IniFile {
  private lines: string[];

  constructor(text: string) {
    this.lines = text.split(/\r?\n/);
  }

  toString(): string {
    return this.lines.join('\n');
  }

  /** Section names in file order. */
  sections(): string[] {
    return this.lines.map((l) => /^\s*\[([^\]]+)\]\s*$/.exec(l)?.[1]).filter((s): s is string => s !== undefined);
  }

  private bounds(section: string): { start: number; end: number } | undefined {
    const start = this.lines.findIndex((l) => l.trim() === `[${section}]`);
    if (start < 0) return undefined;
    let end = start + 1;
    while (end < this.lines.length && !/^\s*\[/.test(this.lines[end] as string)) end++;
    return { start, end };
  }

  private keyIndex(section: string, key: string): number {
    const b = this.bounds(section);
    if (!b) return -1;
    for (let i = b.start + 1; i < b.end; i++) {
      const m = /^\s*([^;#=][^=]*?)\s*=/.exec(this.lines[i] as string);
      if (m && m[1]!.toLowerCase() === key.toLowerCase()) return i;
    }
    return -1;
  }

  get(section: string, key: string): string | undefined {
    const i = this.keyIndex(section, key);
    return i < 0 ? undefined : (this.lines[i] as string).slice((this.lines[i] as string).indexOf('=') + 1).trim();
  }

  /** Key=value pairs of a section (comments skipped). */
  entries(section: string): Array<[string, string]> {
    const b = this.bounds(section);
    if (!b) return [];
    const out: Array<[string, string]> = [];
    for (let i = b.start + 1; i < b.end; i++) {
      const l = this.lines[i] as string;
      if (/^\s*[;#]/.test(l) || !l.includes('=')) continue;
      out.push([l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]);
    }
    return out;
  }

  /** Sets key in section (replacing the first occurrence, else added after its last setting). */
  set(section: string, key: string, value: string): void {
    const i = this.keyIndex(section, key);
    if (i >= 0) {
      this.lines[i] = `${key}=${value}`;
      return;
    }
    let b = this.bounds(section);
    if (!b) {
      if (this.lines.length && this.lines[this.lines.length - 1] !== '') this.lines.push('');
      this.lines.push(`[${section}]`);
      b = this.bounds(section)!;
    }
    let at = b.end;
    while (at > b.start + 1 && (this.lines[at - 1] as string).trim() === '') at--;
    this.lines.splice(at, 0, `${key}=${value}`);
  }

  removeKey(section: string, key: string): void {
    const i = this.keyIndex(section, key);
    if (i >= 0) this.lines.splice(i, 1);
  }

  removeSection(section: string): void {
    const b = this.bounds(section);
    if (b) this.lines.splice(b.start, b.end - b.start);
  }
}

export interface GatekeeperIniOptions {
  home: string;
  rasPort: number;
  callSignalPort: number;
  statusPort: number;
  /**
   * Gateway RAS addresses (host:port), assigned in file order to the [Neighbor::...] sections
   * listed in [RasSrv::Neighbors]; neighbours without one are removed.
   */
  neighbours: readonly string[];
  /** Extra addresses allowed on the status port (127.0.0.1 always is). */
  statusAllow?: readonly string[];
}

/**
 * The project's gatekeeper.ini with addresses and ports replaced; returns the new text and the
 * neighbour entries as assigned. Throws when the file has no [Gatekeeper::Main] or has fewer
 * neighbour entries than addresses given.
 */
export function gatekeeperIni(text: string, o: GatekeeperIniOptions): { ini: string; name: string; neighbours: Array<{ section: string; host: string }> } {
  const ini = new IniFile(text);
  if (!ini.sections().includes('Gatekeeper::Main')) throw new Error('gatekeeper.ini: no [Gatekeeper::Main] section');
  const main = 'Gatekeeper::Main';
  ini.set(main, 'Home', o.home);
  ini.set(main, 'UnicastRasPort', String(o.rasPort));
  ini.set(main, 'UseMulticastListener', '0');
  // Otherwise GnuGk also binds the RAS port on 0.0.0.0 for broadcast GRQs.
  ini.set(main, 'UseBroadcastListener', '0');
  ini.set(main, 'StatusPort', String(o.statusPort));
  ini.set('RoutedMode', 'CallSignalPort', String(o.callSignalPort));

  const names = ini.entries('RasSrv::Neighbors').map(([k]) => k);
  if (names.length < o.neighbours.length) throw new Error(`gatekeeper.ini lists ${names.length} neighbour(s) in [RasSrv::Neighbors], ${o.neighbours.length} address(es) given`);
  const assigned: Array<{ section: string; host: string }> = [];
  names.forEach((n, i) => {
    const addr = o.neighbours[i];
    if (addr) {
      ini.set(`Neighbor::${n}`, 'Host', addr);
      assigned.push({ section: n, host: addr });
    } else {
      ini.removeKey('RasSrv::Neighbors', n);
      ini.removeSection(`Neighbor::${n}`);
    }
  });
  for (const a of ['127.0.0.1', ...(o.statusAllow ?? [])]) ini.set('GkStatus::Auth', a, 'allow');
  return { ini: ini.toString(), name: ini.get(main, 'Name') ?? '', neighbours: assigned };
}

/** Reads the status port's greeting: resolves with the `Version:` banner text. */
export function statusBanner(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let buf = '';
    const done = (err: Error | undefined, v?: string): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(v ?? '');
    };
    const timer = setTimeout(() => done(new Error(`no banner on the status port: ${JSON.stringify(buf.slice(0, 200))}`)), timeoutMs);
    sock.once('error', (e) => done(e));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const m = /Version:\r?\n([^\r\n]+)\r?\n/.exec(buf);
      if (m) done(undefined, m[1]!.trim());
      else if (/forbidden|denied/i.test(buf)) done(new Error(`status port refused us: ${buf.trim().slice(0, 200)}`));
    });
  });
}

export interface GnuGkServer {
  kind: 'gnugk';
  host: string;
  rasPort: number;
  callSignalPort: number;
  statusPort: number;
  /** Gatekeeper identifier (Name= in the file). */
  name: string;
  neighbours: Array<{ section: string; host: string }>;
  banner: string;
  process: ServerProcess;
  workDir: string;
  iniFile: string;
  stop(): Promise<void>;
}

export interface StartGnuGkOptions {
  bin?: string;
  env?: NodeJS.ProcessEnv;
  iniFile?: string;
  host?: string;
  rasPort?: number;
  callSignalPort?: number;
  statusPort?: number;
  /** Gateway RAS addresses for the neighbour entries (see gatekeeperIni). */
  neighbours?: readonly string[];
  /** GnuGk trace level (-t repeated); default 2. */
  trace?: number;
  timeoutMs?: number;
}

export async function startGnuGk(o: StartGnuGkOptions = {}): Promise<GnuGkServer> {
  const bin = o.bin ?? binaryFromEnv('GNUGK_BIN', 'GnuGk', o.env);
  const host = o.host ?? '127.0.0.1';
  const rasPort = o.rasPort ?? (await freePort(host));
  const callSignalPort = o.callSignalPort ?? (await freePort(host));
  const statusPort = o.statusPort ?? (await freePort(host));
  const g = gatekeeperIni(readFileSync(o.iniFile ?? GATEKEEPER_INI, 'utf8'), { home: host, rasPort, callSignalPort, statusPort, neighbours: o.neighbours ?? [] });
  const dir = workDir('gnugk');
  const iniFile = join(dir, 'gatekeeper.ini');
  writeFileSync(iniFile, g.ini);
  const trace = o.trace ?? 2;
  const args = ['-c', iniFile, '-o', join(dir, 'gnugk.trace.log'), '--pid', join(dir, 'gnugk.pid')];
  if (trace > 0) args.push(`-${'t'.repeat(trace)}`);
  const sp = spawnServer({ name: 'gnugk', bin, args, cwd: dir });
  const banner = await stopOnFailure(sp, waitReady(sp, `its status port ${host}:${statusPort} to greet`, () => statusBanner(host, statusPort), o.timeoutMs ?? 30_000, 200));
  return {
    kind: 'gnugk', host, rasPort, callSignalPort, statusPort, name: g.name, neighbours: g.neighbours, banner, process: sp, workDir: dir, iniFile,
    stop: () => sp.stop(),
  };
}
