/**
 * `npm run lab [-- --registry FILE]`: the lab without Docker. Starts, on free loopback ports,
 * drachtio-server (DRACHTIO_BIN), FreeSWITCH (FREESWITCH_BIN [+ FS_CONF_DIR, FS_MOD_DIR]) and
 * GnuGk (GNUGK_BIN) with the project's configs (test/lab/real-servers/), Redis when redis-server
 * is installed, a SIPp callee (the dial plan's SIP routes; it echoes RTP), an auto-answering
 * H.323 room system 1002 when SIMPH323_BIN is set, and the gateway (apps/gateway) with
 * sip-configs/gateway/gateway.json adapted to those ports. It is up once the gateway is connected
 * to drachtio-server and FreeSWITCH and GnuGk lists it as an enabled neighbour (so the first
 * H.323 call is routed). Then it prints each server's addresses and log, a `pids:` line, what to
 * dial (complete SIPp and simph323 command lines, each SIP caller with its own media port) and
 * FreeSWITCH's console (fs_cli with the lab's ESL password), and stays up until Ctrl-C (SIGINT)
 * or SIGTERM; it then stops every server, waits for each, and exits 0 (1 when a server exited by
 * itself, a start failed, or a server is still running after the stop). It never builds or
 * installs a server.
 *
 * test/e2e/lab/native-lab.test.ts runs it as a user does and reads this output: the `pids:` line,
 * the `RTP a-b` / `RTP host:port` fields, the fs_cli line and the command lines under "What to
 * dial" (each on the line after its description). Keep their shape when changing the text.
 *
 * Policy: with --registry FILE the gateway runs its policy chain with that registry (as the
 * compose lab does); without it the lab starts with policy.enabled false, so the printed SIPp
 * commands get through without digest credentials or signed Identity headers.
 */
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startGateway, type GatewayProcess } from '../test/lab/gateway-process.js';
import { RedisServer } from '../test/lab/redis-server.js';
import { startSippUas, type SippUas } from '../test/lab/sipp.js';
import { freeMediaPort } from '../test/lab/ports.js';
import { metricValue, waitUntil } from '../test/lab/wait.js';
import { repoRoot } from '../test/support/paths.js';
import { describePlan, planServers } from '../test/lab/real-servers/index.js';
import { startDrachtio, type DrachtioServer } from '../test/lab/real-servers/drachtio.js';
import { startFreeSwitch, type FreeSwitchServer } from '../test/lab/real-servers/freeswitch.js';
import { startGnuGk, type GnuGkServer } from '../test/lab/real-servers/gnugk.js';
import { startSimpH323, type SimpH323Endpoint } from '../test/lab/real-servers/simph323.js';
import { freePort, freeSipPort } from '../test/lab/real-servers/ports.js';
import { labGatewayConfig, readGatewayJson } from '../test/lab/real-servers/lab-config.js';
import { livePids } from '../test/lab/real-servers/process.js';
import { GnuGkStatusClient } from '../lib/h323/gnugk/status-port.js';
import { logger } from '../lib/log/logger.js';

interface Stoppable {
  name: string;
  /** Its process id; 0 when not known (no /proc to find it in). */
  pid: number;
  stop(): Promise<unknown>;
}

function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq ? eq.slice(name.length + 1) : undefined;
}

/** The fields of /proc/PID/stat after `pid (comm)` (comm may hold spaces and parentheses). */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * The pid of this process's child whose command line `pred` accepts, from /proc (Linux); 0 when
 * there is none or no /proc. For children started by helpers that do not expose their pid
 * (redis-server, SIPp).
 */
function childPid(pred: (cmdline: string[]) => boolean): number {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return 0;
  }
  for (const e of entries) {
    const pid = Number(e);
    if (Number(procStat(pid)?.[1]) !== process.pid) continue;
    try {
      if (pred(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean))) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return 0;
}

/** Whether a process with this pid is still there (a zombie counts as gone). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const st = procStat(pid);
  return st === undefined || st[0] !== 'Z';
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const registry = argValue(args, '--registry');
  if (registry && !existsSync(registry)) {
    console.error(`lab: --registry ${registry} does not exist`);
    return 2;
  }
  const plan = planServers(process.env);
  console.log('lab - servers:');
  for (const l of describePlan(plan)) console.log(l);
  const need = (['drachtio', 'freeswitch', 'gnugk'] as const).filter((n) => plan[n].mode !== 'start');
  if (need.length) {
    console.error(`\nlab: needs DRACHTIO_BIN, FREESWITCH_BIN and GNUGK_BIN (binaries it starts itself); missing or unusable: ${need.join(', ')}`);
    return 2;
  }
  if (spawnSync('sipp', ['-v']).error) {
    console.error('lab: sipp is not on PATH (the SIP callee); bash scripts/test.sh installs it');
    return 2;
  }

  const started: Stoppable[] = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const s of [...started].reverse()) {
      process.stdout.write(`  stopping ${s.name}...`);
      await s.stop().catch((e: unknown) => process.stdout.write(` (${(e as Error).message})`));
      process.stdout.write(' done\n');
    }
  };
  let signalled: string | undefined;
  const interrupted = new Promise<string>((res) => {
    // `on`, not `once`: a second Ctrl-C while stopping must not kill the lab by Node's default
    // action, which would leave the servers (each in its own process group) running.
    const on = (name: string) => (): void => {
      if (signalled) {
        process.stdout.write(`\nlab: ${name} again - already stopping, waiting for each server to exit\n`);
        return;
      }
      res((signalled = name));
    };
    process.on('SIGINT', on('Ctrl-C'));
    process.on('SIGTERM', on('SIGTERM'));
  });

  const host = '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'lab-gateway-'));
  try {
    let redis: RedisServer | undefined;
    if (!spawnSync('redis-server', ['--version']).error) {
      const r = await RedisServer.start();
      redis = r;
      // redis-server rewrites its command line to "redis-server 127.0.0.1:PORT".
      const port = new URL(r.url).port;
      const pid = childPid((c) => /redis-server/.test(c[0] ?? '') && c.some((a) => a.endsWith(`:${port}`) || a === port));
      started.push({ name: 'redis-server', pid, stop: () => r.stop() });
    }
    const p = plan as { drachtio: { bin: string }; freeswitch: { bin: string }; gnugk: { bin: string }; simph323: { mode: string; bin?: string } };
    const drachtio: DrachtioServer = await startDrachtio({ bin: p.drachtio.bin });
    started.push({ name: 'drachtio-server', pid: drachtio.process.pid, stop: drachtio.stop });
    const fs: FreeSwitchServer = await startFreeSwitch({ bin: p.freeswitch.bin });
    started.push({ name: 'FreeSWITCH', pid: fs.process.pid, stop: fs.stop });

    const gw = { ras: await freePort(host), callSignal: await freePort(host), mediaListen: await freePort(host), http: await freePort(host) };
    const gk: GnuGkServer = await startGnuGk({ bin: p.gnugk.bin, neighbours: [`${host}:${gw.ras}`] });
    started.push({ name: 'GnuGk', pid: gk.process.pid, stop: gk.stop });

    const uasMediaPort = await freeMediaPort();
    const uas: SippUas = await startSippUas({
      scenario: 'uas', localPort: await freeSipPort(), timeoutMs: 2_000_000_000,
      args: ['-rtp_echo', '-mi', host, '-mp', String(uasMediaPort)],
    });
    const uasPid = childPid((c) => c[0] === 'sipp' && c.includes('-p') && c[c.indexOf('-p') + 1] === String(uas.port));
    started.push({ name: 'SIPp callee', pid: uasPid, stop: () => uas.stop() });

    let room: SimpH323Endpoint | undefined;
    if (p.simph323.mode === 'start' && p.simph323.bin) {
      room = await startSimpH323({
        bin: p.simph323.bin, alias: '1002', host: '127.0.0.4', mode: 'answer', fastStart: true,
        gatekeeper: `${gk.host}:${gk.rasPort}`, statusPort: `${gk.host}:${gk.statusPort}`,
      });
      started.push({ name: 'simph323 1002', pid: room.process.pid, stop: room.stop });
    }

    const config = labGatewayConfig(readGatewayJson(), {
      host,
      drachtio: { host: drachtio.host, port: drachtio.port },
      esl: { host: fs.eslHost, port: fs.eslPort },
      mediaListenPort: gw.mediaListen,
      httpPort: gw.http,
      rasPort: gw.ras,
      callSignalPort: gw.callSignal,
      gnugk: { host: gk.host, port: gk.rasPort, name: gk.name },
      sipCallee: `${host}:${uas.port}`,
      state: redis ? 'redis' : 'memory',
      policy: !!registry,
    });
    const env: Record<string, string> = {
      HTTP_PORT: String(gw.http),
      DRACHTIO_SECRET: drachtio.secret,
      FS_ESL_SECRET: fs.secret,
      POLICY_NONCE_SECRET: randomBytes(24).toString('hex'),
      REGISTRY_FILE: registry ? resolve(registry) : join(repoRoot, 'sip-configs/gateway/registry.example.json'),
      AUDIT_DIR: join(dir, 'audit'),
    };
    if (redis) env.REDIS_URL = redis.url;
    const gateway: GatewayProcess = await startGateway({ config, env });
    const gwLog = join(dir, 'gateway.log');
    const logStream = createWriteStream(gwLog);
    logStream.write(gateway.output());
    gateway.proc.stdout?.on('data', (d: Buffer) => logStream.write(d));
    gateway.proc.stderr?.on('data', (d: Buffer) => logStream.write(d));
    started.push({ name: 'gateway', pid: gateway.proc.pid ?? 0, stop: async () => { await gateway.stop(); logStream.end(); } });

    // Up = a call placed now gets through: the gateway holds its drachtio-server and FreeSWITCH
    // connections, and GnuGk routes to it. GnuGk pinged its neighbour at its own start, before the
    // gateway's RAS socket existed, and disabled it when that ping went unanswered; it routes
    // there again once a later ping (every LRQPingInterval, 5 s) is answered.
    process.stdout.write('\nwaiting for the gateway to connect to drachtio-server and FreeSWITCH and for GnuGk to list it as an enabled neighbour...');
    const up = (async (): Promise<void> => {
      await gateway.waitForOutput(/connected to drachtio-server/, 30_000);
      await gateway.waitForOutput(/media server up/, 30_000);
      await waitUntil(async () => ((metricValue(await gateway.metrics(), 'gw_ras_messages_total', { direction: 'out', type: 'locationReject' }) ?? 0) >= 1 ? true : undefined),
        'the gateway to answer one of GnuGk\'s neighbour pings (an LRJ out)', 30_000, 250);
      // The status-port client logs as the gateway does (JSON, warn on a connection reset at
      // quit): keep that out of the lab's own output unless LOG_LEVEL asks for it.
      logger().level = process.env.LOG_LEVEL ?? 'error';
      const st = await GnuGkStatusClient.connect(gk.host, gk.statusPort);
      try {
        await waitUntil(async () => (await st.neighbours()).find((n) => n.address.includes(`${host}:${gw.ras}`) && n.enabled),
          'GnuGk to list the gateway as an enabled neighbour (pn)', 30_000, 250);
      } finally {
        await st.close();
      }
    })();
    up.catch(() => undefined); // awaited below, unless Ctrl-C comes first
    const early = await Promise.race([up.then(() => undefined), interrupted]);
    if (early === undefined) {
      await up;
      process.stdout.write(' done\n');

      const sip = `${drachtio.sipHost}:${drachtio.sipPort}`;
      const gkRas = `${gk.host}:${gk.rasPort}`;
      const simph = process.env.SIMPH323_BIN ?? 'simph323';
      // Each SIP caller gets a free media port of its own (SIPp's default, 6000, may be taken).
      const sippCaller = async (service: string, ms: number, extra = ''): Promise<string> =>
        `sipp -sn uac -s ${service} -m 1 -d ${ms} -i ${host} -p ${await freeSipPort()} -mi ${host} -mp ${await freeMediaPort()}${extra} ${sip}`;
      const pids = [`lab ${process.pid}`, ...started.map((s) => `${s.name} ${s.pid || '?'}`)].join(', ');
      // The ESL password goes to a 0600 file in FreeSWITCH's work folder, never into the output.
      const eslSecretFile = join(fs.workDir, 'esl-password');
      writeFileSync(eslSecretFile, `${fs.secret}\n`, { mode: 0o600 });
      console.log(`
lab is up (policy ${registry ? `ON, registry ${registry}` : 'OFF: no registry given, every SIP caller is a guest'}; state ${redis ? `redis ${redis.url}` : 'memory'})
  drachtio-server  SIP ${sip} udp+tcp, control ${drachtio.host}:${drachtio.port}        log ${drachtio.process.logFile}
  FreeSWITCH       ESL ${fs.eslHost}:${fs.eslPort}, drachtio_mrf ${fs.sip}, RTP ${fs.rtpStart}-${fs.rtpEnd}   log ${fs.workDir}/log/freeswitch.log
  GnuGk ${gk.name.padEnd(10)} RAS ${gkRas}, call signalling ${gk.host}:${gk.callSignalPort}, status ${gk.host}:${gk.statusPort}   log ${gk.process.logFile}
  gateway          RAS ${host}:${gw.ras}, H.225 ${host}:${gw.callSignal}, http://${host}:${gateway.httpPort}/health   log ${gwLog}
  SIPp callee      SIP ${host}:${uas.port}, RTP ${host}:${uasMediaPort} (answers every SIP route of the dial plan, echoes RTP)${room ? `\n  room system 1002 simph323 at ${room.host}:${room.port}, auto-answer, fastStart   log ${room.process.logFile}` : ''}
  pids: ${pids}

What to dial:
  SIP caller into the council room "council-main" (-rtp_echo sends the conference's audio back):
    ${await sippCaller('council', 10000, ' -rtp_echo')}
  SIP caller to a SIP expert (dial plan catch-all -> the SIPp callee):
    ${await sippCaller('5551234', 5000)}
  SIP caller to an H.323 room system (prefix 1 -> LRQ to GnuGk):
    ${await sippCaller('1002', 5000)}${room ? '' : '   (needs SIMPH323_BIN for room system 1002)'}
  H.323 room system calling a SIP expert through GnuGk (prefix 9 -> the gateway's LCF -> SIPp callee):
    ${simph} -u 1001 -g ${gkRas} -i 127.0.0.3 -x ${await freePort('127.0.0.3')} -f -s "Null Audio" 9100
  H.323 room system into the council room (alias 8100; GnuGk must send LRQs for it, see SendPrefixes in sip-configs/gnugk/gatekeeper.ini):
    ${simph} -u 1003 -g ${gkRas} -i 127.0.0.5 -x ${await freePort('127.0.0.5')} -f -s "Null Audio" 8100
  (in simph323: H hangs up, X exits)
  GnuGk's status port: telnet ${gk.host} ${gk.statusPort}  (r = registrations, c = calls, pn = neighbours)
  FreeSWITCH's console: fs_cli -H ${fs.eslHost} -P ${fs.eslPort} -p "$(cat ${eslSecretFile})"  (e.g. /api conference council-main list)

Ctrl-C stops everything.`);
    }

    const first = await Promise.race([
      interrupted,
      gateway.proc.exitCode !== null ? Promise.resolve('the gateway exited') : new Promise<string>((res) => gateway.proc.once('exit', () => res('the gateway exited'))),
      fs.process.exited.then(() => 'FreeSWITCH exited'),
      drachtio.process.exited.then(() => 'drachtio-server exited'),
      gk.process.exited.then(() => 'GnuGk exited'),
    ]);
    // The terminal's Ctrl-C also reaches the gateway, redis-server and SIPp (the lab's process
    // group), which may exit first; the other servers run in their own groups.
    const why = signalled ?? first;
    console.log(`\nlab: ${why}; stopping`);
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    for (const s of [drachtio.workDir, fs.workDir, gk.workDir, room?.workDir]) if (s) rmSync(s, { recursive: true, force: true });
    const left = started.filter((s) => s.pid > 0 && running(s.pid));
    if (left.length) {
      console.error(`lab: still running after stop: ${left.map((s) => `${s.name} ${s.pid}`).join(', ')}`);
      return 1;
    }
    console.log('lab: everything stopped');
    return why === 'Ctrl-C' || why === 'SIGTERM' ? 0 : 1;
  } catch (e) {
    console.error(`lab: ${(e as Error).message}`);
    await stopAll();
    return 1;
  } finally {
    const left = livePids();
    if (left.length) console.error(`lab: still running after stop: ${left.join(' ')}`);
  }
}

main().then((c) => process.exit(c), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
