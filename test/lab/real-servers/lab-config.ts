/**
 * The native lab's gateway config: sip-configs/gateway/gateway.json (what the compose lab runs)
 * with the compose addresses replaced by the loopback ports the real servers were started on.
 * Everything else (dial plan prefixes, council room, policy settings, H.323 zone) is the file's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';

export const GATEWAY_JSON = join(repoRoot, 'sip-configs/gateway/gateway.json');

export interface LabAddresses {
  /** Every address the gateway binds and advertises (loopback). */
  host: string;
  drachtio: { host: string; port: number };
  esl: { host: string; port: number };
  /** fsmrf's outbound ESL listener (FreeSWITCH connects here for each channel). */
  mediaListenPort: number;
  httpPort: number;
  /** The gateway's RAS (neighbour) socket, where GnuGk's neighbour entry points. */
  rasPort: number;
  callSignalPort: number;
  /** GnuGk's RAS address and gatekeeper identifier; absent = no GnuGk (h323 left out). */
  gnugk?: { host: string; port: number; name: string };
  /** host:port of the SIP callee that the dial plan's SIP routes go to. */
  sipCallee: string;
  /** 'redis' keeps the file's state section (and ha); 'memory' replaces it and drops ha. */
  state: 'redis' | 'memory';
  /** false = policy.enabled false (lab without a registry of people). */
  policy: boolean;
}

type Json = Record<string, unknown>;

/** A deep copy of `base` adapted to `a`; throws naming a section the file lacks. */
export function labGatewayConfig(base: Json, a: LabAddresses): Json {
  const cfg = structuredClone(base) as Json;
  const obj = (k: string): Json => {
    const v = cfg[k];
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`gateway.json: no "${k}" section to adapt`);
    return v as Json;
  };
  Object.assign(obj('drachtio'), { host: a.drachtio.host, port: a.drachtio.port });
  Object.assign(obj('http'), { host: a.host, port: a.httpPort });
  cfg.dialPlan = (cfg.dialPlan as Json[] | undefined ?? []).map((r) => {
    if (typeof r.sipTarget !== 'string') return r;
    // sip:${user}@sipp-uas:5080 -> sip:${user}@127.0.0.1:<callee port>
    return { ...r, sipTarget: r.sipTarget.replace(/@[^;>]+/, `@${a.sipCallee}`) };
  });
  const media = obj('media');
  Object.assign(media, {
    esl: { ...(media.esl as Json), host: a.esl.host, port: a.esl.port },
    listen: { ...(media.listen as Json), address: a.host, port: a.mediaListenPort },
    advertised: { ...(media.advertised as Json), address: a.host, port: a.mediaListenPort },
  });
  if (a.gnugk) {
    const h = obj('h323');
    const gk = a.gnugk;
    Object.assign(h, {
      ras: { host: a.host, port: a.rasPort },
      advertisedRasAddress: { host: a.host, port: a.rasPort },
      callSignalAddress: { host: a.host, port: a.callSignalPort },
      neighbours: ((h.neighbours as Json[] | undefined) ?? [{ name: 'GK' }]).map((n) => ({ ...n, host: gk.host, gatekeeperId: gk.name })),
      gatekeeper: { ...(h.gatekeeper as Json | undefined), host: gk.host, port: gk.port },
    });
  } else {
    delete cfg.h323;
    cfg.dialPlan = (cfg.dialPlan as Json[]).filter((r) => r.h323Target === undefined);
    const council = cfg.council as { rooms?: Json[] } | undefined;
    for (const room of council?.rooms ?? []) delete room.h323Aliases;
  }
  if (a.state === 'memory') {
    cfg.state = { ...(cfg.state as Json | undefined), backend: 'memory' };
    delete cfg.ha;
  }
  if (!a.policy) cfg.policy = { ...(cfg.policy as Json | undefined), enabled: false };
  return cfg;
}

export function readGatewayJson(file = GATEWAY_JSON): Json {
  return JSON.parse(readFileSync(file, 'utf8')) as Json;
}
