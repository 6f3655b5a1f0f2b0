/**
 * TPKT over a TCP socket: feeds socket data through the deframer, hands frames to the owner, and
 * closes the connection when the stream cannot be trusted (bad header, oversized frame, a frame
 * that does not complete within frameTimeoutMs - a slowloris peer trickling octets).
 *
 * The frame timer measures from the first octet of a frame, not from the last octet received,
 * so a peer sending one octet per second cannot keep a frame open forever.
 */
import type { Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { componentLogger } from '../../log/logger.js';
import { metricsRegistry } from '../../metrics/registry.js';
import { encodeTpkt, TpktDeframer, type TpktError } from './framing.js';
import { tpktMetrics, type TpktMetrics } from './metrics.js';

/** Timer functions, injectable so tests drive timeouts without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface TpktChannelOptions {
  /** Largest frame accepted, header included (default 65535). */
  readonly maxFrameSize?: number;
  /** Time allowed from a frame's first octet to its last (default 10 s). */
  readonly frameTimeoutMs?: number;
  /** After a protocol error the socket is ended, then destroyed if still open after this (default 2 s). */
  readonly closeGraceMs?: number;
  readonly timers?: Timers;
  readonly registry?: Registry;
  /** Label for logs and metrics (e.g. 'q931', 'h245'). */
  readonly channel?: string;
  /** Disable Nagle (default true): signalling messages are small and latency matters. */
  readonly noDelay?: boolean;
}

export interface TpktChannelEvents {
  /** One frame's payload (empty for a keep-alive TPKT). */
  onFrame(payload: Uint8Array): void;
  /**
   * The stream is broken. Called once, before the socket is ended, so the owner can still send a
   * last message (e.g. ReleaseComplete) with send().
   */
  onProtocolError?(error: TpktError): void;
  /** The socket closed (for any reason). Called once. */
  onClose?(): void;
}

export class TpktChannel {
  private readonly deframer: TpktDeframer;
  private readonly timers: Timers;
  private readonly frameTimeoutMs: number;
  private readonly closeGraceMs: number;
  private readonly metrics: TpktMetrics;
  private readonly label: string;
  private readonly log = componentLogger('tpkt');
  private frameTimer: unknown;
  private graceTimer: unknown;
  private closed = false;
  /** close() was called: no more frames are delivered, even ones already received. */
  private closing = false;
  private failed = false;

  constructor(
    readonly socket: Socket,
    private readonly events: TpktChannelEvents,
    options: TpktChannelOptions = {},
  ) {
    this.deframer = new TpktDeframer(options.maxFrameSize === undefined ? {} : { maxFrameSize: options.maxFrameSize });
    this.timers = options.timers ?? realTimers;
    this.frameTimeoutMs = options.frameTimeoutMs ?? 10_000;
    this.closeGraceMs = options.closeGraceMs ?? 2_000;
    this.metrics = tpktMetrics(options.registry ?? metricsRegistry());
    this.label = options.channel ?? 'q931';
    socket.setNoDelay(options.noDelay ?? true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e: Error) => {
      // Resets and the like: the close handler does the cleanup.
      this.log.debug('socket error', { channel: this.label, error: e.message });
    });
    socket.on('close', () => this.onSocketClose());
    socket.on('end', () => {
      if (this.deframer.inFrame && !this.failed && !this.closing) {
        this.protocolError(this.deframer.abort('closed-mid-frame', 'peer closed inside a frame'));
      }
    });
  }

  /** Frame and send a payload. Returns false when the channel is closed or the payload too large. */
  send(payload: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return false;
    const framed = encodeTpkt(payload);
    if (!framed.ok) {
      this.log.warn('payload too large for TPKT', { channel: this.label, size: payload.length });
      return false;
    }
    this.metrics.frames.inc({ channel: this.label, direction: 'out' });
    // Backpressure is the owner's concern (signalling volume is tiny); the frame is queued either way.
    this.socket.write(framed.value);
    return true;
  }

  /** Close gracefully (FIN), destroying after the grace period if the peer does not close. */
  close(): void {
    if (this.closed) return;
    this.closing = true;
    this.stopFrameTimer();
    this.socket.end();
    if (this.graceTimer === undefined) {
      this.graceTimer = this.timers.setTimeout(() => {
        this.graceTimer = undefined;
        this.socket.destroy();
      }, this.closeGraceMs);
    }
  }

  private onData(chunk: Buffer): void {
    if (this.failed || this.closed || this.closing) return;
    const wasInFrame = this.deframer.inFrame;
    const r = this.deframer.push(chunk);
    for (const f of r.frames) {
      this.metrics.frames.inc({ channel: this.label, direction: 'in' });
      try {
        this.events.onFrame(f);
      } catch (e) {
        // An owner bug must not escape into the socket's event emitter and crash the process.
        this.log.error('frame handler threw', { channel: this.label, error: e instanceof Error ? e.message : String(e) });
      }
      if (this.closed || this.failed || this.closing) return;
    }
    if (r.error) {
      this.protocolError(r.error);
      return;
    }
    // A frame that started earlier and is still open keeps its original deadline.
    const sameFrameStillOpen = wasInFrame && r.frames.length === 0;
    if (!this.deframer.inFrame) this.stopFrameTimer();
    else if (!sameFrameStillOpen || this.frameTimer === undefined) this.startFrameTimer();
  }

  private startFrameTimer(): void {
    this.stopFrameTimer();
    this.frameTimer = this.timers.setTimeout(() => {
      this.frameTimer = undefined;
      if (this.failed || this.closed || this.closing) return;
      this.protocolError(this.deframer.abort('timeout', `frame not completed within ${this.frameTimeoutMs} ms`));
    }, this.frameTimeoutMs);
  }

  private stopFrameTimer(): void {
    if (this.frameTimer !== undefined) {
      this.timers.clearTimeout(this.frameTimer);
      this.frameTimer = undefined;
    }
  }

  private protocolError(error: TpktError): void {
    if (this.failed) return;
    this.failed = true;
    this.stopFrameTimer();
    this.metrics.errors.inc({ channel: this.label, reason: error.code });
    this.log.info('closing connection on TPKT error', { channel: this.label, reason: error.code });
    try {
      this.events.onProtocolError?.(error);
    } catch (e) {
      this.log.error('protocol error handler threw', { channel: this.label, error: e instanceof Error ? e.message : String(e) });
    }
    this.close();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopFrameTimer();
    if (this.graceTimer !== undefined) {
      this.timers.clearTimeout(this.graceTimer);
      this.graceTimer = undefined;
    }
    try {
      this.events.onClose?.();
    } catch (e) {
      this.log.error('close handler threw', { channel: this.label, error: e instanceof Error ? e.message : String(e) });
    }
  }
}
