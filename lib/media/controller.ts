/**
 * MediaController: one FreeSWITCH (drachtio-fsmrf MediaServer) behind the gateway. Connects over
 * ESL, reports up/down, reconnects with capped backoff after a loss, and fails calls fast (no
 * queueing) while down. Every media session and council is tracked here, so a lost ESL connection
 * releases all of them.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Registry } from 'prom-client';
import type winston from 'winston';
import { createMrf, type MediaServer, type Mrf, type EslEvent } from '../../types/drachtio-fsmrf.js';
import type { GatewaySrf } from '../../types/drachtio-srf.js';
import { componentLogger } from '../log/logger.js';
import { backoffDelay } from './backoff.js';
import type { MediaConfig } from './config.js';
import { MediaUnavailableError } from './errors.js';
import { mediaMetrics, type LegType, type MediaMetrics } from './metrics.js';
import { type HangupQuality, parseHangupQuality, parseRtcpReports, recordHangupQuality, recordRtcp } from './quality.js';
import { MediaSession } from './session.js';
import { Council, type CouncilOptions } from './conference.js';

export type MediaState = 'idle' | 'up' | 'down' | 'stopped';

export interface MediaControllerOptions {
  registry?: Registry;
  log?: winston.Logger;
  /** For tests: an Mrf other than createMrf(srf). */
  mrf?: Mrf;
}

/** The ESL connection's event-subscription part (drachtio-modesl), not in the shared typings. */
interface Subscribable {
  subscribe(events: string | string[], cb?: () => void): void;
}

/**
 * drachtio-modesl 1.3.1 workaround: on a socket error its inbound Connection schedules its own
 * reconnect before the close is reported, and disconnect() does not cancel that timer, so a
 * connection we have given up on would reconnect as a zombie (an extra ESL session nobody reads).
 * We reconnect with a fresh MediaServer instead, so the stale timer is cleared here.
 */
function cancelEslRetry(ms: MediaServer): void {
  const conn = ms.conn as unknown as { reconnectVars?: { retryTimer?: NodeJS.Timeout | null } } | null;
  const t = conn?.reconnectVars?.retryTimer;
  if (t) {
    clearTimeout(t);
    conn!.reconnectVars!.retryTimer = null;
  }
}

/**
 * Whether host:port accepts a TCP connection. drachtio-modesl 1.3.1 turns a refused first
 * connection into an endless reconnect loop (its retry state is uninitialised until the first
 * connect, so the delay is NaN, i.e. ~1 ms, and the Connection object never reaches us to stop it).
 * Probing first keeps refused attempts away from modesl.
 */
function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(t);
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const QUALITY_EVENTS = ['CHANNEL_HANGUP_COMPLETE', 'RECV_RTCP_MESSAGE'];
/** Leg types remembered after release until FreeSWITCH's hangup-complete names them. */
const LEG_MEMORY = 10_000;

export interface MediaControllerEvents {
  up: [];
  down: [reason: string];
  reconnecting: [info: { attempt: number; delayMs: number }];
  /** FreeSWITCH's CHANNEL_HANGUP_COMPLETE for a channel; quality undefined when it sent no statistics. */
  'hangup-complete': [info: { uuid: string; leg: LegType; quality: HangupQuality | undefined }];
}

export class MediaController extends EventEmitter<MediaControllerEvents> {
  readonly metrics: MediaMetrics;
  private readonly log: winston.Logger;
  private readonly mrf: Mrf;
  private ms: MediaServer | undefined;
  private st: MediaState = 'idle';
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private readonly sessions = new Set<MediaSession>();
  private readonly councils = new Map<string, Council>();
  private readonly councilsPending = new Map<string, Promise<Council>>();
  private readonly legTypes = new Map<string, LegType>();
  private everUp = false;

  constructor(
    srf: GatewaySrf,
    readonly config: MediaConfig,
    opts: MediaControllerOptions = {},
  ) {
    super();
    this.metrics = mediaMetrics(opts.registry);
    this.log = opts.log ?? componentLogger('media');
    this.mrf = opts.mrf ?? createMrf(srf);
    this.metrics.serverUp.set(0);
  }

  get state(): MediaState {
    return this.st;
  }

  /** The connected media server, or MediaUnavailableError at once (the call gets 503). */
  server(): MediaServer {
    if (this.st !== 'up' || !this.ms) {
      this.metrics.unavailable.inc();
      throw new MediaUnavailableError();
    }
    return this.ms;
  }

  /**
   * First connection attempt. Resolves true when up; on failure resolves false and keeps
   * retrying in the background (state 'down').
   */
  async start(): Promise<boolean> {
    if (this.isStopped()) throw new Error('media controller stopped');
    await this.connectOnce();
    return this.st === 'up';
  }

  /** Resolves when the controller is up (now or after a reconnect); rejects after timeoutMs. */
  whenUp(timeoutMs: number): Promise<void> {
    if (this.st === 'up') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('up', onUp);
        reject(new MediaUnavailableError(`media server not up within ${timeoutMs} ms`));
      }, timeoutMs);
      const onUp = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.once('up', onUp);
    });
  }

  /** A new media session (one call's legs). Throws MediaUnavailableError while down. */
  session(): MediaSession {
    const ms = this.server();
    const s = new MediaSession(this, ms, (uuid, leg) => this.rememberLeg(uuid, leg));
    this.sessions.add(s);
    s.once('released', () => this.sessions.delete(s));
    return s;
  }

  /**
   * uuid_kill for channels this process never created (an HA survivor ending a dead peer's legs).
   * Resolves with how many FreeSWITCH confirmed (+OK); a channel already gone answers -ERR.
   */
  async killChannels(uuids: readonly string[]): Promise<number> {
    const ms = this.server();
    const results = await Promise.all(uuids.map((u) => ms.api(`uuid_kill ${u}`).then((r) => r.trim().startsWith('+OK'), () => false)));
    return results.filter(Boolean).length;
  }

  /** Live sessions (for tests and status). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Create (or return the live) council of this name. */
  council(name: string, opts: CouncilOptions = {}): Promise<Council> {
    const have = this.councils.get(name);
    if (have && !have.destroyed) return Promise.resolve(have);
    // Participants arriving together must share one room, not each create a conference.
    const pending = this.councilsPending.get(name);
    if (pending) return pending;
    const p = this.createCouncil(name, opts).finally(() => this.councilsPending.delete(name));
    this.councilsPending.set(name, p);
    return p;
  }

  private async createCouncil(name: string, opts: CouncilOptions): Promise<Council> {
    const ms = this.server();
    const c = await Council.create(ms, name, {
      maxMembers: opts.maxMembers ?? this.config.conference.maxMembers,
      destroyTimeoutMs: opts.destroyTimeoutMs ?? this.config.conference.destroyTimeoutMs,
      profile: opts.profile ?? this.config.conference.profile,
    }, (uuid, leg) => this.rememberLeg(uuid, leg));
    this.councils.set(name, c);
    c.once('destroyed', () => {
      if (this.councils.get(name) === c) this.councils.delete(name);
    });
    return c;
  }

  /** Release every session and council, close the ESL connection, stop reconnecting. */
  async stop(): Promise<void> {
    if (this.isStopped()) return;
    const wasUp = this.st === 'up';
    this.st = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (wasUp) await this.releaseAll('shutdown');
    const ms = this.ms;
    this.ms = undefined;
    if (ms) {
      ms.removeAllListeners('end');
      ms.disconnect();
      cancelEslRetry(ms);
    }
    await this.connecting?.catch(() => undefined);
    this.metrics.serverUp.set(0);
  }

  private isStopped(): boolean {
    return this.st === 'stopped';
  }

  /** @internal jitter buffer command for a new leg (null = off). */
  get jitterBufferMsec(): string | null {
    return this.config.jitterBufferMsec;
  }

  private rememberLeg(uuid: string, leg: LegType): void {
    if (this.legTypes.size >= LEG_MEMORY) {
      const oldest = this.legTypes.keys().next().value;
      if (oldest !== undefined) this.legTypes.delete(oldest);
    }
    this.legTypes.set(uuid, leg);
  }

  private connectOnce(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = this.doConnect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    const c = this.config;
    if (!(await tcpReachable(c.esl.host, c.esl.port, c.reconnect.connectTimeoutMs))) {
      if (this.isStopped()) return;
      this.log.warn('media server unreachable', { host: c.esl.host, port: c.esl.port, attempt: this.attempt });
      this.markDown('unreachable');
      this.scheduleReconnect();
      return;
    }
    if (this.isStopped()) return;
    let timedOut = false;
    let to: NodeJS.Timeout | undefined;
    const attempt = this.mrf.connect({
      address: c.esl.host, port: c.esl.port, secret: c.esl.secret,
      listenAddress: c.listen.address, listenPort: c.listen.port, profile: c.profile,
      ...(c.advertised ? { advertisedAddress: c.advertised.address, advertisedPort: c.advertised.port } : {}),
    });
    // A late success after the timeout (or after stop()) is closed at once.
    attempt.then((late) => {
      if (timedOut || this.st === 'stopped') late.disconnect();
    }, () => undefined);
    try {
      const ms = await Promise.race([
        attempt,
        new Promise<never>((_, reject) => {
          to = setTimeout(() => {
            timedOut = true;
            reject(new Error(`no ESL connection within ${c.reconnect.connectTimeoutMs} ms`));
          }, c.reconnect.connectTimeoutMs);
        }),
      ]);
      clearTimeout(to);
      if (this.isStopped()) return;
      this.adopt(ms);
    } catch (err) {
      clearTimeout(to);
      if (this.isStopped()) return;
      this.log.warn('media server connect failed', { host: c.esl.host, port: c.esl.port, attempt: this.attempt, error: (err as Error).message });
      this.markDown('connect-failed');
      this.scheduleReconnect();
    }
  }

  private adopt(ms: MediaServer): void {
    noDelayOnEsl(ms);
    const reconnected = this.everUp;
    this.everUp = true;
    this.ms = ms;
    this.st = 'up';
    this.attempt = 0;
    this.metrics.serverUp.set(1);
    if (reconnected) this.metrics.reconnects.inc();
    ms.on('error', (err) => this.log.warn('media server error', { error: err.message }));
    ms.on('end', () => this.onLost(ms));
    this.subscribeQuality(ms);
    this.log.info('media server up', { host: this.config.esl.host, port: this.config.esl.port, reconnected });
    this.emit('up');
  }

  private subscribeQuality(ms: MediaServer): void {
    const conn = ms.conn as unknown as Partial<Subscribable> & MediaServer['conn'];
    if (typeof conn.subscribe === 'function') conn.subscribe(QUALITY_EVENTS);
    conn.on('esl::event::CHANNEL_HANGUP_COMPLETE::*', (...args: unknown[]) => this.guard(() => this.onHangupComplete(args[0])));
    conn.on('esl::event::RECV_RTCP_MESSAGE::*', (...args: unknown[]) => this.guard(() => this.onRtcp(args[0])));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn('media event handling failed', { error: (err as Error).message });
    }
  }

  private onHangupComplete(e: unknown): void {
    const evt = e as EslEvent | undefined;
    if (!evt || typeof evt.getHeader !== 'function') return;
    const q = parseHangupQuality((n) => evt.getHeader(n));
    const uuid = evt.getHeader('Unique-ID') ?? undefined;
    const leg = (uuid && this.legTypes.get(uuid)) || 'unknown';
    if (uuid) this.legTypes.delete(uuid);
    if (q) recordHangupQuality(this.metrics, leg, q);
    if (uuid) this.emit('hangup-complete', { uuid, leg, quality: q });
  }

  private onRtcp(e: unknown): void {
    const evt = e as EslEvent | undefined;
    if (!evt || typeof evt.getHeader !== 'function') return;
    const uuid = evt.getHeader('Unique-ID') ?? undefined;
    const leg = (uuid && this.legTypes.get(uuid)) || 'unknown';
    for (const r of parseRtcpReports((n) => evt.getHeader(n))) recordRtcp(this.metrics, leg, r);
  }

  private onLost(ms: MediaServer): void {
    if (this.ms !== ms || this.st === 'stopped') return;
    this.log.error('media server ESL connection lost', { host: this.config.esl.host, port: this.config.esl.port });
    this.ms = undefined;
    ms.removeAllListeners('end');
    ms.disconnect(); // closes fsmrf's outbound-ESL listener
    cancelEslRetry(ms);
    this.markDown('esl-lost');
    void this.releaseAll('media-server-lost');
    this.scheduleReconnect();
  }

  private markDown(reason: string): void {
    const was = this.st;
    this.st = 'down';
    this.metrics.serverUp.set(0);
    if (was !== 'down') this.emit('down', reason);
  }

  private scheduleReconnect(): void {
    if (this.st === 'stopped' || this.timer) return;
    const delayMs = backoffDelay(this.attempt, this.config.reconnect.initialDelayMs, this.config.reconnect.maxDelayMs);
    this.attempt += 1;
    this.emit('reconnecting', { attempt: this.attempt, delayMs });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connectOnce();
    }, delayMs);
  }

  private async releaseAll(reason: string): Promise<void> {
    await Promise.allSettled([
      ...[...this.sessions].map((s) => s.release(reason)),
      ...[...this.councils.values()].map((c) => c.destroy()),
    ]);
  }
}

/**
 * ESL is small request/answer exchanges and drachtio-modesl writes each command in several pieces
 * (command line, each header, the blank line): with Nagle on, every piece after the first waits
 * for FreeSWITCH's delayed ACK (~40 ms on Linux), measured as ~45 ms per command on call set-up.
 * Covers the inbound connection and every outbound (per-channel) connection FreeSWITCH opens.
 */
export function noDelayOnEsl(ms: MediaServer): void {
  ms.conn.socket?.setNoDelay(true);
  ms._server?.server?.on('connection', (s: net.Socket) => s.setNoDelay(true));
}
