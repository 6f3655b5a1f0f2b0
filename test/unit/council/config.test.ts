/** The `council` config section: defaults, every bad field named, cross-section checks, redaction. */
import { expect } from 'chai';
import { ConfigError } from '../../../lib/config/errors.js';
import { redactConfig, validateConfig } from '../../../lib/config/gateway-config.js';

const env = { DRACHTIO_SECRET: 'x', FS_ESL_SECRET: 'esl-secret' };
const base = {
  policy: { enabled: false },
  media: { esl: { host: '127.0.0.1', port: 8021 }, listen: { address: '127.0.0.1', port: 0 } },
  h323: { ras: { host: '127.0.0.1', port: 0 }, callSignalAddress: { host: '127.0.0.1', port: 1720 }, neighbours: [{ name: 'GK', host: '127.0.0.1' }] },
};

function problems(raw: Record<string, unknown>, e: Record<string, string> = env): string[] {
  try {
    validateConfig(raw, e);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.field}: ${p.problem}`);
    throw err;
  }
  return [];
}

describe('config: council', () => {
  it('absent: no council', () => {
    expect(validateConfig(base, env).council).to.equal(undefined);
  });

  it('a room with defaults', () => {
    const c = validateConfig({ ...base, council: { rooms: [{ name: 'council-main', sipUsers: ['council'], h323Aliases: ['8100'] }] } }, env).council!;
    expect(c.retryAfterSec).to.equal(30);
    expect(c.admin).to.equal(undefined);
    expect(c.rooms).to.deep.equal([{
      name: 'council-main', sipUsers: ['council'], h323Aliases: ['8100'], maxMembers: 12,
      allowedRoles: ['guardian', 'expert', 'operator', 'moderator', 'guest'], moderatorRoles: ['moderator'], mutedRoles: [], h323DefaultRole: 'guardian',
    }]);
  });

  it('names every bad field', () => {
    const p = problems({
      ...base,
      council: {
        rooms: [
          { name: 'bad name!', sipUsers: ['ok', 7], maxMembers: 0, mutedRoles: ['chief'], h323DefaultRole: 'king', colour: 'red' },
          { name: 'r2' },
          { name: 'r3', sipUsers: ['ok'] },
          { name: 'r3', h323Aliases: ['8100'] },
        ],
        retryAfterSec: -1,
      },
    });
    expect(p).to.include.members([
      'council.rooms[0].name: must be 1..64 of A-Z a-z 0-9 _ . -',
      'council.rooms[0].sipUsers[1]: expected a SIP user (1..64 of digits, letters, + * # . _ -), got number 7',
      'council.rooms[0].maxMembers: must be between 1 and 100, got 0',
      'council.rooms[0].mutedRoles[0]: expected one of guardian, expert, operator, moderator, guest, got "chief"',
      'council.rooms[0].h323DefaultRole: expected one of guardian, expert, operator, moderator, guest, got "king"',
      'council.rooms[0].colour: unknown field',
      'council.rooms[1]: give sipUsers and/or h323Aliases: a room nobody can dial is a mistake',
      'council.rooms[2].sipUsers[0]: "ok" already reaches room bad name!',
      'council.rooms[3].name: duplicate room name "r3"',
      'council.retryAfterSec: must be between 0 and 3600, got -1',
    ]);
    expect(problems({ ...base, council: {} })).to.include('council.rooms: required: at least one room');
  });

  it('needs media, and h323 for H.323 aliases', () => {
    const council = { rooms: [{ name: 'c', sipUsers: ['council'], h323Aliases: ['8100'] }] };
    expect(problems({ policy: { enabled: false }, council })).to.include.members([
      'council: council rooms need the media section (FreeSWITCH runs the conference)',
      'council.rooms[0].h323Aliases: H.323 aliases need the h323 section',
    ]);
  });

  it('admin: token from the environment only, at least 24 characters, redacted', () => {
    const council = { rooms: [{ name: 'c', sipUsers: ['council'] }], admin: { port: 9000 } };
    expect(problems({ ...base, council })).to.include('COUNCIL_ADMIN_TOKEN: council.admin needs COUNCIL_ADMIN_TOKEN (at least 24 characters)');
    expect(problems({ ...base, council: { ...council, admin: { token: 'x' } } }, { ...env, COUNCIL_ADMIN_TOKEN: 'a'.repeat(24) }))
      .to.include('council.admin.token: secrets are not read from the config file; set COUNCIL_ADMIN_TOKEN');
    const cfg = validateConfig({ ...base, council }, { ...env, COUNCIL_ADMIN_TOKEN: 'a'.repeat(24) });
    expect(cfg.council!.admin).to.deep.equal({ host: '127.0.0.1', port: 9000, token: 'a'.repeat(24) });
    expect(redactConfig(cfg).council!.admin!.token).to.equal('***');
  });
});
