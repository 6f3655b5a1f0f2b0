/**
 * Builds the running policy from the gateway configuration: registry file, audit log (with its
 * HMAC id key), and the gate chain. Kept apart from the app wiring so the CLI (`doctor`) and
 * tests can assemble the same thing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/gateway-config.js';
import { ConfigError } from '../config/errors.js';
import { FileRegistry } from '../registry/store.js';
import { AuditLog } from '../audit/log.js';
import { DecisionMetrics } from '../audit/metrics.js';
import { buildPolicyChain, type PolicyStores } from './build.js';
import type { PolicyChain } from './chain.js';
import type { Logger } from '../log/logger.js';

export interface RunningPolicy {
  chain: PolicyChain;
  registry: FileRegistry;
  audit: AuditLog;
  stores: PolicyStores;
  close(): Promise<void>;
}

/**
 * The audit id key hashes call ids and identities; it must survive restarts or records of one
 * caller stop linking up. Without AUDIT_ID_KEY / audit.idKeyFile a key is created once, 0600,
 * beside the log.
 */
function auditIdKey(cfg: GatewayConfig, log: Logger): string {
  if (cfg.audit.idKey) return cfg.audit.idKey;
  const file = join(cfg.audit.dir, '.id-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(cfg.audit.dir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  log.warn('created a new audit id key beside the audit log; set AUDIT_ID_KEY to manage it yourself', { file });
  return key;
}

export async function startPolicy(cfg: GatewayConfig, registry: Registry, log: Logger, sharedStores?: PolicyStores): Promise<RunningPolicy> {
  const loaded = await FileRegistry.load(cfg.registry.file);
  if (!loaded.ok) throw new ConfigError(loaded.errors.map((e) => ({ field: `registry.file (${cfg.registry.file})`, problem: e })));
  const audit = await AuditLog.open({ dir: cfg.audit.dir, idKey: auditIdKey(cfg, log), fsync: cfg.audit.fsync, metrics: registry });
  let nonceSecret = cfg.policy.nonceSecret;
  if (!nonceSecret) {
    nonceSecret = randomBytes(32).toString('base64url');
    log.warn('no POLICY_NONCE_SECRET: digest nonces are valid on this instance only');
  }
  const p = cfg.policy;
  const { chain, stores } = buildPolicyChain(
    {
      digest: { realm: p.realm, nonceSecrets: [nonceSecret], algorithms: p.digestAlgorithms, nonceTtlSec: p.nonceTtlSec },
      identity: { requiredFor: p.identityRequiredFor, windowSec: p.identityWindowSec },
      pii: { markerHeader: p.escalation.header, markerValues: p.escalation.values, priorityValues: p.escalation.priority },
      codecs: { allow: p.codecs, warnAgent: cfg.sip.userAgent },
      fairness: { defaultLimitBps: p.perCallerBps, warnAgent: cfg.sip.userAgent },
      sourceRates: {
        INVITE: { capacity: p.rates.invitePerSourceBurst, refillPerSec: p.rates.invitePerSourcePerSec },
        REGISTER: { capacity: p.rates.registerPerSourceBurst, refillPerSec: p.rates.registerPerSourcePerSec },
        MESSAGE: { capacity: 30, refillPerSec: 5 },
      },
      identityRates: {
        INVITE: { capacity: p.rates.invitePerIdentityBurst, refillPerSec: p.rates.invitePerIdentityPerSec },
        REGISTER: { capacity: 10, refillPerSec: 0.5 },
        MESSAGE: { capacity: 30, refillPerSec: 5 },
      },
      lockout: p.lockout,
    },
    { registry: loaded.registry, audit, metrics: new DecisionMetrics(registry), ...(sharedStores ? { stores: sharedStores } : {}) },
  );
  return { chain, registry: loaded.registry, audit, stores, close: () => audit.close() };
}
