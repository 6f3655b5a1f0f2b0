/**
 * Listens for incoming H.323 calls (the callSignalAddress we advertise in RCF/LCF). Each TCP
 * connection gets an incoming H323Call; once its Setup is valid the call is handed to `onCall`
 * (the app rings, answers or rejects it). Connections that never send a valid Setup are answered
 * with ReleaseComplete where possible and closed without reaching the app.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { H323Call, type CallOptions } from './call.js';
import type { TransportAddressValue } from '../h225/common-types.js';
import { ipTransport } from '../h225/codec.js';

export interface ListenerOptions {
  readonly host?: string;
  /** 0 = ephemeral (tests); 1720 in production. */
  readonly port?: number;
  /** Options for each incoming call (may depend on nothing but the connection). */
  readonly callOptions: CallOptions | ((socket: Socket) => CallOptions);
  readonly onCall: (call: H323Call) => void;
}

export class H323Listener {
  private readonly server: Server;
  readonly calls = new Set<H323Call>();

  constructor(private readonly o: ListenerOptions) {
    this.server = createServer((socket) => this.onConnection(socket));
    this.server.on('error', () => undefined);
  }

  async listen(): Promise<{ host: string; port: number }> {
    this.server.listen(this.o.port ?? 1720, this.o.host ?? '0.0.0.0');
    await once(this.server, 'listening');
    return this.address();
  }

  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('listener not bound');
    return { host: a.address, port: a.port };
  }

  /**
   * The callSignalAddress to advertise (RRQ/LCF). `publicHost` replaces a wildcard bind address.
   */
  callSignalAddress(publicHost?: string): TransportAddressValue {
    const a = this.address();
    return ipTransport(publicHost ?? (a.host === '0.0.0.0' ? '127.0.0.1' : a.host), a.port);
  }

  private onConnection(socket: Socket): void {
    socket.on('error', () => undefined);
    const opts = typeof this.o.callOptions === 'function' ? this.o.callOptions(socket) : this.o.callOptions;
    const call = new H323Call(socket, 'incoming', opts, (c) => this.o.onCall(c));
    this.calls.add(call);
    call.once('released', () => this.calls.delete(call));
  }

  /** Stop accepting; release every call still up with `cause` (default 16). */
  async close(cause = 16): Promise<void> {
    for (const c of [...this.calls]) c.hangup(cause);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
