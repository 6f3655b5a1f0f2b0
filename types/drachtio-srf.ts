/**
 * What drachtio-srf 5.0.x does but its shipped typings omit, in one place. Its typings are an
 * `export =` class, which TypeScript will not let us augment, so the gaps are declared here and
 * the library object is viewed through them with one cast.
 */
import Srf from 'drachtio-srf';

export interface SrfReconnectOptions {
  /** Cap of the exponential backoff (srf starts at 150 ms, x1.7 per attempt, uncapped by default). */
  retryMaxDelay?: number;
  maxAttempts?: number;
  connectTimeout?: number;
}

export interface SrfConnectOptions extends Srf.SrfConfig {
  reconnect?: SrfReconnectOptions;
}

export type SrfRequest = Srf.SrfRequest;
export type SrfResponse = Srf.SrfResponse;
export type SrfDialog = Srf.Dialog;
export type SrfNext = (err?: unknown) => void;
export type SrfMiddleware = (req: SrfRequest, res: SrfResponse, next: SrfNext) => void;

/** A request the app sent (srf.request): its responses arrive as events. */
export interface SentRequest {
  on(event: 'response', cb: (res: SrfResponse) => void): void;
}

export interface OutgoingRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** Outbound proxy: the request goes there whatever its Request-URI (srf's `proxy` option). */
  proxy?: string;
}

/** Dialog#request, whose shipped typing wants a whole SrfRequest as options. */
export function dialogRequest(d: SrfDialog, opts: OutgoingRequest): Promise<SrfResponse> {
  return (d as unknown as { request(o: OutgoingRequest): Promise<SrfResponse> }).request(opts);
}

/** The parts of an Srf instance the gateway uses, including the untyped ones. */
export interface GatewaySrf {
  /** Starts connecting; returns the app object, NOT a promise (srf 5.0.29). Watch 'connect'/'error'. */
  connect(opts: SrfConnectOptions): unknown;
  disconnect(): void;
  use(verb: string, fn: SrfMiddleware | SrfMiddleware[]): void;
  use(fn: SrfMiddleware): void;
  /** Sends `remove_route|<verb>`: drachtio-server stops handing new requests of that verb to us. */
  unregisterForMessages(verb: string): void;
  reregisterForMessages(verb: string): void;
  createB2BUA(req: SrfRequest, res: SrfResponse, uri: string, opts: Srf.CreateB2BUAOptions): Promise<{ uas: SrfDialog; uac: SrfDialog }>;
  createUAS(req: SrfRequest, res: SrfResponse, opts: Srf.CreateUASOptions): Promise<SrfDialog>;
  createUAC(uri: string, opts?: Srf.CreateUACOptions): Promise<SrfDialog>;
  /**
   * An out-of-dialog request (MESSAGE, OPTIONS, a survivor's BYE...) to `uri`. Only the callback
   * form is typed: srf's promise form resolves a microtask after the server's "sent" reply, and a
   * fast far end's answer read in the same chunk is emitted before anyone listens for it. Throws
   * at once when there is no connection to drachtio-server.
   */
  request(uri: string, opts: OutgoingRequest, cb: (err: Error | null, sent?: SentRequest) => void): void;
  on(event: 'connect', listener: (err: Error | null, hostport: string) => void): this;
  on(event: 'reconnecting', listener: (info: { delay: number; attempt: number }) => void): this;
  on(event: 'close' | 'disconnect', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: string, listener: (req: SrfRequest, res: SrfResponse) => void): this;
  removeAllListeners(event?: string): this;
}

export function createSrf(): GatewaySrf {
  return new Srf() as unknown as GatewaySrf;
}
