/**
 * Wiring for the FreeSWITCH double suites: the drachtio target (double or real), the FreeSWITCH
 * target (double, or a real FreeSWITCH when FS_HOST/FS_PORT/FS_SECRET/FS_SIP are set), the
 * scenario app, and SIPp callers sending PCMA from a generated pcap.
 */
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { EslTap } from '../../lab/freeswitch-double/esl-tap.js';
import { writePcmaPcap } from '../../lab/freeswitch-double/pcap.js';
import { STATIC_PT, type G711 } from '../../lab/freeswitch-double/rtp.js';
import { startScenarioApp, writeOracleWav, type ScenarioApp } from '../../lab/freeswitch-double/scenario-app.js';
import { runSipp, type SippResult } from '../../lab/sipp.js';
import { freeMediaPort } from '../../lab/ports.js';
import { fixture } from '../../support/paths.js';

export interface RealFsEnv {
  host: string;
  port: number;
  secret: string;
  sip: string;
}

/** A real FreeSWITCH from the environment, or undefined unless all four variables are set. */
export function realFsFromEnv(env: NodeJS.ProcessEnv = process.env): RealFsEnv | undefined {
  const { FS_HOST, FS_PORT, FS_SECRET, FS_SIP } = env;
  if (!FS_HOST || !FS_PORT || !FS_SECRET || !FS_SIP) return undefined;
  const port = Number(FS_PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`FS_PORT must be a port number, got ${JSON.stringify(FS_PORT)}`);
  if (!/^.+:\d+$/.test(FS_SIP)) throw new Error(`FS_SIP must be host:port, got ${JSON.stringify(FS_SIP)}`);
  return { host: FS_HOST, port, secret: FS_SECRET, sip: FS_SIP };
}

export interface Lab {
  drachtio: DrachtioTarget;
  /** Undefined when a real FreeSWITCH is used. */
  fs?: FreeSwitchDouble;
  /** Records both ESL directions between the app and FreeSWITCH (double or real). */
  tap: EslTap;
  app: ScenarioApp;
  workDir: string;
  /** The sound file the scenario app plays (written into workDir, read by a real FreeSWITCH). */
  wav: string;
  /** PCMA pcap; `pcapFor('PCMU')` for the other law. */
  pcap: string;
  pcapFor(codec: G711): string;
  stop(): Promise<void>;
}

export const PCAP_PACKETS = 100;

/**
 * `vars`: FreeSWITCH global variables of the double (FreeSwitchDoubleOptions.vars); the default
 * `{}` is the stock configuration the recordings were made with (SDES optional on fsmrf's legs).
 */
export async function startLab(o: { fileDurationMs?: number; confDestroyFallbackMs?: number; confSizeDelayMs?: number; vars?: Record<string, string> } = {}): Promise<Lab> {
  const drachtio = await startDrachtioTarget();
  const real = realFsFromEnv();
  // The scenario app's sound file, here rather than the recording host's path: a real FreeSWITCH
  // (on this host, see docs/freeswitch-double.md) plays it from this directory.
  const workDir = mkdtempSync(join(tmpdir(), 'fs-double-'));
  const wav = writeOracleWav(workDir);
  let fs: FreeSwitchDouble | undefined;
  let app: ScenarioApp | undefined;
  let tap: EslTap | undefined;
  try {
    if (!real) {
      fs = await FreeSwitchDouble.start({
        eslPassword: 'ClueCon', sipPort: 0, eslPort: 0, fileDurationMs: () => o.fileDurationMs ?? 1000, vars: o.vars ?? {},
      });
    }
    tap = await EslTap.start({ target: real ? { host: real.host, port: real.port } : { host: fs!.host, port: fs!.eslPort } });
    app = await startScenarioApp({
      drachtio: { host: drachtio.host, port: drachtio.port, secret: drachtio.secret },
      fs: { host: tap.host, port: tap.inboundPort, secret: real ? real.secret : 'ClueCon' },
      advertise: { host: tap.host, port: tap.outboundPort },
      confDestroyFallbackMs: o.confDestroyFallbackMs ?? 1000,
      confSizeDelayMs: o.confSizeDelayMs ?? 300,
      wav,
    });
    tap.setOutboundTarget('127.0.0.1', app.ms.listenPort!);
    if (real && app.ms.sip.ipv4.udp.address !== real.sip) {
      throw new Error(`FreeSWITCH reports drachtio_mrf at ${app.ms.sip.ipv4.udp.address}, FS_SIP says ${real.sip}`);
    }
  } catch (e) {
    await app?.stop();
    await tap?.stop();
    await fs?.stop();
    await drachtio.stop();
    rmSync(workDir, { recursive: true, force: true });
    throw e;
  }
  const pcap = join(workDir, 'pcma.pcap');
  writePcmaPcap(pcap, { packets: PCAP_PACKETS });
  const pcmu = join(workDir, 'pcmu.pcap');
  writePcmaPcap(pcmu, { packets: PCAP_PACKETS, codec: 'PCMU' });
  const a = app;
  const t = tap;
  return {
    drachtio, fs, tap: t, app: a, workDir, wav, pcap,
    pcapFor: (codec) => (codec === 'PCMU' ? pcmu : pcap),
    async stop(): Promise<void> {
      // Golden tests wait for the ESL connections to close themselves before comparing; here
      // whatever is still open is torn down.
      await a.stop();
      await fs?.stop();
      await t.stop();
      await drachtio.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Run a SIPp caller (caller-bye / caller-wait-bye) against the drachtio target (also used by the media lab). */
export async function caller(
  lab: Pick<Lab, 'pcapFor' | 'workDir' | 'drachtio'>, o: { user: string; scenario: 'caller-bye' | 'caller-wait-bye'; holdMs?: number; codec?: G711 },
): Promise<SippResult> {
  const codec = o.codec ?? 'PCMA';
  const xml = readFileSync(fixture('freeswitch', 'sipp', `${o.scenario}.xml`), 'utf8')
    .replaceAll('@PCAP@', lab.pcapFor(codec)).replaceAll('@PT@', String(STATIC_PT[codec])).replaceAll('@CODEC@', codec);
  const file = join(lab.workDir, `${o.scenario}-${o.user}-${Date.now()}.xml`);
  writeFileSync(file, xml);
  const mediaPort = await freeMediaPort();
  return runSipp({
    target: `${lab.drachtio.sipHost}:${lab.drachtio.sipPort}`,
    scenario: file,
    service: o.user,
    timeoutMs: 30_000,
    args: ['-d', String(o.holdMs ?? 1000), '-mi', '127.0.0.1', '-mp', String(mediaPort)],
  });
}
