/**
 * sip-configs/freeswitch is a complete FreeSWITCH conf tree, and the launcher's rewrite
 * (test/lab/real-servers/freeswitch.ts) moves the event socket and the drachtio_mrf profile to
 * the given addresses and trims the module list. Runs without FreeSWITCH.
 */
import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FS_CONF_SOURCE, REQUIRED_FS_FILES, freeswitchConf, keepAvailableModules, moduleDir, readConfTree, setParam, startFreeSwitch } from '../../lab/real-servers/freeswitch.js';
import { MissingBinaryError } from '../../lab/real-servers/process.js';
import { checkWellFormed } from '../ops/xml-wellformed.js';

const tree = readConfTree(FS_CONF_SOURCE);
const opts = { eslHost: '127.0.0.1', eslPort: 38021, sipHost: '127.0.0.1', sipPort: 15080 };
const param = (xml: string, name: string): string[] => [...xml.matchAll(new RegExp(`<param name="${name}" value="([^"]*)"/>`, 'g'))].map((m) => m[1] as string);

/** Paths an include directive (FreeSWITCH's comment form) of `file` names, resolved in the tree. */
function includes(file: string, text: string): string[] {
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
  return [...text.matchAll(/<!--#include "([^"]+)"-->/g)].map((m) => {
    const parts = [...(dir ? dir.split('/') : []), ...(m[1] as string).split('/')];
    const out: string[] = [];
    for (const p of parts) {
      if (p === '..') out.pop();
      else out.push(p);
    }
    return out.join('/');
  });
}

const globMatches = (pattern: string): string[] => {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  return [...tree.keys()].filter((f) => re.test(f));
};

describe('FreeSWITCH conf tree (sip-configs/freeswitch)', () => {
  it('has every file FreeSWITCH and fsmrf need, and a dialplan with the mrf context', () => {
    for (const f of REQUIRED_FS_FILES) expect(tree.has(f), f).to.equal(true);
    const dialplan = [...tree.entries()].filter(([f]) => f.startsWith('dialplan/'));
    expect(dialplan.some(([, x]) => /<context name="mrf">/.test(x))).to.equal(true);
  });

  it('freeswitch.xml and sofia.conf.xml include files that exist (vars, autoload_configs, dialplan, sip_profiles)', () => {
    const top = includes('freeswitch.xml', tree.get('freeswitch.xml')!);
    expect(top).to.deep.equal(['vars.xml', 'autoload_configs/*.xml', 'dialplan/*.xml']);
    const sofia = includes('autoload_configs/sofia.conf.xml', tree.get('autoload_configs/sofia.conf.xml')!);
    expect(sofia).to.deep.equal(['sip_profiles/*.xml']);
    for (const pattern of [...top, ...sofia]) expect(globMatches(pattern), pattern).to.not.be.empty;
  });

  it('the mrf dialplan hands fsmrf channels to its X-esl-outbound listener (async full)', () => {
    const dp = tree.get('dialplan/mrf.xml')!;
    expect(dp).to.match(/<condition field="\$\{sip_user_agent\}" expression="\^drachtio-fsmrf:\(\.\*\)\$">/);
    expect(dp.indexOf('application="answer"')).to.be.lessThan(dp.indexOf('application="socket"'));
    expect(dp).to.include('<action application="socket" data="${sip_h_X-esl-outbound} async full"/>');
    for (const v of ['send_silence_when_idle=-1', 'hangup_after_bridge=false', 'park_after_bridge=true', 'playback_terminators=none']) expect(dp).to.include(`data="${v}"`);
  });

  it('loads the modules fsmrf needs, loggers first, and forbids SRTP in fsmrf\'s 3pcc answers', () => {
    const mods = [...tree.get('autoload_configs/modules.conf.xml')!.matchAll(/<load module="([^"]+)"\/>/g)].map((m) => m[1]);
    for (const m of ['mod_console', 'mod_logfile', 'mod_event_socket', 'mod_sofia', 'mod_loopback', 'mod_commands', 'mod_conference', 'mod_dptools',
      'mod_dialplan_xml', 'mod_sndfile', 'mod_native_file', 'mod_tone_stream', 'mod_opus', 'mod_g729', 'mod_spandsp', 'mod_av']) expect(mods, m).to.include(m);
    expect(mods.slice(0, 2)).to.deep.equal(['mod_console', 'mod_logfile']);
    expect(tree.get('vars.xml')).to.include('<X-PRE-PROCESS cmd="set" data="rtp_secure_media_inbound=forbidden"/>');
  });

  it('every $${variable} is set by a directive earlier in load order or is one FreeSWITCH sets itself', () => {
    const builtins = new Set(['local_ip_v4', 'sounds_dir', 'base_dir', 'conf_dir', 'log_dir', 'mod_dir', 'temp_dir', 'storage_dir', 'recordings_dir']);
    const order = ['vars.xml', ...globMatches('autoload_configs/*.xml').sort(), ...globMatches('sip_profiles/*.xml').sort(), ...globMatches('dialplan/*.xml').sort()];
    const set = new Set<string>();
    const unknown: string[] = [];
    for (const f of order) {
      for (const line of tree.get(f)!.split('\n')) {
        for (const m of line.matchAll(/\$\$\{([A-Za-z0-9_]+)\}/g)) if (!set.has(m[1] as string) && !builtins.has(m[1] as string)) unknown.push(`${f}: ${m[1]}`);
        const d = /<X-PRE-PROCESS cmd="(?:set|env-set)" data="([A-Za-z0-9_]+)=/.exec(line);
        if (d) set.add(d[1] as string);
      }
    }
    expect(unknown).to.deep.equal([]);
  });
});

describe('real FreeSWITCH launcher: conf rewrite', () => {
  it('moves the event socket and the drachtio_mrf profile to the given addresses and ports', () => {
    const { files } = freeswitchConf(tree, opts);
    const esl = files.get('autoload_configs/event_socket.conf.xml')!;
    expect(param(esl, 'listen-ip')).to.deep.equal(['127.0.0.1']);
    expect(param(esl, 'listen-port')).to.deep.equal(['38021']);
    expect(param(esl, 'password')).to.deep.equal(['$${council_esl_password}']);
    const mrf = files.get('sip_profiles/mrf.xml')!;
    expect(param(mrf, 'sip-ip')).to.deep.equal(['127.0.0.1']);
    expect(param(mrf, 'rtp-ip')).to.deep.equal(['127.0.0.1']);
    expect(param(mrf, 'sip-port')).to.deep.equal(['15080']);
    // The address in SDP, jitter buffer and RTP range still come from the environment.
    expect(param(mrf, 'ext-rtp-ip')).to.deep.equal(['$${council_ext_rtp_ip}']);
    expect(files.get('autoload_configs/switch.conf.xml')).to.equal(tree.get('autoload_configs/switch.conf.xml'));
    for (const [f, x] of files) if (f.endsWith('.xml')) expect(checkWellFormed(x), f).to.equal(undefined);
  });

  it('does not change the source tree (only the returned copy)', () => {
    freeswitchConf(tree, opts);
    expect(param(tree.get('sip_profiles/mrf.xml')!, 'sip-port')).to.deep.equal(['5080']);
  });

  it('leaves out modules the build does not have, and refuses a build without what fsmrf needs', () => {
    const have = new Set(['mod_console', 'mod_logfile', 'mod_event_socket', 'mod_sofia', 'mod_loopback', 'mod_commands', 'mod_conference', 'mod_dptools', 'mod_dialplan_xml', 'mod_sndfile', 'mod_native_file', 'mod_tone_stream']);
    const { files, droppedModules } = freeswitchConf(tree, { ...opts, availableModules: have });
    expect(droppedModules).to.deep.equal(['mod_opus', 'mod_g729', 'mod_spandsp', 'mod_av']);
    const mods = files.get('autoload_configs/modules.conf.xml')!;
    expect(mods).not.to.include('<load module="mod_av"/>');
    expect(mods).to.include('<!-- mod_av: not in this FreeSWITCH build -->');
    expect(checkWellFormed(mods)).to.equal(undefined);
    have.delete('mod_conference');
    expect(() => freeswitchConf(tree, { ...opts, availableModules: have })).to.throw(/lacks mod_conference/);
  });

  it('names what is missing from an incomplete tree', () => {
    const partial = new Map(tree);
    partial.delete('freeswitch.xml');
    partial.delete('dialplan/mrf.xml');
    expect(() => freeswitchConf(partial, opts)).to.throw(/missing: freeswitch\.xml, dialplan\/\*\.xml with <context name="mrf">/);
  });

  it('setParam needs exactly one param of that name', () => {
    expect(setParam('<param name="a" value="1"/>', 'a', '2')).to.equal('<param name="a" value="2"/>');
    expect(() => setParam('<param name="b" value="1"/>', 'a', '2', 'x.xml')).to.throw(/x\.xml: expected one <param name="a".*found 0/);
    expect(() => setParam('<param name="a" value="1"/><param name="a" value="1"/>', 'a', '2')).to.throw(/found 2/);
    expect(() => setParam('<param name="a" value="1"/>', 'a', '"x')).to.throw(/may not contain/);
  });

  it('keepAvailableModules reports what it kept and dropped', () => {
    const r = keepAvailableModules('<modules><load module="mod_a"/>\n<load module="mod_b"/></modules>', new Set(['mod_b']));
    expect(r).to.deep.include({ loaded: ['mod_b'], dropped: ['mod_a'] });
  });

  it('finds the module folder from FS_MOD_DIR or next to the binary', () => {
    expect(moduleDir('/x/bin/freeswitch', { FS_MOD_DIR: '/m' })).to.equal('/m');
    expect(moduleDir('/nonexistent/bin/freeswitch', {})).to.equal(undefined);
  });

  it('without FREESWITCH_BIN, or with one that is not executable, start fails naming the variable', async () => {
    const e1 = await startFreeSwitch({ env: {} }).catch((e: unknown) => e);
    expect(e1).to.be.instanceOf(MissingBinaryError);
    expect((e1 as Error).message).to.match(/^FREESWITCH_BIN is not set/);
    const dir = mkdtempSync(join(tmpdir(), 'fsbin-'));
    try {
      const f = join(dir, 'freeswitch');
      writeFileSync(f, '');
      chmodSync(f, 0o644);
      const e2 = await startFreeSwitch({ env: { FREESWITCH_BIN: f } }).catch((e: unknown) => e);
      expect((e2 as Error).message).to.match(/FREESWITCH_BIN points at .* which is not executable/);
      const e3 = await startFreeSwitch({ env: { FREESWITCH_BIN: join(dir, 'nope') } }).catch((e: unknown) => e);
      expect((e3 as Error).message).to.match(/FREESWITCH_BIN points at .*nope, which does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
