/**
 * Process entry: load and validate config (exit 2 naming the bad field), start the gateway,
 * drain on SIGTERM/SIGINT, reload the config on SIGHUP (a bad new config keeps the old one), and
 * exit 75 when HA fencing stopped the gateway (a peer took it over): the supervisor restarts it
 * as a new member (docs/ha.md).
 */
import { loadConfig, redactConfig } from '../../lib/config/gateway-config.js';
import { ConfigError } from '../../lib/config/errors.js';
import { createLogger } from '../../lib/log/logger.js';
import { metricsRegistry } from '../../lib/metrics/registry.js';
import { Gateway } from './gateway.js';

async function main(): Promise<void> {
  const fileArg = process.argv.indexOf('--config');
  const file = fileArg > 0 ? process.argv[fileArg + 1] : undefined;
  let cfg;
  try {
    cfg = loadConfig(file ? { file } : {});
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(cfg.log.level);
  const gw = new Gateway(cfg, { registry: metricsRegistry(), log, loadConfig: () => loadConfig(file ? { file } : {}) });
  try {
    await gw.start();
  } catch (err) {
    // A bad registry file or an unreadable audit directory: refuse to start, say which.
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  log.info('gateway started', { httpPort: gw.httpPort, config: redactConfig(cfg) });
  process.stdout.write(`READY http=${gw.httpPort}${gw.rasPort ? ` ras=${gw.rasPort}` : ''}\n`);

  // EX_TEMPFAIL: not an error of this process's making; restart it.
  void gw.fenced.then(() => process.exit(75));

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutdown requested', { signal });
    gw.drain().then(
      (left) => process.exit(left ? 1 : 0),
      (err: unknown) => {
        log.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The reloader logs and counts the outcome itself (see lib/config/reload.ts).
  process.on('SIGHUP', () => void gw.reloadConfig('sighup'));
  // Bad input must never take the process down; log it and keep serving.
  process.on('uncaughtException', (err) => log.error('uncaught exception', { error: err.message, stack: err.stack }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { error: String(err) }));
}

void main();
