/** keygen and sign commands. */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { signIdentity } from '../../lib/policy/passport.js';
import { CliError, type CliIO } from './io.js';

export function rawPublicFromPem(pem: string): string {
  let key;
  try {
    key = createPublicKey(createPrivateKey(pem));
  } catch {
    throw new CliError('not a PEM Ed25519 private key');
  }
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new CliError('not an Ed25519 key');
  return jwk.x;
}

export async function readPem(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** A claim argument: a sip:/sips:/tel: URI goes in `uri`, anything else is a telephone number. */
function claim(v: string): { uri?: string; tn?: string } {
  return /^(sips?|tel):/i.test(v) ? { uri: v } : { tn: v.replace(/[^0-9]/g, '') };
}

export function addKeyCommands(program: Command, io: CliIO, done: (code: number) => void): void {
  program
    .command('keygen')
    .description('generate an Ed25519 key pair; the private key file is written with mode 0600')
    .requiredOption('--out <file>', 'private key file (PKCS#8 PEM); must not exist unless --force')
    .option('--kid <kid>', 'key id to print alongside (the registry names keys by it)')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'machine-readable output')
    .action(async (o: { out: string; kid?: string; force?: boolean; json?: boolean }) => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      try {
        await writeFile(o.out, pem, { mode: 0o600, flag: o.force ? 'w' : 'wx' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new CliError(code === 'EEXIST' ? `${o.out} exists; use --force to overwrite` : `cannot write ${o.out}: ${code}`);
      }
      const pub = String(publicKey.export({ format: 'jwk' }).x);
      if (o.json) io.out(`${JSON.stringify({ kid: o.kid ?? null, publicKey: pub, privateKeyFile: o.out })}\n`);
      else io.out(`public key (base64url): ${pub}\n${o.kid ? `kid: ${o.kid}\n` : ''}private key written to ${o.out} (mode 0600)\n`);
      done(0);
    });

  program
    .command('sign')
    .description('make an RFC 8224 Identity header (PASSporT, EdDSA) for a test call')
    .requiredOption('--key <file>', 'Ed25519 private key (PEM)')
    .requiredOption('--kid <kid>', 'registry key id')
    .requiredOption('--orig <uri|number>', 'caller: sip: URI or telephone number')
    .requiredOption('--dest <uri|number...>', 'callee(s): sip: URI or telephone number')
    .option('--iat <seconds>', 'issued-at, seconds since epoch (default now)')
    .option('--json', 'machine-readable output')
    .action(async (o: { key: string; kid: string; orig: string; dest: string[]; iat?: string; json?: boolean }) => {
      const pem = await readPem(o.key);
      rawPublicFromPem(pem);
      const iat = o.iat !== undefined ? Number(o.iat) : Math.floor(Date.now() / 1000);
      if (!Number.isSafeInteger(iat)) throw new CliError('--iat must be an integer', 2);
      const dests = o.dest.map(claim);
      const dest = dests.every((d) => d.uri) ? { uri: dests.map((d) => d.uri!) } : { tn: dests.map((d) => d.tn ?? d.uri!) };
      const header = signIdentity({ kid: o.kid, privateKey: pem, orig: claim(o.orig), dest, iat });
      io.out(o.json ? `${JSON.stringify({ header: 'Identity', value: header })}\n` : `Identity: ${header}\n`);
      done(0);
    });
}
