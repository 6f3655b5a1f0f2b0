/**
 * Places an outgoing H.323 call to a call-signalling address (from LCF/ACF): connects TCP
 * (TCP_NODELAY, DSCP per options), then sends Setup. A connection failure releases the call with
 * cause 27 (destination out of order), so callers only ever wait for events on the call.
 */
import { connect } from 'node:net';
import { H323Call, type CallOptions, type DialTarget } from './call.js';
import type { TransportAddressValue } from '../h225/common-types.js';
import { transportToHostPort } from '../h225/codec.js';

export interface DialOptions extends CallOptions {
  readonly host: string;
  readonly port: number;
  readonly target?: DialTarget;
  /** TCP connect timeout (default 5 s). */
  readonly connectTimeoutMs?: number;
}

export function dial(o: DialOptions): H323Call {
  const socket = connect({ host: o.host, port: o.port });
  socket.on('error', () => undefined);
  const call = new H323Call(socket, 'outgoing', o);
  const timers = o.timers;
  let timer: unknown;
  const clear = (): void => {
    if (timer !== undefined) (timers ?? { clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) }).clearTimeout(timer);
    timer = undefined;
  };
  const ms = o.connectTimeoutMs ?? 5000;
  timer = timers ? timers.setTimeout(() => socket.destroy(), ms) : setTimeout(() => socket.destroy(), ms);
  socket.once('connect', () => {
    clear();
    call.start(o.target ?? {});
  });
  socket.once('close', clear);
  return call;
}

/** Dial the callSignalAddress of an LCF/ACF (IPv4 TransportAddress). Throws on other address kinds. */
export function dialTransport(address: TransportAddressValue, o: Omit<DialOptions, 'host' | 'port'>): H323Call {
  const hp = transportToHostPort(address);
  if (!hp) throw new Error(`cannot dial a ${address.choice} transport address`);
  return dial({ ...o, host: hp.host, port: hp.port });
}
