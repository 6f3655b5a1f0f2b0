/**
 * The drachtio server the SIP end-to-end tests talk to: a real one when DRACHTIO_HOST,
 * DRACHTIO_PORT, DRACHTIO_SECRET and DRACHTIO_SIP (host:port of its SIP side) are all set,
 * otherwise the in-process double on free ports.
 */
import { DrachtioDouble, type DrachtioDoubleOptions } from './drachtio-double/double.js';
import type { GatewaySrf } from '../../types/drachtio-srf.js';

export interface DrachtioTarget {
  kind: 'double' | 'real';
  /** Control (app) connection. */
  host: string;
  port: number;
  secret: string;
  /** Where the server takes SIP (send SIPp here). */
  sipHost: string;
  sipPort: number;
  /** The double itself (kind 'double' only), for tests that inspect its frame log. */
  double?: DrachtioDouble;
  stop(): Promise<void>;
}

export interface RealServerEnv {
  host: string;
  port: number;
  secret: string;
  sipHost: string;
  sipPort: number;
}

/** The real server from the environment, or undefined unless all four variables are set. */
export function realServerFromEnv(env: NodeJS.ProcessEnv = process.env): RealServerEnv | undefined {
  const { DRACHTIO_HOST, DRACHTIO_PORT, DRACHTIO_SECRET, DRACHTIO_SIP } = env;
  if (!DRACHTIO_HOST || !DRACHTIO_PORT || !DRACHTIO_SECRET || !DRACHTIO_SIP) return undefined;
  const m = /^(.+):(\d+)$/.exec(DRACHTIO_SIP);
  if (!m) throw new Error(`DRACHTIO_SIP must be host:port, got ${JSON.stringify(DRACHTIO_SIP)}`);
  const port = Number(DRACHTIO_PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`DRACHTIO_PORT must be a port number, got ${JSON.stringify(DRACHTIO_PORT)}`);
  return { host: DRACHTIO_HOST, port, secret: DRACHTIO_SECRET, sipHost: m[1]!, sipPort: Number(m[2]) };
}

export async function startDrachtioTarget(opts: Partial<DrachtioDoubleOptions> = {}): Promise<DrachtioTarget> {
  const real = realServerFromEnv();
  if (real) {
    return { kind: 'real', ...real, stop: async () => { /* not ours to stop */ } };
  }
  const secret = opts.secret ?? 'cymru';
  const d = await DrachtioDouble.start({ sipHost: '127.0.0.1', sipPort: 0, controlPort: 0, transports: ['udp', 'tcp'], ...opts, secret });
  return {
    kind: 'double',
    host: '127.0.0.1',
    port: d.controlPort,
    secret,
    sipHost: d.sipHost,
    sipPort: d.sipPort,
    double: d,
    stop: () => d.stop(),
  };
}

/**
 * Connects a test app's srf to the target; resolves once drachtio accepted it. Later errors are
 * ignored (the tests judge calls on the wire, not the app's error events).
 */
export async function linkApp(srf: GatewaySrf, target: { host: string; port: number; secret: string }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    srf.on('connect', (err) => (err ? reject(err) : resolve()));
    srf.on('error', reject);
    srf.connect({ host: target.host, port: target.port, secret: target.secret });
  });
  srf.removeAllListeners('error');
  srf.on('error', () => undefined);
}
