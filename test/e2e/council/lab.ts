/**
 * The council lab: drachtio double (or DRACHTIO_*), the FreeSWITCH double (or FS_*), the gateway
 * as its own process with the policy chain on (digest), one council room reachable as SIP user
 * `council` and H.323 alias `8100`, the operator endpoint, and helpers to dial in with SIPp
 * (one process per person: SIPp takes one digest credential) or with the H.323 lab endpoint.
 * `esl` is where the FreeSWITCH in use takes event-socket connections, for the tests' own ESL
 * client (test/support/esl.ts). Used by test/e2e/council and bench/soak.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { writePcmaPcap } from '../../lab/freeswitch-double/pcap.js';
import { H323Endpoint } from '../../lab/h323-endpoint/endpoint.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { labPerson, writeRegistry, type LabPerson } from '../../lab/policy-lab.js';
import { freeMediaPort, freePort } from '../../lab/ports.js';
import { injectionFile } from '../../lab/scenarios.js';
import { runSipp, type SippResult } from '../../lab/sipp.js';
import type { Role } from '../../../lib/registry/types.js';
import type { ParticipantView } from '../../../lib/council/service.js';
import { repoRoot } from '../../support/paths.js';
import { fsTarget, type FsTarget } from '../../support/esl.js';
import { callerBye, okToLastRequest } from '../../lab/sipp-xml.js';
import { realFsFromEnv } from '../freeswitch-double/harness.js';

export const REALM = 'council.test';
export const ROOM = 'council-main';
export const SIP_USER = 'council';
export const H323_ALIAS = '8100';
const ESL_SECRET = 'lab-esl-secret';
const ADMIN_TOKEN = 'council-admin-token-for-the-lab-0123456789';

export interface CouncilLabOptions {
  /** People in the registry, by role (ids P01, P02, ...). */
  roles: readonly Role[];
  maxMembers?: number;
  /** Dial-plan route for background calls: users starting with 5 go to this SIP UAS port. */
  backgroundUasPort?: number;
  /** RTP packets each H.323 participant sends (20 ms each). */
  h323RtpPackets?: number;
  /** Extra env for the gateway (e.g. STATE_BACKEND/REDIS_URL). */
  env?: Record<string, string>;
  state?: Record<string, unknown>;
  /**
   * Start a FreeSWITCH double for this lab even when FS_* names a real FreeSWITCH: a second
   * gateway instance that needs a media server of its own (one FreeSWITCH cannot hold the same
   * room's conference for two instances).
   */
  ownFreeSwitch?: boolean;
}

export interface CouncilLab {
  target: DrachtioTarget;
  /** Undefined when the lab uses a real FreeSWITCH (FS_*). */
  fs?: FreeSwitchDouble;
  /** The event socket of the lab's FreeSWITCH (double or real). */
  esl: FsTarget;
  gw: GatewayProcess;
  people: LabPerson[];
  auditDir: string;
  adminPort: number;
  callSignal: { host: string; port: number };
  h323: H323Endpoint;
  work: string;
  pcap: string;
  stop(): Promise<void>;
}

export async function startCouncilLab(o: CouncilLabOptions): Promise<CouncilLab> {
  const work = mkdtempSync(join(tmpdir(), 'council-lab-'));
  const people = o.roles.map((role, i) => labPerson(`P${String(i + 1).padStart(2, '0')}`, REALM, { role, maxCalls: 1000, maxBps: 1_000_000_000 }));
  const reg = writeRegistry(people);
  const auditDir = mkdtempSync(join(tmpdir(), 'council-audit-'));
  const target = await startDrachtioTarget();
  const fs = o.ownFreeSwitch || !realFsFromEnv() ? await FreeSwitchDouble.start({ eslPassword: ESL_SECRET, sipPort: 0, eslPort: 0 }) : undefined;
  const esl = fs ? { host: fs.host, port: fs.eslPort, secret: ESL_SECRET } : fsTarget(undefined, ESL_SECRET);
  const h323 = new H323Endpoint({ rtpPackets: o.h323RtpPackets ?? 100 });
  const adminPort = await freePort();
  const callSignal = { host: '127.0.0.1', port: await freePort() };
  let gw: GatewayProcess;
  try {
    gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        shutdown: { drainTimeoutMs: 2000 },
        policy: {
          realm: REALM,
          digestAlgorithms: ['MD5', 'SHA-256'],
          // Digest identifies every participant; PASSporT is covered by the policy suites.
          identityRequiredFor: [],
          codecs: ['PCMA', 'PCMU', 'telephone-event'],
          rates: {
            invitePerSourceBurst: 100_000, invitePerSourcePerSec: 100_000, registerPerSourceBurst: 100, registerPerSourcePerSec: 100,
            invitePerIdentityBurst: 100_000, invitePerIdentityPerSec: 100_000,
          },
        },
        registry: { file: reg.file },
        audit: { dir: auditDir, fsync: false },
        media: { esl: { host: esl.host, port: esl.port }, listen: { address: '127.0.0.1', port: 0 }, conference: { destroyTimeoutMs: 300 } },
        h323: { ras: { host: '127.0.0.1', port: 0 }, callSignalAddress: callSignal, neighbours: [{ name: 'GK', host: '127.0.0.1' }] },
        council: {
          rooms: [{ name: ROOM, sipUsers: [SIP_USER], h323Aliases: [H323_ALIAS], maxMembers: o.maxMembers ?? 12, mutedRoles: ['expert'] }],
          retryAfterSec: 30,
          admin: { host: '127.0.0.1', port: adminPort },
        },
        ...(o.backgroundUasPort ? { dialPlan: [{ prefix: '5', sipTarget: `sip:\${user}@127.0.0.1:${o.backgroundUasPort}` }] } : {}),
        ...(o.state ? { state: o.state } : {}),
      },
      env: { DRACHTIO_SECRET: target.secret, FS_ESL_SECRET: esl.secret, COUNCIL_ADMIN_TOKEN: ADMIN_TOKEN, AUDIT_ID_KEY: 'council-lab-audit-key', LOG_LEVEL: 'info', ...o.env },
    });
    await gw.waitForOutput(/connected to drachtio-server/);
    await gw.waitForOutput(/media server up/);
  } catch (e) {
    await fs?.stop();
    await target.stop();
    throw e;
  }
  const pcap = join(work, 'pcma.pcap');
  writePcmaPcap(pcap, { packets: 100 });
  return {
    target, fs, esl, gw, people, auditDir, adminPort, callSignal, h323, work, pcap,
    async stop() {
      await gw.stop('SIGTERM', 5000);
      await h323.close();
      await fs?.stop();
      await target.stop();
    },
  };
}

export type SipMode = { kind: 'wait-bye' } | { kind: 'hangup'; holdMs: number } | { kind: 'refused'; status: number };

const TAIL_PLAY = '  <nop>\n    <action>\n      <exec play_pcap_audio="@PCAP@"/>\n    </action>\n  </nop>\n';
const TAIL_WAIT_BYE = `${TAIL_PLAY}  <recv request="BYE" timeout="900000"/>
${okToLastRequest()}`;
const TAIL_HANGUP = `${TAIL_PLAY}  <pause/>
${callerBye('[field0]', 3)}
  <recv response="200"/>`;

function scenario(lab: CouncilLab, mode: SipMode, pcap: string): string {
  const tmpl = readFileSync(join(repoRoot, 'test/e2e/council/council-caller.xml.tmpl'), 'utf8');
  const status = mode.kind === 'refused' ? mode.status : 200;
  const tail = mode.kind === 'wait-bye' ? TAIL_WAIT_BYE : mode.kind === 'hangup' ? TAIL_HANGUP : '';
  const file = join(mkdtempSync(join(lab.work, 'scn-')), `council-${mode.kind}.xml`);
  writeFileSync(file, tmpl.replaceAll('@STATUS@', String(status)).replace('@TAIL@', tail).replaceAll('@PCAP@', pcap)
    // The ACK to a 2xx is its own transaction; the ACK to a failure reuses the INVITE's branch.
    .replace('@FINAL_ACK_VIA@', status < 300 ? 'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]' : '[last_Via:]'));
  return file;
}

/**
 * One person dialling `service` (default the council) with SIPp, sending RTP from `pcap` (default
 * the lab's 2 s PCMA tone).
 */
export async function sipCall(lab: CouncilLab, person: LabPerson, mode: SipMode, o: { service?: string; calls?: number; rate?: number; timeoutMs?: number; pcap?: string } = {}): Promise<SippResult> {
  return runSipp({
    target: `${lab.target.sipHost}:${lab.target.sipPort}`,
    scenario: scenario(lab, mode, o.pcap ?? lab.pcap),
    service: o.service ?? SIP_USER,
    calls: o.calls ?? 1,
    rate: o.rate ?? 10,
    auth: { user: person.username, password: person.password },
    timeoutMs: o.timeoutMs ?? 60_000,
    // SIPp's digest uri is sip:host:port unless told; the gateway checks it against the Request-URI.
    args: ['-inf', injectionFile([[person.username]]), '-auth_uri', `${o.service ?? SIP_USER}@${lab.target.sipHost}:${lab.target.sipPort}`,
      '-mi', '127.0.0.1', '-mp', String(await freeMediaPort()),
      ...(mode.kind === 'hangup' ? ['-d', String(mode.holdMs)] : [])],
  });
}

export async function admin<T>(lab: CouncilLab, method: 'GET' | 'POST', path: string, token = ADMIN_TOKEN): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${lab.adminPort}${path}`, { method, headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as T };
}

export interface MembersAnswer {
  room: string;
  seats: Array<{ seatId: string; role: string; leg: 'sip' | 'h323'; instance: string; joinedAt: number }>;
  here: ParticipantView[];
}

export async function members(lab: CouncilLab): Promise<MembersAnswer> {
  const r = await admin<MembersAnswer>(lab, 'GET', `/council/rooms/${ROOM}/members`);
  if (r.status !== 200) throw new Error(`members: HTTP ${r.status}`);
  return r.body;
}
