/**
 * The operations HTTP endpoint: /metrics for Prometheus and /health for orchestrators and
 * load balancers. /health answers 200 only when the gateway can take calls right now.
 * POST /admin/reload (only when an admin token is configured) reloads the config; it needs
 * `Authorization: Bearer <token>`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import type { ReloadOutcome, ReloadResult } from '../config/reload.js';
import { BearerToken } from './bearer.js';

export interface HealthReport {
  ok: boolean;
  status: 'ok' | 'degraded' | 'draining';
  checks: Record<string, { ok: boolean; detail: string }>;
}

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  health: () => HealthReport;
  /** Absent = the admin endpoints do not exist (404), so there is no default token to guess. */
  admin?: {
    token: string;
    /** `source` is the client's address, for the audit record. */
    reload: (source: string) => Promise<ReloadResult>;
  };
}

const STATUS: Record<ReloadOutcome, number> = { applied: 200, unreadable: 400, invalid: 422, error: 500 };

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

export class OpsServer {
  private server: Server | undefined;
  private readonly adminRequests: Counter<'endpoint' | 'outcome'> | undefined;
  private readonly adminToken: BearerToken | undefined;

  constructor(private readonly opts: OpsServerOptions) {
    this.adminToken = opts.admin ? new BearerToken(opts.admin.token) : undefined;
    this.adminRequests = opts.admin
      ? new Counter({
          name: 'gw_admin_requests_total',
          help: 'Requests to the admin endpoints by outcome (unauthorized, bad_method, or the reload outcome)',
          labelNames: ['endpoint', 'outcome'],
          registers: [opts.registry],
        })
      : undefined;
  }

  private admin(req: IncomingMessage, res: ServerResponse, admin: NonNullable<OpsServerOptions['admin']>, counter: Counter<'endpoint' | 'outcome'>): void {
    // The body is not used; read it off so the connection stays usable.
    req.resume();
    if (req.method !== 'POST') {
      counter.inc({ endpoint: 'reload', outcome: 'bad_method' });
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    if (!this.adminToken?.admits(req)) {
      counter.inc({ endpoint: 'reload', outcome: 'unauthorized' });
      json(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer realm="gateway-admin"' });
      return;
    }
    admin.reload(req.socket.remoteAddress ?? '').then(
      (r) => {
        counter.inc({ endpoint: 'reload', outcome: r.outcome });
        json(res, STATUS[r.outcome], r);
      },
      () => json(res, 500, { outcome: 'error' }),
    );
  }

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (url === '/admin/reload' && this.opts.admin && this.adminRequests) {
        this.admin(req, res, this.opts.admin, this.adminRequests);
        return;
      }
      if (url?.startsWith('/admin/')) {
        // Switched off (no token configured): the endpoint does not exist.
        req.resume();
        res.writeHead(404).end();
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (url === '/metrics') {
        this.opts.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.opts.registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
        return;
      }
      if (url === '/health') {
        const report = this.opts.health();
        res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report));
        return;
      }
      res.writeHead(404).end();
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
