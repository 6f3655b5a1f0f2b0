/**
 * The control connection to drachtio-server: connect, reconnect with a capped backoff, and a
 * link state that health checks and metrics read. srf re-sends its routes on every reconnect.
 */
import { EventEmitter } from 'node:events';
import type { GatewaySrf } from '../../types/drachtio-srf.js';
import { Gauge, Counter, type Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';

export interface DrachtioLinkOptions {
  host: string;
  port: number;
  secret: string;
  retryMaxDelayMs: number;
}

export type LinkState = 'connecting' | 'up' | 'down';

export class DrachtioLink extends EventEmitter {
  private stateValue: LinkState = 'connecting';
  private serverHostports = '';
  private readonly up: Gauge;
  private readonly reconnects: Counter;
  private closing = false;

  constructor(
    readonly srf: GatewaySrf,
    private readonly opts: DrachtioLinkOptions,
    private readonly log: Logger,
    registry: Registry,
  ) {
    super();
    this.up = new Gauge({ name: 'gw_drachtio_link_up', help: '1 while the control connection to drachtio-server is authenticated', registers: [registry] });
    this.reconnects = new Counter({ name: 'gw_drachtio_reconnects_total', help: 'Reconnect attempts to drachtio-server', registers: [registry] });
    this.up.set(0);
    srf.on('connect', (err: Error | null, hostport: string) => {
      if (err) {
        // A wrong secret: the server closes the link; retrying with the same secret cannot help.
        this.setState('down');
        this.log.error('drachtio authentication failed', { error: err.message });
        this.emit('authFailed', err);
        return;
      }
      this.serverHostports = hostport;
      this.setState('up');
      this.log.info('connected to drachtio-server', { sip: hostport });
    });
    srf.on('reconnecting', (info: { delay: number; attempt: number }) => {
      this.reconnects.inc();
      this.log.warn('drachtio link down, reconnecting', { delayMs: info.delay, attempt: info.attempt });
    });
    srf.on('close', () => {
      if (this.stateValue !== 'down') this.log.warn('drachtio link closed');
      this.setState('down');
    });
    srf.on('error', (err: Error) => {
      // srf emits 'error' on socket errors (ECONNREFUSED while the server is away); its own
      // reconnect logic runs regardless, so this is logged and otherwise absorbed.
      if (!this.closing) this.log.debug('drachtio socket error', { error: err.message });
      this.setState('down');
    });
  }

  get state(): LinkState {
    return this.stateValue;
  }

  /** SIP addresses drachtio-server listens on, as it reported at authentication. */
  get sipHostports(): string {
    return this.serverHostports;
  }

  connect(): void {
    this.setState('connecting');
    // srf keeps retrying with the capped backoff; failures surface as 'error'/'reconnecting'.
    this.srf.connect({
      host: this.opts.host,
      port: this.opts.port,
      secret: this.opts.secret,
      reconnect: { retryMaxDelay: this.opts.retryMaxDelayMs },
    });
  }

  disconnect(): void {
    this.closing = true;
    this.srf.disconnect();
    this.setState('down');
  }

  private setState(s: LinkState): void {
    if (s === this.stateValue) return;
    this.stateValue = s;
    this.up.set(s === 'up' ? 1 : 0);
    this.emit('state', s);
  }
}
