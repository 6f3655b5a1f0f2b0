/**
 * Records what a real FreeSWITCH prints for the commands the compose healthcheck could run, into
 * test/fixtures/compose/freeswitch/ (the goldens test/unit/ops/compose-images.test.ts checks the
 * healthcheck against). FreeSWITCH is started by the project's launcher
 * (test/lab/real-servers/freeswitch.ts) with sip-configs/freeswitch; the output is fs_cli's
 * (FREESWITCH_BIN's sibling fs_cli), as the healthcheck runs it.
 *
 *   FREESWITCH_BIN=/opt/real/freeswitch/bin/freeswitch node --import tsx scripts/record-fs-status.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startFreeSwitch } from '../test/lab/real-servers/freeswitch.js';
import { repoRoot } from '../test/support/paths.js';

export const FS_STATUS_COMMANDS: Record<string, string> = {
  'sofia status': 'sofia-status.txt',
  'sofia status profile drachtio_mrf': 'sofia-status-profile-drachtio_mrf.txt',
};

async function main(): Promise<void> {
  const bin = process.env.FREESWITCH_BIN;
  if (!bin) throw new Error('set FREESWITCH_BIN');
  const fsCli = join(dirname(bin), 'fs_cli');
  if (!existsSync(fsCli)) throw new Error(`no fs_cli beside ${bin}`);
  const fs = await startFreeSwitch({ bin });
  try {
    const version = execFileSync(bin, ['-version'], { encoding: 'utf8' }).trim();
    const out = join(repoRoot, 'test/fixtures/compose/freeswitch');
    mkdirSync(out, { recursive: true });
    for (const [cmd, file] of Object.entries(FS_STATUS_COMMANDS)) {
      const text = execFileSync(fsCli, ['-H', fs.eslHost, '-P', String(fs.eslPort), '-p', fs.secret, '-x', cmd], { encoding: 'utf8' });
      writeFileSync(join(out, file), text);
      process.stdout.write(`--- ${cmd} -> ${file}\n${text}`);
    }
    writeFileSync(join(out, 'VERSION'), `${version}\nconf: sip-configs/freeswitch via test/lab/real-servers/freeswitch.ts (ESL and SIP on ${fs.eslHost})\n`);
  } finally {
    await fs.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
