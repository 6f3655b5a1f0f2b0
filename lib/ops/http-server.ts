/**
 * The operations HTTP endpoint: /metrics for Prometheus and /health for orchestrators and
 * load balancers. /health answers 200 only when the gateway can take calls right now.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

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
}

export class OpsServer {
  private server: Server | undefined;

  constructor(private readonly opts: OpsServerOptions) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
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
