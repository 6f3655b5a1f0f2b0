/**
 * Places an outgoing H.323 call to a call-signalling address (from LCF/ACF): connects TCP
 * (TCP_NODELAY, DSCP per options), then sends Setup; predial() opens the connection ahead of the
 * call. A connection failure releases the call with
 * cause 27 (destination out of order), so callers only ever wait for events on the call.
 */
import { connect } from 'node:net';
import { H323Call, type CallOptions, type DialTarget } from './call.js';
import type { Timers } from '../tpkt/channel.js';
import type { TransportAddressValue } from '../h225/common-types.js';
import { transportToHostPort } from '../h225/codec.js';

export interface DialOptions extends CallOptions {
  readonly host: string;
  readonly port: number;
  readonly target?: DialTarget;
  /** TCP connect timeout (default 5 s). */
  readonly connectTimeoutMs?: number;
}

/**
 * A TCP connection to a call-signalling address opened before the call is placed on it, so the
 * connect overlaps what must happen before Setup can be written (the gateway has FreeSWITCH make
 * the H.323 leg's endpoint meanwhile: its RTP address goes into the fastStart OLCs).
 */
export interface PendingDial {
  /**
   * Places the call (once): Setup leaves as soon as the connection is up. A connection that
   * already failed is tried once more, so the failure is reported through the call (cause 27)
   * like any other.
   */
  dial(o: Omit<DialOptions, 'host' | 'port'>): H323Call;
  /** Closes the connection when no call will be placed on it (no-op after dial()). */
  abandon(): void;
  /** Where the connection is: still connecting, up, or closed (refused, timed out, abandoned). */
  readonly state: 'connecting' | 'connected' | 'closed';
}

export function predial(host: string, port: number, o: { readonly connectTimeoutMs?: number; readonly timers?: Timers } = {}): PendingDial {
  const socket = connect({ host, port });
  socket.on('error', () => undefined);
  const timers = o.timers;
  let connected = false;
  let closed = false;
  let used = false;
  let timer: unknown;
  const clear = (): void => {
    if (timer !== undefined) (timers ?? { clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) }).clearTimeout(timer);
    timer = undefined;
  };
  const ms = o.connectTimeoutMs ?? 5000;
  timer = timers ? timers.setTimeout(() => socket.destroy(), ms) : setTimeout(() => socket.destroy(), ms);
  socket.once('connect', () => {
    connected = true;
    clear();
  });
  socket.once('close', () => {
    closed = true;
    clear();
  });
  return {
    dial(d) {
      if (used) throw new Error('this connection was already dialled or abandoned');
      used = true;
      // destroyed: failed or timed out, its 'close' event not delivered yet.
      if (closed || socket.destroyed) return predial(host, port, { ...o, ...d }).dial(d);
      const call = new H323Call(socket, 'outgoing', d);
      if (connected) call.start(d.target ?? {});
      else socket.once('connect', () => call.start(d.target ?? {}));
      return call;
    },
    abandon() {
      if (used) return;
      used = true;
      closed = true;
      clear();
      socket.destroy();
    },
    get state() {
      return closed || socket.destroyed ? 'closed' : connected ? 'connected' : 'connecting';
    },
  };
}

/** Connects, then places the call (predial and dial in one). */
export function dial(o: DialOptions): H323Call {
  return predial(o.host, o.port, o).dial(o);
}

/** Dial the callSignalAddress of an LCF/ACF (IPv4 TransportAddress). Throws on other address kinds. */
export function dialTransport(address: TransportAddressValue, o: Omit<DialOptions, 'host' | 'port'>): H323Call {
  const hp = transportToHostPort(address);
  if (!hp) throw new Error(`cannot dial a ${address.choice} transport address`);
  return dial({ ...o, host: hp.host, port: hp.port });
}
