/**
 * App wiring, kept short on purpose: the drachtio link, the per-method handlers, the INVITE
 * path (policy gates, then one CallSession per call), the ops HTTP server, and drain.
 */
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../../lib/config/gateway-config.js';
import type { Logger } from '../../lib/log/logger.js';
import { createSrf, type GatewaySrf, type SrfMiddleware, type SrfRequest, type SrfResponse } from '../../types/drachtio-srf.js';
import { DrachtioLink } from '../../lib/sip/drachtio-link.js';
import { ActiveCalls } from '../../lib/sip/active-calls.js';
import { MethodHandlers, REFUSED_METHODS } from '../../lib/sip/methods.js';
import { CallSession, createCallMetrics, type CallMetrics } from '../../lib/sip/call-session.js';
import { matchRoute, requestUser } from '../../lib/sip/dial-plan.js';
import { EventLoopLagMonitor } from '../../lib/ops/event-loop-lag.js';
import { OpsServer, type HealthReport } from '../../lib/ops/http-server.js';

export interface GatewayDeps {
  registry: Registry;
  log: Logger;
  /** Gates run on every new INVITE before routing (issue: policy chain). */
  inviteGates?: SrfMiddleware[];
}

export class Gateway {
  readonly srf: GatewaySrf;
  readonly link: DrachtioLink;
  readonly calls: ActiveCalls;
  private readonly lag: EventLoopLagMonitor;
  private readonly ops: OpsServer;
  private readonly callMetrics: CallMetrics;
  private draining = false;
  httpPort = 0;

  constructor(private cfg: GatewayConfig, private readonly deps: GatewayDeps) {
    const { registry, log } = deps;
    this.srf = createSrf();
    this.link = new DrachtioLink(this.srf, cfg.drachtio, log, registry);
    this.calls = new ActiveCalls(registry);
    this.lag = new EventLoopLagMonitor(registry);
    this.callMetrics = createCallMetrics(registry);
    this.ops = new OpsServer({ host: cfg.http.host, port: cfg.http.port, registry, health: () => this.health() });

    const methods = new MethodHandlers(registry, cfg.sip.userAgent, () => this.draining);
    if (deps.inviteGates?.length) this.srf.use('invite', deps.inviteGates);
    this.srf.use('invite', (req, res) => this.onInvite(req, res));
    this.srf.use('options', methods.options);
    for (const m of REFUSED_METHODS) this.srf.use(m.toLowerCase(), methods.refuse);
  }

  async start(): Promise<void> {
    this.lag.start();
    this.httpPort = await this.ops.start();
    this.link.connect();
  }

  /** Swaps in a new validated config for what can change without a restart (dial plan). */
  reload(cfg: GatewayConfig): void {
    this.cfg = { ...this.cfg, dialPlan: cfg.dialPlan };
  }

  health(): HealthReport {
    const lagMs = this.lag.lagMs();
    const checks = {
      drachtio: { ok: this.link.state === 'up', detail: this.link.state },
      eventLoop: { ok: lagMs <= this.cfg.health.maxEventLoopLagMs, detail: `${lagMs.toFixed(1)} ms lag` },
      calls: { ok: true, detail: `${this.calls.size} active` },
    };
    if (this.draining) return { ok: false, status: 'draining', checks };
    const ok = checks.drachtio.ok && checks.eventLoop.ok;
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

  async stop(): Promise<void> {
    this.lag.stop();
    this.link.disconnect();
    await this.ops.stop();
  }

  private onInvite(req: SrfRequest, res: SrfResponse): void {
    const ua = this.cfg.sip.userAgent;
    if (this.draining) {
      // Raced with remove_route: the server had already picked us.
      res.send(503, { headers: { 'Retry-After': '5', Server: ua } });
      return;
    }
    const m = matchRoute(this.cfg.dialPlan, requestUser(req.uri));
    if (!m) {
      this.callMetrics.attempts.inc({ outcome: 'no_route' });
      res.send(404, { headers: { Server: ua } });
      return;
    }
    const session = new CallSession(this.srf, req, res, this.calls, this.callMetrics, this.deps.log);
    void session.forward(m.target, { 'User-Agent': ua });
  }
}
