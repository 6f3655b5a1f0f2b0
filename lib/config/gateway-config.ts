/**
 * Gateway configuration: a JSON file (GATEWAY_CONFIG or --config) overlaid by environment
 * variables, validated in one pass. Secrets are never accepted from the config file itself:
 * they come from the environment or from a file the config points at (mounted secret).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, FieldError } from './errors.js';
import { FieldReader, describe } from './fields.js';
import { validateH323Config, type H323Config } from '../h323/config.js';
import { validateMediaConfig, type MediaConfig } from '../media/config.js';
import type { StateConfig } from '../state/factory.js';
import { HA_DEFAULTS, type HaConfig } from '../ha/config.js';
import { readCouncilConfig, type CouncilConfig } from '../council/config.js';

export interface DialPlanRoute {
  /** Request-URI user prefix this route takes ('' matches everything). */
  prefix: string;
  /** SIP URI the call is forwarded to (B2BUA); `${user}` is replaced by the dialled user. '' for H.323 routes. */
  sipTarget: string;
  /**
   * H.323 destination instead of a SIP one: 'host:port' of the callee's call signalling address,
   * or 'gatekeeper' to locate the dialled alias with an LRQ to h323.gatekeeper.
   */
  h323Target?: string;
}

export interface GatewayConfig {
  drachtio: {
    host: string;
    port: number;
    secret: string;
    /** Upper bound of srf's reconnect backoff. srf's own default is uncapped (see docs/operations.md). */
    retryMaxDelayMs: number;
  };
  http: {
    host: string;
    port: number;
    /**
     * Bearer token of the admin endpoints (POST /admin/reload); '' = those endpoints are off.
     * From ADMIN_TOKEN, ADMIN_TOKEN_FILE or http.adminTokenFile, never from the config file itself.
     */
    adminToken: string;
  };
  log: { level: 'error' | 'warn' | 'info' | 'debug' };
  health: {
    /** /health turns 503 when the event loop lagged more than this over the last sample window. */
    maxEventLoopLagMs: number;
  };
  shutdown: {
    /** After SIGTERM, how long calls in progress may go on before the process exits anyway. */
    drainTimeoutMs: number;
  };
  sip: {
    /** Value of the Server / User-Agent header the gateway puts on what it originates. */
    userAgent: string;
  };
  dialPlan: DialPlanRoute[];
  policy: PolicySettings;
  registry: { file: string };
  audit: {
    dir: string;
    /** HMAC key for call ids/identities in the audit; from AUDIT_ID_KEY, audit.idKeyFile, or a key file kept in dir. */
    idKey: string;
    fsync: boolean;
    /** Seconds between background re-verifications of the whole audit chain; 0 = off. */
    verifyIntervalS: number;
    /**
     * Window of the per-source aggregation of repeated refusals (rate limits, lockouts, oversized
     * requests): one record per source and reason per window with the count; 0 = off (a record
     * for every refusal).
     */
    aggregateWindowS: number;
    /** Most sources aggregated at once per window; refusals from further sources merge into one other-sources record per reason. */
    aggregateMaxOpen: number;
  };
  /** The H.323 edge (GnuGk neighbour); absent = SIP only. */
  h323?: H323Config;
  /** FreeSWITCH via drachtio-fsmrf; absent = no media server (B2BUA only). */
  media?: MediaConfig;
  /** Where quotas, rate limits, replay caches and registrations live: this process, or Redis shared by instances. */
  state: StateConfig;
  /** Council rooms participants dial into (docs/council.md); absent = none. */
  council?: CouncilConfig;
  /** Heartbeats and call records in Redis so a surviving instance ends a dead one's calls (docs/ha.md). */
  ha?: HaConfig;
  registrar: {
    maxContacts: number;
    minExpiresSec: number;
    maxExpiresSec: number;
    defaultExpiresSec: number;
  };
}

export interface PolicySettings {
  /** Off only for labs and baselines: every INVITE is then routed without checks. */
  enabled: boolean;
  realm: string;
  /** Digest nonces are HMACs under this secret; instances sharing callers must share it. '' = random per process. */
  nonceSecret: string;
  digestAlgorithms: Array<'SHA-256' | 'MD5'>;
  /** Digest nonce lifetime; an older nonce gets a fresh challenge with stale=true. */
  nonceTtlSec: number;
  identityRequiredFor: Array<'guardian' | 'expert' | 'operator' | 'moderator'>;
  identityWindowSec: number;
  escalation: { header: string; values: string[]; priority: string[] };
  codecs: string[];
  perCallerBps: number;
  /** Request headers copied to the forwarded INVITE (after redaction when the call is escalated). */
  forwardHeaders: string[];
  rates: {
    invitePerSourceBurst: number;
    invitePerSourcePerSec: number;
    registerPerSourceBurst: number;
    registerPerSourcePerSec: number;
    invitePerIdentityBurst: number;
    invitePerIdentityPerSec: number;
  };
  /** Authentication failures (digest or identity) before a source or user is locked out. */
  lockout: { sourceThreshold: number; userThreshold: number; windowSec: number; lockoutSec: number };
}

const TOP = ['drachtio', 'http', 'log', 'health', 'shutdown', 'sip', 'dialPlan', 'policy', 'registry', 'audit', 'registrar', 'h323', 'media', 'state', 'council', 'ha'] as const;
const ROLES = ['guardian', 'expert', 'operator', 'moderator'] as const;
const ALGS = ['SHA-256', 'MD5'] as const;

/** Shortest admin bearer token accepted (e.g. `openssl rand -hex 32` gives 64). */
export const MIN_ADMIN_TOKEN = 24;

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads and validates the config; throws ConfigError naming every bad field. */
export function loadConfig(opts: { file?: string; env?: Env; readFile?: (p: string) => string } = {}): GatewayConfig {
  const env = opts.env ?? process.env;
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const file = opts.file ?? env.GATEWAY_CONFIG;
  let raw: unknown = {};
  if (file) {
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      throw new ConfigError([{ field: 'GATEWAY_CONFIG', problem: `cannot read ${file}: ${(err as Error).message}` }], true);
    }
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError([{ field: file, problem: `not valid JSON: ${(err as Error).message}` }], true);
    }
  }
  return validateConfig(raw, env, read);
}

export function validateConfig(raw: unknown, env: Env = {}, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): GatewayConfig {
  const r = new FieldReader();
  const root = r.object('(root)', raw);
  r.noUnknownKeys('', root, TOP);

  const d = r.object('drachtio', root.drachtio);
  r.noUnknownKeys('drachtio', d, ['host', 'port', 'secretFile', 'retryMaxDelayMs', 'secret']);
  if (d.secret !== undefined) {
    r.fail('drachtio.secret', 'secrets are not read from the config file; set DRACHTIO_SECRET or drachtio.secretFile');
  }
  const host = r.string('DRACHTIO_HOST', env.DRACHTIO_HOST, r.string('drachtio.host', d.host, '127.0.0.1', { nonEmpty: true }), { nonEmpty: true });
  const port = r.int('DRACHTIO_PORT', env.DRACHTIO_PORT, r.int('drachtio.port', d.port, 9022, 1, 65535), 1, 65535);
  const retryMaxDelayMs = r.int('drachtio.retryMaxDelayMs', d.retryMaxDelayMs, 500, 50, 60_000);
  const secretFile = r.optionalString('DRACHTIO_SECRET_FILE', env.DRACHTIO_SECRET_FILE) ?? r.optionalString('drachtio.secretFile', d.secretFile);
  let secret = env.DRACHTIO_SECRET ?? '';
  if (!secret && secretFile) {
    try {
      secret = read(secretFile).trim();
    } catch (err) {
      r.fail(env.DRACHTIO_SECRET_FILE ? 'DRACHTIO_SECRET_FILE' : 'drachtio.secretFile', `cannot read ${secretFile}: ${(err as Error).message}`);
    }
  }
  if (!secret) r.fail('DRACHTIO_SECRET', 'no drachtio secret: set DRACHTIO_SECRET, DRACHTIO_SECRET_FILE or drachtio.secretFile');

  const h = r.object('http', root.http);
  r.noUnknownKeys('http', h, ['host', 'port', 'adminTokenFile', 'adminToken']);
  if (h.adminToken !== undefined) r.fail('http.adminToken', 'secrets are not read from the config file; set ADMIN_TOKEN, ADMIN_TOKEN_FILE or http.adminTokenFile');
  const adminTokenFile = r.optionalString('ADMIN_TOKEN_FILE', env.ADMIN_TOKEN_FILE) ?? r.optionalString('http.adminTokenFile', h.adminTokenFile);
  let adminToken = env.ADMIN_TOKEN ?? '';
  if (!adminToken && adminTokenFile) {
    try {
      adminToken = read(adminTokenFile).trim();
    } catch (err) {
      r.fail(env.ADMIN_TOKEN_FILE ? 'ADMIN_TOKEN_FILE' : 'http.adminTokenFile', `cannot read ${adminTokenFile}: ${(err as Error).message}`);
    }
  }
  // A short token is guessable over the network; there is no lockout on the ops port.
  if (adminToken && adminToken.length < MIN_ADMIN_TOKEN) r.fail(env.ADMIN_TOKEN ? 'ADMIN_TOKEN' : 'http.adminTokenFile', `the admin token must be at least ${MIN_ADMIN_TOKEN} characters`);
  const http = {
    host: r.string('http.host', h.host, '0.0.0.0', { nonEmpty: true }),
    port: r.int('HTTP_PORT', env.HTTP_PORT, r.int('http.port', h.port, 8080, 0, 65535), 0, 65535),
    adminToken,
  };

  const l = r.object('log', root.log);
  r.noUnknownKeys('log', l, ['level']);
  const levels = ['error', 'warn', 'info', 'debug'] as const;
  const level = r.oneOf('LOG_LEVEL', env.LOG_LEVEL, r.oneOf('log.level', l.level, 'info', levels), levels);

  const he = r.object('health', root.health);
  r.noUnknownKeys('health', he, ['maxEventLoopLagMs']);
  const s = r.object('shutdown', root.shutdown);
  r.noUnknownKeys('shutdown', s, ['drainTimeoutMs']);
  const sp = r.object('sip', root.sip);
  r.noUnknownKeys('sip', sp, ['userAgent']);

  const dialPlan: DialPlanRoute[] = [];
  r.array('dialPlan', root.dialPlan).forEach((item, i) => {
    const f = `dialPlan[${i}]`;
    const o = r.object(f, item);
    r.noUnknownKeys(f, o, ['prefix', 'sipTarget', 'h323Target']);
    const prefix = r.string(`${f}.prefix`, o.prefix, '');
    if (!/^[0-9A-Za-z+*#._-]*$/.test(prefix)) r.fail(`${f}.prefix`, 'may hold only digits, letters and + * # . _ -');
    if (o.h323Target !== undefined) {
      if (o.sipTarget !== undefined) r.fail(f, 'give sipTarget or h323Target, not both');
      const h = r.requiredString(`${f}.h323Target`, o.h323Target);
      if (h && h !== 'gatekeeper' && !/^[0-9.]+:\d{1,5}$/.test(h)) r.fail(`${f}.h323Target`, "must be 'gatekeeper' or an IPv4 host:port");
      dialPlan.push({ prefix, sipTarget: '', h323Target: h });
      return;
    }
    const sipTarget = r.requiredString(`${f}.sipTarget`, o.sipTarget);
    if (sipTarget && !/^sips?:/.test(sipTarget)) r.fail(`${f}.sipTarget`, 'must be a sip: or sips: URI');
    dialPlan.push({ prefix, sipTarget });
  });

  const p = r.object('policy', root.policy);
  r.noUnknownKeys('policy', p, ['enabled', 'realm', 'nonceSecretFile', 'digestAlgorithms', 'nonceTtlSec', 'identityRequiredFor', 'identityWindowSec', 'escalation', 'codecs', 'perCallerBps', 'forwardHeaders', 'rates', 'lockout']);
  const enabled = r.bool('policy.enabled', p.enabled, true);
  const nonceFile = r.optionalString('policy.nonceSecretFile', p.nonceSecretFile);
  let nonceSecret = env.POLICY_NONCE_SECRET ?? '';
  if (!nonceSecret && nonceFile) {
    try {
      nonceSecret = read(nonceFile).trim();
    } catch (err) {
      r.fail('policy.nonceSecretFile', `cannot read ${nonceFile}: ${(err as Error).message}`);
    }
  }
  const strings = (field: string, v: unknown, dflt: string[], check?: (x: string) => boolean, what = 'a non-empty string'): string[] => {
    if (v === undefined) return dflt;
    const arr = r.array(field, v);
    return arr.flatMap((x, i) => {
      if (typeof x !== 'string' || !x || (check && !check(x))) {
        r.fail(`${field}[${i}]`, `expected ${what}, got ${describe(x)}`);
        return [];
      }
      return [x];
    });
  };
  const esc = r.object('policy.escalation', p.escalation);
  r.noUnknownKeys('policy.escalation', esc, ['header', 'values', 'priority']);
  const rates = r.object('policy.rates', p.rates);
  r.noUnknownKeys('policy.rates', rates, ['invitePerSourceBurst', 'invitePerSourcePerSec', 'registerPerSourceBurst', 'registerPerSourcePerSec', 'invitePerIdentityBurst', 'invitePerIdentityPerSec']);
  const lock = r.object('policy.lockout', p.lockout);
  r.noUnknownKeys('policy.lockout', lock, ['sourceThreshold', 'userThreshold', 'windowSec', 'lockoutSec']);
  const policy: PolicySettings = {
    enabled,
    realm: r.string('policy.realm', p.realm, 'council.local', { nonEmpty: true }),
    nonceSecret,
    digestAlgorithms: strings('policy.digestAlgorithms', p.digestAlgorithms, ['SHA-256', 'MD5'], (x) => (ALGS as readonly string[]).includes(x), `one of ${ALGS.join(', ')}`) as PolicySettings['digestAlgorithms'],
    identityRequiredFor: strings('policy.identityRequiredFor', p.identityRequiredFor, ['guardian', 'expert', 'moderator'], (x) => (ROLES as readonly string[]).includes(x), `one of ${ROLES.join(', ')}`) as PolicySettings['identityRequiredFor'],
    identityWindowSec: r.int('policy.identityWindowSec', p.identityWindowSec, 60, 1, 3600),
    nonceTtlSec: r.int('policy.nonceTtlSec', p.nonceTtlSec, 300, 1, 86_400),
    escalation: {
      header: r.string('policy.escalation.header', esc.header, 'X-Council-Escalation', { nonEmpty: true }),
      values: strings('policy.escalation.values', esc.values, ['ESCALATE']),
      priority: strings('policy.escalation.priority', esc.priority, ['emergency']),
    },
    codecs: strings('policy.codecs', p.codecs, ['PCMU', 'PCMA', 'G729', 'opus', 'VP8', 'telephone-event']),
    perCallerBps: r.int('policy.perCallerBps', p.perCallerBps, 3_000_000, 8_000, 1_000_000_000),
    forwardHeaders: strings('policy.forwardHeaders', p.forwardHeaders, ['Subject', 'Priority', 'X-Council-Escalation'], (x) => /^[A-Za-z0-9-]+$/.test(x), 'a header name'),
    rates: {
      invitePerSourceBurst: r.int('policy.rates.invitePerSourceBurst', rates.invitePerSourceBurst, 20, 1, 1_000_000),
      invitePerSourcePerSec: r.number('policy.rates.invitePerSourcePerSec', rates.invitePerSourcePerSec, 2, 0.001, 1_000_000),
      registerPerSourceBurst: r.int('policy.rates.registerPerSourceBurst', rates.registerPerSourceBurst, 20, 1, 1_000_000),
      registerPerSourcePerSec: r.number('policy.rates.registerPerSourcePerSec', rates.registerPerSourcePerSec, 1, 0.001, 1_000_000),
      invitePerIdentityBurst: r.int('policy.rates.invitePerIdentityBurst', rates.invitePerIdentityBurst, 10, 1, 1_000_000),
      invitePerIdentityPerSec: r.number('policy.rates.invitePerIdentityPerSec', rates.invitePerIdentityPerSec, 1, 0.001, 1_000_000),
    },
    lockout: {
      sourceThreshold: r.int('policy.lockout.sourceThreshold', lock.sourceThreshold, 10, 1, 1_000_000),
      userThreshold: r.int('policy.lockout.userThreshold', lock.userThreshold, 20, 1, 1_000_000),
      windowSec: r.int('policy.lockout.windowSec', lock.windowSec, 300, 1, 86_400),
      lockoutSec: r.int('policy.lockout.lockoutSec', lock.lockoutSec, 300, 1, 86_400),
    },
  };
  if (enabled && policy.digestAlgorithms.length === 0) r.fail('policy.digestAlgorithms', 'must name at least one algorithm');

  const rg = r.object('registry', root.registry);
  r.noUnknownKeys('registry', rg, ['file']);
  const registryFile = r.string('REGISTRY_FILE', env.REGISTRY_FILE, r.string('registry.file', rg.file, ''));
  if (enabled && !registryFile) r.fail('registry.file', 'required while policy.enabled (the people and keys allowed in)');

  const au = r.object('audit', root.audit);
  r.noUnknownKeys('audit', au, ['dir', 'idKeyFile', 'fsync', 'verifyIntervalS', 'aggregateWindowS', 'aggregateMaxOpen']);
  const auditDir = r.string('AUDIT_DIR', env.AUDIT_DIR, r.string('audit.dir', au.dir, ''));
  if (enabled && !auditDir) r.fail('audit.dir', 'required while policy.enabled (every decision is written there)');
  const idKeyFile = r.optionalString('audit.idKeyFile', au.idKeyFile);
  let idKey = env.AUDIT_ID_KEY ?? '';
  if (!idKey && idKeyFile) {
    try {
      idKey = read(idKeyFile).trim();
    } catch (err) {
      r.fail('audit.idKeyFile', `cannot read ${idKeyFile}: ${(err as Error).message}`);
    }
  }

  const rr = r.object('registrar', root.registrar);
  r.noUnknownKeys('registrar', rr, ['maxContacts', 'minExpiresSec', 'maxExpiresSec', 'defaultExpiresSec']);
  const registrar = {
    maxContacts: r.int('registrar.maxContacts', rr.maxContacts, 3, 1, 100),
    minExpiresSec: r.int('registrar.minExpiresSec', rr.minExpiresSec, 60, 1, 86_400),
    maxExpiresSec: r.int('registrar.maxExpiresSec', rr.maxExpiresSec, 3600, 1, 604_800),
    defaultExpiresSec: r.int('registrar.defaultExpiresSec', rr.defaultExpiresSec, 600, 1, 604_800),
  };
  if (registrar.minExpiresSec > registrar.maxExpiresSec) r.fail('registrar.minExpiresSec', 'must not exceed registrar.maxExpiresSec');

  let h323: H323Config | undefined;
  if (root.h323 !== undefined) {
    try {
      h323 = validateH323Config(root.h323, 'h323');
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      r.fail(err.field, err.message.slice(err.field.length + 2));
    }
  }

  let media: MediaConfig | undefined;
  if (root.media !== undefined) {
    const m = r.object('media', root.media);
    const esl = r.object('media.esl', m.esl);
    if (esl.secret !== undefined) r.fail('media.esl.secret', 'secrets are not read from the config file; set FS_ESL_SECRET or media.esl.secretFile');
    let eslSecret = env.FS_ESL_SECRET ?? '';
    const eslSecretFile = r.optionalString('media.esl.secretFile', esl.secretFile);
    if (!eslSecret && eslSecretFile) {
      try {
        eslSecret = read(eslSecretFile).trim();
      } catch (err) {
        r.fail('media.esl.secretFile', `cannot read ${eslSecretFile}: ${(err as Error).message}`);
      }
    }
    if (!eslSecret) r.fail('FS_ESL_SECRET', 'no FreeSWITCH event-socket password: set FS_ESL_SECRET or media.esl.secretFile');
    else {
      const { secretFile: _drop, ...eslRest } = esl;
      void _drop;
      try {
        media = validateMediaConfig({ ...m, esl: { ...eslRest, secret: eslSecret } }, 'media');
      } catch (err) {
        if (!(err instanceof FieldError)) throw err;
        r.fail(err.field, err.message.slice(err.field.length + 2));
      }
    }
  }

  dialPlan.forEach((route, i) => {
    if (!route.h323Target) return;
    if (!media && root.media === undefined) r.fail(`dialPlan[${i}].h323Target`, 'H.323 routes need the media section (FreeSWITCH carries their RTP)');
    if (route.h323Target === 'gatekeeper' && !h323?.gatekeeper && root.h323 !== undefined) r.fail(`dialPlan[${i}].h323Target`, "'gatekeeper' needs h323.gatekeeper");
    if (root.h323 === undefined) r.fail(`dialPlan[${i}].h323Target`, 'H.323 routes need the h323 section');
  });

  const council = readCouncilConfig(r, root.council, env);
  if (council) {
    if (root.media === undefined) r.fail('council', 'council rooms need the media section (FreeSWITCH runs the conference)');
    council.rooms.forEach((room, i) => {
      if (room.h323Aliases.length && root.h323 === undefined) r.fail(`council.rooms[${i}].h323Aliases`, 'H.323 aliases need the h323 section');
    });
  }

  const st = r.object('state', root.state);
  r.noUnknownKeys('state', st, ['backend', 'keyPrefix', 'onUnavailable', 'commandTimeoutMs']);
  const backend = r.oneOf('STATE_BACKEND', env.STATE_BACKEND, r.oneOf('state.backend', st.backend, 'memory', ['memory', 'redis'] as const), ['memory', 'redis'] as const);
  let state: StateConfig = { backend: 'memory' };
  if (backend === 'redis') {
    // The URL can carry a password: env only.
    const url = env.REDIS_URL ?? '';
    if (!/^rediss?:\/\//.test(url)) r.fail('REDIS_URL', 'state.backend is redis: set REDIS_URL=redis://host:port[/db]');
    state = {
      backend: 'redis',
      url,
      keyPrefix: r.string('state.keyPrefix', st.keyPrefix, 'gw:', { nonEmpty: true }),
      onUnavailable: r.oneOf('state.onUnavailable', st.onUnavailable, 'fail-closed', ['fail-closed', 'fail-open'] as const),
      commandTimeoutMs: r.int('state.commandTimeoutMs', st.commandTimeoutMs, 1000, 10, 60_000),
    };
  }

  let ha: HaConfig | undefined;
  if (root.ha !== undefined) {
    const o = r.object('ha', root.ha);
    r.noUnknownKeys('ha', o, ['instanceId', 'heartbeatMs', 'ttlMs', 'pollMs', 'claimTtlMs', 'byeTimeoutMs']);
    if (backend !== 'redis') r.fail('ha', 'needs state.backend redis (the instances share heartbeats and call records there)');
    const instanceId = r.string('HA_INSTANCE_ID', env.HA_INSTANCE_ID, r.string('ha.instanceId', o.instanceId, ''));
    if (instanceId && !/^[A-Za-z0-9._-]{1,64}$/.test(instanceId)) r.fail(env.HA_INSTANCE_ID ? 'HA_INSTANCE_ID' : 'ha.instanceId', 'may hold only letters, digits and . _ - (at most 64)');
    ha = {
      instanceId,
      heartbeatMs: r.int('ha.heartbeatMs', o.heartbeatMs, HA_DEFAULTS.heartbeatMs, 20, 10_000),
      ttlMs: r.int('ha.ttlMs', o.ttlMs, HA_DEFAULTS.ttlMs, 100, 60_000),
      pollMs: r.int('ha.pollMs', o.pollMs, HA_DEFAULTS.pollMs, 20, 10_000),
      claimTtlMs: r.int('ha.claimTtlMs', o.claimTtlMs, HA_DEFAULTS.claimTtlMs, 1000, 600_000),
      byeTimeoutMs: r.int('ha.byeTimeoutMs', o.byeTimeoutMs, HA_DEFAULTS.byeTimeoutMs, 100, 60_000),
    };
    // One missed beat must not look like a death: the TTL has to cover at least two beats.
    if (ha.ttlMs < 2 * ha.heartbeatMs) r.fail('ha.ttlMs', `must be at least twice ha.heartbeatMs (${2 * ha.heartbeatMs})`);
  }

  const cfg: GatewayConfig = {
    drachtio: { host, port, secret, retryMaxDelayMs },
    http,
    log: { level },
    health: { maxEventLoopLagMs: r.int('health.maxEventLoopLagMs', he.maxEventLoopLagMs, 500, 10, 60_000) },
    shutdown: { drainTimeoutMs: r.int('SHUTDOWN_DRAIN_MS', env.SHUTDOWN_DRAIN_MS, r.int('shutdown.drainTimeoutMs', s.drainTimeoutMs, 30_000, 0, 3_600_000), 0, 3_600_000) },
    sip: { userAgent: r.string('sip.userAgent', sp.userAgent, 'council-gateway', { nonEmpty: true }) },
    dialPlan,
    policy,
    registry: { file: registryFile },
    audit: {
      dir: auditDir,
      idKey,
      fsync: r.bool('audit.fsync', au.fsync, true),
      verifyIntervalS: r.int('audit.verifyIntervalS', au.verifyIntervalS, 300, 0, 86_400),
      aggregateWindowS: r.int('audit.aggregateWindowS', au.aggregateWindowS, 10, 0, 3600),
      aggregateMaxOpen: r.int('audit.aggregateMaxOpen', au.aggregateMaxOpen, 1024, 1, 1_000_000),
    },
    registrar,
    ...(h323 ? { h323 } : {}),
    ...(media ? { media } : {}),
    state,
    ...(council ? { council } : {}),
    ...(ha ? { ha } : {}),
  };
  if (r.problems.length) throw new ConfigError(r.problems);
  return cfg;
}

/** The config with secrets masked, for `gatewayctl config show` and start-up logs. */
export function redactConfig(cfg: GatewayConfig): GatewayConfig {
  return {
    ...cfg,
    drachtio: { ...cfg.drachtio, secret: '***' },
    http: { ...cfg.http, adminToken: cfg.http.adminToken ? '***' : '' },
    policy: { ...cfg.policy, nonceSecret: cfg.policy.nonceSecret ? '***' : '' },
    audit: { ...cfg.audit, idKey: cfg.audit.idKey ? '***' : '' },
    ...(cfg.media ? { media: { ...cfg.media, esl: { ...cfg.media.esl, secret: '***' } } } : {}),
    state: cfg.state.backend === 'redis' ? { ...cfg.state, url: cfg.state.url.replace(/\/\/[^@/]*@/, '//***@') } : cfg.state,
    ...(cfg.council?.admin ? { council: { ...cfg.council, admin: { ...cfg.council.admin, token: '***' } } } : {}),
  };
}
