/**
 * One gateway instance's part in high availability (docs/ha.md):
 * - keeps a heartbeat key alive in Redis while its event loop runs, and a local lease: the
 *   heartbeat it last renewed is known to exist until (send time + TTL), so while the lease holds
 *   no peer can have claimed this instance;
 * - admits a call only while the lease holds, and only by writing the call's first record with a
 *   script that refuses once a peer has claimed us (a fencing check inside Redis): every call this
 *   instance goes on with is one a survivor's takeover would see;
 * - keeps that record current (what a survivor needs to end the call);
 * - polls for peers whose heartbeat expired, claims each atomically and ends the dead peer's
 *   calls: BYE on every SIP leg, uuid_kill of its FreeSWITCH channels, quota released in the
 *   shared ledger, one audit record per call once the BYEs' answers were seen (or not);
 * - when it learns that a peer took *it* over (it was frozen or cut off past its TTL), it is
 *   fenced: it admits nothing more, and tells each call's owner which of its SIP legs the peer
 *   already ended (those in the record the peer read) so that the rest are ended here.
 *
 * drachtio-server forgets nothing when an app dies but routes nothing of the dead app's dialogs
 * to the survivors either (recording n2: it answers 481 itself), so the survivor cannot act
 * inside those dialogs through the server; it sends the BYE as a new request that carries the
 * dialog's Call-ID, tags and next CSeq, which is an in-dialog request for the far end.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';
import type { HaStore, PutResult } from './store.js';
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

/** A BYE for a leg the survivor never owned, as far as drachtio-server took it. */
export type ByeAttempt =
  /** drachtio-server sent it; `answer` resolves with the final status this app saw within the answer window, or undefined. */
  | { sent: true; answer: Promise<number | undefined> }
  | { sent: false; error: string };

/** What ending one call takes; the gateway implements these over srf, fsmrf and the ledger. */
export interface TakeoverActions {
  /** Hands a BYE for the leg to drachtio-server; resolves once it was sent (or refused). */
  bye(leg: SipLegRecord): Promise<ByeAttempt>;
  /** uuid_kill each channel; resolves with how many FreeSWITCH confirmed. */
  killMedia(uuids: readonly string[]): Promise<number>;
  releaseQuota(callId: string): Promise<void>;
  /** Frees a council seat in the shared membership; resolves true when it was still taken. */
  freeSeat(seat: SeatRef): Promise<boolean>;
  audit(rec: CallRecord, outcome: CallTakeover): Promise<void>;
}

/** One leg's BYE as the survivor observed it. */
export interface ByeObserved {
  side: SipLegRecord['side'];
  sent: boolean;
  /** Final status seen by this app within the answer window; absent: none seen (or not sent). */
  status?: number;
  /** Why it was not sent. */
  error?: string;
}

export interface CallTakeover {
  dead: string;
  byes: ByeObserved[];
  mediaKilled: number;
  quotaReleased: boolean;
  seatsFreed: number;
}

export interface TakeoverReport {
  dead: string;
  calls: number;
  /** From noticing the dead peer to every call ended (BYEs sent, channels killed, quota and seats freed), ms. */
  ms: number;
  byesSent: number;
  byesNotSent: number;
}

/** What a fenced instance found: its calls, of which every leg the peer had ended (forgotten) or some ended here. */
export interface FenceReport {
  calls: number;
  forgotten: number;
  endedHere: number;
  /** From learning of the takeover to every call dealt with, ms. */
  ms: number;
}

export interface HaNodeEvents {
  takeover: [TakeoverReport];
  /** A survivor took this instance over while it was alive but frozen: its calls are gone. */
  fenced: [];
  /** The fenced instance has dealt with every call it still had. */
  reconciled: [FenceReport];
  /** Every poll: peers gone silent (dead or frozen; anyone's claim) and the current members. */
  peers: [{ suspects: string[]; members: string[] }];
}

/** What a fenced instance is told about one of its calls. */
export interface FenceVerdict {
  /** True when the peer ended that leg (it was in the call's record as the peer read it). */
  endedByPeer(leg: SipLegRecord): boolean;
}

/** What the call's owner did with it: nothing left to end (forgotten) or ended some legs itself. */
export type FenceAction = 'forgotten' | 'ended';

interface HaMetrics {
  takeovers: Counter;
  calls: Counter<'outcome'>;
  byes: Counter<'answer'>;
  duration: Histogram;
  recordErrors: Counter;
  up: Gauge;
  refused: Counter<'reason'>;
  fencedCalls: Counter<'action'>;
}

function haMetrics(registry: Registry): HaMetrics {
  return {
    takeovers: new Counter({ name: 'gw_ha_takeovers_total', help: 'Dead peer instances this instance took over', registers: [registry] }),
    calls: new Counter({
      name: 'gw_ha_calls_taken_over_total',
      help: 'Calls of dead peers this instance ended, by what it saw of its BYEs (bye_ok: every answer seen 2xx; bye_unconfirmed: every BYE sent, an answer not seen by this app; bye_refused: an answer seen non-2xx; bye_not_sent; no_dialog: not answered yet, nothing to BYE)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    byes: new Counter({ name: 'gw_ha_byes_total', help: 'BYEs the survivor sent on the legs of dead peers, by the answer this app saw (2xx, non_2xx, not_seen within ha.byeTimeoutMs, not_sent)', labelNames: ['answer'], registers: [registry] }),
    duration: new Histogram({ name: 'gw_ha_takeover_seconds', help: 'Dead peer noticed to all its calls ended (BYEs sent; their answers are not waited for)', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], registers: [registry] }),
    recordErrors: new Counter({ name: 'gw_ha_record_errors_total', help: 'Call record writes or heartbeats that failed (Redis unreachable)', registers: [registry] }),
    up: new Gauge({ name: 'gw_ha_heartbeat_ok', help: '1 while the last heartbeat reached Redis and this instance is not fenced', registers: [registry] }),
    refused: new Counter({ name: 'gw_ha_admissions_refused_total', help: 'Calls refused because this instance could not prove it is a live member (fenced, heartbeat lease lapsed, Redis error)', labelNames: ['reason'], registers: [registry] }),
    fencedCalls: new Counter({ name: 'gw_ha_fenced_calls_total', help: 'Calls a fenced instance still had, by what it did (forgotten: the peer had ended every leg; ended: some legs ended here)', labelNames: ['action'], registers: [registry] }),
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
  /** True while this instance may go on with calls (not fenced, heartbeat lease holding). */
  live(): boolean;
  /** Like live(), waiting for one heartbeat when the lease has lapsed (a pause that was not a takeover). */
  mayContinue(): Promise<boolean>;
  /** What to do with the call if this instance is fenced while it is up (called once). */
  onFenced(fn: (v: FenceVerdict) => FenceAction): void;
}

const legKey = (l: Pick<SipLegRecord, 'callId' | 'localTag'>): string => `${l.callId}\n${l.localTag}`;

/** A call's record and what Redis has acknowledged of it. */
class Entry {
  admitted = false;
  ended = false;
  handler: ((v: FenceVerdict) => FenceAction) | undefined;
  /** Legs of the last write Redis acknowledged (what a survivor reads); undefined = none yet. */
  private acked: Set<string> | undefined;
  private seq = 0;
  private ackedSeq = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(readonly rec: CallRecord) {}

  /** Sends the current record; resolves with the outcome (never rejects). */
  write(store: HaStore, admit: boolean, onFenced: () => void, onError: () => void): Promise<PutResult | 'error'> {
    const seq = ++this.seq;
    const legs = new Set(this.rec.legs.map(legKey));
    const p = store.put(this.rec, admit).then(
      (r) => {
        if (r === 'ok' && seq > this.ackedSeq) {
          this.ackedSeq = seq;
          this.acked = legs;
        }
        if (r === 'fenced') onFenced();
        return r;
      },
      () => {
        onError();
        return 'error' as const;
      },
    );
    const settled = p.then(() => undefined);
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
    return p;
  }

  /** Every write in flight answered (ok, fenced, or failed within the command timeout). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /**
   * Legs the survivor ended: those of the last acknowledged write. A write that failed after it
   * may or may not have landed; its new legs count as not ended (a second BYE costs a 481, a
   * missed one leaves a leg up).
   */
  verdict(): FenceVerdict {
    const acked = this.acked ?? new Set<string>();
    return { endedByPeer: (leg) => acked.has(legKey(leg)) };
  }
}

export class HaNode extends EventEmitter<HaNodeEvents> {
  private beatTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private fencedFlag = false;
  private started = false;
  private stopped = false;
  /** performance.now() until which our heartbeat key is known to exist in Redis. */
  private leaseUntil = -Infinity;
  private beating: Promise<void> | undefined;
  private readonly metrics: HaMetrics;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly entries = new Set<Entry>();
  private reconciledP: Promise<FenceReport> | undefined;

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

  /**
   * Margin taken off the TTL for the lease: Redis starts the key's TTL when it runs the beat
   * (after we sent it), so the key outlives send time + TTL; the margin covers clock-rate
   * differences and Redis's millisecond rounding.
   */
  private get leaseMarginMs(): number {
    return Math.max(10, this.opts.ttlMs * 0.05);
  }

  /** Resolves once this instance, fenced, has dealt with every call it had (undefined: not fenced). */
  get reconciled(): Promise<FenceReport> | undefined {
    return this.reconciledP;
  }

  /** First heartbeat (so peers see us at once), then the beat and poll loops. */
  async start(): Promise<void> {
    await this.beat();
    this.started = true;
    this.beatTimer = setInterval(() => void this.beat(), this.opts.heartbeatMs);
    this.pollTimer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.beatTimer.unref();
    this.pollTimer.unref();
  }

  /**
   * Stops beating and polling (takeovers in progress finish first, and so do their audits).
   * leave: also remove this instance's heartbeat and records, so a clean exit is not taken for a
   * crash; without it the heartbeat lapses and a peer ends the calls still recorded.
   */
  async stop(leave = true): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.beatTimer);
    clearInterval(this.pollTimer);
    await Promise.allSettled([...this.inFlight]);
    if (leave && !this.fencedFlag) await this.store.leave(this.id).catch(() => undefined);
  }

  /**
   * True while a new call may be admitted without asking Redis: not fenced, and the heartbeat we
   * last renewed still exists (so no peer can have claimed us). Synchronous: an instance that
   * wakes from a freeze reads the clock here before anything else it does with a call.
   */
  admissible(): boolean {
    return this.started && !this.stopped && !this.fencedFlag && performance.now() < this.leaseUntil;
  }

  /**
   * When the lease has lapsed (a pause, a slow Redis, or a takeover we do not know of yet): the
   * outcome of one fresh heartbeat. 'live' = renewed, go on; 'fenced' = a peer took us over;
   * 'lapsed' = Redis did not answer in time.
   */
  async verdict(): Promise<'live' | 'fenced' | 'lapsed'> {
    if (this.admissible()) return 'live';
    if (this.fencedFlag) return 'fenced';
    if (this.stopped || !this.started) return 'lapsed';
    // A beat sent before the lapse cannot renew the lease past now: wait for it, then send one.
    await this.beating;
    await this.beat();
    if (this.fencedFlag) return 'fenced';
    return this.admissible() ? 'live' : 'lapsed';
  }

  /**
   * Admits one call: the lease must hold, and the call's first record must land in Redis through
   * the fencing script (which refuses once a peer has claimed us, or while our heartbeat is
   * gone); then the lease is checked again, so a freeze during the write cannot let the call
   * through. Resolves with the call's tracker, or undefined when refused (the caller answers 503
   * and frees the call's quota; nothing of it is left in Redis unless a survivor's takeover has
   * it, which frees the same quota).
   */
  async admit(callId: string, kind: CallRecord['kind'], o: { quota?: boolean } = {}): Promise<CallTracker | undefined> {
    if (!this.admissible()) {
      const v = await this.verdict();
      if (v !== 'live') return this.refuse(v);
    }
    const rec: CallRecord = { v: 1, instance: this.id, callId, kind, startedAt: Date.now(), state: 'setup', legs: [], mediaUuids: [], ...(o.quota === false ? { noQuota: true as const } : {}) };
    const e = new Entry(rec);
    this.entries.add(e);
    const r = await e.write(this.store, true, () => this.fence('a call record was refused: a peer claimed this instance'), () => this.metrics.recordErrors.inc());
    if (r !== 'ok') {
      this.entries.delete(e);
      return this.refuse(r);
    }
    if (!this.admissible()) {
      const v = await this.verdict();
      if (v !== 'live') {
        this.entries.delete(e);
        // Fenced: the survivor has (or will have) this record and frees its quota. Lapsed: no
        // takeover known, remove it.
        if (v === 'lapsed') this.store.remove(this.id, callId).catch(() => this.metrics.recordErrors.inc());
        return this.refuse(v);
      }
    }
    e.admitted = true;
    return this.tracker(e);
  }

  private refuse(reason: 'fenced' | 'lapsed' | 'error'): undefined {
    this.metrics.refused.inc({ reason });
    return undefined;
  }

  private tracker(e: Entry): CallTracker {
    const rec = e.rec;
    const write = (): void => {
      if (e.ended || this.fencedFlag) return;
      void e.write(this.store, false, () => this.fence('a call record was refused: a peer claimed this instance'), () => this.metrics.recordErrors.inc());
    };
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
        if (e.ended) return;
        e.ended = true;
        this.entries.delete(e);
        // Fenced: the survivor has deleted our records; nothing of ours is written any more.
        if (this.fencedFlag) return;
        this.store.remove(this.id, rec.callId).catch(() => this.metrics.recordErrors.inc());
      },
      live: () => this.admissible(),
      mayContinue: async () => this.admissible() || (await this.verdict()) === 'live',
      onFenced: (fn) => {
        e.handler = fn;
      },
    };
  }

  private async beat(): Promise<void> {
    this.beating ??= this.doBeat().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async doBeat(): Promise<void> {
    if (this.stopped || this.fencedFlag) return;
    const sentAt = performance.now();
    try {
      const ok = await this.store.beat(this.id, this.opts.ttlMs);
      if (!ok) {
        this.fence('heartbeat refused: a peer took this instance over (heartbeat lapsed)');
        return;
      }
      this.leaseUntil = Math.max(this.leaseUntil, sentAt + this.opts.ttlMs - this.leaseMarginMs);
      this.metrics.up.set(1);
    } catch {
      this.metrics.up.set(0);
      this.metrics.recordErrors.inc();
    }
  }

  /**
   * A peer took this instance over: admit nothing from now on, stop beating and polling, and
   * once every record write in flight has answered, hand each call to its owner's fence handler
   * with the legs the peer ended.
   */
  private fence(why: string): void {
    if (this.fencedFlag) return;
    this.fencedFlag = true;
    this.leaseUntil = -Infinity;
    clearInterval(this.beatTimer);
    clearInterval(this.pollTimer);
    this.metrics.up.set(0);
    const open = [...this.entries].filter((e) => e.admitted && !e.ended);
    this.log.error('ha: a peer took this instance over; its calls were ended there', { instance: this.id, why, calls: open.length });
    this.reconciledP = this.reconcile(open);
    this.emit('fenced');
  }

  private async reconcile(open: Entry[]): Promise<FenceReport> {
    const t0 = Date.now();
    await Promise.all(open.map((e) => e.settled()));
    let forgotten = 0;
    let endedHere = 0;
    for (const e of open) {
      if (e.ended) continue;
      e.ended = true;
      this.entries.delete(e);
      let action: FenceAction = 'forgotten';
      try {
        action = e.handler ? e.handler(e.verdict()) : 'forgotten';
      } catch (err) {
        this.log.error('ha: a fenced call could not be ended', { error: err instanceof Error ? err.message : String(err) });
      }
      if (action === 'ended') endedHere++;
      else forgotten++;
      this.metrics.fencedCalls.inc({ action });
    }
    const report: FenceReport = { calls: open.length, forgotten, endedHere, ms: Date.now() - t0 };
    this.log.warn('ha: fenced instance dealt with its calls', { instance: this.id, ...report });
    this.emit('reconciled', report);
    return report;
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.fencedFlag) return;
    let found;
    try {
      // Peers read `lost` for takeovers they did not do themselves; look back far enough that a
      // poll delayed by a busy event loop still sees one.
      found = await this.store.reap(this.id, this.opts.claimTtlMs, Math.max(10_000, 20 * this.opts.pollMs));
    } catch {
      return; // Redis away: nothing can be claimed; the next poll tries again
    }
    if (this.fencedFlag) return;
    this.emit('peers', { suspects: found.suspects, members: found.members });
    for (const d of found.claimed) {
      const p = this.takeOver(d).then(
        () => undefined,
        (err: unknown) => {
          this.log.error('ha: takeover failed', { dead: d, error: err instanceof Error ? err.message : String(err) });
        },
      );
      this.track(p);
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /**
   * Ends every call the dead instance recorded, then forgets the instance. Done (the report, the
   * 'takeover' event) once every call's BYEs are sent: answers drachtio-server may never pass on
   * are not waited for; they are watched afterwards for the audit and the metrics.
   */
  async takeOver(dead: string): Promise<TakeoverReport> {
    const t0 = Date.now();
    const calls = await this.store.calls(dead);
    this.log.warn('ha: peer instance lost; ending its calls', { dead, calls: calls.length });
    const ended = await Promise.all(calls.map((c) => this.endCall(dead, c)));
    await this.store.forget(dead, this.id);
    const attempts = ended.flatMap((x) => x.attempts);
    const report: TakeoverReport = {
      dead, calls: calls.length, ms: Date.now() - t0,
      byesSent: attempts.filter((a) => a.attempt.sent).length,
      byesNotSent: attempts.filter((a) => !a.attempt.sent).length,
    };
    this.metrics.takeovers.inc();
    this.metrics.duration.observe(report.ms / 1000);
    this.log.warn('ha: peer instance taken over', { ...report });
    this.emit('takeover', report);
    this.track(Promise.all(ended.map((x) => this.observe(x))).then(() => undefined));
    return report;
  }

  /** Resolves once every takeover and every audit of one (BYE answers watched) is done. */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private async endCall(dead: string, rec: CallRecord): Promise<EndedCall> {
    const [attempts, mediaKilled, quotaReleased, seatsFreed] = await Promise.all([
      Promise.all(rec.legs.map(async (l) => ({
        side: l.side,
        attempt: await this.actions.bye(l).catch((err: unknown): ByeAttempt => ({ sent: false, error: err instanceof Error ? err.message : String(err) })),
      }))),
      rec.mediaUuids.length ? this.actions.killMedia(rec.mediaUuids).catch(() => 0) : Promise.resolve(0),
      rec.noQuota ? Promise.resolve(false) : this.actions.releaseQuota(rec.callId).then(() => true, () => false),
      Promise.all((rec.seats ?? []).map((x) => this.actions.freeSeat(x).catch(() => false))).then((r) => r.filter(Boolean).length),
    ]);
    return { dead, rec, attempts, mediaKilled, quotaReleased, seatsFreed };
  }

  /** The answers to one call's BYEs as this app saw them, then its metrics and audit record. */
  private async observe(x: EndedCall): Promise<void> {
    const byes: ByeObserved[] = await Promise.all(x.attempts.map(async ({ side, attempt }): Promise<ByeObserved> => {
      if (!attempt.sent) return { side, sent: false, error: attempt.error };
      const status = await attempt.answer.catch(() => undefined);
      return status === undefined ? { side, sent: true } : { side, sent: true, status };
    }));
    for (const b of byes) this.metrics.byes.inc({ answer: !b.sent ? 'not_sent' : b.status === undefined ? 'not_seen' : b.status < 300 ? '2xx' : 'non_2xx' });
    this.metrics.calls.inc({ outcome: callOutcome(byes) });
    const outcome: CallTakeover = { dead: x.dead, byes, mediaKilled: x.mediaKilled, quotaReleased: x.quotaReleased, seatsFreed: x.seatsFreed };
    await this.actions.audit(x.rec, outcome).catch((err: unknown) => this.log.error('ha: audit of a takeover failed', { error: err instanceof Error ? err.message : String(err) }));
  }
}

interface EndedCall {
  dead: string;
  rec: CallRecord;
  attempts: Array<{ side: SipLegRecord['side']; attempt: ByeAttempt }>;
  mediaKilled: number;
  quotaReleased: boolean;
  seatsFreed: number;
}

/** The metric outcome of one taken-over call from what was observed of its BYEs. */
export function callOutcome(byes: readonly ByeObserved[]): 'bye_ok' | 'bye_unconfirmed' | 'bye_refused' | 'bye_not_sent' | 'no_dialog' {
  if (byes.length === 0) return 'no_dialog';
  if (byes.some((b) => !b.sent)) return 'bye_not_sent';
  if (byes.some((b) => b.status !== undefined && b.status >= 300)) return 'bye_refused';
  if (byes.some((b) => b.status === undefined)) return 'bye_unconfirmed';
  return 'bye_ok';
}
