/**
 * A typed view of the parts of drachtio-fsmrf 4.1.x the gateway and its tests use. The package
 * ships no typings, so the module is imported once here and viewed through these interfaces with
 * one cast (same pattern as types/drachtio-srf.ts).
 */
import { createRequire } from 'node:module';
import type { GatewaySrf, SrfDialog, SrfRequest, SrfResponse } from './drachtio-srf.js';

export interface MrfConnectOptions {
  /** FreeSWITCH event socket host. */
  address: string;
  /** Event socket port (default 8021). */
  port?: number;
  /** Event socket password (default ClueCon). */
  secret?: string;
  /**
   * Local address for FreeSWITCH's outbound ESL connections. Set it explicitly: fsmrf defaults to
   * the host's first non-loopback IPv4, which FreeSWITCH on loopback cannot reach.
   */
  listenAddress?: string;
  /** 0 = any free port. */
  listenPort?: number;
  advertisedAddress?: string;
  advertisedPort?: number;
  /** Sofia profile name (default drachtio_mrf). */
  profile?: string;
}

/** A raw ESL event as drachtio-modesl hands it out. */
export interface EslEvent {
  getHeader(name: string): string | undefined;
  getBody(): string;
  headers: Array<{ name: string; value: string }>;
  body?: string;
}

/** The ESL connection object (drachtio-modesl Connection) behind a MediaServer or Endpoint. */
export interface EslConnection {
  api(command: string, args: string | string[], cb: (res: EslEvent) => void): void;
  api(command: string, cb: (res: EslEvent) => void): void;
  connected(): boolean;
  on(event: string, listener: (...args: unknown[]) => void): this;
  removeListener(event: string, listener: (...args: unknown[]) => void): this;
  /** drachtio-modesl internal: the TCP socket (null once closed). */
  readonly socket?: import('node:net').Socket | null;
}

export interface EndpointNetwork {
  sdp?: string;
  mediaIp?: string;
  mediaPort?: string;
}

export interface ConfJoinOptions {
  profile?: string;
  pin?: string;
  /** camelCase flag names; fsmrf turns them into mod_conference flags (endConf -> end-conf). */
  flags?: Record<string, boolean>;
}

export interface PlayResult {
  playbackSeconds?: string;
  playbackMilliseconds?: string;
  playbackLastOffsetPos?: string;
}

export interface ApiResult {
  headers: Array<{ name: string; value: string }>;
  body: string;
}

export interface Endpoint {
  readonly uuid: string;
  readonly local: EndpointNetwork;
  readonly remote: EndpointNetwork;
  readonly sip: { callId?: string };
  readonly conf: { memberId?: number; name?: string; uuid?: string };
  readonly dialog: SrfDialog | null;
  readonly conn: EslConnection | null;
  readonly mediaserver: MediaServer;
  play(file: string | string[]): Promise<PlayResult>;
  execute(app: string, arg?: string): Promise<EslEvent>;
  api(command: string, args?: string | string[]): Promise<ApiResult>;
  set(name: string, value: string): Promise<void>;
  set(vars: Record<string, string>): Promise<void>;
  getChannelVariables(includeMedia?: boolean): Promise<Record<string, string>>;
  join(conf: string | Conference, opts?: ConfJoinOptions): Promise<{ memberId: number; confUuid: string }>;
  bridge(other: Endpoint | string): Promise<void>;
  unbridge(): Promise<void>;
  mute(): Promise<EslEvent>;
  unmute(): Promise<EslEvent>;
  modify(sdp: string): Promise<void>;
  destroy(): Promise<void>;
  on(event: 'destroy', listener: (info?: { reason?: string }) => void): this;
  on(event: 'dtmf', listener: (d: { dtmf: string; duration: string; source?: string }) => void): this;
  on(event: 'playback-start' | 'playback-stop', listener: (d: { file?: string }) => void): this;
  on(event: string, listener: (...args: unknown[]) => void): this;
  removeAllListeners(event?: string): this;
}

export interface ConferenceCreateOptions {
  maxMembers?: number;
  flags?: Record<string, boolean>;
  pin?: string;
  profile?: string;
}

export interface Conference {
  readonly name: string;
  readonly uuid: string;
  readonly memberId: number;
  readonly maxMembers: number;
  readonly endpoint: Endpoint;
  destroy(): Promise<void>;
  getSize(): Promise<number>;
  play(file: string | string[]): Promise<{ seconds: number; milliseconds: number; samples: number }>;
  lock(): Promise<void>;
  unlock(): Promise<void>;
  mute(): Promise<void>;
  unmute(): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): this;
}

export interface ConnectCallerOptions {
  remoteSdp?: string;
  codecs?: string | string[];
  headers?: Record<string, string>;
}

export interface CreateEndpointOptions {
  remoteSdp?: string;
  codecs?: string | string[];
  headers?: Record<string, string>;
  family?: 'ipv4' | 'ipv6';
}

export interface MediaServer {
  /** ESL host connected to. */
  readonly address: string;
  readonly sip: { ipv4: { udp: { address?: string }; dtls: { address?: string } }; ipv6: { udp: { address?: string }; dtls: { address?: string } } };
  readonly maxSessions: number;
  readonly currentSessions: number;
  readonly cps: number;
  readonly listenAddress?: string;
  readonly listenPort?: number;
  readonly conn: EslConnection;
  /** fsmrf internal: the drachtio-modesl Server taking FreeSWITCH's outbound ESL connections. */
  readonly _server?: { readonly server?: import('node:net').Server };
  connected(): boolean;
  api(command: string): Promise<string>;
  createEndpoint(opts?: CreateEndpointOptions): Promise<Endpoint>;
  connectCaller(req: SrfRequest, res: SrfResponse, opts?: ConnectCallerOptions): Promise<{ endpoint: Endpoint; dialog: SrfDialog }>;
  createConference(name: string, opts?: ConferenceCreateOptions): Promise<Conference>;
  createConference(opts?: ConferenceCreateOptions): Promise<Conference>;
  disconnect(): void;
  destroy(): void;
  on(event: 'end' | 'connect' | 'ready', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  removeAllListeners(event?: string): this;
}

export interface MrfOptions {
  debugDir?: string;
  customEvents?: string[];
}

export interface Mrf {
  readonly srf: GatewaySrf;
  readonly localAddresses: string[];
  connect(opts: MrfConnectOptions): Promise<MediaServer>;
}

type MrfCtor = new (srf: unknown, opts?: MrfOptions) => Mrf;

const require = createRequire(import.meta.url);
const MrfClass = require('drachtio-fsmrf') as MrfCtor;

/** `new Mrf(srf)` viewed through the interfaces above. */
export function createMrf(srf: GatewaySrf | object, opts?: MrfOptions): Mrf {
  return new MrfClass(srf, opts);
}
