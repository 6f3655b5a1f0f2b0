/**
 * H323Plus's sample endpoint `simph323` (SIMPH323_BIN) as an H.323 room system for tests and the
 * lab: registers at GnuGk with the given alias from its own address (127.0.0.x) and call
 * signalling port, then either auto-answers incoming calls or places one call. fastStart on or
 * off, G.711 u-law or A-law preferred (or the only codec), null audio device (no sound card).
 * Ready once GnuGk's status port lists the alias at that address (or, without a status port,
 * once simph323 prints that its gatekeeper accepted it).
 */
import { GnuGkStatusClient } from '../../../lib/h323/gnugk/status-port.js';
import { freePort } from './ports.js';
import { binaryFromEnv, parseHostPort, spawnServer, stopOnFailure, waitForLog, waitReady, workDir, type ServerProcess } from './process.js';

/** H323Plus capability names of the two G.711 laws. */
export const G711_CAPABILITY = { PCMU: 'G.711-uLaw-64k', PCMA: 'G.711-ALaw-64k' } as const;
export type G711Law = keyof typeof G711_CAPABILITY;

export interface SimpH323Options {
  /** Alias(es) to register; the first is the local user name. */
  alias: string | readonly string[];
  /** GnuGk RAS address, host:port. */
  gatekeeper: string;
  /** Address to bind (RAS and call signalling), e.g. 127.0.0.4; distinct per endpoint. */
  host: string;
  /** Call-signalling listen port; default a free one. */
  port?: number;
  /** 'answer': listen and auto-answer; otherwise the number to call (through the gatekeeper). */
  mode: 'answer' | { call: string };
  fastStart: boolean;
  /** Default true (H323Plus's default). */
  tunnel?: boolean;
  /** Preferred law; default PCMA. */
  codec?: G711Law;
  /** Also disable the other law (the endpoint then offers only `codec`). */
  onlyCodec?: boolean;
  /** simph323's sound device; default H323Plus's null device. */
  soundDevice?: string;
  /** PTLib trace level written to the trace file; default 0 (none). */
  trace?: number;
  /**
   * Read commands from a pipe (SimpH323Endpoint.send: H hangs up, digits go as user input, X
   * exits and unregisters) instead of sleeping (-S). stop() then exits with X, so GnuGk sees the
   * unregistration; without it simph323 ignores SIGTERM and is killed.
   */
  interactive?: boolean;
}

export const NULL_SOUND_DEVICE = 'Null Audio';

/** simph323's command line for these options (with the listen port already chosen). */
export function simph323Args(o: SimpH323Options & { port: number; traceFile?: string }): string[] {
  const aliases = typeof o.alias === 'string' ? [o.alias] : [...o.alias];
  if (aliases.length === 0 || aliases.some((a) => !/^[A-Za-z0-9_.@:+#*-]+$/.test(a))) throw new Error(`simph323: bad alias list ${JSON.stringify(aliases)}`);
  parseHostPort(o.gatekeeper, 'simph323 gatekeeper');
  const codec = o.codec ?? 'PCMA';
  const other: G711Law = codec === 'PCMA' ? 'PCMU' : 'PCMA';
  const args = ['-u', aliases.join(','), '-g', o.gatekeeper, '-i', o.host, '-x', String(o.port), '-P', G711_CAPABILITY[codec]];
  if (o.onlyCodec) args.push('-D', G711_CAPABILITY[other]);
  if (o.fastStart) args.push('-f');
  if (o.tunnel === false) args.push('-T');
  args.push('-s', o.soundDevice ?? NULL_SOUND_DEVICE);
  if (o.trace && o.trace > 0) {
    args.push(`-${'t'.repeat(o.trace)}`);
    if (o.traceFile) args.push('-o', o.traceFile);
  }
  // -S: sleep instead of reading commands from stdin (there is none unless interactive).
  if (!o.interactive) args.push('-S');
  if (o.mode === 'answer') args.push('-l', '-a');
  else args.push(o.mode.call);
  return args;
}

export interface SimpH323Endpoint {
  kind: 'simph323';
  aliases: string[];
  host: string;
  port: number;
  process: ServerProcess;
  workDir: string;
  /** What simph323 printed so far ("In call with ...", "User input received: ...", "... has cleared the call"). */
  output(): string;
  /** Interactive endpoints: one command line (H, a digit string, X). */
  send(command: string): void;
  stop(): Promise<void>;
}

export async function startSimpH323(o: SimpH323Options & { bin?: string; env?: NodeJS.ProcessEnv; statusPort?: string; timeoutMs?: number }): Promise<SimpH323Endpoint> {
  const bin = o.bin ?? binaryFromEnv('SIMPH323_BIN', 'H323Plus simph323', o.env);
  const port = o.port ?? (await freePort(o.host));
  const aliases = typeof o.alias === 'string' ? [o.alias] : [...o.alias];
  const dir = workDir(`simph323-${aliases[0]}`);
  const args = simph323Args({ ...o, port, traceFile: `${dir}/simph323.trace.log` });
  const sp = spawnServer({ name: `simph323 ${aliases[0]}`, bin, args, cwd: dir, logFile: `${dir}/simph323.log`, ...(o.interactive ? { stdin: true } : {}) });
  const timeoutMs = o.timeoutMs ?? 30_000;
  if (o.statusPort) {
    const sp2 = parseHostPort(o.statusPort, 'GnuGk status port');
    await stopOnFailure(sp, waitReady(sp, `GnuGk (${o.statusPort}) to list ${aliases[0]} at ${o.host}:${port}`, async () => {
      const st = await GnuGkStatusClient.connect(sp2.host, sp2.port);
      try {
        const reg = await st.find(aliases[0] as string);
        return reg && reg.callSignalAddress.includes(`${o.host}:${port}`) ? reg : undefined;
      } finally {
        await st.close();
      }
    }, timeoutMs, 250));
  } else {
    await stopOnFailure(sp, waitForLog(sp, /Gatekeeper set:/, timeoutMs));
  }
  const send = (command: string): void => {
    if (!o.interactive || !sp.proc.stdin) throw new Error(`simph323 ${aliases[0]} was not started interactive`);
    if (/[\r\n]/.test(command)) throw new Error('one command line at a time');
    sp.proc.stdin.write(`${command}\n`);
  };
  return {
    kind: 'simph323', aliases, host: o.host, port, process: sp, workDir: dir, output: () => sp.logTail(1_000_000), send,
    async stop() {
      if (o.interactive && sp.running()) {
        // X: simph323 clears its call, unregisters from GnuGk and exits; SIGTERM/SIGKILL if not.
        sp.proc.stdin?.write('X\n');
        sp.proc.stdin?.end();
        let t: NodeJS.Timeout | undefined;
        const exitedInTime = await Promise.race([sp.exited.then(() => true), new Promise<false>((r) => (t = setTimeout(() => r(false), 5000)))]);
        clearTimeout(t);
        if (exitedInTime) return;
      }
      await sp.stop(5000);
    },
  };
}
