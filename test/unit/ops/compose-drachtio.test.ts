/**
 * drachtio-server (DRACHTIO_BIN; skipped without it) started with exactly the arguments the compose
 * lab gives it (after the image entrypoint's "drachtio"), in a network namespace that has the lab
 * address 172.28.0.3, with SIP_EXTERNAL_IP set to a documentation address: it accepts them, binds
 * both contacts, and reports the phone-side contact under the external address (what it puts in
 * Contact and Via toward phones) and the lab-side one under its own (issue 13, defect 6).
 * Needs root, unshare and nsenter.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { loadCompose, mustText, parseEnvFile, service } from './compose-model.js';
import { Namespace, waitFor } from './netns.js';

const BIN = process.env.DRACHTIO_BIN;
const EXTERNAL = '203.0.113.7';

describe('drachtio-server with the compose lab\'s arguments (DRACHTIO_BIN)', function () {
  this.timeout(60_000);

  it('binds 172.28.0.3:5060 advertised as SIP_EXTERNAL_IP and 172.28.0.3:5070 for the lab network', async function () {
    const missingTool = ['unshare', 'nsenter', 'ip'].find((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
    const why = !BIN ? 'DRACHTIO_BIN is not set' : process.getuid?.() !== 0 ? 'not root' : missingTool ? `missing ${missingTool}` : undefined;
    if (why) {
      this.test!.title += ` [skipped: ${why}]`;
      this.skip();
    }
    const env = { ...parseEnvFile(mustText('.env.example')), SIP_EXTERNAL_IP: EXTERNAL };
    const d = service(loadCompose(undefined, env), 'drachtio');
    const args = (d.command ?? []).slice(1);
    const conf = args.indexOf('-f');
    // The config file as compose mounts it (./sip-configs/drachtio at /etc/drachtio).
    const file = args[conf + 1]!;
    const mount = d.mounts.find((m) => file === m.target || file.startsWith(`${m.target}/`));
    expect(mount, `a mount holding ${file}`).to.not.equal(undefined);
    args[conf + 1] = join(repoRoot, mount!.source, file.slice(mount!.target.length + 1));
    const ns = new Namespace();
    try {
      for (const cmd of [['ip', 'link', 'set', 'lo', 'up'], ['ip', 'addr', 'add', `${d.ipv4}/24`, 'dev', 'lo']]) {
        const r = ns.run(cmd);
        expect(r.status, `${cmd.join(' ')}: ${r.stderr}`).to.equal(0);
      }
      const secret = d.environment.DRACHTIO_SECRET!;
      const server = ns.start([BIN!, ...args], { env: { PATH: process.env.PATH ?? '', DRACHTIO_SECRET: secret, DRACHTIO_LOGLEVEL: 'info' } });
      try {
        const up = await waitFor(server.out, (l) => /listening for client connections|starting sip stack/i.test(l), 20_000);
        expect(up, server.out.lines.slice(-20).join('\n')).to.be.a('string');
        // Authenticate on the control port (drachtio's framing: <len>#<msg>) and read its SIP addresses.
        const probe = `const s=require('net').connect(9022,'127.0.0.1');const m='${'x'.repeat(8)}|authenticate|'+process.env.S+'|';s.write(m.length+'#'+m);let b='';s.on('data',d=>{b+=d;if(b.includes('|response|')){console.log(b);process.exit(0)}});setTimeout(()=>{console.log(b);process.exit(1)},5000);`;
        let r = { status: 1 as number | null, stdout: '', stderr: '' };
        for (let i = 0; i < 20 && r.status !== 0; i++) {
          r = ns.run([process.execPath, '-e', probe], { env: { S: secret, PATH: process.env.PATH ?? '' } });
          if (r.status !== 0) await new Promise((res) => setTimeout(res, 250));
        }
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.match(/\|OK\|/);
        const hostports = r.stdout.split('|')[4] ?? '';
        expect(hostports.split(','), r.stdout).to.include.members([`udp/${EXTERNAL}:5060`, `tcp/${EXTERNAL}:5060`, `udp/${d.ipv4}:5070`, `tcp/${d.ipv4}:5070`]);
        expect(server.out.lines.join('\n')).to.include(`external address: ${EXTERNAL}`);
      } finally {
        server.proc.kill('SIGTERM');
        await waitFor(server.out, () => false, 3000);
        if (server.out.exited === undefined) server.proc.kill('SIGKILL');
      }
    } finally {
      ns.stop();
    }
  });
});
