/**
 * `npm run test:real [-- mocha args | spec files]`: the end-to-end suites against real servers.
 * `npm run real -- COMMAND [ARGS...]`: any other command (a benchmark, say) with the same servers
 * started and their variables exported, e.g. `npm run real -- npm run bench -- calls --rate=50`.
 *
 * Starts, once, each real server whose binary the environment names (DRACHTIO_BIN,
 * FREESWITCH_BIN [+ FS_CONF_DIR, FS_MOD_DIR], GNUGK_BIN, SIMPH323_BIN) on free loopback ports
 * with the project's configs (test/lab/real-servers/), or uses one already running (DRACHTIO_*,
 * FS_HOST/FS_PORT/FS_SECRET/FS_SIP, GK_ADDR/GK_NEIGHBOUR_PORT); says which are missing and what
 * then runs against doubles or skips; exports the variables the suites read; runs mocha on the
 * same files as `npm run test:e2e`; stops every server at the end, on failure and on Ctrl-C.
 * It never builds or installs a server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../test/support/paths.js';
import { describePlan, mochaArgs, planServers, startRealServers, type RealServers } from '../test/lab/real-servers/index.js';
import { livePids } from '../test/lab/real-servers/process.js';

/** What runs once the servers are up: mocha on the e2e suites, or the command after `--run`. */
function commandFor(userArgs: string[]): { label: string; bin: string; args: string[] } {
  if (userArgs[0] === '--run') {
    const [bin, ...args] = userArgs.slice(1);
    if (!bin) throw new Error('--run needs a command');
    return { label: 'real', bin, args };
  }
  return { label: 'test:real', bin: join(repoRoot, 'node_modules/.bin/mocha'), args: mochaArgs(userArgs) };
}

async function main(): Promise<number> {
  const cmd = commandFor(process.argv.slice(2));
  const label = cmd.label;
  const plan = planServers(process.env);
  console.log(`${label} - servers:`);
  for (const l of describePlan(plan)) console.log(l);

  let servers: RealServers | undefined;
  let mocha: ChildProcess | undefined;
  let stopping = false;
  const shutdown = async (why: string, code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      console.log(`\n${label}: ${why}; stopping the servers`);
      if (mocha && mocha.exitCode === null) mocha.kill('SIGINT');
      await servers?.stop();
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('interrupted', 130));
  process.once('SIGTERM', () => void shutdown('terminated', 143));

  try {
    servers = await startRealServers({ plan, tolerant: true, onReady: (l) => console.log(`  ${l}`) });
  } catch (e) {
    console.error(`${label}: a server did not come up:\n${(e as Error).message}`);
    return 2;
  }
  for (const f of servers.failed) console.log(`${label}: ${f.name} is left out (did not come up); its suites use the double or skip`);
  const exported = servers.env;
  if (Object.keys(exported).length) {
    console.log('environment for the suites:');
    for (const [k, v] of Object.entries(exported)) console.log(`  ${k}=${v}`);
  } else {
    console.log('no real server started: the suites run against the doubles only');
  }

  console.log(`running: ${cmd.bin === join(repoRoot, 'node_modules/.bin/mocha') ? 'mocha' : cmd.bin} ${cmd.args.join(' ')}\n`);
  const code = await new Promise<number>((resolve) => {
    mocha = spawn(cmd.bin, cmd.args, {
      cwd: repoRoot,
      stdio: 'inherit',
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', ...exported },
    });
    mocha.once('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });

  const failed = code !== 0;
  if (failed) {
    console.log(`\n${label}: the command failed; server logs are kept:`);
    for (const l of servers.summary()) console.log(`  ${l}`);
  }
  stopping = true;
  await servers.stop({ removeWorkDirs: !failed && process.env.KEEP_LOGS !== '1' });
  const left = livePids();
  if (left.length) console.error(`${label}: still running after stop: ${left.join(' ')}`);
  console.log(`${label}: servers stopped; exit code ${code}`);
  if (servers.failed.length) {
    console.log(`${label}: failing the run because ${servers.failed.map((f) => f.name).join(', ')} did not come up`);
    return code || 3;
  }
  return code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((c) => process.exit(c), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
