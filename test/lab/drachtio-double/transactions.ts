/**
 * RFC 3261 transaction timers for the double. Server transactions absorb retransmitted requests
 * (answering with the last response) and retransmit INVITE finals over UDP until the ACK;
 * client transactions retransmit requests over UDP (timers A/E), time out (B/F) and linger to
 * absorb retransmitted responses (D/K).
 */
import type net from 'node:net';
import type { SipTransportName } from './transport.js';
import type { SipMessage } from './sip-message.js';

export interface SipTimers {
  /** RTT estimate, default 500 ms; tests shorten it. */
  t1: number;
  /** Cap for non-INVITE and final-response retransmission intervals, default 4 s. */
  t2: number;
  /** Max lifetime of a message in the network, default 5 s (timers I/K). */
  t4: number;
}

export const DEFAULT_TIMERS: SipTimers = { t1: 500, t2: 4000, t4: 5000 };

export interface Peer {
  transport: SipTransportName;
  address: string;
  port: number;
  conn?: net.Socket;
}

/** Owns a set of timers so a transaction can be torn down in one call. */
export class TimerSet {
  private handles = new Set<NodeJS.Timeout>();
  after(ms: number, fn: () => void): void {
    const h = setTimeout(() => {
      this.handles.delete(h);
      fn();
    }, ms);
    h.unref();
    this.handles.add(h);
  }
  clear(): void {
    for (const h of this.handles) clearTimeout(h);
    this.handles.clear();
  }
}

export type ServerTxnState = 'proceeding' | 'completed' | 'confirmed' | 'terminated';

export class ServerTransaction {
  state: ServerTxnState = 'proceeding';
  lastResponse?: string;
  /** To-tag this transaction answers with (shared by all its responses). */
  toTag?: string;
  dialogId = '';
  /** Set when the app owning the request has been told; used for CANCEL reporting. */
  appId?: number;
  /** Wire time the request arrived (cdr:stop on BYE carries it). */
  receivedAt?: string;
  /** The request as passed to the app (for CDRs). */
  rawRequest?: string;
  readonly timers = new TimerSet();
  readonly createdAt = Date.now();

  constructor(
    readonly id: string,
    readonly key: string,
    readonly request: SipMessage,
    readonly rawBytes: number,
    readonly peer: Peer,
    private readonly cfg: SipTimers,
    private readonly resend: (data: string) => void,
    private readonly onTerminated: (t: ServerTransaction) => void,
  ) {}

  get method(): string {
    return this.request.method!;
  }

  /** A copy of the request arrived again. */
  onRetransmission(): void {
    if (this.lastResponse && this.state !== 'confirmed' && this.state !== 'terminated') this.resend(this.lastResponse);
  }

  /** Record a response that has been sent and start the timers it implies. */
  responded(status: number, data: string): void {
    this.lastResponse = data;
    if (status < 200) return;
    this.state = 'completed';
    const udp = this.peer.transport === 'udp';
    if (this.method === 'INVITE') {
      // 2xx and non-2xx finals alike are retransmitted until the ACK (2xx by the core, G for non-2xx)
      if (udp) this.scheduleFinalRetransmit(this.cfg.t1);
      this.timers.after(64 * this.cfg.t1, () => this.terminate()); // timer H / 2xx give-up
    } else {
      // timer J: keep answering retransmissions for 64*T1 over UDP
      this.timers.after(udp ? 64 * this.cfg.t1 : 0, () => this.terminate());
    }
  }

  private scheduleFinalRetransmit(interval: number): void {
    this.timers.after(interval, () => {
      if (this.state !== 'completed' || !this.lastResponse) return;
      this.resend(this.lastResponse);
      this.scheduleFinalRetransmit(Math.min(2 * interval, this.cfg.t2));
    });
  }

  /** ACK for the final response arrived. */
  acked(): void {
    if (this.state !== 'completed') return;
    this.state = 'confirmed';
    this.timers.clear();
    // timer I: absorb ACK retransmissions for T4 over UDP
    this.timers.after(this.peer.transport === 'udp' ? this.cfg.t4 : 0, () => this.terminate());
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.timers.clear();
    this.onTerminated(this);
  }
}

export type ClientTxnState = 'calling' | 'proceeding' | 'completed' | 'terminated';

export class ClientTransaction {
  state: ClientTxnState = 'calling';
  /** ACK the double generated for a non-2xx final (resent on retransmitted finals). */
  ack?: string;
  readonly timers = new TimerSet();

  constructor(
    readonly id: string,
    readonly branch: string,
    readonly request: SipMessage,
    readonly data: string,
    readonly peer: Peer,
    readonly appId: number,
    readonly dialogId: string,
    private readonly cfg: SipTimers,
    private readonly resend: (data: string) => void,
    private readonly onTimeout: (t: ClientTransaction) => void,
    private readonly onTerminated: (t: ClientTransaction) => void,
  ) {}

  get method(): string {
    return this.request.method!;
  }

  start(): void {
    const udp = this.peer.transport === 'udp';
    if (udp) this.scheduleRetransmit(this.cfg.t1);
    // timer B (INVITE) / F (non-INVITE)
    this.timers.after(64 * this.cfg.t1, () => {
      if (this.state === 'calling' || (this.state === 'proceeding' && this.method !== 'INVITE')) {
        this.state = 'terminated';
        this.timers.clear();
        this.onTimeout(this);
        this.onTerminated(this);
      }
    });
  }

  private scheduleRetransmit(interval: number): void {
    this.timers.after(interval, () => {
      const invite = this.method === 'INVITE';
      if (this.state === 'calling' || (!invite && this.state === 'proceeding')) {
        this.resend(this.data);
        // timer A doubles without cap; timer E doubles up to T2 (T2 once proceeding)
        const next = invite ? 2 * interval : this.state === 'proceeding' ? this.cfg.t2 : Math.min(2 * interval, this.cfg.t2);
        this.scheduleRetransmit(next);
      }
    });
  }

  /** A response matched this transaction; returns false if it is a retransmission to absorb. */
  onResponse(status: number): boolean {
    if (this.state === 'terminated') return false;
    if (this.state === 'completed') {
      if (this.ack) this.resend(this.ack);
      return false;
    }
    if (status < 200) {
      this.state = 'proceeding';
      return true;
    }
    this.timers.clear();
    const udp = this.peer.transport === 'udp';
    if (this.method === 'INVITE' && status < 300) {
      // 2xx ends the INVITE client transaction; the ACK is the app's (end-to-end) business
      this.state = 'terminated';
      this.onTerminated(this);
      return true;
    }
    this.state = 'completed';
    // timer D (INVITE: 64*T1, i.e. 32 s at the default T1) / K (T4)
    const linger = !udp ? 0 : this.method === 'INVITE' ? 64 * this.cfg.t1 : this.cfg.t4;
    this.timers.after(linger, () => this.terminate());
    return true;
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.timers.clear();
    this.onTerminated(this);
  }
}
