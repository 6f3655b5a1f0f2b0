/**
 * Socket tuning for signalling connections: TCP_NODELAY (always; small latency-sensitive
 * messages) and DSCP marking. Node.js has no API for IP_TOS, so DSCP goes through a pluggable
 * `setDscp` hook (e.g. a native addon); without one, the configured value is reported once and
 * marking must be done by the host (iptables/nft `DSCP --set-dscp`, see docs in the report).
 */
import type { Socket } from 'node:net';
import { componentLogger } from '../../log/logger.js';

export interface SocketOptions {
  /** DSCP code point 0..63 (e.g. 26 = AF31, 46 = EF). */
  readonly dscp?: number;
  /** Applies the DSCP to a socket; returns false when it could not. */
  readonly setDscp?: (socket: Socket, dscp: number) => boolean;
}

let warned = false;

export function validDscp(d: number): boolean {
  return Number.isInteger(d) && d >= 0 && d <= 63;
}

export function applySocketOptions(socket: Socket, o: SocketOptions | undefined): void {
  socket.setNoDelay(true);
  if (o?.dscp === undefined) return;
  if (!validDscp(o.dscp)) throw new RangeError(`DSCP must be 0..63, got ${o.dscp}`);
  const ok = o.setDscp ? o.setDscp(socket, o.dscp) : false;
  if (!ok && !warned) {
    warned = true;
    componentLogger('h323-call').warn('DSCP marking not applied by the runtime; mark signalling with the host firewall', { dscp: o.dscp });
  }
}
