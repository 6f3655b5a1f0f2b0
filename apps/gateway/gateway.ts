/**
 * App wiring: the drachtio link, the policy gates on INVITE/REGISTER/MESSAGE, the registrar, one
 * call object per admitted INVITE (SIP B2BUA or SIP -> H.323) and per incoming H.323 Setup, the
 * H.323 edge (RAS neighbour, registration, listener), the ops HTTP server, and drain. The work
 * itself lives in lib/; this file only connects it.
 */
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../../lib/config/gateway-config.js';
import type { Logger } from '../../lib/log/logger.js';
import { createSrf, type GatewaySrf, type SrfMiddleware, type SrfNext, type SrfRequest, type SrfResponse } from '../../types/drachtio-srf.js';
import { DrachtioLink } from '../../lib/sip/drachtio-link.js';
import { ActiveCalls } from '../../lib/sip/active-calls.js';
import { MethodHandlers, REFUSED_METHODS } from '../../lib/sip/methods.js';
import { CallSession, createCallMetrics, type CallMetrics } from '../../lib/sip/call-session.js';
import { matchRoute, requestUser } from '../../lib/sip/dial-plan.js';
import { EventLoopLagMonitor } from '../../lib/ops/event-loop-lag.js';
import { OpsServer, type HealthReport } from '../../lib/ops/http-server.js';
import { startPolicy, type RunningPolicy } from '../../lib/policy/from-config.js';
import { policyMiddleware, policyOf, forwardingFor, type SrfLikeRequest } from '../../lib/policy/srf-adapter.js';
import { Registrar } from '../../lib/registrar/registrar.js';
import { registerHandler } from '../../lib/sip/register-handler.js';
import { forwardedHeaders, mergeHeaders } from '../../lib/sip/headers.js';
import { NeighbourResponder, RasClient, neighbourOptionsFromConfig, rasClientOptionsFromConfig } from '../../lib/h323/ras/index.js';
import { GatewayAliasResolver } from '../../lib/routing/alias-resolver.js';
import { relayMessage } from '../../lib/sip/message-relay.js';
import { createStateStores, type StateStores } from '../../lib/state/factory.js';
import { MediaController } from '../../lib/media/index.js';
import { H323Listener, dialledAliases, predial } from '../../lib/h323/call/index.js';
import { SipToH323Call, sipCallerIdentity, type H323Target } from '../../lib/calls/sip-to-h323.js';
import type { CallerIdentity } from '../../lib/h323/h225/caller-identity.js';
import { q850Reason } from '../../lib/calls/causes.js';
import { H323ToSipCall } from '../../lib/calls/h323-to-sip.js';
import { createExpertLookup } from '../../lib/routing/expert-lookup.js';
import { startHa, type RunningHa } from '../../lib/ha/wiring.js';
import { b2buaHooks, MediaCallRecorder } from '../../lib/ha/hooks.js';
import type { FenceReport } from '../../lib/ha/node.js';
import { RouteWeight, unrouteInvites } from '../../lib/ha/route-weight.js';
import type { CallRecord } from '../../lib/ha/records.js';
import { CouncilService } from '../../lib/council/service.js';
import { CouncilAdminServer } from '../../lib/council/admin-http.js';
import { randomBytes } from 'node:crypto';
import { ConfigReloader, restartOnlyChanges, type ReloadResult, type ReloadTrigger } from '../../lib/config/reload.js';
import { ConfigError } from '../../lib/config/errors.js';

/**
 * Extra INVITE route entries an instance takes at drachtio-server while a peer it saw beating is
 * silent (lib/ha/route-weight.ts): with one survivor, a frozen peer gets 1 in 11 new INVITEs
 * instead of 1 in 2.
 */
const INVITE_ROUTE_EXTRA = 9;

export interface GatewayDeps {
  registry: Registry;
  log: Logger;
  /** Re-reads and validates the config for a reload (SIGHUP, POST /admin/reload); absent = reloads are refused. */
  loadConfig?: () => GatewayConfig;
}

export class Gateway {
  readonly srf: GatewaySrf;
  readonly link: DrachtioLink;
  readonly calls: ActiveCalls;
  readonly registrar: Registrar;
  readonly state: StateStores;
  readonly media: MediaController | undefined;
  policy: RunningPolicy | undefined;
  /** Built once when the chain exists; srf routes are registered earlier, in the constructor. */
  private policyGate: ReturnType<typeof policyMiddleware> | undefined;
  neighbour: NeighbourResponder | undefined;
  /** LRQs to GnuGk and, when configured, our registration with it (from the neighbour socket). */
  rasClient: RasClient | undefined;
  /** Incoming H.323 calls (the callSignalAddress advertised in LCF); needs the media server. */
  h323Listener: H323Listener | undefined;
  private h323Seq = 0;
  /** Heartbeat, call records and takeover of dead peers (cfg.ha with the redis state backend). */
  ha: RunningHa | undefined;
  rasPort = 0;
  private readonly lag: EventLoopLagMonitor;
  private readonly ops: OpsServer;
  private readonly reloader: ConfigReloader;
  private readonly callMetrics: CallMetrics;
  private draining = false;
  httpPort = 0;
  /** Council rooms (config `council`); needs the media server. */
  readonly council: CouncilService | undefined;
  private councilAdmin: CouncilAdminServer | undefined;
  councilAdminPort = 0;
  private resolveFenced: ((r: FenceReport) => void) | undefined;
  /**
   * Resolves when a peer took this instance over (HA fencing) and it has refused new calls,
   * ended what the peer did not, and stopped: index.ts then exits for a restart as a new member.
   */
  readonly fenced = new Promise<FenceReport>((resolve) => {
    this.resolveFenced = resolve;
  });

  constructor(private cfg: GatewayConfig, private readonly deps: GatewayDeps) {
    const { registry, log } = deps;
    this.srf = createSrf();
    this.link = new DrachtioLink(this.srf, cfg.drachtio, log, registry);
    this.calls = new ActiveCalls(registry);
    this.lag = new EventLoopLagMonitor(registry);
    this.callMetrics = createCallMetrics(registry);
    this.state = createStateStores(cfg.state, registry);
    this.registrar = new Registrar(this.state.bindings, cfg.registrar, registry);
    this.media = cfg.media ? new MediaController(this.srf, cfg.media, { registry }) : undefined;
    this.council = cfg.council && this.media
      ? new CouncilService({
        config: cfg.council, media: this.media, srf: this.srf, membership: this.state.membership, registry, log,
        audit: () => this.policy?.audit, people: () => this.policy?.registry,
        instanceId: `gw${randomBytes(3).toString('hex')}`, userAgent: cfg.sip.userAgent,
      })
      : undefined;
    this.reloader = new ConfigReloader({
      load: deps.loadConfig ?? (() => {
        throw new ConfigError([{ field: 'GATEWAY_CONFIG', problem: 'this gateway was started without a config source to reload' }], true);
      }),
      apply: (next) => this.reload(next),
      registry,
      log,
      record: (r, trigger, source) => this.auditReload(r, trigger, source),
    });
    this.ops = new OpsServer({
      host: cfg.http.host,
      port: cfg.http.port,
      registry,
      health: () => this.health(),
      ...(cfg.http.adminToken ? { admin: { token: cfg.http.adminToken, reload: (source: string) => this.reloadConfig('http', source) } } : {}),
    });

    const methods = new MethodHandlers(registry, cfg.sip.userAgent, () => this.draining);
    // HA fencing before anything touches shared state: no call without a live heartbeat lease.
    this.srf.use('invite', (req, res, next) => this.haGate(res, next));
    // First in line: a council participant's admission time starts when the INVITE arrives.
    if (this.council) {
      const council = this.council;
      this.srf.use('invite', (req, _res, next) => {
        council.stamp(req);
        next();
      });
    }
    if (cfg.policy.enabled) {
      const gate = this.gate();
      this.srf.use('invite', gate);
      this.srf.use('register', gate);
      this.srf.use('register', registerHandler(this.registrar, cfg.sip.userAgent, log));
      this.srf.use('message', gate);
      this.srf.use('message', (req, res) => this.onMessage(req, res));
    }
    this.srf.use('invite', (req, res) => this.onInvite(req, res));
    this.srf.use('options', methods.options);
    for (const m of REFUSED_METHODS) {
      if ((m === 'REGISTER' || m === 'MESSAGE') && cfg.policy.enabled) continue;
      this.srf.use(m.toLowerCase(), methods.refuse);
    }
  }

  async start(): Promise<void> {
    if (this.cfg.policy.enabled) {
      this.policy = await startPolicy(this.cfg, this.deps.registry, this.deps.log, this.state.stores);
      this.policyGate = policyMiddleware(this.policy.chain);
    }
    // Media server down at start is not fatal: the controller keeps reconnecting and /health says so.
    if (this.media) void this.media.start();
    const h323 = this.cfg.h323;
    if (h323) {
      const council = this.council;
      const resolver = new GatewayAliasResolver(h323.localZone.prefixes, h323.localZone.aliases, this.policy?.registry, this.policy ? this.registrar : undefined,
        council ? (alias) => council.isH323RoomAlias(alias) : undefined);
      this.neighbour = new NeighbourResponder(neighbourOptionsFromConfig(h323, resolver, this.deps.registry));
      this.rasPort = (await this.neighbour.start()).port;
      if (this.media) await this.startH323Listener(h323.callSignalAddress);
      const clientOpts = rasClientOptionsFromConfig(h323, this.deps.registry);
      if (clientOpts && h323.gatekeeper) {
        this.rasClient = new RasClient({ ...clientOpts, transport: this.neighbour.rasTransport() });
        await this.rasClient.start();
        if (h323.gatekeeper.register) {
          const gk = h323.gatekeeper;
          // Registration failing must not stop SIP service; it is logged and shows in metrics.
          this.rasClient
            .register({ aliases: gk.aliases, prefixes: h323.localZone.prefixes, timeToLive: gk.timeToLive, ...(gk.gatekeeperId ? { gatekeeperId: gk.gatekeeperId } : {}) })
            .then(
              () => this.deps.log.info('registered with the gatekeeper', { gatekeeper: `${gk.host}:${gk.port}` }),
              (err: unknown) => this.deps.log.error('gatekeeper registration failed', { error: err instanceof Error ? err.message : String(err) }),
            );
        }
      }
    }
    if (this.cfg.ha && this.cfg.state.backend === 'redis') {
      this.ha = startHa(this.cfg.ha, this.cfg.state, {
        srf: this.srf,
        ledger: this.state.stores.ledger,
        // Through a getter: a reload may swap the running policy.
        ...(this.policy ? { audit: { append: (input) => this.policy!.audit.append(input) } } : {}),
        ...(this.media ? { killChannels: (uuids) => this.media!.killChannels(uuids) } : {}),
        ...(this.council ? { membership: this.state.membership } : {}),
        log: this.deps.log,
        registry: this.deps.registry,
      });
      await this.ha.node.start();
      const node = this.ha.node;
      node.once('fenced', () => this.onFenced());
      const weight = new RouteWeight(this.srf, { self: node.id, extra: INVITE_ROUTE_EXTRA, settleMs: 2000 }, this.deps.log, this.deps.registry);
      node.on('peers', (p) => weight.peers(p.suspects, p.members));
    }
    this.lag.start();
    this.httpPort = await this.ops.start();
    const admin = this.cfg.council?.admin;
    if (this.council && admin) {
      this.councilAdmin = new CouncilAdminServer(this.council, { ...admin, log: this.deps.log });
      this.councilAdminPort = await this.councilAdmin.start();
      this.deps.log.info('council admin endpoint listening', { host: admin.host, port: this.councilAdminPort });
    }
    this.link.connect();
  }

  /** Re-reads the config file and puts what it can in force (see reload()); never rejects. */
  reloadConfig(trigger: ReloadTrigger, source: string = trigger): Promise<ReloadResult> {
    return this.reloader.reload(trigger, source);
  }

  /**
   * Swaps in what can change without a restart: the registry file (re-read), the policy limits
   * (a new chain over the same state stores, so quotas in use, buckets, lockouts and replay caches
   * carry over), the dial plan, forwarded headers, health and drain settings. Returns the changed
   * fields that need a restart. A registry file that does not load refuses the whole reload.
   */
  async reload(cfg: GatewayConfig): Promise<string[]> {
    const restart: string[] = [];
    if (this.policy) {
      const r = await this.policy.registry.reload();
      if (!r.ok) throw new ConfigError(r.errors.slice(0, 3).map((problem) => ({ field: 'registry.file', problem })));
      restart.push(...this.policy.reconfigure(cfg));
      this.policyGate = policyMiddleware(this.policy.chain);
    } else if (cfg.policy.enabled) restart.push('policy.enabled');
    restart.push(...restartOnlyChanges(this.cfg, cfg));
    const keep = this.cfg.policy;
    this.cfg = {
      ...this.cfg,
      dialPlan: cfg.dialPlan,
      health: cfg.health,
      shutdown: cfg.shutdown,
      policy: { ...cfg.policy, enabled: keep.enabled, nonceSecret: keep.nonceSecret },
    };
    return restart;
  }

  /** One audit record per reload: who (signal or client address), outcome, never the content. */
  private async auditReload(r: ReloadResult, trigger: ReloadTrigger, source: string): Promise<void> {
    if (!this.policy) return;
    const status = { applied: 200, unreadable: 400, invalid: 422, error: 500 }[r.outcome];
    await this.policy.audit.append({
      gate: 'config-reload',
      decision: r.outcome === 'applied' ? 'admit' : 'reject',
      status,
      reason: [`${trigger}:${r.outcome}`, ...r.problems.map((p) => p.field), ...r.restartRequired.map((f) => `restart:${f}`)].join(';'),
      method: 'RELOAD',
      source,
    });
  }

  health(): HealthReport {
    const lagMs = this.lag.lagMs();
    const checks = {
      drachtio: { ok: this.link.state === 'up', detail: this.link.state },
      eventLoop: { ok: lagMs <= this.cfg.health.maxEventLoopLagMs, detail: `${lagMs.toFixed(1)} ms lag` },
      calls: { ok: true, detail: `${this.calls.size} active` },
      ...(this.media ? { freeswitch: { ok: this.media.state === 'up', detail: this.media.state } } : {}),
      ...(this.state.backend === 'redis' ? { state: { ok: this.state.up(), detail: `redis ${this.state.up() ? 'up' : 'down'}` } } : {}),
      // Fenced: a peer ended our calls while we were frozen; a restart makes us a fresh member.
      ...(this.ha ? { ha: { ok: !this.ha.node.fenced, detail: this.ha.node.fenced ? `${this.ha.node.id} taken over by a peer` : this.ha.node.id } } : {}),
    };
    if (this.draining) return { ok: false, status: 'draining', checks };
    const ok = Object.values(checks).every((c) => c.ok);
    return { ok, status: ok ? 'ok' : 'degraded', checks };
  }

  /**
   * Graceful stop: tell drachtio-server to send new INVITEs elsewhere (remove_route), let the
   * calls in progress end (in-dialog requests still reach us), then close everything.
   */
  async drain(): Promise<number> {
    if (this.draining) return this.calls.size;
    this.draining = true;
    this.deps.log.info('draining: no new calls', { active: this.calls.size });
    if (this.link.state === 'up') this.srf.unregisterForMessages('invite');
    const left = await this.calls.drained(this.cfg.shutdown.drainTimeoutMs);
    if (left) this.deps.log.warn('drain timeout: calls still up at exit', { active: left });
    await this.stop();
    return left;
  }

  /**
   * HA fencing: a peer took this instance over while it was frozen (or cut off from Redis) and
   * ended the calls it had recorded. Refuse everything new at once (remove_route, 503 / cause 42
   * meanwhile), let the HA node hand each call its verdict (legs the peer ended are dropped, the
   * rest ended here), then stop without the usual teardown - which would BYE dialogs the peer has
   * ended and uuid_kill channels it has killed. The process then exits (index.ts) and its
   * supervisor starts a fresh member; closing the sockets ends the H.323 legs and the channels'
   * ESL sockets as a crash would (docs/ha.md).
   */
  private onFenced(): void {
    const active = this.calls.size;
    this.draining = true;
    const unrouted = this.link.state === 'up' ? unrouteInvites(this.srf, 1000) : Promise.resolve();
    void (async () => {
      const report = (await this.ha?.node.reconciled) ?? { calls: 0, forgotten: 0, endedHere: 0, ms: 0 };
      // Every INVITE the server picked us for has arrived (and been refused) once it answers.
      await unrouted;
      const left = this.calls.forgetAll();
      this.deps.log.error('fenced: this instance was taken over by a peer; stopping for a restart as a new member', { ...report, activeBefore: active, activeForgotten: left });
      await this.policy?.audit.append({
        gate: 'ha-fenced', decision: 'reject', status: 503, method: 'HA',
        reason: `instance ${this.ha?.node.id} taken over by a peer: ${report.forgotten} call(s) forgotten (ended there), ${report.endedHere} ended here; restarting as a new member`,
      }).catch(() => undefined);
      this.lag.stop();
      // Flushes what the verdicts sent (BYE, CANCEL, 503) before the link closes.
      this.link.disconnect();
      this.council?.stop();
      await this.councilAdmin?.stop();
      await this.ops.stop();
      await this.rasClient?.stop();
      await this.neighbour?.stop();
      await this.ha?.close(false);
      await this.policy?.close();
      await this.state.close();
      this.resolveFenced?.(report);
    })().catch((err: unknown) => {
      this.deps.log.error('fenced stop failed', { error: err instanceof Error ? err.message : String(err) });
      this.resolveFenced?.({ calls: 0, forgotten: 0, endedHere: 0, ms: 0 });
    });
  }

  /** First INVITE middleware: with HA, a call goes on only while this instance's heartbeat lease holds. */
  private haGate(res: SrfResponse, next: SrfNext): void {
    const node = this.ha?.node;
    if (!node || node.admissible()) {
      next();
      return;
    }
    // A lapsed lease (a pause, slow Redis, a takeover not known yet): one heartbeat decides.
    void node.verdict().then((v) => {
      if (v === 'live') next();
      else res.send(503, { headers: { 'Retry-After': '5', Server: this.cfg.sip.userAgent } });
    });
  }

  async stop(): Promise<void> {
    this.lag.stop();
    this.link.disconnect();
    this.council?.stop();
    await this.councilAdmin?.stop();
    await this.ops.stop();
    await this.h323Listener?.close();
    await this.rasClient?.stop();
    await this.neighbour?.stop();
    await this.media?.stop();
    // Participants released by media.stop() free their shared seats before the stores close.
    await this.council?.settled();
    await this.ha?.close(this.calls.size === 0);
    await this.policy?.close();
    await this.state.close();
  }

  /**
   * H.323 -> SIP: GnuGk (after our LCF) or an endpoint sends Setup here; the dialled alias is
   * looked up (registered expert first, then the static dial plan) and the call bridged through
   * FreeSWITCH. Each routing decision is one audit record, like the SIP side's.
   */
  private async startH323Listener(addr: { host: string; port: number }): Promise<void> {
    const media = this.media;
    if (!media) return;
    const codecs = ['PCMA', 'PCMU'] as const;
    const lookup = createExpertLookup({
      ...(this.policy ? { registry: this.policy.registry, audit: this.policy.audit } : {}),
      registrar: this.registrar,
      dialPlan: () => this.cfg.dialPlan,
      log: this.deps.log,
    });
    this.h323Listener = new H323Listener({
      host: addr.host,
      port: addr.port,
      callOptions: { codecs: [...codecs], media: { rtp: { host: '127.0.0.1', port: 0 } }, fastStart: true, tunnel: true, registry: this.deps.registry },
      onCall: (call) => {
        if (this.draining) {
          call.reject(42); // switching equipment congestion: GnuGk may try another neighbour
          return;
        }
        // Tracked like SIP calls so a drain waits for them too.
        const id = `h323-${++this.h323Seq}`;
        this.calls.add(id);
        const room = this.council?.roomForH323(dialledAliases(call));
        const t0 = process.hrtime.bigint();
        void this.recorder(id, room ? 'council' : 'h323-sip', false).then((rec) => {
          if (rec === null) {
            // fenced, or no live heartbeat lease: congestion, GnuGk may try another neighbour
            call.reject(42);
            this.calls.remove(id);
            return;
          }
          if (room) {
            void this.council!.joinH323(call, room, t0, rec).finally(() => {
              rec?.end();
              this.calls.remove(id);
            });
            return;
          }
          const c = new H323ToSipCall(call, { media, srf: this.srf, lookup, log: this.deps.log, registry: this.deps.registry, codecs: [...codecs], ...(rec ? { observer: rec } : {}) });
          void c.start();
          void c.whenFinished.then(() => {
            rec?.end();
            this.calls.remove(id);
          });
        });
      },
    });
    await this.h323Listener.listen();
  }

  /** The policy chain as srf middleware; the chain is built in start(), after the routes exist. */
  private gate(): SrfMiddleware {
    return (req, res, next) => {
      if (!this.policyGate) {
        res.send(503, { headers: { 'Retry-After': '5' } });
        return;
      }
      this.policyGate(req as unknown as SrfLikeRequest, res, next);
    };
  }

  private onInvite(req: SrfRequest, res: SrfResponse): void {
    const ua = this.cfg.sip.userAgent;
    const callId = req.get('Call-ID');
    const release = (): void => {
      void this.policy?.chain.release(callId).catch(() => undefined);
    };
    if (this.draining) {
      // Raced with remove_route: the server had already picked us.
      release();
      res.send(503, { headers: { 'Retry-After': '5', Server: ua } });
      return;
    }
    const room = this.council?.roomForSip(requestUser(req.uri));
    if (room) {
      const decided = policyOf(req as unknown as SrfLikeRequest);
      const entry = decided?.state.entry ?? decided?.state.keyEntry;
      const offerSdp = decided ? forwardingFor(decided).localSdpB : undefined;
      this.calls.add(callId);
      void this.recorder(callId, 'council').then((rec) => {
        if (rec === null) {
          this.calls.remove(callId);
          this.refuseUnadmitted(res, release);
          return;
        }
        void this.council!.joinSip(req, res, room, {
          ...(entry ? { entry } : {}), ...(offerSdp !== undefined ? { offerSdp } : {}), ...(rec ? { observer: rec } : {}),
          ended: () => {
            rec?.end();
            this.calls.remove(callId);
            release();
          },
        });
      });
      return;
    }
    const m = matchRoute(this.cfg.dialPlan, requestUser(req.uri));
    if (!m) {
      release();
      this.callMetrics.attempts.inc({ outcome: 'no_route' });
      res.send(404, { headers: { Server: ua } });
      return;
    }
    const decided = policyOf(req as unknown as SrfLikeRequest);
    const fwd = decided ? forwardingFor(decided) : { headers: {} };
    if (m.route.h323Target) {
      // Who calls, for the Setup: the authenticated registry entry, after the PII gate's rules.
      const entry = decided?.state.entry ?? decided?.state.keyEntry;
      const caller = sipCallerIdentity({
        ...(entry ? { entry } : {}), from: fwd.headers['From'] ?? req.get('From'), escalated: decided?.state.pii !== undefined,
      });
      void this.toH323(req, res, m.route.h323Target, fwd.localSdpB, release, caller);
      return;
    }
    const headers = mergeHeaders(forwardedHeaders(req, this.cfg.policy.forwardHeaders), fwd.headers, { 'User-Agent': ua });
    const session = new CallSession(this.srf, req, res, this.calls, this.callMetrics, this.deps.log);
    const escalated = decided?.state.pii !== undefined;
    if (!this.ha) {
      void session.forward(m.target, headers, fwd.localSdpB, release, escalated);
      return;
    }
    void this.ha.node.admit(callId, 'sip-b2bua').then((tracker) => {
      if (!tracker) this.refuseUnadmitted(res, release);
      else void session.forward(m.target, headers, fwd.localSdpB, release, escalated, b2buaHooks(tracker));
    });
  }

  /** HA refused a call (fenced, or no live heartbeat lease): 503, and its quota back. */
  private refuseUnadmitted(res: SrfResponse, release: () => void): void {
    release();
    this.callMetrics.attempts.inc({ outcome: 'not_admitted' });
    if (!res.finalResponseSent) res.send(503, { headers: { 'Retry-After': '5', Server: this.cfg.sip.userAgent } });
  }

  /**
   * SIP -> H.323: the target is a static call-signalling address or found by an LRQ to GnuGk;
   * FreeSWITCH anchors the media (its RTP address goes in the fastStart offers).
   */
  private async toH323(
    req: SrfRequest, res: SrfResponse, via: string, offerSdp: string | undefined, release: () => void, caller?: CallerIdentity,
  ): Promise<void> {
    const ua = this.cfg.sip.userAgent;
    const calledNumber = requestUser(req.uri);
    let target: H323Target | undefined;
    if (via === 'gatekeeper') {
      const found = this.rasClient ? await this.rasClient.locate(calledNumber).catch(() => undefined) : undefined;
      if (found?.found) target = { ...found.callSignalAddress, calledNumber, ...(caller ? { caller } : {}) };
    } else {
      const [host, port] = via.split(':');
      target = { host: host as string, port: Number(port), calledNumber, ...(caller ? { caller } : {}) };
    }
    if (!target) {
      release();
      this.callMetrics.attempts.inc({ outcome: 'no_route' });
      res.send(404, { headers: { Server: ua, Reason: q850Reason(1) } });
      return;
    }
    if (!this.media) {
      release();
      res.send(503, { headers: { Server: ua, 'Retry-After': '5' } });
      return;
    }
    const id = req.get('Call-ID');
    this.calls.add(id);
    const rec = await this.recorder(id, 'sip-h323');
    if (rec === null) {
      this.calls.remove(id);
      this.refuseUnadmitted(res, release);
      return;
    }
    const call = new SipToH323Call({ media: this.media, predial, registry: this.deps.registry, logger: this.deps.log, ...(rec ? { observer: rec } : {}) }, req, res, target, offerSdp !== undefined ? { offerSdp } : {});
    void call.run();
    void call.ended.then(() => {
      rec?.end();
      this.calls.remove(id);
      release();
    });
  }

  /**
   * The HA record of a FreeSWITCH-anchored call, written at admission: `key` is the caller's
   * Call-ID for SIP callers (the ledger key of their quota), a per-instance id for H.323 callers
   * (who reserve none: quota=false). undefined: no HA; null: HA refused the call (fenced, or no
   * live heartbeat lease).
   */
  private async recorder(key: string, kind: CallRecord['kind'], quota = true): Promise<MediaCallRecorder | undefined | null> {
    if (!this.ha) return undefined;
    const tracker = await this.ha.node.admit(key, kind, { quota });
    return tracker ? new MediaCallRecorder(tracker) : null;
  }

  private onMessage(req: SrfRequest, res: SrfResponse): void {
    // Pager-mode IM goes to SIP destinations only; H.323 has no equivalent here.
    const m = matchRoute(this.cfg.dialPlan.filter((r) => r.sipTarget), requestUser(req.uri));
    if (!m) {
      res.send(404, { headers: { Server: this.cfg.sip.userAgent } });
      return;
    }
    relayMessage(this.srf, req, res, m.target, { forwardHeaders: this.cfg.policy.forwardHeaders, userAgent: this.cfg.sip.userAgent, log: this.deps.log });
  }
}
