/**
 * The FreeSWITCH double's SDES settings: which variables decide the mode of fsmrf's channels (as
 * switch_core_media.c's parse_crypto_prefs does for an inbound channel) and reading them from a
 * FreeSWITCH configuration's X-PRE-PROCESS set lines.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { freeswitchConfigVars, secureMediaOf } from '../../lab/freeswitch-double/double.js';

describe('FreeSWITCH double: SDES mode', () => {
  it('defaults to optional for inbound channels; inbound variable first; suites after a colon', () => {
    expect(secureMediaOf({})).to.equal('optional');
    expect(secureMediaOf({ rtp_secure_media: 'forbidden' })).to.equal('forbidden');
    expect(secureMediaOf({ rtp_secure_media_inbound: 'forbidden' })).to.equal('forbidden');
    expect(secureMediaOf({ rtp_secure_media: 'forbidden', rtp_secure_media_inbound: 'optional' })).to.equal('optional');
    expect(secureMediaOf({ rtp_secure_media_outbound: 'forbidden' })).to.equal('optional'); // not for inbound channels
    expect(secureMediaOf({ rtp_secure_media: 'true:AES_CM_128_HMAC_SHA1_80' })).to.equal('mandatory');
    expect(secureMediaOf({ rtp_secure_media: 'mandatory' })).to.equal('mandatory');
    expect(secureMediaOf({ rtp_secure_media: 'false' })).to.equal('forbidden');
    expect(secureMediaOf({ rtp_secure_media: 'nonsense' })).to.equal('forbidden'); // FreeSWITCH: "INVALID VALUE ... defaulting to 'forbidden'"
  });

  it('reads X-PRE-PROCESS set lines of a configuration (comments, env-set and $${} values left out)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-conf-'));
    try {
      mkdirSync(join(dir, 'sip_profiles'));
      writeFileSync(join(dir, 'vars.xml'), [
        '<include>',
        '  <X-PRE-PROCESS cmd="set" data="rtp_secure_media_inbound=forbidden"/>',
        '  <!-- <X-PRE-PROCESS cmd="set" data="rtp_secure_media=true"/> -->',
        '  <X-PRE-PROCESS cmd="env-set" data="rtp_secure_media=$FS_SRTP"/>',
        '  <X-PRE-PROCESS cmd="set" data="ext=$${local_ip_v4}"/>',
        '</include>',
      ].join('\n'));
      writeFileSync(join(dir, 'sip_profiles', 'mrf.xml'), '<X-PRE-PROCESS cmd="set" data="council_jitterbuffer_msec=20:150"/>');
      expect(freeswitchConfigVars(dir)).to.deep.equal({ council_jitterbuffer_msec: '20:150', rtp_secure_media_inbound: 'forbidden' });
      expect(freeswitchConfigVars(join(dir, 'missing'))).to.deep.equal({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
