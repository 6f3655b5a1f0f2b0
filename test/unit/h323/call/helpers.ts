/** Test plumbing for the call layer: a scripted Q.931 peer on the other end of a real TCP connection. */
import { isolatedRegistry } from '../../../../lib/metrics/registry.js';
import { Q931Channel, type Q931Message } from '../../../../lib/h323/q931/index.js';
import type { Loopback } from '../q931/helpers/loopback.js';
import type { Timers } from '../../../../lib/h323/tpkt/channel.js';

/** The scripted side: a plain Q.931 channel that records what our call sends. */
export class Peer {
  readonly got: Q931Message[] = [];
  closed = false;
  private waiters: Array<() => void> = [];
  readonly ch: Q931Channel;
  constructor(lb: Loopback, timers: Timers, side: 'client' | 'server') {
    this.ch = new Q931Channel(
      side === 'client' ? lb.client : lb.server,
      {
        onMessage: (m) => {
          this.got.push(m);
          this.wake();
        },
        onClose: () => {
          this.closed = true;
          this.wake();
        },
      },
      { timers, registry: isolatedRegistry() },
    );
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  async next(type: number): Promise<Q931Message> {
    for (;;) {
      const i = this.got.findIndex((m) => m.messageType === type);
      if (i >= 0) return this.got.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`closed before message 0x${type.toString(16)}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  /** The first recorded message matching `pred` (removed from `got`). */
  async nextWhere(pred: (m: Q931Message) => boolean): Promise<Q931Message> {
    for (;;) {
      const i = this.got.findIndex(pred);
      if (i >= 0) return this.got.splice(i, 1)[0]!;
      if (this.closed) throw new Error('closed before the expected message');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }
}

