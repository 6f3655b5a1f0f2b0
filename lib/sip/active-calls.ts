/**
 * Calls in progress on this instance. Graceful shutdown waits on it, /health and metrics read it.
 * A call is added when the gateway starts handling an INVITE and removed when it ends in any way
 * (or when HA fencing forgets the calls a peer ended).
 */
import { EventEmitter } from 'node:events';
import { Gauge, type Registry } from 'prom-client';

export class ActiveCalls extends EventEmitter {
  private readonly calls = new Set<string>();
  private readonly gauge: Gauge;

  constructor(registry: Registry) {
    super();
    this.gauge = new Gauge({ name: 'gw_calls_active', help: 'Calls in progress on this instance', registers: [registry] });
  }

  get size(): number {
    return this.calls.size;
  }

  add(id: string): void {
    this.calls.add(id);
    this.gauge.set(this.calls.size);
  }

  remove(id: string): void {
    if (!this.calls.delete(id)) return;
    this.gauge.set(this.calls.size);
    if (this.calls.size === 0) this.emit('empty');
  }

  /**
   * Drops every call without ending it: a peer that took this instance over (HA fencing) has
   * ended them, or the fenced instance ended what the peer did not. Returns how many there were.
   */
  forgetAll(): number {
    const n = this.calls.size;
    this.calls.clear();
    this.gauge.set(0);
    if (n) this.emit('empty');
    return n;
  }

  /** Resolves when no call is left, or after timeoutMs; returns how many were still up. */
  async drained(timeoutMs: number): Promise<number> {
    if (this.calls.size === 0) return 0;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.off('empty', onEmpty);
        resolve(this.calls.size);
      }, timeoutMs);
      const onEmpty = (): void => {
        clearTimeout(timer);
        resolve(0);
      };
      this.once('empty', onEmpty);
    });
  }
}
