/**
 * Event-loop lag as the drift of a periodic timer. drachtio-server never pings its apps (see the
 * n5-app-hangs recording), so a wedged app keeps receiving calls; the only defence is for the
 * app to notice its own lag and report it on /health so an orchestrator can restart it.
 */
import { Gauge, type Registry } from 'prom-client';

export class EventLoopLagMonitor {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private windowMax = 0;
  private previousWindowMax = 0;
  private windowStart = 0;
  private readonly gauge: Gauge;

  constructor(registry: Registry, private readonly intervalMs = 100, private readonly windowMs = 5000) {
    this.gauge = new Gauge({ name: 'gw_event_loop_lag_seconds', help: 'Largest event-loop delay seen in the last sample window', registers: [registry] });
  }

  start(): void {
    this.last = performance.now();
    this.windowStart = this.last;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The worst lag over the current and previous window, in ms; also counts time since the last tick. */
  lagMs(): number {
    const sinceTick = performance.now() - this.last - this.intervalMs;
    return Math.max(this.windowMax, this.previousWindowMax, sinceTick, 0);
  }

  private tick(): void {
    const now = performance.now();
    const lag = Math.max(0, now - this.last - this.intervalMs);
    this.last = now;
    if (lag > this.windowMax) this.windowMax = lag;
    if (now - this.windowStart >= this.windowMs) {
      this.previousWindowMax = this.windowMax;
      this.windowMax = 0;
      this.windowStart = now;
    }
    this.gauge.set(this.lagMs() / 1000);
  }
}
