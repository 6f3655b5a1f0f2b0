/**
 * gatewayctl: operator CLI. `main(argv)` runs in-process (tests call it) and returns the exit
 * code: 0 success, 1 failure (verification failed, file refused), 2 usage error.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { CliError, processIO, type CliIO } from './io.js';
import { addKeyCommands } from './keys.js';
import { addRegistryCommands } from './registry.js';
import { addAuditCodecCommands } from './audit-codec.js';
import { addDoctorCommand } from './doctor.js';

export function buildProgram(io: CliIO, done: (code: number) => void): Command {
  const program = new Command('gatewayctl')
    .description('council gateway operator tool: keys, registry, identity signing, audit verification, codec analysis')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();
  addKeyCommands(program, io, done);
  addRegistryCommands(program, io, done);
  addAuditCodecCommands(program, io, done);
  addDoctorCommand(program, io, done);
  // Every subcommand inherits the error handling and output routing.
  const walk = (c: Command): void => {
    for (const sub of c.commands) {
      sub.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
      walk(sub);
    }
  };
  walk(program);
  return program;
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  if (argv.length === 0) {
    io.out(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exitCode 0; usage errors with 1 -> report as 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      io.err(`gatewayctl: ${err.message}\n`);
      return err.code;
    }
    io.err(`gatewayctl: unexpected error: ${(err as Error).message}\n`);
    return 1;
  }
}

/** True when this file is the process entry, also through an npm bin symlink. */
function isEntry(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(arg)).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).then((c) => {
    process.exitCode = c;
  });
}
