/**
 * Shrinking the share of new INVITEs drachtio-server still hands to a frozen peer.
 *
 * drachtio-server (v0.9.10, src/client-controller.cpp) picks the app for a new request round
 * robin over the entries of a multimap verb -> app; it never pings apps (it only answers their
 * pings, src/client.cpp) and its TCP keepalive is answered by a stopped process's kernel, so a
 * frozen app keeps its turn as long as its connection is open. No app can remove another app's
 * entries (`remove_route` acts on the sender only). But `route` inserts an entry every time it is
 * sent (`wants_requests` does not deduplicate; `no_longer_wants_requests` removes "all instances
 * of this client"), so an app that sends `route|invite` k more times holds k+1 of the entries:
 * with one frozen peer and n live ones doing this, the frozen one gets 1/(1 + n(k+1)) of new
 * INVITEs instead of 1/(n+1).
 *
 * Each instance does this when a poll shows a peer it had seen beating gone silent (its heartbeat
 * lapsed, or taken over lately), and undoes it once a member that joined after that has been beating for
 * settleMs (the silent one's replacement, or a scale-out): `remove_route|invite` then `route`
 * again for every verb srf had routed - the server's remove_route drops all of this app's routes,
 * whatever the verb - in one write. The drachtio double keeps one entry per verb and app, so
 * there this changes nothing.
 *
 * srf has no API for a repeated route (its agent refuses "duplicate route request"); this writes
 * the control-protocol message on srf's agent socket, as srf's own routeVerbs() does.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { GatewaySrf } from '../../types/drachtio-srf.js';
import type { Logger } from '../log/logger.js';

/** The parts of srf 5.0.x's DrachtioAgent this uses (`srf._app.client`). */
interface AgentView {
  mapServer: Map<unknown, { authenticated?: boolean; pendingRequests?: Map<unknown, () => void> }>;
  verbs: Map<string, unknown>;
  wp: { send(socket: unknown, msg: string): unknown };
}

/**
 * Stops drachtio-server routing new requests to this app (`remove_route|invite`; v0.9.10 drops
 * every route of the app on it) and resolves once the server has answered it - or after
 * timeoutMs. The server writes to an app in order, so by its answer every INVITE it had picked us
 * for is in our socket already: an app that closes its connection after this leaves no INVITE
 * unanswered at the server (which would hold it 64 s, recording n3).
 */
export function unrouteInvites(srf: GatewaySrf, timeoutMs: number): Promise<void> {
  const a = agentOf(srf);
  const entry = a && [...a.mapServer.entries()].find(([, o]) => o.authenticated && o.pendingRequests instanceof Map);
  if (!a || !entry || !a.verbs.has('invite')) {
    try {
      srf.unregisterForMessages('invite');
    } catch {
      // not routed, or no connection: nothing comes our way
    }
    return Promise.resolve();
  }
  const [socket, obj] = entry;
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const id = a.wp.send(socket, 'remove_route|invite');
    a.verbs.delete('invite');
    obj.pendingRequests!.set(id, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function agentOf(srf: GatewaySrf): AgentView | undefined {
  const a = (srf as unknown as { _app?: { client?: Partial<AgentView> } })._app?.client;
  if (!a || !(a.mapServer instanceof Map) || !(a.verbs instanceof Map) || typeof a.wp?.send !== 'function') return undefined;
  return a as AgentView;
}

export interface RouteWeightOptions {
  self: string;
  /** Extra `route|invite` entries while a peer is silent. */
  extra: number;
  /** How long a newcomer must have been a member before the extra entries go. */
  settleMs: number;
  now?: () => number;
}

export class RouteWeight {
  private extraAtServer = 0;
  private readonly seen = new Set<string>();
  /** Peers this instance has seen beating: only their silence counts (a fresh start ignores older ones). */
  private readonly liveSeen = new Set<string>();
  /** Members when the current silence began, and when each newcomer was first seen. */
  private episode: { known: Set<string>; newcomers: Map<string, number> } | undefined;
  private readonly gauge: Gauge;
  private readonly changes: Counter<'to'>;
  private readonly now: () => number;

  constructor(private readonly srf: GatewaySrf, private readonly opts: RouteWeightOptions, private readonly log: Logger, registry: Registry) {
    this.now = opts.now ?? Date.now;
    this.gauge = new Gauge({ name: 'gw_ha_invite_route_entries', help: 'Entries this instance holds in the INVITE round robin of drachtio-server (1 + extra while a peer is silent)', registers: [registry] });
    this.changes = new Counter({ name: 'gw_ha_route_weight_changes_total', help: 'INVITE route weight raised (a peer went silent) or restored (a newcomer settled)', labelNames: ['to'], registers: [registry] });
    this.gauge.set(1);
    // On every (re)connect srf routes each verb once: the server has one entry of ours again.
    srf.on('connect', (err: Error | null) => {
      if (err) return;
      this.extraAtServer = 0;
      this.gauge.set(1);
      if (this.episode) this.raise();
    });
  }

  get weighted(): boolean {
    return this.extraAtServer > 0;
  }

  /** One poll's view: peers gone silent (anyone's claim) and the members. */
  peers(suspects: readonly string[], members: readonly string[]): void {
    const silent = new Set(suspects);
    if (this.liveSeen.size > 1000) this.liveSeen.clear();
    for (const m of members) if (!silent.has(m) && m !== this.opts.self) this.liveSeen.add(m);
    const fresh = suspects.filter((s) => this.liveSeen.has(s) && !this.seen.has(s));
    for (const s of fresh) this.seen.add(s);
    if (this.seen.size > 1000) this.seen.clear();
    if (fresh.length) {
      if (!this.episode) this.episode = { known: new Set(members), newcomers: new Map() };
      else for (const m of members) if (!this.episode.newcomers.has(m)) this.episode.known.add(m);
      this.log.warn('ha: peer silent; taking a larger share of drachtio-server\'s new INVITEs', { peers: fresh, extraRoutes: this.opts.extra });
      this.raise();
      return;
    }
    const ep = this.episode;
    if (!ep) return;
    const t = this.now();
    for (const m of members) {
      if (m === this.opts.self || ep.known.has(m) || silent.has(m)) continue;
      if (!ep.newcomers.has(m)) ep.newcomers.set(m, t);
    }
    for (const [m, since] of ep.newcomers) {
      if (!members.includes(m) || silent.has(m)) ep.newcomers.delete(m);
      else if (t - since >= this.opts.settleMs) {
        this.log.info('ha: a new member is up; back to an equal share of new INVITEs', { member: m });
        this.episode = undefined;
        this.restore();
        return;
      }
    }
  }

  private raise(): void {
    const a = agentOf(this.srf);
    if (!a || !a.verbs.has('invite') || this.extraAtServer >= this.opts.extra) return;
    const socket = this.authenticatedSocket(a);
    if (!socket) return;
    for (let i = this.extraAtServer; i < this.opts.extra; i++) a.wp.send(socket, 'route|invite');
    this.extraAtServer = this.opts.extra;
    this.gauge.set(1 + this.extraAtServer);
    this.changes.inc({ to: 'raised' });
  }

  private restore(): void {
    if (this.extraAtServer === 0) return;
    const a = agentOf(this.srf);
    const socket = a && this.authenticatedSocket(a);
    if (!a || !socket) return;
    // The server drops every route of ours on remove_route; the messages leave in one write, so
    // it re-reads them back to back.
    const s = socket as { cork?(): void; uncork?(): void };
    s.cork?.();
    a.wp.send(socket, 'remove_route|invite');
    for (const verb of a.verbs.keys()) a.wp.send(socket, `route|${verb}`);
    s.uncork?.();
    this.extraAtServer = 0;
    this.gauge.set(1);
    this.changes.inc({ to: 'restored' });
  }

  private authenticatedSocket(a: AgentView): unknown {
    for (const [socket, obj] of a.mapServer) if (obj.authenticated) return socket;
    return undefined;
  }
}
