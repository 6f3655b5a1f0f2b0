/**
 * The gateway image's start command and the registry's first-run path, run outside Docker the way
 * the compose lab runs them (issue 13, defects 2 and 5): each container is a folder whose mounts
 * are made with `mount --bind` (read-only where compose says :ro) inside a private mount and
 * network namespace, named volumes are folders filled from the image the way Docker fills an
 * empty volume (the Dockerfile's folder, owner and mode; root:root 0755 where the image has none),
 * the processes run as uid 1000 (the image's USER node) with exactly the compose environment
 * (.env.example's values; paths under the container's folder), and `redis`, `drachtio` and
 * `freeswitch` resolve to loopback in that namespace (a real redis-server runs there; drachtio
 * and FreeSWITCH are absent, which the gateway rides out).
 *
 * Flow checked: the gateway starts (READY) and writes its audit id key into the audit volume;
 * `docker compose run --rm cli registry add --file /etc/gateway/registry/registry.json ...` (the
 * cli service: same image, same user, the registry volume read-write) adds a person; `docker
 * compose kill -s HUP gateway` makes the gateway load it. Also shown: a single-file bind mount
 * keeps the old file after gatewayctl's rename (why the registry is a folder).
 *
 * Needs root, unshare, nsenter, setpriv, mount, ip and redis-server; skipped otherwise (saying
 * which). OPS_CHECK_REV=<rev> runs it on that revision's docker-compose.yml, Dockerfile and
 * mounted files (compose-model.ts).
 */
import { expect } from 'chai';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { CHECK_REV, dockerfileModel, loadCompose, mustText, type ImageModel, type Service } from './compose-model.js';
import { Namespace, waitFor, type Out } from './netns.js';

const UID = 1000;
const TOOLS = ['unshare', 'nsenter', 'setpriv', 'mount', 'ip', 'redis-server'];

function missingPrereq(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (mount namespaces and setpriv need it)';
  const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  return missing.length ? `missing ${missing.join(', ')}` : undefined;
}

/** A repository path as a host path: the work tree's, or the revision's files exported. */
function hostPath(rel: string, exportDir: string): string {
  if (!CHECK_REV) return join(repoRoot, rel);
  const dest = join(exportDir, rel);
  if (!existsSync(dest)) {
    const tar = spawnSync('sh', ['-c', `git archive ${CHECK_REV} -- "${rel}" | tar -x -C "${exportDir}"`], { cwd: repoRoot });
    if (tar.status !== 0) throw new Error(`cannot export ${rel} at ${CHECK_REV}`);
  }
  return dest;
}

/**
 * The lab on disk: container folders with their mounts made in `ns`, named volumes filled from
 * the image model as Docker fills an empty volume.
 */
class Lab {
  readonly volumes = new Map<string, string>();
  constructor(readonly ns: Namespace, readonly root: string, readonly image: ImageModel, readonly exportDir: string) {}

  volume(name: string, target: string): string {
    let dir = this.volumes.get(name);
    if (dir) return dir;
    dir = join(this.root, 'volumes', name);
    mkdirSync(dir, { recursive: true });
    const inImage = this.image.paths.get(target);
    const uidOf = (owner: string): number => (owner === 'root' ? 0 : owner === 'node' ? UID : Number(owner));
    if (inImage) {
      chownSync(dir, uidOf(inImage.owner), uidOf(inImage.owner));
      chmodSync(dir, inImage.mode);
      for (const [p, info] of this.image.paths) {
        if (!p.startsWith(`${target}/`)) continue;
        const dest = join(dir, p.slice(target.length + 1));
        if (info.dir) mkdirSync(dest, { recursive: true });
        else if (info.source) copyFileSync(hostPath(info.source, this.exportDir), dest);
        else writeFileSync(dest, '');
        chownSync(dest, uidOf(info.owner), uidOf(info.owner));
        chmodSync(dest, info.mode);
      }
    } else {
      chmodSync(dir, 0o755); // Docker: a fresh volume's folder, root:root
    }
    this.volumes.set(name, dir);
    return dir;
  }

  /** Makes service `s`'s mounts under root/<name>; returns that container folder. */
  container(s: Service): string {
    const c = join(this.root, 'containers', s.name);
    mkdirSync(c, { recursive: true });
    // The container's fixed lab address (the gateway binds H.225 on it), on this namespace's lo.
    if (s.ipv4) {
      const r = this.ns.run(['ip', 'addr', 'add', `${s.ipv4}/32`, 'dev', 'lo']);
      if (r.status !== 0) throw new Error(`ip addr add ${s.ipv4}: ${r.stderr}`);
    }
    for (const m of s.mounts) {
      const src = m.type === 'bind' ? hostPath(m.source, this.exportDir) : this.volume(m.source, m.target);
      const dst = join(c, m.target);
      mkdirSync(dirname(dst), { recursive: true });
      if (statSync(src).isDirectory()) mkdirSync(dst, { recursive: true });
      else writeFileSync(dst, '');
      const r1 = this.ns.run(['mount', '--bind', src, dst]);
      if (r1.status !== 0) throw new Error(`mount ${src} ${dst}: ${r1.stderr}`);
      if (m.readOnly) {
        const r2 = this.ns.run(['mount', '-o', 'remount,bind,ro', dst]);
        if (r2.status !== 0) throw new Error(`remount ro ${dst}: ${r2.stderr}`);
      }
    }
    return c;
  }
}

/** The compose environment of `s` with its container paths put under the container folder `c`. */
function envIn(s: Service, c: string): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp' };
  for (const [k, v] of Object.entries(s.environment)) env[k] = v.startsWith('/') ? join(c, v) : v;
  env.NODE_ENV = 'production';
  return env;
}

/** The image's CMD, from source: node <flags> dist/apps/gateway/index.js -> node <flags> --import tsx apps/gateway/index.ts. */
function gatewayCommand(image: ImageModel): string[] {
  const cmd = image.cmd ?? [];
  expect(cmd[0]).to.equal('node');
  expect(cmd[cmd.length - 1]).to.equal('dist/apps/gateway/index.js');
  return [process.execPath, ...cmd.slice(1, -1), '--import', 'tsx', 'apps/gateway/index.ts'];
}

/** `docker compose run --rm cli <args>` outside Docker: the cli service's entrypoint from source. */
function cliCommand(s: Service, args: string[], c: string): string[] {
  expect(s.entrypoint).to.deep.equal(['node', 'dist/apps/cli/index.js']);
  return [process.execPath, '--import', 'tsx', 'apps/cli/index.ts', ...args.map((a) => (a.startsWith('/etc/') || a.startsWith('/var/') ? join(c, a) : a))];
}

describe('compose lab run outside Docker: the gateway\'s start and the registry\'s first run (issue 13)', function () {
  this.timeout(240_000);
  const why = missingPrereq();
  let ns: Namespace | undefined;
  let root = '';
  let lab: Lab;
  let redis: ChildProcess | undefined;
  let gateway: { proc: ChildProcess; out: Out } | undefined;
  let gwDir = '';
  const compose = loadCompose();
  const image = dockerfileModel(mustText('Dockerfile'));

  before(async function () {
    if (why) return;
    root = mkdtempSync(join(tmpdir(), 'compose-outside-'));
    chmodSync(root, 0o755);
    const exportDir = join(root, 'export');
    mkdirSync(exportDir);
    ns = new Namespace();
    await new Promise((r) => setTimeout(r, 200));
    const hosts = join(root, 'hosts');
    writeFileSync(hosts, '127.0.0.1 localhost redis drachtio freeswitch\n::1 localhost\n');
    for (const cmd of [['ip', 'link', 'set', 'lo', 'up'], ['mount', '--bind', hosts, '/etc/hosts']]) {
      const r = ns.run(cmd);
      if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
    }
    lab = new Lab(ns, root, image, exportDir);
    const gw = compose.services.get('gateway')!;
    const pw = new URL(gw.environment.REDIS_URL!).password;
    redis = ns.start(['redis-server', '--bind', '127.0.0.1', '--port', '6379', '--requirepass', pw, '--save', '', '--appendonly', 'no']).proc;
  });

  after(async () => {
    gateway?.proc.kill('SIGKILL');
    redis?.kill('SIGKILL');
    ns?.stop();
    await new Promise((r) => setTimeout(r, 300));
    if (root) {
      spawnSync('sh', ['-c', `grep -q " ${root}" /proc/mounts && umount -R "${root}" 2>/dev/null; true`]);
      rmSync(root, { recursive: true, force: true });
    }
  });

  beforeEach(function () {
    if (why) {
      this.currentTest!.title += ` [skipped: ${why}]`;
      this.skip();
    }
  });

  it('the gateway image\'s command starts as uid 1000 on the compose mounts and environment, and writes its audit id key', async () => {
    const gw = compose.services.get('gateway')!;
    gwDir = lab.container(gw);
    gateway = ns!.start(gatewayCommand(image), { uid: UID, env: envIn(gw, gwDir) });
    const ready = await waitFor(gateway.out, (l) => l.startsWith('READY '), 90_000);
    expect(ready, `gateway did not start (exit ${String(gateway.out.exited)}):\n${gateway.out.lines.slice(-15).join('\n')}`).to.be.a('string');
    // Seen from outside the namespace, i.e. in the volume itself.
    const auditVolume = gw.mounts.find((m) => m.target === gw.environment.AUDIT_DIR);
    expect(auditVolume?.type, 'AUDIT_DIR is a named volume').to.equal('volume');
    const key = statSync(join(lab.volumes.get(auditVolume!.source)!, '.id-key'));
    expect(key.uid).to.equal(UID);
    expect(key.mode & 0o777).to.equal(0o600);
    expect(gateway.out.lines.some((l) => /"message":"registry loaded"/.test(l) && /"entries":0/.test(l)), 'the image\'s empty registry').to.equal(true);
  });

  it('`docker compose run --rm cli registry add ...` as uid 1000 adds a person, and `docker compose kill -s HUP gateway` makes the gateway load it', async () => {
    expect(gateway?.out.exited, 'gateway running').to.equal(undefined);
    const cli = compose.services.get('cli');
    expect(cli, 'a cli service').to.not.equal(undefined);
    const cliDir = lab.container(cli!);
    const gw = compose.services.get('gateway')!;
    const file = gw.environment.REGISTRY_FILE!;
    const add = ns!.run(cliCommand(cli!, ['registry', 'add', '--file', file, '--id', 'T-01', '--name', 'Test Expert', '--role', 'expert', '--username', 't01', '--realm', 'council.local', '--password-env', 'EXPERT_PASSWORD'], cliDir), {
      uid: UID,
      env: { ...envIn(cli!, cliDir), EXPERT_PASSWORD: 'correct-horse-battery' },
    });
    expect(add.status, add.stderr + add.stdout).to.equal(0);
    expect(add.stdout).to.include('added T-01');
    const st = statSync(join(lab.volumes.get('registry') ?? join(cliDir, dirname(file)), 'registry.json'));
    expect([st.uid, st.mode & 0o777]).to.deep.equal([UID, 0o600]);
    const from = gateway!.out.lines.length;
    gateway!.proc.kill('SIGHUP');
    const loaded = await waitFor(gateway!.out, (l) => /"message":"registry loaded"/.test(l), 20_000, from);
    expect(loaded, gateway!.out.lines.slice(from).join('\n')).to.match(/"entries":1\b/);
    const applied = await waitFor(gateway!.out, (l) => /"message":"config reloaded"/.test(l), 10_000, from);
    expect(applied, 'config reloaded').to.be.a('string');
    const list = ns!.run(cliCommand(cli!, ['registry', 'list', '--file', file, '--json'], cliDir), { uid: UID, env: envIn(cli!, cliDir) });
    expect(list.status, list.stderr).to.equal(0);
    expect((JSON.parse(list.stdout) as Array<{ id: string }>).map((e) => e.id)).to.deep.equal(['T-01']);
  });

  it('(why a folder) a single-file bind mount keeps the old file after gatewayctl renames a new one over it on the host', () => {
    const host = join(root, 'host-registry');
    mkdirSync(host);
    const file = join(host, 'registry.json');
    writeFileSync(file, '{"version":1,"entries":[]}\n');
    const seen = join(root, 'seen-registry.json');
    writeFileSync(seen, '');
    expect(ns!.run(['mount', '--bind', '-o', 'ro', file, seen]).status).to.equal(0);
    const add = ns!.run([process.execPath, '--import', 'tsx', 'apps/cli/index.ts', 'registry', 'add', '--file', file, '--id', 'T-02', '--name', 'Two', '--role', 'expert', '--username', 't02', '--realm', 'council.local', '--password-env', 'P'], { env: { PATH: process.env.PATH ?? '', HOME: '/tmp', P: 'pw-two-two' } });
    expect(add.status, add.stderr).to.equal(0);
    expect(readFileSync(file, 'utf8')).to.include('T-02');
    const through = ns!.run(['cat', seen]);
    expect(through.stdout).not.to.include('T-02');
    expect(JSON.parse(through.stdout)).to.deep.equal({ version: 1, entries: [] });
  });
});
