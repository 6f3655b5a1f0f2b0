/**
 * What the compose lab's checks read, modelled without a Docker engine: docker-compose.yml with
 * .env.example interpolated the way compose does it, the Dockerfile's final stage (which paths
 * exist in the image, owned by whom, with which mode), and the shell entrypoints of the pinned
 * images (test/fixtures/compose/images: which files they edit with `sed -i`, for which first
 * argument they drop root).
 *
 * Every file is read through repoText(): with OPS_CHECK_REV=<git revision> the checks read that
 * revision instead of the work tree (`OPS_CHECK_REV=HEAD npx mocha test/unit/ops/compose-*.test.ts`
 * shows which checks an older compose lab fails).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import yaml from 'js-yaml';
import { repoRoot } from '../../support/paths.js';

export const CHECK_REV = process.env.OPS_CHECK_REV || undefined;

/** A repository file's text (work tree, or OPS_CHECK_REV); undefined when it does not exist. */
export function repoText(path: string): string | undefined {
  if (CHECK_REV) {
    try {
      return execFileSync('git', ['show', `${CHECK_REV}:${path}`], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return undefined;
    }
  }
  const p = join(repoRoot, path);
  return existsSync(p) && statSync(p).isFile() ? readFileSync(p, 'utf8') : undefined;
}

export function mustText(path: string): string {
  const t = repoText(path);
  if (t === undefined) throw new Error(`${path} does not exist${CHECK_REV ? ` at ${CHECK_REV}` : ''}`);
  return t;
}

/** Entries (names, `/` after folders) of a repository folder; undefined when it does not exist. */
export function repoList(dir: string): string[] | undefined {
  if (CHECK_REV) {
    try {
      const out = execFileSync('git', ['ls-tree', `${CHECK_REV}:${dir}`], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return out.split('\n').filter(Boolean).map((l) => {
        const [meta, name] = l.split('\t') as [string, string];
        return meta.split(' ')[1] === 'tree' ? `${name}/` : name;
      });
    } catch {
      return undefined;
    }
  }
  const p = join(repoRoot, dir);
  if (!existsSync(p) || !statSync(p).isDirectory()) return undefined;
  return readdirSync(p, { withFileTypes: true }).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
}

/** KEY=value lines of an env file (compose's .env syntax without quotes or exports). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * Compose interpolation: `$$` is a literal `$`, `${V}`, `${V:-default}` (unset or empty),
 * `${V-default}` (unset), `${V:?message}` (fails when unset or empty). Missing plain variables are
 * empty, as compose makes them (with a warning).
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, name?: string, op?: string, arg?: string, bare?: string) => {
    if (m === '$$') return '$';
    if (bare) return env[bare] ?? '';
    const v = env[name!];
    if (op === ':-') return v ? v : (arg ?? '');
    if (op === '-') return v !== undefined ? v : (arg ?? '');
    if (op === ':?' && !v) throw new Error(`compose: required variable ${name} is missing: ${arg}`);
    if (op === '?' && v === undefined) throw new Error(`compose: required variable ${name} is missing: ${arg}`);
    return v ?? '';
  });
}

export interface Mount {
  type: 'bind' | 'volume';
  /** Host path relative to the repository (bind) or the volume's name. */
  source: string;
  target: string;
  readOnly: boolean;
}

export interface Service {
  name: string;
  image?: string;
  build?: { context: string; target?: string };
  entrypoint?: string[];
  command?: string[];
  environment: Record<string, string>;
  mounts: Mount[];
  user?: string;
  profiles: string[];
  healthcheck?: { test: string[]; disable?: boolean };
  ipv4?: string;
  raw: Record<string, unknown>;
}

export interface Compose {
  services: Map<string, Service>;
  volumes: string[];
  subnet?: string;
  raw: Record<string, unknown>;
}

function asList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(String);
  return ['/bin/sh', '-c', String(v)];
}

function mountOf(v: unknown): Mount {
  if (typeof v === 'object' && v !== null) {
    const o = v as { type?: string; source?: string; target?: string; read_only?: boolean };
    return { type: o.type === 'bind' ? 'bind' : 'volume', source: String(o.source), target: String(o.target), readOnly: !!o.read_only };
  }
  const parts = String(v).split(':');
  const [source, target, mode] = parts as [string, string, string?];
  const bind = source.startsWith('.') || source.startsWith('/');
  return { type: bind ? 'bind' : 'volume', source: bind ? posix.normalize(source) : source, target, readOnly: (mode ?? '').split(',').includes('ro') };
}

/** YAML merge keys (`<<: *anchor`), which compose honours and js-yaml's core schema leaves as keys. */
function mergeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(mergeKeys);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const base = o['<<'];
  for (const b of Array.isArray(base) ? base : base ? [base] : []) Object.assign(out, mergeKeys(b) as object);
  for (const [k, x] of Object.entries(o)) if (k !== '<<') out[k] = mergeKeys(x);
  return out;
}

/** docker-compose.yml (or `text`) parsed and interpolated with `env` (default .env.example). */
export function loadCompose(text = mustText('docker-compose.yml'), env: Record<string, string> = parseEnvFile(mustText('.env.example'))): Compose {
  const raw = mergeKeys(yaml.load(interpolate(text, env))) as Record<string, unknown>;
  const services = new Map<string, Service>();
  for (const [name, s] of Object.entries((raw.services ?? {}) as Record<string, Record<string, unknown>>)) {
    const envRaw = s.environment ?? {};
    const environment: Record<string, string> = {};
    if (Array.isArray(envRaw)) {
      for (const kv of envRaw.map(String)) environment[kv.split('=')[0]!] = kv.slice(kv.indexOf('=') + 1);
    } else {
      for (const [k, v] of Object.entries(envRaw as Record<string, unknown>)) environment[k] = v === null ? '' : String(v);
    }
    const build = s.build === undefined ? undefined : typeof s.build === 'string' ? { context: s.build } : (s.build as { context: string; target?: string });
    const nets = s.networks as Record<string, { ipv4_address?: string } | null> | string[] | undefined;
    const ipv4 = nets && !Array.isArray(nets) ? Object.values(nets).find((n) => n?.ipv4_address)?.ipv4_address : undefined;
    const hc = s.healthcheck as { test?: unknown; disable?: boolean } | undefined;
    services.set(name, {
      name,
      raw: s,
      ...(s.image ? { image: String(s.image) } : {}),
      ...(build ? { build } : {}),
      ...(s.entrypoint !== undefined ? { entrypoint: asList(s.entrypoint)! } : {}),
      ...(s.command !== undefined ? { command: asList(s.command)! } : {}),
      environment,
      mounts: ((s.volumes ?? []) as unknown[]).map(mountOf),
      ...(s.user ? { user: String(s.user) } : {}),
      profiles: ((s.profiles ?? []) as unknown[]).map(String),
      ...(hc ? { healthcheck: { test: hc.test === undefined ? [] : Array.isArray(hc.test) ? hc.test.map(String) : ['CMD-SHELL', String(hc.test)], ...(hc.disable ? { disable: true } : {}) } } : {}),
      ...(ipv4 ? { ipv4 } : {}),
    });
  }
  const ipam = ((raw.networks as Record<string, { ipam?: { config?: Array<{ subnet?: string }> } }> | undefined)?.lab?.ipam?.config ?? [])[0];
  return { services, volumes: Object.keys((raw.volumes ?? {}) as object), ...(ipam?.subnet ? { subnet: ipam.subnet } : {}), raw };
}

export function service(c: Compose, name: string): Service {
  const s = c.services.get(name);
  if (!s) throw new Error(`no service ${name} in docker-compose.yml`);
  return s;
}

// ------------------------------------------------------------------ Dockerfile, final stage

export interface ImagePath {
  owner: string;
  mode: number;
  dir: boolean;
  /** For a file COPY'd from the build context: its path there. */
  source?: string;
}

export interface ImageModel {
  user: string;
  workdir: string;
  cmd?: string[];
  /** Paths the Dockerfile creates or copies in the final stage (absolute). */
  paths: Map<string, ImagePath>;
  stages: Array<{ from: string; name?: string }>;
}

/** Logical lines (continuations joined), comments dropped. */
function dockerLines(text: string): string[] {
  return text.replace(/\\\r?\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

/**
 * The final stage of a Dockerfile as far as paths go: WORKDIR, USER, CMD, and the effect of COPY
 * (root-owned unless --chown) and of RUN's `mkdir [-p]`, `chown [-R] u[:g]` and `chmod [-R] mode`
 * (other RUN commands are ignored). The base image's own paths are not known: a path not created
 * here is taken as absent.
 */
export function dockerfileModel(text: string): ImageModel {
  const lines = dockerLines(text);
  const stages: Array<{ from: string; name?: string }> = [];
  let last = -1;
  lines.forEach((l, i) => {
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(l);
    if (m) {
      stages.push({ from: m[1]!, ...(m[2] ? { name: m[2] } : {}) });
      last = i;
    }
  });
  const model: ImageModel = { user: 'root', workdir: '/', paths: new Map(), stages };
  const ensureParents = (p: string): void => {
    for (let d = posix.dirname(p); d !== '/' && !model.paths.has(d); d = posix.dirname(d)) model.paths.set(d, { owner: 'root', mode: 0o755, dir: true });
  };
  const under = (p: string, recursive: boolean): string[] => [...model.paths.keys()].filter((k) => k === p || (recursive && k.startsWith(`${p}/`)));
  for (const l of lines.slice(last + 1)) {
    const [instr, ...rest] = l.split(/\s+/);
    const args = rest.join(' ');
    switch (instr!.toUpperCase()) {
      case 'WORKDIR':
        model.workdir = posix.resolve(model.workdir, args);
        if (!model.paths.has(model.workdir)) {
          ensureParents(model.workdir);
          model.paths.set(model.workdir, { owner: 'root', mode: 0o755, dir: true });
        }
        break;
      case 'USER':
        model.user = args.split(':')[0]!;
        break;
      case 'CMD':
        model.cmd = JSON.parse(args) as string[];
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        const chown = words.find((w) => w.startsWith('--chown='))?.slice(8).split(':')[0];
        const plain = words.filter((w) => !w.startsWith('--'));
        const dest = posix.resolve(model.workdir, plain[plain.length - 1]!);
        const srcs = plain.slice(0, -1);
        const isDirDest = dest.endsWith('/') || srcs.length > 1;
        const fileLike = srcs.length === 1 && /\.[a-z0-9]+$/i.test(srcs[0]!) && !isDirDest;
        ensureParents(dest);
        const fromStage = words.some((w) => w.startsWith('--from='));
        model.paths.set(dest, { owner: chown ?? 'root', mode: fileLike ? 0o644 : 0o755, dir: !fileLike, ...(fileLike && !fromStage ? { source: srcs[0]! } : {}) });
        break;
      }
      case 'RUN':
        for (const cmd of args.split(/&&|;/).map((c) => c.trim().split(/\s+/))) {
          const [prog, ...a] = cmd;
          const flags = a.filter((w) => w.startsWith('-'));
          const operands = a.filter((w) => !w.startsWith('-'));
          const recursive = flags.some((f) => /^-[a-zA-Z]*R/.test(f));
          if (prog === 'mkdir') {
            for (const p of operands) {
              const abs = posix.resolve(model.workdir, p);
              ensureParents(abs);
              if (!model.paths.has(abs)) model.paths.set(abs, { owner: 'root', mode: 0o755, dir: true });
            }
          } else if (prog === 'chown') {
            const owner = operands[0]!.split(':')[0]!;
            for (const p of operands.slice(1)) for (const k of under(posix.resolve(model.workdir, p), recursive)) model.paths.get(k)!.owner = owner;
          } else if (prog === 'chmod') {
            const mode = parseInt(operands[0]!, 8);
            for (const p of operands.slice(1)) for (const k of under(posix.resolve(model.workdir, p), recursive)) model.paths.get(k)!.mode = mode;
          }
        }
        break;
      default:
        break;
    }
  }
  return model;
}

// ------------------------------------------------------------------ shell entrypoints

export interface SedEdit {
  file: string;
  /** Runs whatever the arguments (before the script looks at "$1"). */
  unconditional: boolean;
  /** For an edit inside a `case` branch: the flags of that branch (`-e|--event-socket-port)`). */
  flags: string[];
}

/**
 * The files an entrypoint script edits in place (`sed -i ... FILE`). An edit before the first
 * `if [ "$1" ...` / `case` line runs on every start; one inside a `case` branch runs when the
 * command carries one of that branch's flags.
 */
export function sedEdits(script: string): SedEdit[] {
  const out: SedEdit[] = [];
  let conditional = false;
  let flags: string[] = [];
  for (const line of script.split('\n')) {
    if (/^\s*(if\s+\[\s+"\$1"|case\s)/.test(line)) conditional = true;
    const label = /^\s*(-[-A-Za-z0-9|]+)\)\s*$/.exec(line);
    if (label) flags = label[1]!.split('|');
    const m = /\bsed\s+-i\b.*\s(\/\S+)\s*$/.exec(line);
    if (m) out.push({ file: m[1]!, unconditional: !conditional, flags: conditional ? flags : [] });
  }
  return out;
}

/** The edits that run for a command line (the arguments after the program name). */
export function editsFor(script: string, args: readonly string[]): SedEdit[] {
  return sedEdits(script).filter((e) => e.unconditional || e.flags.some((f) => args.includes(f)));
}

/**
 * Where an entrypoint drops root: `if [ "$1" = 'X' -a "$(id -u)" = '0' ]; then ... exec gosu|su-exec`
 * gives X (the first argument that makes it switch user).
 */
export function userSwitchFor(script: string): string | undefined {
  const m = /if \[ "\$1" = '([^']+)' -a "\$\(id -u\)" = '0' \]; then[\s\S]*?exec (?:gosu|su-exec) /.exec(script);
  return m?.[1];
}

/** The codecs named in a sofia codec-prefs list. */
export function codecList(s: string): string[] {
  return s.split(',').map((c) => c.trim().split('@')[0]!.toUpperCase()).filter(Boolean);
}
