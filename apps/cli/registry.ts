/** registry add/list/suspend/activate/rotate-key over the file-backed registry. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { makeCredentials } from '../../lib/registry/credentials.js';
import { addEntry, rotateKey, setStatus, type EditResult } from '../../lib/registry/edit.js';
import { readRegistryFile, writeRegistryFile } from '../../lib/registry/store.js';
import { DEFAULT_LIMITS, ROLES, type RegistryDocument, type RegistryEntry, type Role } from '../../lib/registry/types.js';
import { decodePublicKey } from '../../lib/registry/validate.js';
import { CliError, type CliIO } from './io.js';
import { rawPublicFromPem, readPem } from './keys.js';

async function load(file: string, createIfMissing: boolean): Promise<RegistryDocument> {
  const res = await readRegistryFile(file);
  if (res.ok) return res.doc;
  if (createIfMissing && res.errors[0]?.includes('ENOENT')) return { version: 1, entries: [] };
  throw new CliError(`${file} is not a valid registry:\n  ${res.errors.join('\n  ')}`);
}

async function save(file: string, r: EditResult): Promise<void> {
  if (!r.ok) throw new CliError(`refused:\n  ${r.errors.join('\n  ')}`);
  await writeRegistryFile(file, r.doc);
}

async function publicKeyFrom(o: { publicKey?: string; keyFile?: string }): Promise<string | undefined> {
  if (o.publicKey && o.keyFile) throw new CliError('give --public-key or --key-file, not both', 2);
  if (o.keyFile) return rawPublicFromPem(await readPem(o.keyFile));
  if (o.publicKey && !decodePublicKey(o.publicKey)) throw new CliError('--public-key: not 32 bytes base64url', 2);
  return o.publicKey;
}

async function password(o: { passwordFile?: string; passwordEnv?: string }, io: CliIO): Promise<string> {
  // Never from argv: command lines are visible to every local user (ps, /proc).
  if (o.passwordFile) {
    try {
      return (await readFile(o.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    } catch {
      throw new CliError(`cannot read ${o.passwordFile}`);
    }
  }
  if (o.passwordEnv) {
    const v = io.env[o.passwordEnv];
    if (!v) throw new CliError(`environment variable ${o.passwordEnv} is empty`);
    return v;
  }
  throw new CliError('give --password-file or --password-env', 2);
}

function summary(e: RegistryEntry) {
  return {
    id: e.id,
    displayName: e.displayName,
    role: e.role,
    status: e.status,
    username: e.sip.username,
    realm: e.sip.realm,
    keys: e.keys.map((k) => k.kid),
    maxConcurrentCalls: e.limits.maxConcurrentCalls,
    maxBandwidthBps: e.limits.maxBandwidthBps,
  };
}

export function addRegistryCommands(program: Command, io: CliIO, done: (code: number) => void): void {
  const reg = program.command('registry').description('manage the registry file (people and devices allowed in)');

  reg
    .command('add')
    .description('add an entry (the file is created if missing); stores HA1 values, never the password')
    .requiredOption('--file <file>', 'registry JSON file')
    .requiredOption('--id <id>', 'entry id, e.g. T-01')
    .requiredOption('--name <displayName>', 'display name')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .requiredOption('--username <user>', 'SIP digest username')
    .requiredOption('--realm <realm>', 'digest realm')
    .option('--password-file <file>', 'file holding the password (first line)')
    .option('--password-env <VAR>', 'environment variable holding the password')
    .option('--kid <kid>', 'key id for the public key')
    .option('--public-key <b64url>', 'raw Ed25519 public key, base64url')
    .option('--key-file <pem>', 'take the public key from this private key file')
    .option('--max-calls <n>', 'concurrent call cap', String(DEFAULT_LIMITS.maxConcurrentCalls))
    .option('--max-bandwidth <bps>', 'bandwidth quota over all active calls, bit/s', String(DEFAULT_LIMITS.maxBandwidthBps))
    .option('--suspended', 'add in suspended state')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      if (!(ROLES as readonly string[]).includes(String(o.role))) throw new CliError(`--role must be one of ${ROLES.join(', ')}`, 2);
      const pub = await publicKeyFrom({ publicKey: o.publicKey as string | undefined, keyFile: o.keyFile as string | undefined });
      if (pub && !o.kid) throw new CliError('--kid is required with a key', 2);
      const pw = await password({ passwordFile: o.passwordFile as string | undefined, passwordEnv: o.passwordEnv as string | undefined }, io);
      const entry: RegistryEntry = {
        id: String(o.id),
        displayName: String(o.name),
        role: o.role as Role,
        status: o.suspended ? 'suspended' : 'active',
        sip: makeCredentials(String(o.username), String(o.realm), pw),
        keys: pub ? [{ kid: String(o.kid), publicKey: pub, createdAt: new Date().toISOString() }] : [],
        limits: { maxConcurrentCalls: Number(o.maxCalls), maxBandwidthBps: Number(o.maxBandwidth) },
      };
      const file = String(o.file);
      await save(file, addEntry(await load(file, true), entry));
      io.out(`added ${entry.id}\n`);
      done(0);
    });

  reg
    .command('list')
    .description('list entries (no secrets are printed)')
    .requiredOption('--file <file>', 'registry JSON file')
    .option('--json', 'machine-readable output')
    .action(async (o: { file: string; json?: boolean }) => {
      const doc = await load(o.file, false);
      const rows = doc.entries.map(summary);
      if (o.json) io.out(`${JSON.stringify(rows, null, 2)}\n`);
      else for (const r of rows) io.out(`${r.id}\t${r.role}\t${r.status}\t${r.username}@${r.realm}\tkeys=${r.keys.join(',') || '-'}\tcalls<=${r.maxConcurrentCalls}\tbps<=${r.maxBandwidthBps}\t${r.displayName}\n`);
      done(0);
    });

  for (const [name, status] of [
    ['suspend', 'suspended'],
    ['activate', 'active'],
  ] as const) {
    reg
      .command(`${name} <id>`)
      .description(`mark an entry ${status}`)
      .requiredOption('--file <file>', 'registry JSON file')
      .action(async (id: string, o: { file: string }) => {
        await save(o.file, setStatus(await load(o.file, false), id, status));
        io.out(`${id} ${status}\n`);
        done(0);
      });
  }

  reg
    .command('rotate-key <id>')
    .description('add a new key to an entry; --retire drops its previous keys')
    .requiredOption('--file <file>', 'registry JSON file')
    .requiredOption('--kid <kid>', 'new key id (unique across the registry)')
    .option('--public-key <b64url>', 'raw Ed25519 public key, base64url')
    .option('--key-file <pem>', 'take the public key from this private key file')
    .option('--retire', 'remove the entry\u2019s previous keys')
    .action(async (id: string, o: { file: string; kid: string; publicKey?: string; keyFile?: string; retire?: boolean }) => {
      const pub = await publicKeyFrom(o);
      if (!pub) throw new CliError('give --public-key or --key-file', 2);
      await save(o.file, rotateKey(await load(o.file, false), id, { kid: o.kid, publicKey: pub, createdAt: new Date().toISOString() }, !!o.retire));
      io.out(`${id}: key ${o.kid} added${o.retire ? ', previous keys retired' : ''}\n`);
      done(0);
    });
}
