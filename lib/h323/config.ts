/**
 * H.323 edge configuration: the RAS socket GnuGk calls us on, its neighbour entries, our zone
 * (prefixes/aliases we answer LCF for), the optional registration with GnuGk and its status
 * port. validateH323Config turns untrusted JSON/YAML-parsed input into this type or throws an
 * H323ConfigError naming the bad field (e.g. "h323.neighbours[1].host").
 */
import { FieldError } from '../config/errors.js';
import { fieldChecks } from '../config/checks.js';
import { isIPv4 } from 'node:net';

export interface HostPortConfig {
  readonly host: string;
  readonly port: number;
}

export interface NeighbourConfig {
  readonly name: string;
  readonly host: string;
  readonly port?: number;
  readonly gatekeeperId?: string;
}

export interface H323Config {
  /** UDP socket for LRQs from GnuGk (its neighbour entry points here). */
  readonly ras: HostPortConfig;
  /** Address GnuGk is told to send Setup to (LCF callSignalAddress / RRQ callSignalAddress). */
  readonly callSignalAddress: HostPortConfig;
  /** Address put in LCF rasAddress / replyAddress when the socket binds 0.0.0.0. */
  readonly advertisedRasAddress?: HostPortConfig;
  readonly neighbours: readonly NeighbourConfig[];
  readonly localZone: { readonly prefixes: readonly string[]; readonly aliases: readonly string[] };
  readonly lookup: { readonly ripAfterMs: number; readonly timeoutMs: number };
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  /** GnuGk's RAS address, for LRQs we send and optional registration. */
  readonly gatekeeper?: {
    readonly host: string;
    readonly port: number;
    readonly register: boolean;
    readonly gatekeeperId?: string;
    readonly timeToLive: number;
    readonly aliases: readonly string[];
  };
  readonly statusPort?: HostPortConfig;
}

export class H323ConfigError extends FieldError {
  constructor(field: string, message: string) {
    super(field, message);
    this.name = 'H323ConfigError';
  }
}

const { obj, str, int, num } = fieldChecks(H323ConfigError);





function ipv4(v: unknown, field: string): string {
  const s = str(v, field);
  if (!isIPv4(s)) throw new H323ConfigError(field, 'must be an IPv4 address');
  return s;
}

function hostPort(v: unknown, field: string, allowZeroPort = false): HostPortConfig {
  const o = obj(v, field);
  return { host: ipv4(o['host'], `${field}.host`), port: int(o['port'], `${field}.port`, allowZeroPort ? 0 : 1, 65535) };
}

const DIGITS = /^[0-9#*,]{1,128}$/;

function list(v: unknown, field: string, each: (x: unknown, f: string) => string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new H323ConfigError(field, 'must be an array');
  return v.map((x, i) => each(x, `${field}[${i}]`));
}

/** Validates parsed configuration (the `h323` section); defaults fill optional tuning knobs. */
export function validateH323Config(input: unknown, path = 'h323'): H323Config {
  const o = obj(input, path);
  const neighboursRaw = o['neighbours'];
  if (!Array.isArray(neighboursRaw) || neighboursRaw.length === 0) throw new H323ConfigError(`${path}.neighbours`, 'must list at least one neighbour gatekeeper');
  const names = new Set<string>();
  const neighbours = neighboursRaw.map((n, i): NeighbourConfig => {
    const f = `${path}.neighbours[${i}]`;
    const no = obj(n, f);
    const name = str(no['name'], `${f}.name`);
    if (names.has(name)) throw new H323ConfigError(`${f}.name`, `duplicate neighbour name ${name}`);
    names.add(name);
    return {
      name,
      host: ipv4(no['host'], `${f}.host`),
      ...(no['port'] !== undefined ? { port: int(no['port'], `${f}.port`, 1, 65535) } : {}),
      ...(no['gatekeeperId'] !== undefined ? { gatekeeperId: str(no['gatekeeperId'], `${f}.gatekeeperId`, /^.{1,128}$/, '1..128 characters') } : {}),
    };
  });
  const zone = o['localZone'] === undefined ? {} : obj(o['localZone'], `${path}.localZone`);
  const localZone = {
    prefixes: list(zone['prefixes'], `${path}.localZone.prefixes`, (x, f) => str(x, f, DIGITS, 'dialled digits (0-9#*,)')),
    aliases: list(zone['aliases'], `${path}.localZone.aliases`, (x, f) => str(x, f, /^.{1,256}$/, '1..256 characters')),
  };
  const lk = o['lookup'] === undefined ? {} : obj(o['lookup'], `${path}.lookup`);
  const lookup = {
    ripAfterMs: lk['ripAfterMs'] === undefined ? 250 : int(lk['ripAfterMs'], `${path}.lookup.ripAfterMs`, 1, 60000),
    timeoutMs: lk['timeoutMs'] === undefined ? 3000 : int(lk['timeoutMs'], `${path}.lookup.timeoutMs`, 1, 65535),
  };
  if (lookup.ripAfterMs >= lookup.timeoutMs) throw new H323ConfigError(`${path}.lookup.ripAfterMs`, 'must be less than lookup.timeoutMs');
  const rl = o['rateLimit'] === undefined ? {} : obj(o['rateLimit'], `${path}.rateLimit`);
  const rateLimit = {
    perSecond: rl['perSecond'] === undefined ? 200 : num(rl['perSecond'], `${path}.rateLimit.perSecond`, 0.001),
    burst: rl['burst'] === undefined ? 400 : int(rl['burst'], `${path}.rateLimit.burst`, 1, 1_000_000),
  };
  let gatekeeper: H323Config['gatekeeper'];
  if (o['gatekeeper'] !== undefined) {
    const f = `${path}.gatekeeper`;
    const g = obj(o['gatekeeper'], f);
    const hp = hostPort(g, f);
    if (g['register'] !== undefined && typeof g['register'] !== 'boolean') throw new H323ConfigError(`${f}.register`, 'must be true or false');
    gatekeeper = {
      ...hp,
      register: g['register'] === true,
      ...(g['gatekeeperId'] !== undefined ? { gatekeeperId: str(g['gatekeeperId'], `${f}.gatekeeperId`, /^.{1,128}$/, '1..128 characters') } : {}),
      timeToLive: g['timeToLive'] === undefined ? 300 : int(g['timeToLive'], `${f}.timeToLive`, 10, 86400),
      aliases: list(g['aliases'], `${f}.aliases`, (x, ff) => str(x, ff, /^.{1,256}$/, '1..256 characters')),
    };
  }
  return {
    ras: hostPort(o['ras'], `${path}.ras`, true),
    callSignalAddress: hostPort(o['callSignalAddress'], `${path}.callSignalAddress`),
    ...(o['advertisedRasAddress'] !== undefined ? { advertisedRasAddress: hostPort(o['advertisedRasAddress'], `${path}.advertisedRasAddress`) } : {}),
    neighbours,
    localZone,
    lookup,
    rateLimit,
    ...(gatekeeper ? { gatekeeper } : {}),
    ...(o['statusPort'] !== undefined ? { statusPort: hostPort(o['statusPort'], `${path}.statusPort`) } : {}),
  };
}
