/**
 * Media (FreeSWITCH via drachtio-fsmrf) configuration. validateMediaConfig turns untrusted parsed
 * input into this type or throws a MediaConfigError naming the bad field (e.g. "media.esl.port").
 */
import { FieldError } from '../config/errors.js';
import { fieldChecks } from '../config/checks.js';
import { isIP } from 'node:net';

export interface MediaConfig {
  /** FreeSWITCH inbound event socket. */
  readonly esl: { readonly host: string; readonly port: number; readonly secret: string };
  /**
   * Where fsmrf listens for FreeSWITCH's outbound ESL connections. Always explicit: fsmrf's own
   * default (the host's first non-loopback IPv4) is unreachable for a FreeSWITCH on loopback.
   */
  readonly listen: { readonly address: string; readonly port: number };
  /** Address/port put in X-esl-outbound instead of `listen` (NAT, proxies). */
  readonly advertised?: { readonly address: string; readonly port: number };
  /** Sofia profile fsmrf INVITEs (default drachtio_mrf). */
  readonly profile: string;
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number; readonly connectTimeoutMs: number };
  /**
   * jitterbuffer_msec ("len[:max[:drift]]", e.g. 20:150) the gateway sets on each leg with an ESL
   * `execute jitterbuffer`; null (the default) leaves it to FreeSWITCH's sofia profile
   * (auto-jitterbuffer-msec, which sip-configs/freeswitch sets to 20:150 for every leg).
   */
  readonly jitterBufferMsec: string | null;
  /** How long a leg's hangup may take before `uuid_kill` is used. */
  readonly releaseTimeoutMs: number;
  readonly conference: {
    readonly maxMembers: number;
    /** How long Conference#destroy() may stay pending before the control leg is uuid_kill'ed (F1). */
    readonly destroyTimeoutMs: number;
    readonly profile: string;
  };
  /** Permit FreeSWITCH's default ESL password (ClueCon); only for labs. */
  readonly allowDefaultSecret: boolean;
}

export class MediaConfigError extends FieldError {
  constructor(field: string, message: string) {
    super(field, message);
    this.name = 'MediaConfigError';
  }
}

const { obj, optObj, str, int, bool } = fieldChecks(MediaConfigError);






const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

function host(v: unknown, field: string): string {
  const s = str(v, field);
  if (isIP(s) === 0 && !HOSTNAME.test(s)) throw new MediaConfigError(field, 'must be an IP address or host name');
  return s;
}

function ip(v: unknown, field: string): string {
  const s = str(v, field);
  if (isIP(s) === 0) throw new MediaConfigError(field, 'must be an IP address (fsmrf needs listenAddress set explicitly)');
  return s;
}

/** len[:max[:drift]] in ms, as FreeSWITCH's jitterbuffer_msec takes it; max >= len. */
const JB = /^(\d{1,4})(?::(\d{1,4})(?::(\d{1,4}))?)?$/;

export const DEFAULT_FS_SECRET = 'ClueCon';

/** Validates the `media` section; defaults fill the tuning knobs. */
export function validateMediaConfig(input: unknown, path = 'media'): MediaConfig {
  const o = obj(input, path);
  const e = obj(o['esl'], `${path}.esl`);
  const allowDefaultSecret = bool(o['allowDefaultSecret'], `${path}.allowDefaultSecret`, false);
  const secret = str(e['secret'], `${path}.esl.secret`);
  if (secret === DEFAULT_FS_SECRET && !allowDefaultSecret) {
    throw new MediaConfigError(`${path}.esl.secret`, 'must not be FreeSWITCH\'s default password (set allowDefaultSecret only in labs)');
  }
  const l = obj(o['listen'], `${path}.listen`);
  const r = optObj(o['reconnect'], `${path}.reconnect`);
  const reconnect = {
    initialDelayMs: int(r['initialDelayMs'], `${path}.reconnect.initialDelayMs`, 1, 60_000, 250),
    maxDelayMs: int(r['maxDelayMs'], `${path}.reconnect.maxDelayMs`, 1, 600_000, 10_000),
    connectTimeoutMs: int(r['connectTimeoutMs'], `${path}.reconnect.connectTimeoutMs`, 100, 60_000, 3_000),
  };
  if (reconnect.maxDelayMs < reconnect.initialDelayMs) throw new MediaConfigError(`${path}.reconnect.maxDelayMs`, 'must be >= reconnect.initialDelayMs');
  // Off by default: FreeSWITCH's profile applies it at no cost per call, where the per-leg
  // command costs two ESL round trips' work in every call set-up (measured in `npm run bench -- calls`).
  let jitterBufferMsec: string | null = null;
  if (o['jitterBufferMsec'] === null || o['jitterBufferMsec'] === false) jitterBufferMsec = null;
  else if (o['jitterBufferMsec'] !== undefined) {
    const f = `${path}.jitterBufferMsec`;
    const s = str(o['jitterBufferMsec'], f, JB, 'len[:max[:drift]] in ms, e.g. 20:150');
    const m = JB.exec(s)!;
    if (m[2] !== undefined && Number(m[2]) < Number(m[1])) throw new MediaConfigError(f, 'max must be >= len');
    if (Number(m[1]) < 10 || Number(m[1]) > 1000) throw new MediaConfigError(f, 'len must be 10..1000 ms');
    jitterBufferMsec = s;
  }
  const c = optObj(o['conference'], `${path}.conference`);
  return {
    esl: { host: host(e['host'], `${path}.esl.host`), port: int(e['port'], `${path}.esl.port`, 1, 65535, 8021), secret },
    listen: { address: ip(l['address'], `${path}.listen.address`), port: int(l['port'], `${path}.listen.port`, 0, 65535, 0) },
    ...(o['advertised'] !== undefined
      ? (() => {
        const a = obj(o['advertised'], `${path}.advertised`);
        return { advertised: { address: host(a['address'], `${path}.advertised.address`), port: int(a['port'], `${path}.advertised.port`, 1, 65535) } };
      })()
      : {}),
    profile: o['profile'] === undefined ? 'drachtio_mrf' : str(o['profile'], `${path}.profile`, /^[A-Za-z0-9_.-]{1,64}$/, 'a sofia profile name'),
    reconnect,
    jitterBufferMsec,
    releaseTimeoutMs: int(o['releaseTimeoutMs'], `${path}.releaseTimeoutMs`, 50, 60_000, 2_000),
    conference: {
      maxMembers: int(c['maxMembers'], `${path}.conference.maxMembers`, 1, 1000, 12),
      destroyTimeoutMs: int(c['destroyTimeoutMs'], `${path}.conference.destroyTimeoutMs`, 50, 60_000, 1_000),
      profile: c['profile'] === undefined ? 'default' : str(c['profile'], `${path}.conference.profile`, /^[A-Za-z0-9_.-]{1,64}$/, 'a conference profile name'),
    },
    allowDefaultSecret,
  };
}
