/**
 * One gateway instance's part in high availability (docs/ha.md):
 * - keeps a heartbeat key alive in Redis while its event loop runs;
 * - keeps a record of each of its calls there (what a survivor needs to end it);
 * - polls for peers whose heartbeat expired, claims each atomically and ends the dead peer's
 *   calls: BYE on every SIP leg, uuid_kill of its FreeSWITCH channels, quota released in the
 *   shared ledger, one audit record per call.
 *
 * drachtio-server forgets nothing when an app dies but routes nothing of the dead app's dialogs
 * to the survivors either (recording n2: it answers 481 itself), so the survivor cannot act
 * inside those dialogs through the server; it sends the BYE as a new request that carries the
 * dialog's Call-ID, tags and next CSeq, which is an in-dialog request for the far end.
 */
import { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';
import type { HaStore } from './store.js';
import type { CallRecord, SeatRef, SipLegRecord } from './records.js';

export interface HaOptions {
  /**
   * Unique per process start (startHa appends pid and a random part): a restarted process is a
   * new member, never fenced by its previous life's takeover and never mistaken for it.
   */
  instanceId: string;
  heartbeatMs: number;
  /** A peer whose heartbeat is older than this is dead. */
  ttlMs: number;
  pollMs: number;
  /** How long a claim blocks other survivors (longer than a takeover can take). */
  claimTtlMs: number;
}

/** What ending one call takes; the gateway implements these over srf, fsmrf and the ledger. */
export interface TakeoverActions {
  /** Sends BYE on a leg; resolves with the final status, or undefined when none came. */
  bye(leg: SipLegRecord): Promise<number | undefined>;
  /** uuid_kill each channel; resolves with how many FreeSWITCH confirmed. */
  killMedia(uuids: readonly string[]): Promise<number>;
  releaseQuota(callId: string): Promise<void>;
  /** Frees a council seat in the shared membership; resolves true when it was still taken. */
  freeSeat(seat: SeatRef): Promise<boolean>;
  audit(rec: CallRecord, outcome: CallTakeover): Promise<void>;
}

export interface CallTakeover {
  dead: string;
  byStatus: Array<{ side: SipLegRecord['side']; status: number | undefined }>;
  mediaKilled: number;
  quotaReleased: boolean;
  seatsFreed: number;
}

export interface TakeoverReport {
  dead: string;
  calls: number;
  /** From noticing the dead peer to the last call's BYE answered (or given up), ms. */
  ms: number;
}

export interface HaNodeEvents {
  takeover: [TakeoverReport];
  /** A survivor took this instance over while it was alive but frozen: its calls are gone. */
  fenced: [];
}

interface HaMetrics {
  takeovers: Counter;
  calls: Counter<'outcome'>;
  duration: Histogram;
  recordErrors: Counter;
  up: Gauge;
}

function haMetrics(registry: Registry): HaMetrics {
  return {
    takeovers: new Counter({ name: 'gw_ha_takeovers_total', help: 'Dead peer instances this instance took over', registers: [registry] }),
    calls: new Counter({ name: 'gw_ha_calls_taken_over_total', help: 'Calls of dead peers this instance ended, by outcome (bye_ok: every leg answered the BYE)', labelNames: ['outcome'], registers: [registry] }),
    duration: new Histogram({ name: 'gw_ha_takeover_seconds', help: 'Dead peer noticed to all its calls ended', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], registers: [registry] }),
    recordErrors: new Counter({ name: 'gw_ha_record_errors_total', help: 'Call record writes or heartbeats that failed (Redis unreachable)', registers: [registry] }),
    up: new Gauge({ name: 'gw_ha_heartbeat_ok', help: '1 while the last heartbeat reached Redis and this instance is not fenced', registers: [registry] }),
  };
}

/** One call's record, kept current by the call code through these hooks. */
export interface CallTracker {
  answered(legs: SipLegRecord[], mediaUuids?: string[]): void;
  /**
   * A FreeSWITCH-anchored call's current state: its SIP legs so far (none while the caller is
   * not answered yet), its channels, its council seats. Replaces what was recorded.
   */
  update(state: { legs: SipLegRecord[]; mediaUuids: string[]; seats?: SeatRef[] }): void;
  /** We sent an in-dialog request on that side: the survivor's BYE must use a higher CSeq. */
  requestSent(side: SipLegRecord['side']): void;
  end(): void;
}

export class HaNode extends EventEmitter<HaNodeEvents> {
  private beatTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private fencedFlag = false;
  private stopped = false;
  private readonly metrics: HaMetrics;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: HaStore,
    readonly opts: HaOptions,
    private readonly actions: TakeoverActions,
    private readonly log: Logger,
    registry: Registry,
  ) {
    super();
    this.metrics = haMetrics(registry);
  }

  get id(): string {
    return this.opts.instanceId;
  }

  get fenced(): boolean {
    return this.fencedFlag;
  }

  /** First heartbeat (so peers see us at once), then the beat and poll loops. */
  async start(): Promise<void> {
    await this.beat();
    this.beatTimer = setInterval(() => void this.beat(), this.opts.heartbeatMs);
    this.pollTimer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.beatTimer.unref();
    this.pollTimer.unref();
  }

  /**
   * Stops beating and polling (takeovers in progress finish first). leave: also remove this
   * instance's heartbeat and records, so a clean exit is not taken for a crash; without it the
   * heartbeat lapses and a peer ends the calls still recorded.
   */
  async stop(leave = true): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.beatTimer);
    clearInterval(this.pollTimer);
    await Promise.allSettled([...this.inFlight]);
    if (leave && !this.fencedFlag) await this.store.leave(this.id).catch(() => undefined);
  }

  track(callId: string, kind: CallRecord['kind'], o: { quota?: boolean } = {}): CallTracker {
    const rec: CallRecord = { v: 1, instance: this.id, callId, kind, startedAt: Date.now(), state: 'setup', legs: [], mediaUuids: [], ...(o.quota === false ? { noQuota: true as const } : {}) };
    let ended = false;
    const write = (): void => {
      if (ended) return;
      this.store.put(rec).catch(() => this.metrics.recordErrors.inc());
    };
    // Written at admission: a call that dies before its answer still holds quota to give back.
    write();
    return {
      answered: (legs, mediaUuids = []) => {
        rec.state = 'answered';
        rec.legs = legs.map((l) => ({ ...l }));
        rec.mediaUuids = [...mediaUuids];
        write();
      },
      update: ({ legs, mediaUuids, seats }) => {
        rec.state = legs.length > 0 ? 'answered' : 'setup';
        rec.legs = legs.map((l) => ({ ...l }));
        rec.mediaUuids = [...mediaUuids];
        if (seats?.length) rec.seats = seats.map((x) => ({ ...x }));
        else delete rec.seats;
        write();
      },
      requestSent: (side) => {
        const leg = rec.legs.find((l) => l.side === side);
        if (!leg) return;
        leg.localCseq++;
        write();
      },
      end: () => {
        if (ended) return;
        ended = true;
        this.store.remove(this.id, callId).catch(() => this.metrics.recordErrors.inc());
      },
    };
  }

  private async beat(): Promise<void> {
    if (this.stopped || this.fencedFlag) return;
    try {
      const ok = await this.store.beat(this.id, this.opts.ttlMs);
      if (!ok) {
        this.fencedFlag = true;
        this.metrics.up.set(0);
        this.log.error('ha: a peer took this instance over (heartbeat lapsed); its calls were ended there', { instance: this.id });
        this.emit('fenced');
        return;
      }
      this.metrics.up.set(1);
    } catch {
      this.metrics.up.set(0);
      this.metrics.recordErrors.inc();
    }
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.fencedFlag) return;
    let dead: string[];
    try {
      dead = await this.store.reap(this.id, this.opts.claimTtlMs);
    } catch {
      return; // Redis away: nothing can be claimed; the next poll tries again
    }
    for (const d of dead) {
      const p = this.takeOver(d).then(
        () => undefined,
        (err: unknown) => {
          this.log.error('ha: takeover failed', { dead: d, error: err instanceof Error ? err.message : String(err) });
        },
      );
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  /** Ends every call the dead instance recorded, then forgets the instance. */
  async takeOver(dead: string): Promise<TakeoverReport> {
    const t0 = Date.now();
    const calls = await this.store.calls(dead);
    this.log.warn('ha: peer instance lost; ending its calls', { dead, calls: calls.length });
    await Promise.all(calls.map((c) => this.endCall(dead, c)));
    await this.store.forget(dead, this.id);
    const report: TakeoverReport = { dead, calls: calls.length, ms: Date.now() - t0 };
    this.metrics.takeovers.inc();
    this.metrics.duration.observe(report.ms / 1000);
    this.log.warn('ha: peer instance taken over', { ...report });
    this.emit('takeover', report);
    return report;
  }

  private async endCall(dead: string, rec: CallRecord): Promise<void> {
    const [byStatus, mediaKilled, quotaReleased, seatsFreed] = await Promise.all([
      Promise.all(rec.legs.map(async (l) => ({ side: l.side, status: await this.actions.bye(l).catch(() => undefined) }))),
      rec.mediaUuids.length ? this.actions.killMedia(rec.mediaUuids).catch(() => 0) : Promise.resolve(0),
      rec.noQuota ? Promise.resolve(false) : this.actions.releaseQuota(rec.callId).then(() => true, () => false),
      Promise.all((rec.seats ?? []).map((x) => this.actions.freeSeat(x).catch(() => false))).then((r) => r.filter(Boolean).length),
    ]);
    const outcome: CallTakeover = { dead, byStatus, mediaKilled, quotaReleased, seatsFreed };
    this.metrics.calls.inc({ outcome: byStatus.every((b) => b.status !== undefined && b.status < 300) ? 'bye_ok' : 'bye_failed' });
    await this.actions.audit(rec, outcome).catch((err: unknown) => this.log.error('ha: audit of a takeover failed', { error: err instanceof Error ? err.message : String(err) }));
  }
}
