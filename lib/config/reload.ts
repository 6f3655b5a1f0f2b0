/**
 * Config reload without a restart (SIGHUP or POST /admin/reload): re-read and validate the whole
 * file first, then hand the new config to the gateway. A file that does not validate changes
 * nothing. One reload runs at a time; every outcome is counted, logged (field names and reasons,
 * never secrets) and, through `record`, written to the audit chain.
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';
import { ConfigError } from './errors.js';
import type { GatewayConfig } from './gateway-config.js';

export type ReloadTrigger = 'sighup' | 'http';

/**
 * applied: in force now. unreadable: the file could not be read or is not JSON. invalid: a field
 * failed validation (or the registry file did). error: something else went wrong while applying.
 */
export type ReloadOutcome = 'applied' | 'unreadable' | 'invalid' | 'error';

export interface ReloadResult {
  outcome: ReloadOutcome;
  problems: ReadonlyArray<{ field: string; problem: string }>;
  /** Changed fields a running process cannot take; their old values stay until a restart. */
  restartRequired: string[];
}

export interface ConfigReloaderOptions {
  /** Reads and validates the config (loadConfig with the process's file and env). */
  load: () => GatewayConfig;
  /** Puts a validated config in force; returns restart-only changes, throws ConfigError to refuse. */
  apply: (cfg: GatewayConfig) => Promise<string[]>;
  registry: Registry;
  log: Logger;
  /** Called after every reload with who asked (e.g. the admin client's address). */
  record?: (result: ReloadResult, trigger: ReloadTrigger, source: string) => Promise<void>;
}

/**
 * Top-level sections a reload puts in force (policy, registry and audit field by field, see
 * RunningPolicy.reconfigure). Every other section - including ones added later - is start-up only,
 * so a change to it is reported rather than silently ignored.
 */
const RELOADABLE: ReadonlySet<string> = new Set(['dialPlan', 'health', 'shutdown', 'policy', 'registry', 'audit']);

/** Which restart-only sections differ between the running and the new config (names only). */
export function restartOnlyChanges(running: GatewayConfig, next: GatewayConfig): string[] {
  const a = running as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !RELOADABLE.has(k));
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

export class ConfigReloader {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly counter: Counter<'trigger' | 'outcome'>;

  constructor(private readonly opts: ConfigReloaderOptions) {
    this.counter = new Counter({
      name: 'gw_config_reloads_total',
      help: 'Config reloads (SIGHUP or POST /admin/reload) by outcome: applied, unreadable, invalid, error',
      labelNames: ['trigger', 'outcome'],
      registers: [opts.registry],
    });
  }

  /** Queues a reload behind any running one and resolves with its result; never rejects. */
  reload(trigger: ReloadTrigger, source: string = trigger): Promise<ReloadResult> {
    const run = this.tail.then(() => this.run(trigger, source));
    this.tail = run;
    return run;
  }

  private async run(trigger: ReloadTrigger, source: string): Promise<ReloadResult> {
    let result: ReloadResult;
    try {
      const next = this.opts.load();
      const restartRequired = await this.opts.apply(next);
      result = { outcome: 'applied', problems: [], restartRequired };
    } catch (err) {
      result =
        err instanceof ConfigError
          ? { outcome: err.syntax ? 'unreadable' : 'invalid', problems: err.problems, restartRequired: [] }
          : { outcome: 'error', problems: [{ field: '(reload)', problem: err instanceof Error ? err.message : String(err) }], restartRequired: [] };
    }
    this.counter.inc({ trigger, outcome: result.outcome });
    if (result.outcome === 'applied') {
      this.opts.log.info('config reloaded', { trigger, restartRequired: result.restartRequired });
      if (result.restartRequired.length) this.opts.log.warn('config reload: these changes need a restart and are NOT in force', { fields: result.restartRequired });
    } else {
      this.opts.log.error('config reload refused; keeping the running config', { trigger, outcome: result.outcome, problems: result.problems });
    }
    await this.opts.record?.(result, trigger, source).catch((err: unknown) => {
      this.opts.log.error('config reload: audit record failed', { error: err instanceof Error ? err.message : String(err) });
    });
    return result;
  }
}
