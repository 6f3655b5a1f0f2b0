/**
 * A real drachtio-server from DRACHTIO_BIN, with the project's sip-configs/drachtio/drachtio.conf.xml
 * rewritten to a temp copy: control port and secret, loopback addresses, one SIP contact (udp+tcp)
 * on a free port. Ready once the control port accepts our secret and reports that SIP contact.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { freePort, freeSipPort } from './ports.js';
import { binaryFromEnv, spawnServer, stopOnFailure, waitReady, workDir, type ServerProcess } from './process.js';

export const DRACHTIO_CONF = join(repoRoot, 'sip-configs/drachtio/drachtio.conf.xml');

export interface DrachtioConfOptions {
  /** Address of the control (app) port. */
  adminHost: string;
  adminPort: number;
  secret: string;
  /** Where drachtio takes SIP (udp and tcp on one port). */
  sipHost: string;
  sipPort: number;
  /** drachtio log level (notice, error, warning, info, debug); default: the file's. */
  loglevel?: string;
}

/** XML attribute/text escaping for the values we put in. */
export function xmlEscape(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The project's drachtio.conf.xml with the control address, port and secret and the SIP contact
 * replaced (everything else, e.g. cdrs and logging, kept). Throws when an element to replace is
 * missing, so a reshaped config file fails loudly instead of being half applied.
 */
export function drachtioConfig(xml: string, o: DrachtioConfOptions): string {
  if (!/<admin\b[^>]*>[^<]*<\/admin>/.test(xml)) throw new Error('drachtio.conf.xml: no <admin ...>address</admin> element to rewrite');
  if (!/<contacts>[\s\S]*?<\/contacts>/.test(xml)) throw new Error('drachtio.conf.xml: no <sip><contacts> element to rewrite');
  let out = xml.replace(/<admin\b[^>]*>[^<]*<\/admin>/, `<admin port="${o.adminPort}" secret="${xmlEscape(o.secret)}">${xmlEscape(o.adminHost)}</admin>`);
  out = out.replace(/<contacts>[\s\S]*?<\/contacts>/, `<contacts>\n      <contact>sip:${o.sipHost}:${o.sipPort};transport=udp,tcp</contact>\n    </contacts>`);
  if (o.loglevel) {
    if (!/<loglevel>[^<]*<\/loglevel>/.test(out)) throw new Error('drachtio.conf.xml: no <loglevel> element to rewrite');
    out = out.replace(/<loglevel>[^<]*<\/loglevel>/, `<loglevel>${xmlEscape(o.loglevel)}</loglevel>`);
  }
  return out;
}

export interface DrachtioServer {
  kind: 'drachtio';
  host: string;
  port: number;
  secret: string;
  sipHost: string;
  sipPort: number;
  /** drachtio's version as its control port reports it. */
  version: string;
  process: ServerProcess;
  workDir: string;
  /** The variables the suites read (test/lab/drachtio-target.ts). */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export interface StartDrachtioOptions {
  /** Binary; default DRACHTIO_BIN from `env`. */
  bin?: string;
  env?: NodeJS.ProcessEnv;
  /** Source config; default sip-configs/drachtio/drachtio.conf.xml. */
  confFile?: string;
  host?: string;
  adminPort?: number;
  sipPort?: number;
  secret?: string;
  loglevel?: string;
  timeoutMs?: number;
}

/** One control-port exchange: authenticate; resolves with the OK reply's fields. */
export function drachtioAuthenticate(host: string, port: number, secret: string, timeoutMs = 2000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const id = randomUUID();
    const payload = `${id}|authenticate|${secret}|`;
    let buf = '';
    const done = (err: Error | undefined, v?: string[]): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(v ?? []);
    };
    const timer = setTimeout(() => done(new Error('no answer to authenticate')), timeoutMs);
    sock.once('error', (e) => done(e));
    sock.on('connect', () => sock.write(`${Buffer.byteLength(payload)}#${payload}`));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const m = /^(\d+)#/.exec(buf);
      if (!m) return;
      const len = Number(m[1]);
      const body = Buffer.from(buf.slice(m[0].length));
      if (body.length < len) return;
      const fields = body.subarray(0, len).toString('utf8').split('|');
      // <msgid>|response|<our id>|OK|<hostports>|<version>|...
      if (fields[1] === 'response' && fields[2] === id && fields[3] === 'OK') done(undefined, fields.slice(4));
      else done(new Error(`authenticate refused: ${fields.slice(3).join('|')}`));
    });
  });
}

export async function startDrachtio(o: StartDrachtioOptions = {}): Promise<DrachtioServer> {
  const bin = o.bin ?? binaryFromEnv('DRACHTIO_BIN', 'drachtio-server', o.env);
  const host = o.host ?? '127.0.0.1';
  const adminPort = o.adminPort ?? (await freePort(host));
  const sipPort = o.sipPort ?? (await freeSipPort(host));
  const secret = o.secret ?? `real-${randomBytes(9).toString('hex')}`;
  const dir = workDir('drachtio');
  const conf = join(dir, 'drachtio.conf.xml');
  const opts: DrachtioConfOptions = { adminHost: host, adminPort, secret, sipHost: host, sipPort };
  if (o.loglevel) opts.loglevel = o.loglevel;
  writeFileSync(conf, drachtioConfig(readFileSync(o.confFile ?? DRACHTIO_CONF, 'utf8'), opts), { mode: 0o600 });
  const sp = spawnServer({ name: 'drachtio', bin, args: ['-f', conf], cwd: dir });
  const fields = await stopOnFailure(sp, waitReady(sp, `its control port ${host}:${adminPort} to accept the secret and report SIP on ${sipPort}`, async () => {
    const f = await drachtioAuthenticate(host, adminPort, secret);
    return (f[0] ?? '').split(',').some((hp) => hp.endsWith(`:${sipPort}`)) ? f : undefined;
  }, o.timeoutMs ?? 30_000));
  return {
    kind: 'drachtio',
    host,
    port: adminPort,
    secret,
    sipHost: host,
    sipPort,
    version: fields[1] ?? '',
    process: sp,
    workDir: dir,
    env: () => ({ DRACHTIO_HOST: host, DRACHTIO_PORT: String(adminPort), DRACHTIO_SECRET: secret, DRACHTIO_SIP: `${host}:${sipPort}` }),
    stop: () => sp.stop(),
  };
}
