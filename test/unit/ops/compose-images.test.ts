/**
 * The compose lab against what its images do (issue 13), without a Docker engine: rules read from
 * the pinned images' own entrypoints and Dockerfiles (test/fixtures/compose/images), from our
 * Dockerfile, and from FreeSWITCH 1.10's behaviour (its source, and output recorded from a real
 * one in test/fixtures/compose/freeswitch). Each `it` names the defect it guards.
 *
 * OPS_CHECK_REV=<rev> runs the same rules on an older revision's files (compose-model.ts).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fixture, repoRoot } from '../../support/paths.js';
import {
  codecList,
  dockerfileModel,
  editsFor,
  loadCompose,
  mustText,
  repoList,
  repoText,
  sedEdits,
  service,
  userSwitchFor,
  type Mount,
  type Service,
} from './compose-model.js';

const compose = loadCompose();
const img = (p: string): string => readFileSync(fixture('compose', 'images', p), 'utf8');

/** The entrypoint fixture of the image a service runs, by image name. */
const ENTRYPOINTS: Array<{ image: RegExp; script: string; dockerfile: string }> = [
  { image: /^drachtio\/drachtio-freeswitch-mrf:/, script: 'drachtio-freeswitch-mrf-0.9.1/entrypoint.sh', dockerfile: 'drachtio-freeswitch-mrf-0.9.1/Dockerfile' },
  { image: /^drachtio\/drachtio-server:/, script: 'drachtio-server-0.9.10/entrypoint.sh', dockerfile: 'drachtio-server-0.9.10/Dockerfile' },
  { image: /^redis:7\.\d+-alpine$/, script: 'redis-7.4-alpine/docker-entrypoint.sh', dockerfile: 'redis-7.4-alpine/Dockerfile' },
];

/** The mount that covers `path` in the container (the longest target that is it or a parent). */
function mountFor(s: Service, path: string): Mount | undefined {
  return s.mounts
    .filter((m) => m.target === path || path.startsWith(`${m.target.replace(/\/$/, '')}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
}

/** Does the image's own entrypoint run for this service (no `entrypoint:` override)? */
function runsImageEntrypoint(s: Service): boolean {
  return s.entrypoint === undefined;
}

describe('compose lab vs the images (issue 13)', () => {
  describe('1: FreeSWITCH starts (the image entrypoint edits conf files in place)', () => {
    it('reads the edits from the image entrypoint: sed -i on event_socket.conf.xml and acl.conf.xml before any flag', () => {
      const edits = sedEdits(img('drachtio-freeswitch-mrf-0.9.1/entrypoint.sh'));
      expect(edits.filter((e) => e.unconditional).map((e) => e.file)).to.deep.equal([
        '/usr/local/freeswitch/conf/autoload_configs/event_socket.conf.xml',
        '/usr/local/freeswitch/conf/autoload_configs/event_socket.conf.xml',
        '/usr/local/freeswitch/conf/autoload_configs/acl.conf.xml',
      ]);
      expect(img('drachtio-freeswitch-mrf-0.9.1/entrypoint.sh')).to.match(/^#!\/bin\/bash\nset -e\n/);
    });

    it('no service whose image entrypoint runs has a file it edits under a bind mount (sed -i renames: EBUSY on a file mount, EROFS on a read-only folder, ENOENT when our folder lacks the file)', () => {
      const problems: string[] = [];
      for (const s of compose.services.values()) {
        const ep = ENTRYPOINTS.find((e) => e.image.test(s.image ?? ''));
        if (!ep || !runsImageEntrypoint(s)) continue;
        const done = new Set<string>();
        for (const edit of editsFor(img(ep.script), s.command ?? [])) {
          if (done.has(edit.file)) continue;
          done.add(edit.file);
          const m = mountFor(s, edit.file);
          if (!m || m.type !== 'bind') continue;
          if (m.target === edit.file) problems.push(`${s.name}: ${edit.file} is bind-mounted (${m.source}); the entrypoint's sed -i cannot rename over it`);
          else if (m.readOnly) problems.push(`${s.name}: ${edit.file} is in the read-only mount ${m.source}:${m.target}; sed -i cannot write its temp file`);
          else problems.push(`${s.name}: ${edit.file} is in the writable mount ${m.source}; the entrypoint would edit the repository's files`);
        }
      }
      expect(problems).to.deep.equal([]);
    });

    it('FreeSWITCH runs without the image entrypoint, on the whole conf tree mounted read-only, foreground and without a console', () => {
      const fs = service(compose, 'freeswitch');
      expect(fs.entrypoint, 'entrypoint override').to.deep.equal(['/usr/local/freeswitch/bin/freeswitch']);
      const args = fs.command ?? [];
      const conf = args[args.indexOf('-conf') + 1];
      expect(args).to.include.members(['-nonat', '-nc', '-nf']);
      const m = fs.mounts.find((x) => x.target === conf);
      expect(m, `a mount on -conf ${conf}`).to.deep.include({ type: 'bind', source: 'sip-configs/freeswitch', readOnly: true });
      // The tree must be complete, since nothing of the image's conf is used.
      for (const f of ['freeswitch.xml', 'vars.xml', 'autoload_configs/modules.conf.xml', 'autoload_configs/event_socket.conf.xml', 'sip_profiles/mrf.xml', 'dialplan/mrf.xml']) {
        expect(repoText(`sip-configs/freeswitch/${f}`), f).to.be.a('string');
      }
      // The image puts freeswitch at this path (Dockerfile: PATH=/usr/local/freeswitch/bin).
      expect(img('drachtio-freeswitch-mrf-0.9.1/Dockerfile')).to.include('ENV PATH="/usr/local/freeswitch/bin:${PATH}"');
    });
  });

  describe('2: every volume path exists in the image, owned by the user the service runs as', () => {
    const ours = [...compose.services.values()].filter((s) => s.build && (s.build.target === undefined));
    it('derives the final stage of our Dockerfile (user node, the CMD)', () => {
      const m = dockerfileModel(mustText('Dockerfile'));
      expect(m.user).to.equal('node');
      expect(m.cmd?.[0]).to.equal('node');
      expect(ours.map((s) => s.name)).to.include.members(['gateway', 'gateway-b']);
    });

    it('named volumes land on folders the Dockerfile creates and chowns to its USER (else Docker makes them root-owned)', () => {
      const m = dockerfileModel(mustText('Dockerfile'));
      const problems: string[] = [];
      for (const s of ours) {
        for (const v of s.mounts.filter((x) => x.type === 'volume')) {
          const p = m.paths.get(v.target);
          if (!p) problems.push(`${s.name}: ${v.source}:${v.target} - ${v.target} is not in the image (Docker creates it root:root 0755; ${m.user} cannot write it)`);
          else if (p.owner !== m.user && !v.readOnly) problems.push(`${s.name}: ${v.target} is owned by ${p.owner}, the service runs as ${m.user}`);
        }
      }
      expect(problems).to.deep.equal([]);
    });

    it('the gateway writes its audit chain and id key inside AUDIT_DIR, which is such a volume', () => {
      const m = dockerfileModel(mustText('Dockerfile'));
      for (const name of ['gateway', 'gateway-b']) {
        const s = service(compose, name);
        const dir = s.environment.AUDIT_DIR!;
        const mount = mountFor(s, dir);
        expect(mount, `${name}: a mount for AUDIT_DIR ${dir}`).to.include({ type: 'volume', target: dir, readOnly: false });
        expect(m.paths.get(dir), dir).to.deep.include({ owner: 'node', dir: true });
      }
    });

    it('bind-mounted config folders are readable by uid 1000 (world-readable files)', () => {
      const problems: string[] = [];
      for (const s of ours) {
        for (const b of s.mounts.filter((x) => x.type === 'bind')) {
          for (const name of repoList(b.source) ?? []) {
            if (name.endsWith('/')) continue;
            const st = spawnSync('stat', ['-c', '%a', join(repoRoot, b.source, name)], { encoding: 'utf8' });
            if (st.status === 0 && (parseInt(st.stdout.trim(), 8) & 0o004) === 0) problems.push(`${s.name}: ${b.source}/${name} is not world-readable`);
          }
        }
      }
      expect(problems).to.deep.equal([]);
    });
  });

  describe('3: the FreeSWITCH healthcheck matches what FreeSWITCH 1.10 prints', () => {
    const goldens: Record<string, string> = {
      'sofia status': readFileSync(fixture('compose', 'freeswitch', 'sofia-status.txt'), 'utf8'),
      'sofia status profile drachtio_mrf': readFileSync(fixture('compose', 'freeswitch', 'sofia-status-profile-drachtio_mrf.txt'), 'utf8'),
    };

    /** Runs the healthcheck's shell command with an fs_cli that prints `out(cmd)` for `-x cmd`. */
    function runHealthcheck(s: Service, out: (cmd: string) => string | undefined): number {
      const test = s.healthcheck?.test ?? [];
      expect(test[0], 'CMD-SHELL healthcheck').to.equal('CMD-SHELL');
      const dir = mkdtempSync(join(tmpdir(), 'fs-health-'));
      try {
        const outputs = join(dir, 'outputs.json');
        const table: Record<string, string> = {};
        for (const c of Object.keys(goldens)) {
          const o = out(c);
          if (o !== undefined) table[c] = o;
        }
        writeFileSync(outputs, JSON.stringify(table));
        // Fake fs_cli: prints the recorded output of the -x command (exit 1 for one not recorded).
        writeFileSync(join(dir, 'fs_cli'), `#!/usr/bin/env node\nconst a = process.argv.slice(2); const t = require(${JSON.stringify(outputs)});\nconst c = a[a.indexOf('-x') + 1];\nif (a[a.indexOf('-p') + 1] !== process.env.FS_ESL_SECRET) { console.error('bad password'); process.exit(1); }\nif (!(c in t)) { console.error('unknown ' + c); process.exit(1); }\nprocess.stdout.write(t[c]);\n`);
        chmodSync(join(dir, 'fs_cli'), 0o755);
        const r = spawnSync('sh', ['-c', test[1]!], { env: { PATH: `${dir}:${process.env.PATH}`, FS_ESL_SECRET: s.environment.FS_ESL_SECRET! }, encoding: 'utf8' });
        return r.status ?? -1;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it('the recordings: RUNNING appears in `sofia status` only, never in `sofia status profile ...`', () => {
      expect(goldens['sofia status']).to.match(/^\s*drachtio_mrf\s+profile\s+sip:mod_sofia@\S+\s+RUNNING \(0\)$/m);
      expect(goldens['sofia status profile drachtio_mrf']).to.include('Name             \tdrachtio_mrf');
      expect(goldens['sofia status profile drachtio_mrf']).not.to.include('RUNNING');
    });

    it('passes on the recorded output of a FreeSWITCH whose drachtio_mrf profile is RUNNING', () => {
      expect(runHealthcheck(service(compose, 'freeswitch'), (c) => goldens[c])).to.equal(0);
    });

    it('fails when the profile is not running (none listed, or another profile RUNNING)', () => {
      const fs = service(compose, 'freeswitch');
      const none = '                     Name\t   Type\t                                      Data\tState\n=================================================================================================\n=================================================================================================\n0 profiles 0 aliases\n';
      expect(runHealthcheck(fs, (c) => (c === 'sofia status' ? none : goldens[c]))).not.to.equal(0);
      const other = (goldens['sofia status'] ?? '').replace('drachtio_mrf', 'internal');
      expect(runHealthcheck(fs, (c) => (c === 'sofia status' ? other : goldens[c]))).not.to.equal(0);
    });
  });

  describe('4: FS_EXT_RTP_IP reaches the SDP of legs signalled by drachtio (FreeSWITCH 1.10 NAT rule)', () => {
    // switch_core_media_choose_port (switch_core_media.c) advertises ext-rtp-ip only when
    // switch_core_media_check_nat(remote_ip): extsipip set, remote not in loopback.auto, remote not
    // in local-network-acl. Every fsmrf leg's remote is drachtio-server.
    const mrf = mustText('sip-configs/freeswitch/sip_profiles/mrf.xml');
    const param = (n: string): string | undefined => new RegExp(`<param name="${n}" value="([^"]*)"/>`).exec(mrf)?.[1];
    const sets = (v: string): string[] => [...mrf.matchAll(new RegExp(`<X-PRE-PROCESS cmd="(?:env-)?set" data="${v}=([^"]*)"/>`, 'g'))].map((m) => m[1]!);

    /** Is `ip` in FreeSWITCH's ACL `acl` as seen from a FreeSWITCH on `fsNet` (a.b.c.0/24)? */
    function inAcl(acl: string, ip: string, fsNet: string): boolean {
      if (acl === 'none') return false;
      const inCidr = (cidr: string): boolean => {
        const [net, bits] = cidr.split('/') as [string, string];
        const n = (a: string): number => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
        const mask = Number(bits) === 0 ? 0 : 2 ** 32 - 2 ** (32 - Number(bits));
        return ((n(ip) & mask) >>> 0) === ((n(net) & mask) >>> 0);
      };
      if (acl === 'loopback.auto') return inCidr('127.0.0.0/8');
      if (acl === 'localnet.auto') return inCidr(fsNet) || inCidr('127.0.0.0/8');
      if (acl === 'rfc1918.auto' || acl === 'nat.auto') return ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].some(inCidr);
      return acl.split(',').every((c) => c.includes('/')) ? acl.split(',').some(inCidr) : true;
    }

    it('sets ext-sip-ip (NAT detection is off without it) without moving the profile URL off sip-ip', () => {
      const ext = param('ext-sip-ip');
      expect(ext, 'ext-sip-ip').to.be.a('string').and.not.equal('');
      // A plain address would also become the profile URL `sofia status` shows (where fsmrf sends
      // its INVITEs); "autonat:" keeps the URL on sip-ip (sofia.c config_sofia_profile_urls).
      const v = ext!.startsWith('$${') ? sets(ext!.slice(3, -1))[0] ?? '' : ext!;
      expect(v === param('sip-ip') || v.startsWith('autonat:'), `ext-sip-ip ${v}`).to.equal(true);
      expect(readFileSync(fixture('compose', 'freeswitch', 'sofia-status.txt'), 'utf8')).to.match(/sip:mod_sofia@127\.0\.0\.1:\d+\s+RUNNING/);
    });

    it('counts drachtio (the lab address compose gives it) as outside local-network-acl, so its legs get ext-rtp-ip', () => {
      const drachtio = service(compose, 'drachtio').ipv4 ?? '172.28.0.129';
      const acl = param('local-network-acl') ?? 'localnet.auto';
      expect(inAcl(acl, drachtio, compose.subnet ?? '172.28.0.0/24'), `drachtio ${drachtio} in ${acl}`).to.equal(false);
      expect(inAcl(acl, '127.0.0.1', compose.subnet ?? '172.28.0.0/24'), 'loopback peers (native lab) stay local').to.equal(true);
      expect(param('ext-rtp-ip')).to.equal('$${council_ext_rtp_ip}');
      expect(sets('council_ext_rtp_ip')).to.include('$FS_EXT_RTP_IP');
      expect(service(compose, 'freeswitch').environment.FS_EXT_RTP_IP).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    });
  });

  describe('(found on the way) the gateway may use FreeSWITCH\'s event socket', () => {
    it('applies an inbound ACL that admits the lab network (mod_event_socket admits loopback.auto only without one)', () => {
      const esl = mustText('sip-configs/freeswitch/autoload_configs/event_socket.conf.xml');
      const acl = /<param name="apply-inbound-acl" value="([^"]*)"\/>/.exec(esl)?.[1];
      expect(acl, 'apply-inbound-acl').to.be.a('string').and.not.equal('');
      const envVar = /<X-PRE-PROCESS cmd="env-set" data="council_esl_acl=\$([A-Z_]+)"\/>/.exec(esl)?.[1];
      const name = (envVar ? service(compose, 'freeswitch').environment[envVar] : undefined) ?? /<X-PRE-PROCESS cmd="set" data="council_esl_acl=([^"]*)"\/>/.exec(esl)?.[1];
      expect(name, 'the ACL compose ends up with').to.equal('council_esl');
      const lists = mustText('sip-configs/freeswitch/autoload_configs/acl.conf.xml');
      const list = new RegExp(`<list name="${name}" default="deny">([\\s\\S]*?)</list>`).exec(lists)?.[1] ?? '';
      expect(list).to.include('<node type="allow" cidr="127.0.0.0/8"/>');
      // local_ip_v4 is the container's lab address; /24 is the lab subnet's size.
      expect(list).to.include('<node type="allow" cidr="$${local_ip_v4}/24"/>');
      expect(compose.subnet).to.match(/\/24$/);
    });
  });

  describe('5: the registry flow works with a directory mount', () => {
    it('gatewayctl writes the registry by temp file + rename (so a single-file mount keeps the old inode)', () => {
      const store = readFileSync(join(repoRoot, 'lib/registry/store.ts'), 'utf8');
      expect(store).to.match(/export async function writeRegistryFile[\s\S]*?writeFile\(tmp[\s\S]*?rename\(tmp, path\)/);
    });

    it('REGISTRY_FILE and GATEWAY_CONFIG sit in mounted folders, never single-file mounts; the cli service writes the gateway\'s registry volume', () => {
      const problems: string[] = [];
      for (const name of ['gateway', 'gateway-b']) {
        const s = service(compose, name);
        for (const v of ['REGISTRY_FILE', 'GATEWAY_CONFIG']) {
          const path = s.environment[v];
          const m = path ? mountFor(s, path) : undefined;
          if (!m) problems.push(`${name}: ${v} ${path} is in no mount`);
          else if (m.target === path) problems.push(`${name}: ${v} ${path} is a single-file mount (${m.source}); a rename on the host is not seen, HUP reloads the old file`);
        }
      }
      expect(problems).to.deep.equal([]);
      const gw = service(compose, 'gateway');
      const regMount = mountFor(gw, gw.environment.REGISTRY_FILE!)!;
      const cli = service(compose, 'cli');
      expect(cli.mounts.find((m) => m.source === regMount.source), 'cli mounts the same registry').to.deep.include({ type: regMount.type, target: regMount.target, readOnly: false });
      expect(cli.entrypoint).to.deep.equal(['node', 'dist/apps/cli/index.js']);
      expect(dockerfileModel(mustText('Dockerfile')).paths.get(posix.dirname(gw.environment.REGISTRY_FILE!)), 'registry folder in the image').to.deep.include({ owner: 'node' });
      expect(dockerfileModel(mustText('Dockerfile')).paths.get(gw.environment.REGISTRY_FILE!), 'an empty registry to start with').to.deep.include({ owner: 'node', mode: 0o600 });
    });
  });

  describe('6: drachtio advertises the host\'s external address to phones', () => {
    it('has a contact on its fixed lab address with --external-ip SIP_EXTERNAL_IP, and a lab-network contact with --local-net', () => {
      const d = service(compose, 'drachtio');
      const args = d.command ?? [];
      expect(args[0], 'the entrypoint passes on what follows "drachtio"').to.equal('drachtio');
      const contacts = args.flatMap((a, i) => (a === '--contact' ? [i] : []));
      expect(contacts.length, 'two contacts').to.equal(2);
      const ext = contacts.find((i) => args[i + 2] === '--external-ip');
      expect(ext, 'a contact followed by --external-ip').to.be.a('number');
      expect(args[ext! + 1]).to.equal(`sip:${d.ipv4}:5060;transport=udp,tcp`);
      expect(args[ext! + 3]).to.equal(parseEnv().SIP_EXTERNAL_IP);
      expect(mustText('docker-compose.yml')).to.match(/\$\{SIP_EXTERNAL_IP:\?/);
      const internal = contacts.find((i) => i !== ext)!;
      expect(args[internal + 1]).to.match(new RegExp(`^sip:${d.ipv4!.replace(/\./g, '\\.')}:\\d+;transport=udp,tcp$`));
      expect(args[internal + 2]).to.equal('--local-net');
      expect(args[internal + 3]).to.equal(compose.subnet);
    });

    it('the image entrypoint hands those arguments to drachtio unchanged', () => {
      const d = service(compose, 'drachtio');
      const dir = mkdtempSync(join(tmpdir(), 'drachtio-ep-'));
      try {
        writeFileSync(join(dir, 'drachtio'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
        chmodSync(join(dir, 'drachtio'), 0o755);
        const r = spawnSync('bash', [fixture('compose', 'images', 'drachtio-server-0.9.10/entrypoint.sh'), ...(d.command ?? [])], { cwd: dir, env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8' });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout.split('\n').filter(Boolean)).to.deep.equal((d.command ?? []).slice(1));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('7: FreeSWITCH offers only codecs the image can decode (no H.264, G.729 pass-through)', () => {
    const built = img('drachtio-freeswitch-mrf-0.9.1/modules.conf.in.extra').split('\n').filter((l) => /^[a-z_]+\/mod_/.test(l)).map((l) => l.split('/')[1]!);
    /** Codecs FreeSWITCH 1.10 can decode with these modules (core: G.711, VP8 via libvpx). */
    const decodable = (mods: string[]): Set<string> => {
      const s = new Set(['PCMU', 'PCMA', 'VP8', 'VP9', 'L16']);
      if (mods.includes('mod_opus')) s.add('OPUS');
      if (mods.includes('mod_spandsp')) for (const c of ['G722', 'G726-32', 'GSM']) s.add(c);
      if (mods.includes('mod_av') || mods.includes('mod_openh264')) s.add('H264');
      if (mods.includes('mod_bcg729')) s.add('G729'); // stock mod_g729 is pass-through
      return s;
    };

    it('reads the image build: mod_g729 and mod_h26x (pass-through), neither mod_av nor mod_openh264', () => {
      expect(built).to.include.members(['mod_g729', 'mod_h26x', 'mod_opus', 'mod_conference', 'mod_sofia']);
      expect(built).not.to.include.members(['mod_av']);
      expect(built).not.to.include('mod_openh264');
      expect(built).not.to.include('mod_bcg729');
    });

    it('the codec list compose gives the image (FS_CODEC_PREFS, else the conf tree\'s) holds only decodable codecs', () => {
      const vars = mustText('sip-configs/freeswitch/vars.xml');
      const mrf = mustText('sip-configs/freeswitch/sip_profiles/mrf.xml');
      const prefs = /<param name="codec-prefs" value="([^"]*)"\/>/.exec(mrf)?.[1] ?? '';
      let list = prefs;
      if (prefs === '$${council_codec_prefs}') {
        const envSet = /<X-PRE-PROCESS cmd="env-set" data="council_codec_prefs=\$([A-Z_]+)"\/>/.exec(vars)?.[1];
        const fromEnv = envSet ? service(compose, 'freeswitch').environment[envSet] : undefined;
        list = fromEnv ?? /<X-PRE-PROCESS cmd="set" data="council_codec_prefs=([^"$]*)"\/>/.exec(vars)?.[1] ?? '';
      }
      const ok = decodable(built);
      expect(codecList(list).filter((c) => !ok.has(c)), `codec-prefs ${list}`).to.deep.equal([]);
      expect(codecList(list)).to.include.members(['OPUS', 'PCMU', 'PCMA']);
    });
  });

  describe('8: the smaller ones', () => {
    it('Redis goes through its image entrypoint with redis-server first, so it drops root (gosu redis)', () => {
      const r = service(compose, 'redis');
      const who = userSwitchFor(img('redis-7.4-alpine/docker-entrypoint.sh'));
      expect(who).to.equal('redis-server');
      const cmd = r.command ?? [];
      const direct = cmd[0] === who;
      const viaShell = cmd[0] === 'sh' && cmd[1] === '-c' && new RegExp(`^exec docker-entrypoint\\.sh ${who}\\b`).test(cmd[2] ?? '');
      expect(direct || viaShell || !!r.user, `redis command ${JSON.stringify(cmd)}`).to.equal(true);
      expect(r.entrypoint).to.equal(undefined);
    });

    it('drachtio and FreeSWITCH images are pinned to tags their publish workflows make (no leading "v", not latest)', () => {
      for (const [name, wf] of [['drachtio', 'drachtio-server-0.9.10/docker-publish.yml'], ['freeswitch', 'drachtio-freeswitch-mrf-0.9.1/docker-publish.yml']] as const) {
        expect(img(wf)).to.include("sed -e 's/^v//'");
        const tag = service(compose, name).image!.split(':')[1]!;
        expect(tag, name).to.match(/^\d+\.\d+\.\d+$/);
      }
      expect(mustText('docker-compose.yml')).not.to.match(/drachtio\/drachtio-server:v\d/);
    });

    it('.dockerignore keeps node_modules, .git and .env out of the build context, and keeps what the Dockerfile copies', () => {
      const ignore = repoText('.dockerignore');
      expect(ignore, '.dockerignore').to.be.a('string');
      const pats = ignore!.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      const ignored = (p: string): boolean => {
        let out = false;
        for (const pat of pats) {
          const neg = pat.startsWith('!');
          const body = (neg ? pat.slice(1) : pat).replace(/\/$/, '');
          const re = new RegExp(`^${body.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
          if (re.test(p)) out = !neg;
        }
        return out;
      };
      for (const p of ['node_modules', '.git', '.env', 'node_modules/x/y.js']) expect(ignored(p), p).to.equal(true);
      const copies = mustText('Dockerfile').split('\n').filter((l) => /^COPY\s/.test(l) && !l.includes('--from')).flatMap((l) => l.trim().split(/\s+/).slice(1, -1).filter((w) => !w.startsWith('--')));
      expect(copies.length).to.be.greaterThan(4);
      expect(copies.filter(ignored)).to.deep.equal([]);
    });

    it('Grafana finds every provisioning folder it reads (no mount hides the image\'s own)', () => {
      const g = JSON.parse(readFileSync(fixture('compose', 'images', 'grafana-provisioning.json'), 'utf8')) as { dir: string; reads: string[] };
      const s = service(compose, 'grafana');
      const problems: string[] = [];
      for (const f of g.reads) {
        const m = mountFor(s, `${g.dir}/${f}`);
        if (!m || m.type !== 'bind') continue;
        const rel = posix.relative(m.target, `${g.dir}/${f}`);
        const listing = repoList(posix.dirname(posix.join(m.source, rel))) ?? [];
        if (!listing.includes(`${posix.basename(rel)}/`) && rel !== '') problems.push(`${m.source}:${m.target} hides ${g.dir}/${f}`);
        if (rel === '' && !repoList(m.source)) problems.push(`${m.source} does not exist`);
      }
      expect(problems).to.deep.equal([]);
    });

    it('the SIPp callee is built from Debian\'s sipp (any architecture), not an old amd64-only image', () => {
      const s = service(compose, 'sipp-uas');
      expect(s.build, 'built here').to.deep.include({ target: 'sipp' });
      const stages = dockerfileModel(mustText('Dockerfile')).stages;
      expect(stages.find((x) => x.name === 'sipp')?.from).to.match(/^debian:/);
      expect(mustText('Dockerfile')).to.match(/apt-get install -y --no-install-recommends sipp\b/);
      expect(s.image).not.to.match(/ctaloi/);
    });

    it('every service that stays up has a healthcheck (compose "healthy"), and dependants wait for it', () => {
      const missing: string[] = [];
      for (const s of compose.services.values()) {
        if (s.raw.restart === 'no') continue;
        const fromDockerfile = s.build && s.build.target === undefined && /HEALTHCHECK/.test(mustText('Dockerfile'));
        if (!s.healthcheck?.test.length && !fromDockerfile && s.name !== 'gnugk') missing.push(s.name);
      }
      expect(missing).to.deep.equal([]);
      const deps = service(compose, 'gateway').raw.depends_on as Record<string, { condition: string }>;
      for (const d of ['drachtio', 'redis', 'freeswitch']) expect(deps[d]?.condition, d).to.equal('service_healthy');
    });
  });
});

function parseEnv(): Record<string, string> {
  return Object.fromEntries(mustText('.env.example').split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
