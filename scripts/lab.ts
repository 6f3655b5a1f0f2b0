/**
 * `npm run lab [-- --registry FILE]`: the lab without Docker. Starts, on free loopback ports,
 * drachtio-server (DRACHTIO_BIN), FreeSWITCH (FREESWITCH_BIN [+ FS_CONF_DIR, FS_MOD_DIR]) and
 * GnuGk (GNUGK_BIN) with the project's configs (test/lab/real-servers/), Redis when redis-server
 * is installed, a SIPp callee (the dial plan's SIP routes; it echoes RTP), an auto-answering
 * H.323 room system 1002 when SIMPH323_BIN is set, and the gateway (apps/gateway) with
 * sip-configs/gateway/gateway.json adapted to those ports. Prints what to dial, stays up until
 * Ctrl-C, then stops everything. It never builds or installs a server.
 *
 * Policy: with --registry FILE the gateway runs its policy chain with that registry (as the
 * compose lab does); without it the lab starts with policy.enabled false, so the printed SIPp
 * commands get through without digest credentials or signed Identity headers.
 */
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startGateway, type GatewayProcess } from '../test/lab/gateway-process.js';
import { RedisServer } from '../test/lab/redis-server.js';
import { startSippUas, type SippUas } from '../test/lab/sipp.js';
import { freeMediaPort } from '../test/lab/ports.js';
import { repoRoot } from '../test/support/paths.js';
import { describePlan, planServers } from '../test/lab/real-servers/index.js';
import { startDrachtio, type DrachtioServer } from '../test/lab/real-servers/drachtio.js';
import { startFreeSwitch, type FreeSwitchServer } from '../test/lab/real-servers/freeswitch.js';
import { startGnuGk, type GnuGkServer } from '../test/lab/real-servers/gnugk.js';
import { startSimpH323, type SimpH323Endpoint } from '../test/lab/real-servers/simph323.js';
import { freePort, freeSipPort } from '../test/lab/real-servers/ports.js';
import { labGatewayConfig, readGatewayJson } from '../test/lab/real-servers/lab-config.js';
import { livePids } from '../test/lab/real-servers/process.js';

interface Stoppable {
  name: string;
  stop(): Promise<unknown>;
}

function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq ? eq.slice(name.length + 1) : undefined;
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
    process.once('SIGINT', () => res((signalled = 'Ctrl-C')));
    process.once('SIGTERM', () => res((signalled = 'SIGTERM')));
  });

  const host = '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'lab-gateway-'));
  try {
    let redis: RedisServer | undefined;
    if (!spawnSync('redis-server', ['--version']).error) {
      redis = await RedisServer.start();
      started.push({ name: 'redis-server', stop: () => redis!.stop() });
    }
    const p = plan as { drachtio: { bin: string }; freeswitch: { bin: string }; gnugk: { bin: string }; simph323: { mode: string; bin?: string } };
    const drachtio: DrachtioServer = await startDrachtio({ bin: p.drachtio.bin });
    started.push({ name: 'drachtio-server', stop: drachtio.stop });
    const fs: FreeSwitchServer = await startFreeSwitch({ bin: p.freeswitch.bin });
    started.push({ name: 'FreeSWITCH', stop: fs.stop });

    const gw = { ras: await freePort(host), callSignal: await freePort(host), mediaListen: await freePort(host), http: await freePort(host) };
    const gk: GnuGkServer = await startGnuGk({ bin: p.gnugk.bin, neighbours: [`${host}:${gw.ras}`] });
    started.push({ name: 'GnuGk', stop: gk.stop });

    const uas: SippUas = await startSippUas({
      scenario: 'uas', localPort: await freeSipPort(), timeoutMs: 2_000_000_000,
      args: ['-rtp_echo', '-mi', host, '-mp', String(await freeMediaPort())],
    });
    started.push({ name: 'SIPp callee', stop: () => uas.stop() });

    let room: SimpH323Endpoint | undefined;
    if (p.simph323.mode === 'start' && p.simph323.bin) {
      room = await startSimpH323({
        bin: p.simph323.bin, alias: '1002', host: '127.0.0.4', mode: 'answer', fastStart: true,
        gatekeeper: `${gk.host}:${gk.rasPort}`, statusPort: `${gk.host}:${gk.statusPort}`,
      });
      started.push({ name: 'simph323 1002', stop: room.stop });
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
    started.push({ name: 'gateway', stop: async () => { await gateway.stop(); logStream.end(); } });

    const sip = `${drachtio.sipHost}:${drachtio.sipPort}`;
    const gkRas = `${gk.host}:${gk.rasPort}`;
    const simph = process.env.SIMPH323_BIN ?? 'simph323';
    console.log(`
lab is up (policy ${registry ? `ON, registry ${registry}` : 'OFF: no registry given, every SIP caller is a guest'}; state ${redis ? `redis ${redis.url}` : 'memory'})
  drachtio-server  SIP ${sip} udp+tcp, control ${drachtio.host}:${drachtio.port}        log ${drachtio.process.logFile}
  FreeSWITCH       ESL ${fs.eslHost}:${fs.eslPort}, drachtio_mrf ${fs.sip}, RTP ${fs.rtpStart}-${fs.rtpEnd}   log ${fs.workDir}/log/freeswitch.log
  GnuGk ${gk.name.padEnd(10)} RAS ${gkRas}, call signalling ${gk.host}:${gk.callSignalPort}, status ${gk.host}:${gk.statusPort}   log ${gk.process.logFile}
  gateway          RAS ${host}:${gw.ras}, H.225 ${host}:${gw.callSignal}, http://${host}:${gateway.httpPort}/health   log ${gwLog}
  SIPp callee      ${host}:${uas.port} (answers every SIP route of the dial plan, echoes RTP)${room ? `\n  room system 1002 simph323 at ${room.host}:${room.port}, auto-answer, fastStart   log ${room.process.logFile}` : ''}

What to dial:
  SIP caller into the council room "council-main":
    sipp -sn uac -s council -m 1 -d 10000 -i ${host} -p ${await freeSipPort()} ${sip}
  SIP caller to a SIP expert (dial plan catch-all -> the SIPp callee):
    sipp -sn uac -s 5551234 -m 1 -d 5000 -i ${host} -p ${await freeSipPort()} ${sip}
  SIP caller to an H.323 room system (prefix 1 -> LRQ to GnuGk):
    sipp -sn uac -s 1002 -m 1 -d 5000 -i ${host} -p ${await freeSipPort()} ${sip}${room ? '' : '   (needs SIMPH323_BIN for room system 1002)'}
  H.323 room system calling a SIP expert through GnuGk (prefix 9 -> the gateway's LCF -> SIPp callee):
    ${simph} -u 1001 -g ${gkRas} -i 127.0.0.3 -x ${await freePort('127.0.0.3')} -f -s "Null Audio" 9100
  H.323 room system into the council room (alias 8100; GnuGk must send LRQs for it, see SendPrefixes in sip-configs/gnugk/gatekeeper.ini):
    ${simph} -u 1003 -g ${gkRas} -i 127.0.0.5 -x ${await freePort('127.0.0.5')} -f -s "Null Audio" 8100
  (in simph323: H hangs up, X exits)
  GnuGk's status port: telnet ${gk.host} ${gk.statusPort}  (r = registrations, c = calls, pn = neighbours)

Ctrl-C stops everything.`);

    const first = await Promise.race([
      interrupted,
      gateway.proc.exitCode !== null ? Promise.resolve('the gateway exited') : new Promise<string>((res) => gateway.proc.once('exit', () => res('the gateway exited'))),
      fs.process.exited.then(() => 'FreeSWITCH exited'),
      drachtio.process.exited.then(() => 'drachtio-server exited'),
      gk.process.exited.then(() => 'GnuGk exited'),
    ]);
    // The terminal's Ctrl-C also reaches the gateway (same process group), which may exit first.
    const why = signalled ?? first;
    console.log(`\nlab: ${why}; stopping`);
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    for (const s of [drachtio.workDir, fs.workDir, gk.workDir, room?.workDir]) if (s) rmSync(s, { recursive: true, force: true });
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
