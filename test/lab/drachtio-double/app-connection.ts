/**
 * One drachtio-srf app on the control port: framing and authentication state (its routes are
 * entries in the double's RouteTable, routes.ts).
 * Framing errors end this link only; other apps and SIP keep being served.
 */
import type net from 'node:net';
import { EventEmitter } from 'node:events';
import { FrameDecoder, encodeFrame } from './framing.js';
import { parseWire, WireParseError, type WireMessage } from './wire.js';

export interface AppConnectionEvents {
  message: [WireMessage];
  /** A payload that framed correctly but is not a protocol message (answered by the caller). */
  garbage: [string, string];
  /** Framing lost: the link is being closed. */
  framingError: [string];
  frameIn: [string];
  frameOut: [string];
  close: [];
}

export class AppConnection extends EventEmitter<AppConnectionEvents> {
  authenticated = false;
  private readonly decoder = new FrameDecoder();
  closed = false;

  constructor(readonly id: number, private readonly socket: net.Socket) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => {
      /* close follows */
    });
    socket.on('close', () => {
      this.closed = true;
      this.emit('close');
    });
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  private onData(chunk: Buffer): void {
    for (const ev of this.decoder.push(chunk)) {
      if (ev.kind === 'error') {
        this.emit('framingError', ev.reason);
        this.socket.destroy();
        return;
      }
      this.emit('frameIn', ev.payload);
      let msg: WireMessage;
      try {
        msg = parseWire(ev.payload);
      } catch (err) {
        if (err instanceof WireParseError) {
          this.emit('garbage', ev.payload, err.message);
          continue;
        }
        throw err;
      }
      this.emit('message', msg);
    }
  }

  send(payload: string): void {
    if (this.closed || this.socket.destroyed) return;
    this.emit('frameOut', payload);
    this.socket.write(encodeFrame(payload));
  }

  /** Send then close (wrong secret). */
  sendAndClose(payload: string): void {
    this.send(payload);
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
