/**
 * Gateway configuration: a JSON file (GATEWAY_CONFIG or --config) overlaid by environment
 * variables, validated in one pass. Secrets are never accepted from the config file itself:
 * they come from the environment or from a file the config points at (mounted secret).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { FieldReader } from './fields.js';

export interface DialPlanRoute {
  /** Request-URI user prefix this route takes ('' matches everything). */
  prefix: string;
  /** SIP URI the call is forwarded to (B2BUA); `${user}` is replaced by the dialled user. */
  sipTarget: string;
}

export interface GatewayConfig {
  drachtio: {
    host: string;
    port: number;
    secret: string;
    /** Upper bound of srf's reconnect backoff. srf's own default is uncapped (see docs/operations.md). */
    retryMaxDelayMs: number;
  };
  http: { host: string; port: number };
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
}

const TOP = ['drachtio', 'http', 'log', 'health', 'shutdown', 'sip', 'dialPlan'] as const;

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
      throw new ConfigError([{ field: 'GATEWAY_CONFIG', problem: `cannot read ${file}: ${(err as Error).message}` }]);
    }
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError([{ field: file, problem: `not valid JSON: ${(err as Error).message}` }]);
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
  r.noUnknownKeys('http', h, ['host', 'port']);
  const http = {
    host: r.string('http.host', h.host, '0.0.0.0', { nonEmpty: true }),
    port: r.int('HTTP_PORT', env.HTTP_PORT, r.int('http.port', h.port, 8080, 0, 65535), 0, 65535),
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
    r.noUnknownKeys(f, o, ['prefix', 'sipTarget']);
    const prefix = r.string(`${f}.prefix`, o.prefix, '');
    if (!/^[0-9A-Za-z+*#._-]*$/.test(prefix)) r.fail(`${f}.prefix`, 'may hold only digits, letters and + * # . _ -');
    const sipTarget = r.requiredString(`${f}.sipTarget`, o.sipTarget);
    if (sipTarget && !/^sips?:/.test(sipTarget)) r.fail(`${f}.sipTarget`, 'must be a sip: or sips: URI');
    dialPlan.push({ prefix, sipTarget });
  });

  const cfg: GatewayConfig = {
    drachtio: { host, port, secret, retryMaxDelayMs },
    http,
    log: { level },
    health: { maxEventLoopLagMs: r.int('health.maxEventLoopLagMs', he.maxEventLoopLagMs, 500, 10, 60_000) },
    shutdown: { drainTimeoutMs: r.int('SHUTDOWN_DRAIN_MS', env.SHUTDOWN_DRAIN_MS, r.int('shutdown.drainTimeoutMs', s.drainTimeoutMs, 30_000, 0, 3_600_000), 0, 3_600_000) },
    sip: { userAgent: r.string('sip.userAgent', sp.userAgent, 'council-gateway', { nonEmpty: true }) },
    dialPlan,
  };
  if (r.problems.length) throw new ConfigError(r.problems);
  return cfg;
}

/** The config with secrets masked, for `gatewayctl config show` and start-up logs. */
export function redactConfig(cfg: GatewayConfig): GatewayConfig {
  return { ...cfg, drachtio: { ...cfg.drachtio, secret: '***' } };
}
