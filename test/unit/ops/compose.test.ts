/**
 * The compose lab (README's main command) refers only to files that exist in the repository,
 * takes its secrets from .env (documented in .env.example), and passes `docker compose config`
 * wherever the compose plugin is installed, or Debian's docker-compose 1.29 (neither is on the CI
 * machine: that test skips there, saying so). What the images do with it: compose-images.test.ts.
 * The FreeSWITCH, GnuGk and gateway configs it mounts agree with it and with each other, and
 * every XML config is well-formed.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { validateConfig } from '../../../lib/config/gateway-config.js';
import { checkWellFormed } from './xml-wellformed.js';
import { GATEWAY_NODE_FLAGS } from '../../../apps/gateway/node-flags.js';

const compose = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');

describe('docker-compose lab', () => {
  it('mounts only files and folders that exist in the repository', () => {
    const paths = [...compose.matchAll(/(?:^|\s|:-)(\.\/[A-Za-z0-9_./-]+)/gm)].map((m) => m[1] as string);
    expect(paths.length).to.be.greaterThan(3);
    expect(paths.filter((p) => !existsSync(join(repoRoot, p)))).to.deep.equal([]);
  });

  it('requires every secret it uses from .env, and .env.example names each', () => {
    const required = [...compose.matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1] as string);
    const example = readFileSync(join(repoRoot, '.env.example'), 'utf8');
    expect(required).to.include('DRACHTIO_SECRET');
    expect([...new Set(required)].filter((v) => !new RegExp(`^${v}=`, 'm').test(example))).to.deep.equal([]);
  });

  // `docker compose` (the v2 plugin), else Debian's `docker-compose` (1.29, Python): both parse and
  // interpolate the file without an engine. Every profile is switched on so all services are read.
  const composeCli = ((): string[] | undefined => {
    if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) return ['docker', 'compose'];
    if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0) return ['docker-compose'];
    return undefined;
  })();

  it('passes `docker compose config` (or docker-compose 1.29) with every profile, where one is installed', function () {
    if (!composeCli) {
      this.test!.title += ' [skipped: neither `docker compose` nor `docker-compose` is installed]';
      this.skip();
    }
    const [bin, ...pre] = composeCli!;
    const profiles = ['ha', 'gnugk', 'dscp', 'cli'].flatMap((p) => ['--profile', p]);
    const r = spawnSync(bin!, [...pre, '--env-file', '.env.example', ...profiles, 'config', '--quiet'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status, `${composeCli!.join(' ')} config: ${r.stderr}`).to.equal(0);
  });

  it('`docker compose config` refuses to run without the required secrets and external addresses', function () {
    if (!composeCli) {
      this.test!.title += ' [skipped: neither `docker compose` nor `docker-compose` is installed]';
      this.skip();
    }
    const [bin, ...pre] = composeCli!;
    const dir = mkdtempSync(join(tmpdir(), 'compose-env-'));
    const empty = join(dir, 'empty.env');
    writeFileSync(empty, '');
    const r = spawnSync(bin!, [...pre, '--env-file', empty, 'config', '--quiet'], { cwd: repoRoot, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).not.to.equal(0);
    expect(r.stderr).to.match(/DRACHTIO_SECRET|SIP_EXTERNAL_IP|FS_EXT_RTP_IP|required/);
  });
});

/** The text of one top-level service in docker-compose.yml (two-space indented block). */
function service(name: string): string {
  const m = new RegExp(`^  ${name}:\\n((?:    .*\\n|\\s*\\n)+)`, 'm').exec(compose);
  if (!m) throw new Error(`no service ${name} in docker-compose.yml`);
  return m[1] as string;
}

const envExample = Object.fromEntries(
  readFileSync(join(repoRoot, '.env.example'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
) as Record<string, string>;

const fsConf = (p: string): string => readFileSync(join(repoRoot, 'sip-configs/freeswitch', p), 'utf8');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('compose lab: secrets and the services beyond the gateway', () => {
  it('takes every secret from .env (required, no default), and .env.example offers none that is a known default', () => {
    for (const v of ['DRACHTIO_SECRET', 'POLICY_NONCE_SECRET', 'FS_ESL_SECRET', 'REDIS_PASSWORD', 'GRAFANA_ADMIN_PASSWORD']) {
      expect(compose, v).to.match(new RegExp(`\\$\\{${v}:\\?`));
      expect(compose, `${v} must never get a default`).not.to.match(new RegExp(`\\$\\{${v}:-`));
      expect(envExample[v], v).to.match(/^change-me-/);
    }
    expect(envExample.FS_ESL_SECRET).not.to.equal('ClueCon');
    // The admin token is optional: unset means the endpoint is off, so it may default to empty only.
    expect(compose).to.match(/ADMIN_TOKEN: \$\{ADMIN_TOKEN:-\}/);
    expect(envExample.ADMIN_TOKEN).to.equal('');
    // No literal password anywhere in the compose file or the configs it mounts.
    expect(compose).not.to.match(/ClueCon/);
    expect(compose).not.to.match(/requirepass (?!\\"\$\$REDIS_PASSWORD)/);
  });

  it('pins every image through a variable with a default tag; GnuGk (no public image) only under its profile', () => {
    const images = [...compose.matchAll(/^\s+image: (.*)$/gm)].map((m) => m[1] as string);
    expect(images.length).to.be.greaterThan(6);
    for (const img of images) expect(img, img).to.match(/^\$\{[A-Z_]+_IMAGE:-[^}:]+:[^}]+\}$/);
    expect(service('freeswitch')).to.match(/image: \$\{FREESWITCH_IMAGE:-drachtio\/drachtio-freeswitch-mrf:/);
    expect(service('redis')).to.match(/image: \$\{REDIS_IMAGE:-redis:\d+\.\d+/);
    expect(service('gnugk')).to.match(/profiles: \["gnugk"\]/);
    expect(service('gateway-b')).to.match(/profiles: \["ha"\]/);
    expect(service('rtp-dscp')).to.match(/profiles: \["dscp"\]/);
  });

  it('health-checks Redis and FreeSWITCH, and the gateway waits for a healthy Redis', () => {
    expect(service('redis')).to.match(/healthcheck:[\s\S]*redis-cli ping/);
    expect(service('redis')).to.include('REDISCLI_AUTH');
    expect(service('freeswitch')).to.match(/healthcheck:[\s\S]*fs_cli -p \\"\$\$FS_ESL_SECRET\\"[\s\S]*drachtio_mrf/);
    for (const gw of ['gateway', 'gateway-b']) expect(service(gw), gw).to.match(/redis:\n\s+condition: service_healthy/);
  });
});

describe('FreeSWITCH config (sip-configs/freeswitch)', () => {
  it('mounts our whole conf tree read-only beside the image\'s conf and starts FreeSWITCH on it', () => {
    const fs = service('freeswitch');
    expect(fs).to.include('- ./sip-configs/freeswitch:/etc/freeswitch:ro');
    expect(fs).to.include('command: ["-nonat", "-nc", "-nf", "-conf", "/etc/freeswitch"]');
    expect(fs).not.to.include('/usr/local/freeswitch/conf/');
  });

  it('takes the ESL password from FS_ESL_SECRET (never ClueCon), the same variable the gateway logs in with', () => {
    const esl = fsConf('autoload_configs/event_socket.conf.xml');
    expect(esl).to.match(/<X-PRE-PROCESS cmd="env-set" data="council_esl_password=\$FS_ESL_SECRET"\/>/);
    expect(esl).to.match(/<param name="password" value="\$\$\{council_esl_password\}"\/>/);
    expect(esl).to.match(/<param name="listen-port" value="8021"\/>/);
    for (const f of files(join(repoRoot, 'sip-configs/freeswitch'))) expect(readFileSync(f, 'utf8'), f).not.to.include('ClueCon');
    expect(service('freeswitch')).to.include('FS_ESL_SECRET: ${FS_ESL_SECRET:?');
    expect(compose).to.match(/x-gateway-env:[\s\S]*FS_ESL_SECRET: \$\{FS_ESL_SECRET:\?/);
    // Only the RTP range is published: the event socket and FreeSWITCH's SIP stay on the lab network.
    const published = /ports:\n((?:\s+(?:#.*|- .*)\n)+)/.exec(service('freeswitch'))?.[1] ?? '';
    expect(published.split('\n').filter((l) => l.trim().startsWith('- '))).to.have.length(1);
    expect(published).not.to.match(/- .*(8021|5080)/);
  });

  it('sets the adaptive jitter buffer (20:150 ms by default, FS_JITTERBUFFER_MSEC) on the fsmrf profile', () => {
    const mrf = fsConf('sip_profiles/mrf.xml');
    expect(mrf).to.match(/<profile name="drachtio_mrf">/);
    expect(mrf).to.include('<X-PRE-PROCESS cmd="set" data="council_jitterbuffer_msec=20:150"/>');
    expect(mrf).to.include('<X-PRE-PROCESS cmd="env-set" data="council_jitterbuffer_msec=$FS_JITTERBUFFER_MSEC"/>');
    expect(mrf).to.include('<param name="auto-jitterbuffer-msec" value="$${council_jitterbuffer_msec}"/>');
    expect(service('freeswitch')).to.include('FS_JITTERBUFFER_MSEC: ${FS_JITTERBUFFER_MSEC:-20:150}');
    expect(envExample.FS_JITTERBUFFER_MSEC).to.equal('20:150');
    // fsmrf's requirements (captures/freeswitch): 3pcc INVITEs without SDP, late negotiation, context mrf.
    for (const p of ['enable-3pcc" value="true', 'inbound-late-negotiation" value="true', 'context" value="mrf', 'sip-port" value="5080']) expect(mrf).to.include(p);
  });

  it('uses one RTP range for FreeSWITCH, the published ports and the DSCP EF marking', () => {
    const sw = fsConf('autoload_configs/switch.conf.xml');
    expect(sw).to.include('<X-PRE-PROCESS cmd="env-set" data="council_rtp_start=$FS_RTP_START"/>');
    expect(sw).to.include('<X-PRE-PROCESS cmd="env-set" data="council_rtp_end=$FS_RTP_END"/>');
    expect(sw).to.include('<param name="rtp-start-port" value="$${council_rtp_start}"/>');
    expect(sw).to.include('<param name="rtp-end-port" value="$${council_rtp_end}"/>');
    expect(service('freeswitch')).to.include('"${FS_RTP_START:-20000}-${FS_RTP_END:-20099}:${FS_RTP_START:-20000}-${FS_RTP_END:-20099}/udp"');
    const dscp = service('rtp-dscp');
    expect(dscp).to.include('network_mode: "service:freeswitch"');
    expect(dscp).to.include('cap_add: [NET_ADMIN]');
    expect(dscp).to.match(/iptables -t mangle -A OUTPUT -p udp --sport \$\$FS_RTP_START:\$\$FS_RTP_END -j DSCP --set-dscp-class EF/);
    expect(Number(envExample.FS_RTP_END)).to.be.greaterThan(Number(envExample.FS_RTP_START));
  });

  it('has a council conference profile that mixes video (mux) at 48 kHz / 20 ms with an energy threshold', () => {
    const conf = fsConf('autoload_configs/conference.conf.xml');
    const council = /<profile name="council">([\s\S]*?)<\/profile>/.exec(conf)?.[1] ?? '';
    const param = (n: string): string | undefined => new RegExp(`<param name="${n}" value="([^"]*)"/>`).exec(council)?.[1];
    expect(param('video-mode')).to.equal('mux');
    expect(param('rate')).to.equal('48000');
    expect(param('interval')).to.equal('20');
    expect(Number(param('energy-level'))).to.be.greaterThan(0);
    expect(/<profile name="default">/.test(conf), 'the profile the media adapter uses by default').to.equal(true);
  });

  it('never mentions the preprocessor keyword outside a real directive (FreeSWITCH would drop that line)', () => {
    for (const f of files(join(repoRoot, 'sip-configs/freeswitch'))) {
      readFileSync(f, 'utf8').split('\n').forEach((line, n) => {
        if (/x-pre-process/i.test(line)) expect(line.trim(), `${f}:${n + 1}`).to.match(/^<X-PRE-PROCESS cmd="(set|env-set)" data="[^"]*"\/>$/);
      });
    }
  });
});

describe('gateway configs the lab runs (sip-configs/gateway)', () => {
  // What compose's x-gateway-env gives the process, with .env.example's values.
  const env = {
    DRACHTIO_SECRET: envExample.DRACHTIO_SECRET,
    POLICY_NONCE_SECRET: envExample.POLICY_NONCE_SECRET,
    FS_ESL_SECRET: envExample.FS_ESL_SECRET,
    REDIS_URL: `redis://:${envExample.REDIS_PASSWORD}@redis:6379/0`,
    ADMIN_TOKEN: envExample.ADMIN_TOKEN,
    REGISTRY_FILE: '/etc/gateway/registry/registry.json',
    AUDIT_DIR: '/var/lib/gateway/audit',
  };
  const raw = (f: string): Record<string, unknown> => JSON.parse(readFileSync(join(repoRoot, 'sip-configs/gateway', f), 'utf8')) as Record<string, unknown>;

  it('both instances validate and point at FreeSWITCH and Redis as compose names them', () => {
    for (const f of ['gateway.json', 'gateway-b.json']) {
      const cfg = validateConfig(raw(f), env);
      expect(cfg.media?.esl, f).to.deep.equal({ host: 'freeswitch', port: 8021, secret: envExample.FS_ESL_SECRET });
      // The jitter buffer is FreeSWITCH's profile's (FS_JITTERBUFFER_MSEC), not set again per leg.
      expect(cfg.media?.jitterBufferMsec, f).to.equal(null);
      expect(cfg.state, f).to.include({ backend: 'redis', url: env.REDIS_URL });
      expect(cfg.drachtio.host, f).to.equal('drachtio');
      expect(cfg.http.adminToken, f).to.equal('');
    }
    expect(compose).to.include('REDIS_URL: redis://:${REDIS_PASSWORD:?');
    expect(service('gateway-b')).to.include('GATEWAY_CONFIG: /etc/gateway/config/gateway-b.json');
    expect(service('gateway-b')).to.include('- ./sip-configs/gateway:/etc/gateway/config:ro');
  });

  it('differ only in the instance address, which compose, the LCF, fsmrf and GnuGk all agree on', () => {
    const ini = readFileSync(join(repoRoot, 'sip-configs/gnugk/gatekeeper.ini'), 'utf8');
    const home = /^Home=(.*)$/m.exec(ini)?.[1];
    expect(service('gnugk')).to.include(`ipv4_address: ${home}`);
    const neighbourHosts = [...ini.matchAll(/^\[Neighbor::(\w+)\][\s\S]*?^Host=([\d.]+):(\d+)$/gm)].map((m) => [m[1], m[2], Number(m[3])]);
    expect(neighbourHosts.map((n) => n[0])).to.deep.equal(['GW1', 'GW2']);
    expect(ini).to.match(/\[RasSrv::Neighbors\][^[]*GW1=GnuGk\s+GW2=GnuGk/);
    const addr = (f: string, svc: string, i: number): void => {
      const cfg = validateConfig(raw(f), env);
      const ip = /ipv4_address: ([\d.]+)/.exec(service(svc))?.[1];
      expect(cfg.h323?.callSignalAddress.host, f).to.equal(ip);
      expect(cfg.h323?.advertisedRasAddress?.host, f).to.equal(ip);
      expect(cfg.media?.advertised?.address, f).to.equal(ip);
      expect(neighbourHosts[i], f).to.deep.equal([`GW${i + 1}`, ip, cfg.h323?.ras.port]);
      expect(cfg.h323?.neighbours[0]?.host, f).to.equal(home);
      expect(cfg.h323?.gatekeeper?.host, f).to.equal(home);
      expect(cfg.h323?.neighbours[0]?.gatekeeperId, f).to.equal(/^Name=(.*)$/m.exec(ini)?.[1]);
    };
    addr('gateway.json', 'gateway', 0);
    addr('gateway-b.json', 'gateway-b', 1);
    const strip = (o: Record<string, unknown>): string => JSON.stringify(o).replaceAll('172.28.0.11', '172.28.0.10');
    expect(strip(raw('gateway-b.json'))).to.equal(strip(raw('gateway.json')));
  });
});

describe('XML configs under sip-configs/', () => {
  it('the checker accepts well-formed XML and names what breaks malformed XML', () => {
    expect(checkWellFormed('<?xml version="1.0"?>\n<!DOCTYPE s SYSTEM "s.dtd">\n<a x="1" y=\'&amp;\'><!-- c --><b/><![CDATA[<raw> & ]]>t&#x41;</a>\n')).to.equal(undefined);
    const bad: Array<[string, RegExp]> = [
      ['<a><b></a>', /closes <b>/],
      ['<a>', /unclosed element <a>/],
      ['<a x=1/>', /unquoted value/],
      ['<a x="1" x="2"/>', /twice/],
      ['<a>x & y</a>', /'&'/],
      ['<a x="<"/>', /raw '<'/],
      ['<a/><b/>', /second root/],
      ['<a><!-- x -- y --></a>', /'--' inside a comment/],
      ['<a><!-- x </a>', /unclosed comment/],
      [' <?xml version="1.0"?><a/>', /not at the start/],
      ['text<a/>', /before the root/],
      ['<a/>text', /after the root/],
      ['<a x="1"y="2"/>', /no space/],
      ['', /no root element/],
    ];
    for (const [doc, re] of bad) expect(checkWellFormed(doc)?.message, doc).to.match(re);
  });

  it('every .xml and .xml.tmpl file is well-formed', () => {
    const xml = files(join(repoRoot, 'sip-configs')).filter((f) => /\.xml(\.tmpl)?$/.test(f));
    expect(xml.length).to.be.greaterThan(10);
    expect(xml.some((f) => f.includes('/freeswitch/'))).to.equal(true);
    const broken = xml.flatMap((f) => {
      const p = checkWellFormed(readFileSync(f, 'utf8'));
      return p ? [`${f}:${p.line}: ${p.message}`] : [];
    });
    expect(broken).to.deep.equal([]);
  });
});

describe('gateway process flags', () => {
  it('starts with the V8 flags of apps/gateway/node-flags.ts in the image and in `npm start`, and they take effect', () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(cmd, 'Dockerfile CMD').to.be.a('string');
    expect(JSON.parse(cmd!)).to.deep.equal(['node', ...GATEWAY_NODE_FLAGS, 'dist/apps/gateway/index.js']);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).to.equal(['node', ...GATEWAY_NODE_FLAGS, 'dist/apps/gateway/index.js'].join(' '));
    // A 16 MB young generation from the start (V8 would begin at 1 MB).
    const out = execFileSync(process.execPath, [...GATEWAY_NODE_FLAGS, '-p', "require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size"], { encoding: 'utf8' });
    expect(Number(out.trim())).to.equal(16 << 20);
  });
});
