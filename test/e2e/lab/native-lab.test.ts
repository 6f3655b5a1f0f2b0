/**
 * The native lab exactly as a user runs it: `node --import tsx scripts/lab.ts` (what `npm run lab`
 * runs) with DRACHTIO_BIN, FREESWITCH_BIN, GNUGK_BIN and SIMPH323_BIN, in its own process group
 * as a shell would start it; the test reads what it prints and dials what it says:
 *
 * 1. the printed SIPp command into the council room, as printed (it names its media port and
 *    -rtp_echo) plus `-nostdin` (no terminal) and `-trace_msg -message_file F` (to read the 200):
 *    200 OK to the INVITE and SIPp's exit 0; RTP from FreeSWITCH (the printed RTP range) at that
 *    media port and SIPp's echo back to FreeSWITCH, counted by tcpdump on lo (RtpTap);
 *    FreeSWITCH's conference council-main lists the member (ESL, with the printed fs_cli address
 *    and password) one member more while the call is up than before it (fsmrf's own muted control
 *    leg is a member too), and not the caller once SIPp has hung up;
 * 2. the printed simph323 command calling a SIP expert (9100) through GnuGk, as printed (stdin a
 *    pipe, where a user types H and X): it connects ("In call with 9100"); RTP from FreeSWITCH at
 *    the SIPp callee's printed media port and the callee's echo back; RTP from the room system
 *    to FreeSWITCH and from FreeSWITCH to it (H323Plus's ports 5000-5999 or its -i host, as in
 *    test/e2e/interop/gnugk-h323plus.test.ts: a simph323 caller advertises 127.0.0.1 whatever its
 *    -i); H hangs up, GnuGk (printed status port) lists no call, X exits 0;
 * 3. Ctrl-C as a terminal sends it, SIGINT to the lab's process group: the lab exits 0, says it
 *    stopped everything, and none of its children is left: the pids of its `pids:` line
 *    (drachtio-server, FreeSWITCH, GnuGk, simph323 1002, SIPp callee, gateway, redis-server),
 *    which are all the children /proc listed for it before the stop (tsx's esbuild helper aside).
 *
 * No double plays these servers for the lab, so without all four variables the suite is pending,
 * its title saying why (CI covers the lab's pieces: test/unit/real-servers, the interop and
 * council suites against the doubles).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { RtpTap, type RtpPacket } from '../../support/rtp-tap.js';
import { EslClient } from '../../support/esl.js';
import { waitUntil } from '../../lab/wait.js';
import { GnuGkStatusClient } from '../../../lib/h323/gnugk/status-port.js';

const VARS = ['DRACHTIO_BIN', 'FREESWITCH_BIN', 'GNUGK_BIN', 'SIMPH323_BIN'] as const;
const missing = VARS.filter((v) => !process.env[v]);
const H323PLUS_RTP: readonly [number, number] = [5000, 5999];

/** Splits a printed command line as a POSIX shell would for these commands (blanks, "..." and '...'). */
function splitCommand(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let cur: string | undefined;
  let last = -1;
  for (const m of line.matchAll(re)) {
    const part = m[1] ?? m[2] ?? m[3] ?? '';
    // Adjacent pieces without a blank between them form one word (-s"Null Audio").
    if (cur !== undefined && m.index === last) cur += part;
    else {
      if (cur !== undefined) out.push(cur);
      cur = part;
    }
    last = m.index + m[0].length;
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

interface LabOutput {
  /** Description line (without its colon) -> the command line under it. */
  commands: Array<{ what: string; argv: string[] }>;
  fsRtp: [number, number];
  calleeRtp: { host: string; port: number };
  esl: { host: string; port: number; secret: string };
  gkStatus: { host: string; port: number };
  pids: Array<{ name: string; pid: number }>;
}

function parseLab(out: string): LabOutput {
  const lines = out.split('\n');
  const commands: LabOutput['commands'] = [];
  const dial = lines.indexOf('What to dial:');
  if (dial < 0) throw new Error(`no "What to dial:" in the lab's output:\n${out}`);
  for (let i = dial + 1; i + 1 < lines.length; i++) {
    const d = /^ {2}(\S.*):$/.exec(lines[i] as string);
    const c = /^ {4}(\S.*)$/.exec(lines[i + 1] as string);
    if (d && c) commands.push({ what: d[1] as string, argv: splitCommand((c[1] as string).replace(/ {3}\(needs .*\)$/, '')) });
  }
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(out);
    if (!m) throw new Error(`the lab's output has no ${what} (${re}):\n${out}`);
    return m;
  };
  const fs = need(/^ {2}FreeSWITCH .* RTP (\d+)-(\d+)\b/m, 'FreeSWITCH RTP range');
  const callee = need(/^ {2}SIPp callee .* RTP ([\d.]+):(\d+)\b/m, 'SIPp callee RTP address');
  // The password is not printed: the fs_cli line reads it from a 0600 file, as a user's shell would.
  const esl = need(/fs_cli -H (\S+) -P (\d+) -p "\$\(cat (\S+)\)"/, 'fs_cli line');
  const gk = need(/status port: telnet (\S+) (\d+)/, 'GnuGk status port');
  const pidLine = need(/^ {2}pids: (.*)$/m, 'pids: line');
  const pids = (pidLine[1] as string).split(', ').map((e) => {
    const m = /^(.+) (\d+)$/.exec(e);
    if (!m) throw new Error(`pids: entry without a pid: ${JSON.stringify(e)}`);
    return { name: m[1] as string, pid: Number(m[2]) };
  });
  return {
    commands,
    fsRtp: [Number(fs[1]), Number(fs[2])],
    calleeRtp: { host: callee[1] as string, port: Number(callee[2]) },
    esl: { host: esl[1] as string, port: Number(esl[2]), secret: readFileSync(esl[3] as string, 'utf8').trim() },
    gkStatus: { host: gk[1] as string, port: Number(gk[2]) },
    pids,
  };
}

/** ppid and start time (clock ticks since boot) of a pid from /proc, or undefined when it is gone. */
function procInfo(pid: number): { ppid: number; state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: f[0] as string, ppid: Number(f[1]), start: f[19] as string };
  } catch {
    return undefined;
  }
}

function childrenOf(ppid: number): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    if (procInfo(Number(e))?.ppid !== ppid) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    out.push({ pid: Number(e), cmd });
  }
  return out;
}

/** A spawned process with its output, waitable for a line of it or for its exit. */
class Proc {
  out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly watchers = new Set<() => void>();

  constructor(readonly proc: ChildProcess) {
    const on = (d: Buffer): void => {
      this.out += d.toString();
      for (const w of [...this.watchers]) w();
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
    this.exited = new Promise((resolve) => {
      proc.once('error', (e) => {
        this.out += `spawn error: ${e.message}`;
        resolve({ code: null, signal: null });
      });
      proc.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The first match of `re` in the output (from now or already there); rejects on exit or timeout. */
  waitFor(re: RegExp, what: string, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = re.exec(this.out);
        if (!m) return false;
        done();
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output:\n${this.out.slice(-6000)}`));
      }, timeoutMs);
      const w = (): void => { check(); };
      const done = (): void => {
        clearTimeout(timer);
        this.watchers.delete(w);
      };
      if (check()) return;
      this.watchers.add(w);
      void this.exited.then((r) => {
        if (check()) return;
        done();
        reject(new Error(`exited (${r.code ?? r.signal}) before ${what}; output:\n${this.out.slice(-6000)}`));
      });
    });
  }
}

if (missing.length) {
  describe('native lab (npm run lab) as a user runs it', () => {
    it.skip(`skipped: ${missing.join(', ')} not set (the lab starts real drachtio-server, FreeSWITCH, GnuGk and simph323 from the four *_BIN variables; no double of them runs the lab, CI covers its pieces in test/unit/real-servers and the e2e suites)`, () => undefined);
  });
} else {
  describe('native lab (npm run lab) as a user runs it', function () {
    this.timeout(300_000);
    let lab: Proc;
    let printed: LabOutput;
    const work = mkdtempSync(join(tmpdir(), 'native-lab-'));
    const mine: Proc[] = [];
    const taps: RtpTap[] = [];
    let esl: EslClient | undefined;
    let fsRange: (port: number) => boolean;
    const inH323 = (port: number): boolean => port >= H323PLUS_RTP[0] && port <= H323PLUS_RTP[1];

    before(async () => {
      lab = new Proc(spawn(process.execPath, ['--import', 'tsx', 'scripts/lab.ts'], {
        cwd: repoRoot,
        env: process.env,
        // Its own process group, as a shell starts a foreground job: Ctrl-C goes to that group.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      }));
      await lab.waitFor(/^Ctrl-C stops everything\.$/m, 'the lab to print what to dial', 240_000);
      printed = parseLab(lab.out);
      fsRange = (port) => port >= printed.fsRtp[0] && port <= printed.fsRtp[1];
    });

    afterEach(async function () {
      if (this.currentTest?.state === 'failed') console.log(`lab output:\n${lab?.out.slice(-8000)}`);
      for (const t of taps.splice(0)) await t.stop();
      for (const p of mine.splice(0)) {
        if (p.running) p.proc.kill('SIGKILL');
        await p.exited;
      }
      esl?.close();
      esl = undefined;
    });

    after(async () => {
      // Only when the stop test did not get to stop it: Ctrl-C as that test sends it (the lab stops
      // what it started), and past a deadline SIGKILL to its group and to every child it had.
      if (lab?.running) {
        const labPid = lab.proc.pid as number;
        const kids = [...new Set([...childrenOf(labPid).map((c) => c.pid), ...(printed?.pids ?? []).map((p) => p.pid).filter((p) => p !== labPid)])];
        const kill = (pid: number, sig: NodeJS.Signals): void => {
          try {
            process.kill(pid, sig);
          } catch {
            // gone
          }
        };
        kill(-labPid, 'SIGINT');
        let timer: NodeJS.Timeout | undefined;
        const stopped = await Promise.race([lab.exited.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), 90_000)))]);
        clearTimeout(timer);
        if (!stopped) {
          kill(-labPid, 'SIGKILL');
          for (const pid of kids) kill(pid, 'SIGKILL');
          await lab.exited;
        }
      }
      rmSync(work, { recursive: true, force: true });
    });

    function command(what: RegExp): string[] {
      const c = printed.commands.find((x) => what.test(x.what));
      if (!c) throw new Error(`the lab printed no command for ${what}; it printed: ${printed.commands.map((x) => x.what).join(' | ')}`);
      return c.argv;
    }

    function opt(argv: readonly string[], name: string): string {
      const i = argv.indexOf(name);
      if (i < 0 || i + 1 >= argv.length) throw new Error(`printed command has no ${name}: ${argv.join(' ')}`);
      return argv[i + 1] as string;
    }

    it('the printed SIPp call into the council room: 200 OK, RTP from FreeSWITCH and SIPp\'s echo back, FreeSWITCH\'s conference lists the member', async () => {
      const argv = command(/^SIP caller into the council room/);
      expect(argv[0]).to.equal('sipp');
      const mediaPort = Number(opt(argv, '-mp'));
      const tap = await RtpTap.start([mediaPort], { portRanges: [printed.fsRtp] });
      taps.push(tap);
      esl = await EslClient.connect(printed.esl);
      // fsmrf keeps a muted control leg of its own in the room's conference (when it exists):
      // the caller is the one member more than before the call.
      const baseline = (await esl.conferenceList('council-main'))?.length ?? 0;
      const msgFile = join(work, 'council-messages.log');
      const sipp = new Proc(spawn('sipp', [...argv.slice(1), '-nostdin', '-trace_msg', '-message_file', msgFile], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] }));
      mine.push(sipp);

      const toSipp = (ps: readonly RtpPacket[]): RtpPacket[] => ps.filter((p) => p.dst.port === mediaPort && fsRange(p.src.port));
      const fromSipp = (ps: readonly RtpPacket[]): RtpPacket[] => ps.filter((p) => p.src.port === mediaPort && fsRange(p.dst.port));
      await tap.waitFor((ps) => (toSipp(ps).length >= 100 && fromSipp(ps).length >= 100 ? true : undefined), 'RTP both ways between FreeSWITCH and SIPp\'s media port', 30_000)
        .catch((e: Error) => { throw new Error(`${e.message}; flows: ${tap.summary()}; sipp: ${sipp.out.slice(-2000)}`); });
      const members = await waitUntil(async () => {
        const m = await esl!.conferenceList('council-main');
        return m && m.length > baseline ? m : undefined;
      }, 'FreeSWITCH to list the caller in conference council-main', 15_000, 250);
      expect(members, 'members of council-main during the call').to.have.length(baseline + 1);

      const r = await sipp.exited;
      const messages = existsSync(msgFile) ? readFileSync(msgFile, 'utf8') : '';
      expect(r.code, `sipp: ${sipp.out.slice(-3000)}`).to.equal(0);
      expect(messages).to.match(/SIP\/2\.0 200 OK[\s\S]*CSeq: 1 INVITE/);
      expect(messages).to.match(/BYE sip:[\s\S]*SIP\/2\.0 200 OK[\s\S]*CSeq: 2 BYE/);
      // The 10 s call: hundreds of packets each way, FreeSWITCH's mix and SIPp's echo of it.
      expect(toSipp(tap.packets).length, `flows: ${tap.summary()}`).to.be.at.least(200);
      expect(fromSipp(tap.packets).length, `flows: ${tap.summary()}`).to.be.at.least(200);
      // SIPp's BYE took the member out of the conference.
      await waitUntil(async () => {
        const m = await esl!.conferenceList('council-main');
        return (m?.length ?? 0) <= baseline ? true : undefined;
      }, 'conference council-main without the caller after the BYE', 15_000, 250);
    });

    it('the printed simph323 call to a SIP expert through GnuGk: connects, RTP both ways on both legs (the SIPp callee echoes), H hangs up, X exits', async () => {
      const argv = command(/^H\.323 room system calling a SIP expert/);
      expect(argv[0]).to.equal(process.env.SIMPH323_BIN);
      expect(argv[argv.length - 1]).to.equal('9100');
      const roomHost = opt(argv, '-i');
      const callee = printed.calleeRtp.port;
      const tap = await RtpTap.start([callee], { hosts: [roomHost], portRanges: [printed.fsRtp, H323PLUS_RTP] });
      taps.push(tap);
      // stdin a pipe: simph323 reads its commands (H, X) from it, as from a user's terminal.
      const room = new Proc(spawn(argv[0] as string, argv.slice(1), { cwd: work, stdio: ['pipe', 'pipe', 'pipe'] }));
      mine.push(room);
      await room.waitFor(/In call with 9100/, 'simph323 in the call with 9100', 30_000);

      const toCallee = (ps: readonly RtpPacket[]): RtpPacket[] => ps.filter((p) => p.dst.port === callee && fsRange(p.src.port));
      const fromCallee = (ps: readonly RtpPacket[]): RtpPacket[] => ps.filter((p) => p.src.port === callee && fsRange(p.dst.port));
      const fromRoom = (ps: readonly RtpPacket[]): RtpPacket[] => ps.filter((p) => (p.src.address === roomHost || inH323(p.src.port)) && fsRange(p.dst.port));
      const toRoom = (ps: readonly RtpPacket[]): RtpPacket[] => ps.filter((p) => fsRange(p.src.port) && (p.dst.address === roomHost || inH323(p.dst.port)));
      await tap.waitFor((ps) => ([toCallee, fromCallee, fromRoom, toRoom].every((f) => f(ps).length >= 100) ? true : undefined),
        'RTP both ways between simph323 and FreeSWITCH and between FreeSWITCH and the SIPp callee', 30_000)
        .catch((e: Error) => { throw new Error(`${e.message}; flows: ${tap.summary()}; simph323: ${room.out.slice(-2000)}`); });

      room.proc.stdin!.write('H\n');
      await room.waitFor(/Call with "9100" completed|has cleared the call/, 'simph323 to report the call ended', 20_000);
      const st = await GnuGkStatusClient.connect(printed.gkStatus.host, printed.gkStatus.port);
      try {
        await waitUntil(async () => ((await st.calls()).length === 0 ? true : undefined), 'GnuGk to list no call', 15_000, 250);
      } finally {
        await st.close();
      }
      room.proc.stdin!.end('X\n');
      const r = await room.exited;
      expect(r.code, room.out.slice(-2000)).to.equal(0);
    });

    it('Ctrl-C (SIGINT to the lab\'s process group) stops everything: exit 0, none of its servers left running', async () => {
      const labPid = lab.proc.pid as number;
      const named = new Map(printed.pids.map((p) => [p.name, p.pid]));
      expect(named.get('lab')).to.equal(labPid);
      for (const n of ['drachtio-server', 'FreeSWITCH', 'GnuGk', 'simph323 1002', 'SIPp callee', 'gateway']) {
        expect(named.get(n), `pids: line lists ${n}`).to.be.a('number').and.greaterThan(0);
      }
      const servers = printed.pids.filter((p) => p.pid !== labPid);
      // tsx's esbuild service is the TypeScript loader's helper (node --import tsx), not a server.
      const children = childrenOf(labPid).filter((c) => !/\/esbuild --service=/.test(c.cmd));
      // Every child of the lab is one it listed, and every one it listed is its running child.
      for (const c of children) expect(servers.map((s) => s.pid), `child ${c.pid} (${c.cmd}) is in the pids: line`).to.include(c.pid);
      const before = new Map<number, string>();
      for (const s of servers) {
        const info = procInfo(s.pid);
        expect(info?.ppid, `${s.name} ${s.pid} is a running child of the lab`).to.equal(labPid);
        before.set(s.pid, info!.start);
      }

      process.kill(-labPid, 'SIGINT');
      const r = await lab.exited;
      expect({ code: r.code, signal: r.signal }, lab.out.slice(-4000)).to.deep.equal({ code: 0, signal: null });
      expect(lab.out).to.match(/lab: Ctrl-C; stopping/);
      expect(lab.out).to.match(/lab: everything stopped/);
      expect(lab.out).not.to.match(/still running after stop/);
      const left = servers.filter((s) => {
        const info = procInfo(s.pid);
        return info !== undefined && info.start === before.get(s.pid) && info.state !== 'Z';
      });
      expect(left.map((s) => `${s.name} ${s.pid}`), 'lab children still running').to.deep.equal([]);
    });
  });
}
