/**
 * sip-configs/freeswitch loaded by a real FreeSWITCH (FREESWITCH_BIN; skipped without it), started
 * by the project's launcher (test/lab/real-servers/freeswitch.ts), which is the conf tree the
 * compose lab mounts at /etc/freeswitch: every sofia profile RUNNING, the council conference
 * profile accepted (a member joins it: 48 kHz, video mux, moderator wait), the compose
 * healthcheck passing against it through the real fs_cli - and the same with only the modules
 * the drachtio-freeswitch-mrf image builds (no mod_av, no mod_loopback): it still comes up. And,
 * in a network namespace with the lab's addresses (root and unshare needed), the leg drachtio
 * (172.28.0.3) opens on FreeSWITCH (172.28.0.5) is offered FS_EXT_RTP_IP in the SDP (defect 4).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startFreeSwitch, moduleDir, modulesIn, type FreeSwitchServer } from '../../lab/real-servers/freeswitch.js';
import { eslApi } from '../../lab/real-servers/esl.js';
import { fixture } from '../../support/paths.js';
import { CHECK_REV, loadCompose, service } from './compose-model.js';
import { Namespace } from './netns.js';
import { EXT_RTP_IP, FS_ADDR, GATEWAY_ADDR, PEER_ADDR } from './fs-nat-probe.js';
import { repoRoot } from '../../support/paths.js';

const BIN = process.env.FREESWITCH_BIN;

function skipWithout(ctx: Mocha.Context): void {
  if (!BIN) {
    ctx.test!.title += ' [skipped: FREESWITCH_BIN is not set]';
    ctx.skip();
  }
}

/** `sofia status` profile lines: [name, state]. */
function profiles(status: string): Array<[string, string]> {
  return [...status.matchAll(/^\s*(\S+)\tprofile\t\s*(?:sip:\S+)\t(\S+)/gm)].map((m) => [m[1]!, m[2]!]);
}

/** Runs the compose FreeSWITCH healthcheck against `fs` (the real fs_cli, pointed at its ESL port). */
function runComposeHealthcheck(fs: FreeSwitchServer): { status: number | null; stderr: string } {
  const hc = service(loadCompose(), 'freeswitch').healthcheck!.test;
  const dir = mkdtempSync(join(tmpdir(), 'fs-hc-'));
  try {
    writeFileSync(join(dir, 'fs_cli'), `#!/bin/sh\nexec ${JSON.stringify(join(dirname(BIN!), 'fs_cli'))} -H ${fs.eslHost} -P ${fs.eslPort} "$@"\n`);
    chmodSync(join(dir, 'fs_cli'), 0o755);
    const r = spawnSync('sh', ['-c', hc[1]!], { env: { PATH: `${dir}:${process.env.PATH}`, FS_ESL_SECRET: fs.secret }, encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('sip-configs/freeswitch on a real FreeSWITCH (FREESWITCH_BIN)', function () {
  this.timeout(180_000);

  describe('with the build\'s own modules', () => {
    let fs: FreeSwitchServer | undefined;
    const api = (c: string): Promise<string> => eslApi(fs!.eslHost, fs!.eslPort, fs!.secret, c, 15_000);
    before(async function () {
      if (!BIN) return;
      fs = await startFreeSwitch({ bin: BIN });
    });
    after(async () => {
      await fs?.stop();
    });

    it('every sofia profile is RUNNING (drachtio_mrf on the launcher\'s address)', async function () {
      skipWithout(this);
      const status = await api('sofia status');
      const p = profiles(status);
      expect(p.map((x) => x[0])).to.include('drachtio_mrf');
      expect(p.filter((x) => x[1] !== 'RUNNING'), status).to.deep.equal([]);
      expect(status).to.include(`sip:mod_sofia@${fs!.sip}`);
      // The URL is sip-ip's, not ext-sip-ip's ("autonat:" form, sip_profiles/mrf.xml).
      expect(await api('sofia status profile drachtio_mrf')).to.match(/^URL\s+sip:mod_sofia@127\.0\.0\.1:\d+$/m);
    });

    it('accepts the council conference profile: a member joins at 48 kHz with video mux and moderator wait', async function () {
      skipWithout(this);
      expect(await api('module_exists mod_loopback'), 'the build has mod_loopback').to.match(/true/);
      await api('bgapi originate loopback/answer\\,park/mrf/inline &conference(council-check@council)');
      let list = '';
      for (let i = 0; i < 40 && !/Conference council-check/.test(list); i++) {
        await new Promise((r) => setTimeout(r, 250));
        list = await api('conference list');
      }
      try {
        const head = /^\+OK Conference council-check \((\d+) members? rate: (\d+) flags: ([^)]*)\)/m.exec(list);
        expect(head, list).to.not.equal(null);
        expect(head![2]).to.equal('48000');
        expect(head![3].split('|')).to.include.members(['wait_mod', 'running', 'minimize_video_encoding']);
        // Member line: ...;flags;volume_in;volume_out;energy-level
        expect(list.trim().split('\n').pop()!.split(';').pop()).to.equal('200');
      } finally {
        await api('hupall');
      }
    });

    it('the compose healthcheck passes against it through the real fs_cli (and the old one would not)', async function () {
      skipWithout(this);
      const r = runComposeHealthcheck(fs!);
      expect(r.status, r.stderr).to.equal(0);
      const old = spawnSync(join(dirname(BIN!), 'fs_cli'), ['-H', fs!.eslHost, '-P', String(fs!.eslPort), '-p', fs!.secret, '-x', 'sofia status profile drachtio_mrf'], { encoding: 'utf8' });
      expect(old.stdout).to.include('drachtio_mrf');
      expect(old.stdout).not.to.include('RUNNING');
      // The recorded goldens are the same shape (test/fixtures/compose/freeswitch).
      const golden = readFileSync(fixture('compose', 'freeswitch', 'sofia-status-profile-drachtio_mrf.txt'), 'utf8');
      const keys = (t: string): string[] => t.split('\n').map((l) => l.split('\t')[0]!.trim()).filter((k) => /^[A-Z]/.test(k));
      expect(keys(old.stdout)).to.deep.equal(keys(golden));
    });
  });

  describe('with only the modules the drachtio-freeswitch-mrf image builds', () => {
    let fs: FreeSwitchServer | undefined;
    let modDir = '';
    const api = (c: string): Promise<string> => eslApi(fs!.eslHost, fs!.eslPort, fs!.secret, c, 15_000);
    before(async function () {
      if (!BIN) return;
      const real = moduleDir(BIN);
      if (!real || !existsSync(real)) return;
      const image = readFileSync(fixture('compose', 'images', 'drachtio-freeswitch-mrf-0.9.1', 'modules.conf.in.extra'), 'utf8')
        .split('\n').filter((l) => /^[a-z_]+\/mod_/.test(l)).map((l) => l.split('/')[1]!.trim());
      modDir = mkdtempSync(join(tmpdir(), 'fs-image-mods-'));
      const have = modulesIn(real);
      for (const m of image) if (have.has(m)) symlinkSync(join(real, `${m}.so`), join(modDir, `${m}.so`));
      fs = await startFreeSwitch({ bin: BIN, modDir });
    });
    after(async () => {
      await fs?.stop();
      if (modDir) rmSync(modDir, { recursive: true, force: true });
    });

    it('comes up RUNNING without mod_av and mod_loopback, with no H.264 codec', async function () {
      skipWithout(this);
      if (!fs) this.skip();
      expect(fs!.droppedModules).to.include.members(['mod_av', 'mod_loopback']);
      expect(profiles(await api('sofia status'))).to.deep.include(['drachtio_mrf', 'RUNNING']);
      expect(await api('module_exists mod_av')).to.match(/false/);
      const codecs = await api('show codec');
      expect(codecs).to.match(/\bOPUS\b/);
      expect(codecs).to.match(/\bVP8\b/);
      expect(codecs).not.to.match(/\bH264\b/);
      expect(runComposeHealthcheck(fs!).status).to.equal(0);
    });
  });

  describe('in a network namespace with the lab\'s addresses (drachtio 172.28.0.3, FreeSWITCH 172.28.0.5)', () => {
    it('offers FS_EXT_RTP_IP, not its own address, on the leg drachtio-fsmrf opens (INVITE without SDP), and lets the gateway\'s address log in to ESL', function () {
      skipWithout(this);
      const missing = ['unshare', 'nsenter', 'ip'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
      if (process.getuid?.() !== 0 || missing.length) {
        this.test!.title += ` [skipped: ${process.getuid?.() !== 0 ? 'not root' : `missing ${missing.join(', ')}`}]`;
        this.skip();
      }
      let conf = join(repoRoot, 'sip-configs/freeswitch');
      let exported = '';
      if (CHECK_REV) {
        exported = mkdtempSync(join(tmpdir(), 'fs-conf-rev-'));
        spawnSync('sh', ['-c', `git archive ${CHECK_REV} -- sip-configs/freeswitch | tar -x -C "${exported}"`], { cwd: repoRoot });
        conf = join(exported, 'sip-configs/freeswitch');
      }
      const ns = new Namespace();
      try {
        // The lab's /24 on this namespace's lo; the default route makes FreeSWITCH find 172.28.0.5/24
        // as its address (local_ip_v4, localnet.auto), as on the compose network. Nothing leaves it.
        const setup = [['ip', 'link', 'set', 'lo', 'up'], ...[FS_ADDR, PEER_ADDR, GATEWAY_ADDR].map((a) => ['ip', 'addr', 'add', `${a}/24`, 'dev', 'lo']), ['ip', 'route', 'add', 'default', 'dev', 'lo', 'src', FS_ADDR]];
        for (const cmd of setup) {
          let r = ns.run(cmd);
          for (let i = 0; i < 20 && r.status !== 0 && /No such file|Invalid argument|cannot open/i.test(r.stderr); i++) r = ns.run(cmd);
          expect(r.status, `${cmd.join(' ')}: ${r.stderr}`).to.equal(0);
        }
        const r = ns.run([process.execPath, '--import', 'tsx', 'test/unit/ops/fs-nat-probe.ts', conf], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', FREESWITCH_BIN: BIN! } });
        expect(r.status, r.stderr).to.equal(0);
        const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { c?: string; audioPort?: number; eslFromGateway?: string };
        expect(res.audioPort, 'an audio offer').to.be.a('number');
        expect(res.c, `c= of the offer (rtp-ip is ${FS_ADDR})`).to.equal(EXT_RTP_IP);
        // The gateway's container may use the event socket (mod_event_socket allows loopback only by default).
        expect(res.eslFromGateway, `ESL login from ${GATEWAY_ADDR}`).to.equal('accepted');
      } finally {
        ns.stop();
        if (exported) rmSync(exported, { recursive: true, force: true });
      }
    });
  });
});
