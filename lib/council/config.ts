/**
 * The `council` section: rooms participants dial into (SIP Request-URI users, H.323 destination
 * aliases), each with its cap and role rules, and the optional operator endpoint. Read with the
 * collect-all FieldReader so every bad field is named in one start-up error.
 */
import type { FieldReader } from '../config/fields.js';
import { describe } from '../config/fields.js';
import { ROLES, type Role } from '../registry/types.js';

/** A registry role, or `guest` for a SIP caller without identity (policy chain disabled). */
export type CouncilRole = Role | 'guest';
export const COUNCIL_ROLES: readonly CouncilRole[] = [...ROLES, 'guest'];

export interface CouncilRoomConfig {
  /** mod_conference room name, also the `room` metric label: [A-Za-z0-9_.-]{1,64}. */
  name: string;
  /** Request-URI users that reach the room (e.g. "council", "8100"). */
  sipUsers: string[];
  /** H.323 destination aliases (dialledDigits, h323-ID, called number) that reach the room. */
  h323Aliases: string[];
  maxMembers: number;
  /** Roles that may join; others get 403 / Q.850 21. */
  allowedRoles: CouncilRole[];
  /** Roles joining with mod_conference's moderator flag. */
  moderatorRoles: CouncilRole[];
  /** Roles joining muted (a moderator or operator unmutes them). */
  mutedRoles: CouncilRole[];
  /** Role of an H.323 caller whose source alias is no active registry entry (room systems of the zone). */
  h323DefaultRole: CouncilRole;
}

export interface CouncilConfig {
  rooms: CouncilRoomConfig[];
  /** Retry-After (s) on the 486 a full room answers. */
  retryAfterSec: number;
  /** Operator HTTP endpoint (kick/mute/list); bearer token from COUNCIL_ADMIN_TOKEN. */
  admin?: { host: string; port: number; token: string };
}

const ROOM_KEYS = ['name', 'sipUsers', 'h323Aliases', 'maxMembers', 'allowedRoles', 'moderatorRoles', 'mutedRoles', 'h323DefaultRole'] as const;
const ALIAS = /^[0-9A-Za-z+*#._-]{1,64}$/;

/** Reads `council` (undefined when absent). Problems go to `r`; field names are dotted paths. */
export function readCouncilConfig(r: FieldReader, raw: unknown, env: Readonly<Record<string, string | undefined>>): CouncilConfig | undefined {
  if (raw === undefined) return undefined;
  const c = r.object('council', raw);
  r.noUnknownKeys('council', c, ['rooms', 'retryAfterSec', 'admin']);
  const list = (field: string, v: unknown, dflt: string[], check: (x: string) => boolean, what: string): string[] => {
    if (v === undefined) return dflt;
    return r.array(field, v).flatMap((x, i) => {
      if (typeof x !== 'string' || !check(x)) {
        r.fail(`${field}[${i}]`, `expected ${what}, got ${describe(x)}`);
        return [];
      }
      return [x];
    });
  };
  const isRole = (x: string): boolean => (COUNCIL_ROLES as readonly string[]).includes(x);
  const roleWhat = `one of ${COUNCIL_ROLES.join(', ')}`;
  const rooms: CouncilRoomConfig[] = [];
  const names = new Set<string>();
  const sipSeen = new Map<string, string>();
  const h323Seen = new Map<string, string>();
  const rawRooms = r.array('council.rooms', c.rooms);
  if (c.rooms === undefined) r.fail('council.rooms', 'required: at least one room');
  rawRooms.forEach((item, i) => {
    const f = `council.rooms[${i}]`;
    const o = r.object(f, item);
    r.noUnknownKeys(f, o, ROOM_KEYS);
    const name = r.requiredString(`${f}.name`, o.name);
    if (name && !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) r.fail(`${f}.name`, 'must be 1..64 of A-Z a-z 0-9 _ . -');
    if (name && names.has(name)) r.fail(`${f}.name`, `duplicate room name ${JSON.stringify(name)}`);
    names.add(name);
    const sipUsers = list(`${f}.sipUsers`, o.sipUsers, [], (x) => ALIAS.test(x), 'a SIP user (1..64 of digits, letters, + * # . _ -)');
    const h323Aliases = list(`${f}.h323Aliases`, o.h323Aliases, [], (x) => ALIAS.test(x), 'an alias (1..64 of digits, letters, + * # . _ -)');
    if (!sipUsers.length && !h323Aliases.length) r.fail(f, 'give sipUsers and/or h323Aliases: a room nobody can dial is a mistake');
    sipUsers.forEach((u, j) => {
      const other = sipSeen.get(u);
      if (other !== undefined) r.fail(`${f}.sipUsers[${j}]`, `${JSON.stringify(u)} already reaches room ${other}`);
      sipSeen.set(u, name);
    });
    h323Aliases.forEach((a, j) => {
      const other = h323Seen.get(a);
      if (other !== undefined) r.fail(`${f}.h323Aliases[${j}]`, `${JSON.stringify(a)} already reaches room ${other}`);
      h323Seen.set(a, name);
    });
    rooms.push({
      name,
      sipUsers,
      h323Aliases,
      maxMembers: r.int(`${f}.maxMembers`, o.maxMembers, 12, 1, 100),
      allowedRoles: list(`${f}.allowedRoles`, o.allowedRoles, [...COUNCIL_ROLES], isRole, roleWhat) as CouncilRole[],
      moderatorRoles: list(`${f}.moderatorRoles`, o.moderatorRoles, ['moderator'], isRole, roleWhat) as CouncilRole[],
      mutedRoles: list(`${f}.mutedRoles`, o.mutedRoles, [], isRole, roleWhat) as CouncilRole[],
      h323DefaultRole: r.oneOf(`${f}.h323DefaultRole`, o.h323DefaultRole, 'guardian', COUNCIL_ROLES),
    });
  });

  let admin: CouncilConfig['admin'];
  if (c.admin !== undefined) {
    const a = r.object('council.admin', c.admin);
    r.noUnknownKeys('council.admin', a, ['host', 'port', 'token']);
    if ((a as { token?: unknown }).token !== undefined) r.fail('council.admin.token', 'secrets are not read from the config file; set COUNCIL_ADMIN_TOKEN');
    const token = env.COUNCIL_ADMIN_TOKEN ?? '';
    if (token.length < 24) r.fail('COUNCIL_ADMIN_TOKEN', 'council.admin needs COUNCIL_ADMIN_TOKEN (at least 24 characters)');
    admin = { host: r.string('council.admin.host', a.host, '127.0.0.1', { nonEmpty: true }), port: r.int('council.admin.port', a.port, 8091, 0, 65535), token };
  }
  return { rooms, retryAfterSec: r.int('council.retryAfterSec', c.retryAfterSec, 30, 0, 3600), ...(admin ? { admin } : {}) };
}

/** The room a SIP Request-URI user reaches. */
export function roomForSipUser(cfg: CouncilConfig | undefined, user: string): CouncilRoomConfig | undefined {
  return cfg?.rooms.find((room) => room.sipUsers.includes(user));
}

/** The room any of the dialled H.323 aliases reaches. */
export function roomForH323(cfg: CouncilConfig | undefined, aliases: readonly string[]): CouncilRoomConfig | undefined {
  if (!cfg) return undefined;
  for (const a of aliases) {
    const room = cfg.rooms.find((x) => x.h323Aliases.includes(a));
    if (room) return room;
  }
  return undefined;
}
