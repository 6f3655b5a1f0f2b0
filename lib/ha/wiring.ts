/**
 * HA for the gateway process: its own Redis connection (heartbeats must not queue behind policy
 * traffic), and the takeover actions over srf (BYE), FreeSWITCH (uuid_kill), the shared call
 * ledger and the audit log.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { GatewaySrf, OutgoingRequest, SrfResponse } from '../../types/drachtio-srf.js';
import type { Logger } from '../log/logger.js';
import type { AuditSink } from '../audit/sink.js';
import type { CallLedger, MembershipStore } from '../state/types.js';
import { redisClientOptions } from '../state/redis.js';
import { HaStore } from './store.js';
import { HaNode, type ByeAttempt, type ByeObserved, type TakeoverActions } from './node.js';
import { byeHeaders, type SipLegRecord } from './records.js';
import type { HaConfig } from './config.js';

export { HA_DEFAULTS, type HaConfig } from './config.js';

export interface HaDeps {
  srf: GatewaySrf;
  ledger: CallLedger;
  audit?: AuditSink;
  /** FreeSWITCH: hang channels up by UUID; absent without a media server. */
  killChannels?: (uuids: readonly string[]) => Promise<number>;
  /** Council seats (shared membership); absent without a council. */
  membership?: MembershipStore;
  log: Logger;
  registry: Registry;
}

export interface RunningHa {
  node: HaNode;
  /**
   * leave=true (no call left): remove this instance from Redis. leave=false (a drain that timed
   * out with calls up): only stop beating, so a peer takes the remaining calls over and ends
   * them cleanly once the heartbeat expires.
   */
  close(leave: boolean): Promise<void>;
}

/**
 * One BYE through drachtio-server as a new request carrying the dialog's identifiers. Resolves
 * once the server has sent it (its "sent" reply to the request) or refused it; the attempt's
 * `answer` resolves with the final status if this app sees one within answerMs, else undefined.
 * drachtio-server v0.9.10 was seen not to pass a BYE's 200 on for about 5% of these (it went on
 * retransmitting and reported 503 ~23 s later): an answer not seen is not "no answer".
 */
export function sendBye(srf: GatewaySrf, leg: SipLegRecord, answerMs: number): Promise<ByeAttempt> {
  // drachtio-server will not let an app set Route (immutable header), so a record-routed dialog
  // can only be reached through its first hop, sent as the request's outbound proxy.
  const first = leg.routeSet[0];
  const proxy = first ? /<([^>]+)>/.exec(first)?.[1] ?? first : undefined;
  const opts: OutgoingRequest = { method: 'BYE', headers: byeHeaders(leg), ...(proxy ? { proxy } : {}) };
  return new Promise<ByeAttempt>((resolve) => {
    try {
      srf.request(leg.remoteTarget, opts, (err, sent) => {
        if (err || !sent) {
          resolve({ sent: false, error: err?.message ?? 'not sent' });
          return;
        }
        const answer = new Promise<number | undefined>((answered) => {
          const timer = setTimeout(() => answered(undefined), answerMs);
          sent.on('response', (res: SrfResponse) => {
            if (res.status < 200) return;
            clearTimeout(timer);
            answered(res.status);
          });
        });
        resolve({ sent: true, answer });
      });
    } catch (err) {
      // srf throws at once when it has no connection to drachtio-server
      resolve({ sent: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
}

/** The audit wording of one leg's BYE: what was observed, never a guess. */
export function byeText(b: ByeObserved, answerMs: number): string {
  if (!b.sent) return `${b.side} not sent (${b.error ?? 'refused'})`;
  return b.status === undefined ? `${b.side} sent, answer not seen by this app within ${answerMs} ms` : `${b.side} ${b.status}`;
}

export function startHa(cfg: HaConfig, state: { url: string; keyPrefix: string; commandTimeoutMs?: number }, deps: HaDeps): RunningHa {
  // The configured id is a readable prefix; pid and randomness make each process start distinct.
  const id = `${cfg.instanceId || hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const redis = new Redis(state.url, redisClientOptions(state.commandTimeoutMs ?? 1000, 1000));
  // Errors surface as failed commands (counted by the node); the client reconnects by itself.
  redis.on('error', () => undefined);
  const prefix = state.keyPrefix.endsWith(':') ? state.keyPrefix : `${state.keyPrefix}:`;
  const store = new HaStore(redis, prefix);
  const actions: TakeoverActions = {
    bye: (leg) => sendBye(deps.srf, leg, cfg.byeTimeoutMs),
    killMedia: (uuids) => (deps.killChannels ? deps.killChannels(uuids) : Promise.resolve(0)),
    releaseQuota: (callId) => deps.ledger.release(callId),
    freeSeat: (seat) => (deps.membership ? deps.membership.leave(seat.room, seat.seatId) : Promise.resolve(false)),
    audit: async (rec, o) => {
      if (!deps.audit) return;
      const legs = o.byes.map((b) => byeText(b, cfg.byeTimeoutMs)).join(', ');
      await deps.audit.append({
        gate: 'ha-takeover',
        decision: 'reject',
        status: o.byes.find((b) => b.side === 'caller')?.status ?? 0,
        reason: `instance ${o.dead} lost; ended by ${id}: bye ${legs || 'none (not answered yet)'}; media ${o.mediaKilled}/${rec.mediaUuids.length}; quota ${rec.noQuota ? 'none' : o.quotaReleased ? 'released' : 'NOT released'}${rec.seats?.length ? `; seats ${o.seatsFreed}/${rec.seats.length}` : ''}`,
        method: 'BYE',
        callId: rec.callId,
      });
    },
  };
  const node = new HaNode(store, { instanceId: id, heartbeatMs: cfg.heartbeatMs, ttlMs: cfg.ttlMs, pollMs: cfg.pollMs, claimTtlMs: cfg.claimTtlMs }, actions, deps.log, deps.registry);
  return {
    node,
    close: async (leave) => {
      await node.stop(leave);
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
