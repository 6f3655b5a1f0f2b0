/** gatewayctl doctor: the pre-flight table an operator runs before (and while) taking calls. */
import type { Command } from 'commander';
import { runDoctor, doctorTable, doctorExitCode, DOCTOR_CODES, type DoctorTargets } from '../../lib/ops/doctor.js';
import type { CliIO } from './io.js';

export function addDoctorCommand(program: Command, io: CliIO, done: (code: number) => void): void {
  program
    .command('doctor')
    .description(
      `check config, registry, audit chain, drachtio link, FreeSWITCH ESL, GnuGk (LRQ ping), Redis, clock; exit 0 or the first failure's code (${Object.entries(DOCTOR_CODES).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    )
    .option('--config <file>', 'gateway config file (default: GATEWAY_CONFIG)')
    .option('--json', 'machine-readable output')
    .option('--timeout <ms>', 'per-check time limit', '3000')
    .action(async (o: { config?: string; json?: boolean; timeout: string }) => {
      const env = io.env;
      const targets: DoctorTargets = {};
      if (env.FS_HOST && env.FS_PORT && env.FS_SECRET) targets.freeswitch = { host: env.FS_HOST, port: Number(env.FS_PORT), secret: env.FS_SECRET };
      if (env.REDIS_URL) targets.redis = { url: env.REDIS_URL };
      const rows = await runDoctor({ ...(o.config ? { configFile: o.config } : {}), env, targets, timeoutMs: Number(o.timeout) || 3000 });
      io.out(o.json ? `${JSON.stringify(rows)}\n` : doctorTable(rows));
      done(doctorExitCode(rows));
    });
}
