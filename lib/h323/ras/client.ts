/**
 * RAS client toward GnuGk: LRQ to locate an H.323 alias, optional registration as a gateway
 * (GRQ/RRQ with prefixes, lightweight keep-alive RRQ before timeToLive runs out, URQ on stop),
 * ARQ/DRQ while registered, and answers to the gatekeeper's IRQ/DRQ/URQ.
 *
 * Retransmission follows H.225.0 (the recommended timeouts/retry counts of its RAS timer table):
 * a retry repeats the identical datagram, same requestSeqNum; a RequestInProgress replaces the
 * running timer with its delay.
 */
import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { componentLogger } from '../../log/logger.js';
import type { AliasAddressValue, VendorIdentifierValue } from '../h225/common-types.js';
import {
  GATEWAY_VENDOR,
  H225_PROTOCOL_ID,
  aliasFromString,
  encodeRas,
  gatewayEndpointType,
  ipAddress,
  ras,
  rasType,
  requestSeqNum,
  transportHostPort,
  type HostPort,
} from './messages.js';
import { rasMetrics, type RasMetrics } from './metrics.js';
import type { RasMessageType, RasMessageValue } from './schema.js';
import { UdpRasTransport, type RasTransport } from './transport.js';

export type RequestType = 'gatekeeperRequest' | 'registrationRequest' | 'unregistrationRequest' | 'admissionRequest' | 'disengageRequest' | 'locationRequest';

export interface RasTimer {
  /** Time to wait for an answer before retransmitting (ms). */
  readonly timeoutMs: number;
  /** Retransmissions after the first attempt. */
  readonly retries: number;
}

/** H.225.0 recommended defaults (timeout, retry count) per request. */
export const H225_TIMERS: Readonly<Record<RequestType, RasTimer>> = {
  gatekeeperRequest: { timeoutMs: 5000, retries: 2 },
  registrationRequest: { timeoutMs: 3000, retries: 2 },
  unregistrationRequest: { timeoutMs: 3000, retries: 1 },
  admissionRequest: { timeoutMs: 5000, retries: 2 },
  disengageRequest: { timeoutMs: 3000, retries: 2 },
  locationRequest: { timeoutMs: 5000, retries: 2 },
};

const ANSWERS: Readonly<Record<RequestType, readonly RasMessageType[]>> = {
  gatekeeperRequest: ['gatekeeperConfirm', 'gatekeeperReject'],
  registrationRequest: ['registrationConfirm', 'registrationReject'],
  unregistrationRequest: ['unregistrationConfirm', 'unregistrationReject'],
  admissionRequest: ['admissionConfirm', 'admissionReject'],
  disengageRequest: ['disengageConfirm', 'disengageReject'],
  locationRequest: ['locationConfirm', 'locationReject'],
};

export class RasTimeoutError extends Error {
  constructor(readonly request: RequestType) {
    super(`${request}: no answer from gatekeeper`);
    this.name = 'RasTimeoutError';
  }
}

export class RasRejectError extends Error {
  constructor(
    readonly request: RequestType,
    readonly reason: string,
  ) {
    super(`${request} rejected: ${reason}`);
    this.name = 'RasRejectError';
  }
}

export interface RasClientOptions {
  /** GnuGk's RAS address. */
  readonly gatekeeper: HostPort;
  /** Socket to use (e.g. the neighbour responder's); default: a new one on `bind`. */
  readonly transport?: RasTransport;
  readonly bind?: HostPort;
  /** Our RAS address as the gatekeeper should see it; default: the socket address. */
  readonly rasAddress?: HostPort;
  /** The gateway's H.225 call signalling address. */
  readonly callSignalAddress: HostPort;
  readonly timers?: Partial<Record<RequestType, RasTimer>>;
  readonly vendor?: VendorIdentifierValue;
  readonly registry?: Registry;
}

export interface RegistrationOptions {
  readonly aliases: readonly string[];
  readonly prefixes: readonly string[];
  readonly gatekeeperId?: string;
  /** Requested registration lifetime (s); GnuGk may shorten it in RCF. Default 300. */
  readonly timeToLive?: number;
  /** Send GRQ first (default true). */
  readonly discover?: boolean;
  /** Fraction of timeToLive after which the keep-alive RRQ goes out (default 0.75). */
  readonly keepAliveFactor?: number;
}

export interface Registration {
  readonly endpointIdentifier: string;
  readonly gatekeeperIdentifier?: string;
  readonly timeToLive?: number;
}

export type LocateResult =
  | { readonly found: true; readonly callSignalAddress: HostPort; readonly rasAddress?: HostPort; readonly destinationInfo?: AliasAddressValue[] }
  | { readonly found: false; readonly reason: string };

export interface AdmitRequest {
  readonly destination: string;
  readonly source?: readonly string[];
  readonly callIdentifier: Uint8Array;
  readonly conferenceID: Uint8Array;
  readonly callReferenceValue: number;
  /** In units of 100 bit/s, as H.225 counts. */
  readonly bandWidth: number;
  readonly answerCall: boolean;
}

export type AdmitResult =
  | { readonly admitted: true; readonly destCallSignalAddress?: HostPort; readonly callModel: string; readonly bandWidth: number }
  | { readonly admitted: false; readonly reason: string };

export interface DisengageRequest {
  readonly callIdentifier: Uint8Array;
  readonly conferenceID: Uint8Array;
  readonly callReferenceValue: number;
  readonly answeredCall: boolean;
  readonly reason?: 'normalDrop' | 'forcedDrop' | 'undefinedReason';
}

interface Pending {
  readonly type: RequestType;
  readonly bytes: Uint8Array;
  readonly to: HostPort;
  retriesLeft: number;
  timer: NodeJS.Timeout | undefined;
  readonly resolve: (m: RasMessageValue) => void;
  readonly reject: (e: Error) => void;
}

export interface RasClientEvents {
  registered: [Registration];
  unregistered: [reason: string];
  /** The gatekeeper dropped a call (DRQ): callIdentifier as hex. */
  disengage: [callId: string];
}

export class RasClient extends EventEmitter<RasClientEvents> {
  private transport: RasTransport | undefined;
  private readonly log = componentLogger('h323-ras-client');
  private readonly metrics: RasMetrics;
  private readonly pending = new Map<number, Pending>();
  private seq = Math.floor(Math.random() * 60000) + 1;
  private gkRas: HostPort;
  private registration: Registration | undefined;
  private regOpts: RegistrationOptions | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Set as soon as stop() begins, so no keep-alive is scheduled while the URQ is out. */
  private closing = false;

  constructor(private readonly opts: RasClientOptions) {
    super();
    this.metrics = rasMetrics(opts.registry);
    this.gkRas = opts.gatekeeper;
  }

  async start(): Promise<void> {
    this.transport = this.opts.transport ?? (await UdpRasTransport.open(this.opts.bind, this.opts.registry));
    this.transport.setHandler((m, from) => this.onMessage(m, from));
  }

  get registered(): Registration | undefined {
    return this.registration;
  }

  private ourRas(): HostPort {
    return this.opts.rasAddress ?? this.transport!.address();
  }

  private nextSeq(): number {
    for (let i = 0; i < 65535; i++) {
      this.seq = (this.seq % 65535) + 1;
      if (!this.pending.has(this.seq)) return this.seq;
    }
    throw new Error('no free RAS sequence number');
  }

  private timer(type: RequestType): RasTimer {
    return this.opts.timers?.[type] ?? H225_TIMERS[type];
  }

  /** Sends a request and resolves with the gatekeeper's confirm or reject. */
  private request(type: RequestType, build: (seq: number) => RasMessageValue, to: HostPort = this.gkRas): Promise<RasMessageValue> {
    if (!this.transport || this.stopped) return Promise.reject(new Error('RAS client not started'));
    const seq = this.nextSeq();
    const bytes = encodeRas(build(seq));
    return new Promise((resolve, reject) => {
      const p: Pending = { type, bytes, to, retriesLeft: this.timer(type).retries, timer: undefined, resolve, reject };
      this.pending.set(seq, p);
      this.transmit(seq, p, this.timer(type).timeoutMs);
    });
  }

  private transmit(seq: number, p: Pending, waitMs: number): void {
    this.metrics.messages.inc({ direction: 'out', type: p.type });
    this.transport!.send(p.bytes, p.to);
    this.arm(seq, p, waitMs);
  }

  private arm(seq: number, p: Pending, waitMs: number): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      if (p.retriesLeft > 0) {
        p.retriesLeft--;
        this.transmit(seq, p, this.timer(p.type).timeoutMs);
        return;
      }
      this.pending.delete(seq);
      this.metrics.timeouts.inc({ type: p.type });
      p.reject(new RasTimeoutError(p.type));
    }, waitMs);
  }

  private onMessage(msg: RasMessageValue, from: HostPort): void {
    const type = rasType(msg);
    const seq = requestSeqNum(msg);
    if (type === undefined || seq === undefined) return;
    switch (type) {
      case 'infoRequest':
        return this.answerIrq(msg, from);
      case 'disengageRequest':
        return this.answerDrq(msg, from);
      case 'unregistrationRequest':
        return this.answerUrq(msg, from);
      default:
        break;
    }
    const p = this.pending.get(seq);
    if (!p) return;
    if (type === 'requestInProgress' && msg.choice === 'requestInProgress') {
      // The gatekeeper is working on it: wait `delay` ms instead of retransmitting.
      this.arm(seq, p, msg.value.delay);
      return;
    }
    if (!ANSWERS[p.type].includes(type)) return;
    clearTimeout(p.timer);
    this.pending.delete(seq);
    if (type.endsWith('Reject')) {
      const reason = (msg.value as { rejectReason?: { choice: string } }).rejectReason?.choice ?? 'unknown';
      this.metrics.rejects.inc({ direction: 'in', type, reason });
    }
    p.resolve(msg);
  }

  // --- location -------------------------------------------------------------------------------

  /** Asks the gatekeeper where an alias lives (LRQ); GnuGk answers only configured neighbours. */
  async locate(alias: string | readonly AliasAddressValue[], source: readonly string[] = []): Promise<LocateResult> {
    const destinationInfo = typeof alias === 'string' ? [aliasFromString(alias)] : [...alias];
    const me = this.ourRas();
    let answer: RasMessageValue;
    try {
      answer = await this.request('locationRequest', (seq) =>
        ras('locationRequest', {
          requestSeqNum: seq,
          destinationInfo,
          replyAddress: ipAddress(me.host, me.port),
          ...(source.length > 0 ? { sourceInfo: source.map(aliasFromString) } : {}),
          canMapAlias: true,
          ...(this.registration?.gatekeeperIdentifier ? { gatekeeperIdentifier: this.registration.gatekeeperIdentifier } : {}),
          canMapSrcAlias: false,
        }),
      );
    } catch (err) {
      if (err instanceof RasTimeoutError) return { found: false, reason: 'timeout' };
      throw err;
    }
    if (answer.choice === 'locationConfirm') {
      const csa = transportHostPort(answer.value.callSignalAddress);
      if (!csa) return { found: false, reason: 'unsupportedAddress' };
      const rasHp = transportHostPort(answer.value.rasAddress);
      return {
        found: true,
        callSignalAddress: csa,
        ...(rasHp ? { rasAddress: rasHp } : {}),
        ...(answer.value.destinationInfo ? { destinationInfo: answer.value.destinationInfo } : {}),
      };
    }
    if (answer.choice === 'locationReject') return { found: false, reason: answer.value.rejectReason.choice };
    return { found: false, reason: 'unexpectedAnswer' };
  }

  // --- registration ---------------------------------------------------------------------------

  /** GRQ (optional) + RRQ as a gateway with prefixes; keeps the registration alive until stop(). */
  async register(r: RegistrationOptions): Promise<Registration> {
    this.regOpts = r;
    let gkId = r.gatekeeperId;
    const me = this.ourRas();
    if (r.discover !== false) {
      const gcf = await this.request('gatekeeperRequest', (seq) =>
        ras('gatekeeperRequest', {
          requestSeqNum: seq,
          protocolIdentifier: H225_PROTOCOL_ID,
          rasAddress: ipAddress(me.host, me.port),
          endpointType: gatewayEndpointType(r.prefixes, this.opts.vendor ?? GATEWAY_VENDOR),
          ...(gkId ? { gatekeeperIdentifier: gkId } : {}),
          ...(r.aliases.length ? { endpointAlias: r.aliases.map(aliasFromString) } : {}),
          supportsAssignedGK: false,
        }),
      );
      if (gcf.choice === 'gatekeeperReject') throw new RasRejectError('gatekeeperRequest', gcf.value.rejectReason.choice);
      if (gcf.choice === 'gatekeeperConfirm') {
        gkId = gcf.value.gatekeeperIdentifier ?? gkId;
        // H.225: further RAS goes to the rasAddress the gatekeeper named in GCF.
        this.gkRas = transportHostPort(gcf.value.rasAddress) ?? this.gkRas;
      }
    }
    return this.sendRrq(r, gkId, false);
  }

  private async sendRrq(r: RegistrationOptions, gkId: string | undefined, keepAlive: boolean): Promise<Registration> {
    const me = this.ourRas();
    const csa = this.opts.callSignalAddress;
    const prev = this.registration;
    const rcf = await this.request('registrationRequest', (seq) =>
      ras('registrationRequest', {
        requestSeqNum: seq,
        protocolIdentifier: H225_PROTOCOL_ID,
        discoveryComplete: r.discover !== false,
        callSignalAddress: [ipAddress(csa.host, csa.port)],
        rasAddress: [ipAddress(me.host, me.port)],
        terminalType: gatewayEndpointType(r.prefixes, this.opts.vendor ?? GATEWAY_VENDOR),
        ...(!keepAlive && r.aliases.length ? { terminalAlias: r.aliases.map(aliasFromString) } : {}),
        ...(gkId ? { gatekeeperIdentifier: gkId } : {}),
        endpointVendor: this.opts.vendor ?? GATEWAY_VENDOR,
        timeToLive: prev?.timeToLive ?? r.timeToLive ?? 300,
        keepAlive,
        ...(keepAlive && prev ? { endpointIdentifier: prev.endpointIdentifier } : {}),
        willSupplyUUIEs: false,
        maintainConnection: false,
        supportsAssignedGK: false,
      }),
    );
    if (rcf.choice === 'registrationReject') throw new RasRejectError('registrationRequest', rcf.value.rejectReason.choice);
    if (rcf.choice !== 'registrationConfirm') throw new Error('unexpected answer to RRQ');
    const reg: Registration = {
      endpointIdentifier: rcf.value.endpointIdentifier,
      ...(rcf.value.gatekeeperIdentifier ?? gkId ? { gatekeeperIdentifier: rcf.value.gatekeeperIdentifier ?? gkId } : {}),
      ...(rcf.value.timeToLive !== undefined ? { timeToLive: rcf.value.timeToLive } : {}),
    };
    this.registration = reg;
    this.scheduleKeepAlive(r);
    if (!keepAlive) this.emit('registered', reg);
    return reg;
  }

  private scheduleKeepAlive(r: RegistrationOptions): void {
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    const ttl = this.registration?.timeToLive;
    if (!ttl || this.closing) return;
    const ms = Math.max(50, ttl * 1000 * (r.keepAliveFactor ?? 0.75));
    this.keepAliveTimer = setTimeout(() => {
      this.keepAliveTimer = undefined;
      this.sendRrq(r, this.registration?.gatekeeperIdentifier, true).catch((err: Error) => {
        // Lightweight RRQ refused or lost: register in full again.
        this.log.warn('keep-alive RRQ failed, registering again', { err: err.message });
        if (this.closing) return;
        this.registration = undefined;
        this.register(r).catch((e: Error) => this.log.error('re-registration failed', { err: e.message }));
      });
    }, ms);
  }

  // --- admission ------------------------------------------------------------------------------

  async admit(a: AdmitRequest): Promise<AdmitResult> {
    const reg = this.requireRegistration();
    const csa = this.opts.callSignalAddress;
    const answer = await this.request('admissionRequest', (seq) =>
      ras('admissionRequest', {
        requestSeqNum: seq,
        callType: { choice: 'pointToPoint', value: null },
        endpointIdentifier: reg.endpointIdentifier,
        destinationInfo: [aliasFromString(a.destination)],
        srcInfo: (a.source ?? this.regOpts?.aliases ?? []).map(aliasFromString),
        srcCallSignalAddress: ipAddress(csa.host, csa.port),
        bandWidth: a.bandWidth,
        callReferenceValue: a.callReferenceValue,
        conferenceID: a.conferenceID,
        activeMC: false,
        answerCall: a.answerCall,
        canMapAlias: true,
        callIdentifier: { guid: a.callIdentifier },
        ...(reg.gatekeeperIdentifier ? { gatekeeperIdentifier: reg.gatekeeperIdentifier } : {}),
        willSupplyUUIEs: false,
        canMapSrcAlias: false,
      }),
    );
    if (answer.choice === 'admissionConfirm') {
      const dest = transportHostPort(answer.value.destCallSignalAddress);
      return { admitted: true, callModel: answer.value.callModel.choice, bandWidth: answer.value.bandWidth, ...(dest ? { destCallSignalAddress: dest } : {}) };
    }
    if (answer.choice === 'admissionReject') return { admitted: false, reason: answer.value.rejectReason.choice };
    return { admitted: false, reason: 'unexpectedAnswer' };
  }

  async disengage(d: DisengageRequest): Promise<void> {
    const reg = this.requireRegistration();
    const answer = await this.request('disengageRequest', (seq) =>
      ras('disengageRequest', {
        requestSeqNum: seq,
        endpointIdentifier: reg.endpointIdentifier,
        conferenceID: d.conferenceID,
        callReferenceValue: d.callReferenceValue,
        disengageReason: { choice: d.reason ?? 'normalDrop', value: null },
        callIdentifier: { guid: d.callIdentifier },
        ...(reg.gatekeeperIdentifier ? { gatekeeperIdentifier: reg.gatekeeperIdentifier } : {}),
        answeredCall: d.answeredCall,
      }),
    );
    if (answer.choice === 'disengageReject') throw new RasRejectError('disengageRequest', answer.value.rejectReason.choice);
  }

  private requireRegistration(): Registration {
    if (!this.registration) throw new Error('not registered with the gatekeeper');
    return this.registration;
  }

  // --- requests from the gatekeeper -----------------------------------------------------------

  private reply(msg: RasMessageValue, to: HostPort): void {
    this.metrics.messages.inc({ direction: 'out', type: rasType(msg) ?? 'unknown' });
    this.transport?.send(encodeRas(msg), to);
  }

  private answerIrq(msg: RasMessageValue, from: HostPort): void {
    if (msg.choice !== 'infoRequest') return;
    const reg = this.registration;
    if (!reg || !this.regOpts) {
      this.reply(ras('infoRequestNak', { requestSeqNum: msg.value.requestSeqNum, nakReason: { choice: 'notRegistered', value: null } }), from);
      return;
    }
    const me = this.ourRas();
    const csa = this.opts.callSignalAddress;
    const to = (msg.value.replyAddress && transportHostPort(msg.value.replyAddress)?.host === from.host && transportHostPort(msg.value.replyAddress)) || from;
    this.reply(
      ras('infoRequestResponse', {
        requestSeqNum: msg.value.requestSeqNum,
        endpointType: gatewayEndpointType(this.regOpts.prefixes, this.opts.vendor ?? GATEWAY_VENDOR),
        endpointIdentifier: reg.endpointIdentifier,
        rasAddress: ipAddress(me.host, me.port),
        callSignalAddress: [ipAddress(csa.host, csa.port)],
        ...(this.regOpts.aliases.length ? { endpointAlias: this.regOpts.aliases.map(aliasFromString) } : {}),
        needResponse: false,
        unsolicited: false,
      }),
      to,
    );
  }

  private answerDrq(msg: RasMessageValue, from: HostPort): void {
    if (msg.choice !== 'disengageRequest') return;
    this.reply(ras('disengageConfirm', { requestSeqNum: msg.value.requestSeqNum }), from);
    this.emit('disengage', Buffer.from(msg.value.callIdentifier?.guid ?? new Uint8Array(16)).toString('hex'));
  }

  private answerUrq(msg: RasMessageValue, from: HostPort): void {
    if (msg.choice !== 'unregistrationRequest') return;
    this.reply(ras('unregistrationConfirm', { requestSeqNum: msg.value.requestSeqNum }), from);
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    this.registration = undefined;
    this.emit('unregistered', msg.value.reason?.choice ?? 'gatekeeper');
  }

  // --- shutdown -------------------------------------------------------------------------------

  /** URQ if registered (best effort), then closes the socket if we opened it. */
  async stop(): Promise<void> {
    this.closing = true;
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    const reg = this.registration;
    if (reg && this.transport && !this.stopped) {
      const csa = this.opts.callSignalAddress;
      try {
        await this.request('unregistrationRequest', (seq) =>
          ras('unregistrationRequest', {
            requestSeqNum: seq,
            callSignalAddress: [ipAddress(csa.host, csa.port)],
            ...(this.regOpts?.aliases.length ? { endpointAlias: this.regOpts.aliases.map(aliasFromString) } : {}),
            endpointIdentifier: reg.endpointIdentifier,
            ...(reg.gatekeeperIdentifier ? { gatekeeperIdentifier: reg.gatekeeperIdentifier } : {}),
          }),
        );
      } catch (err) {
        this.log.warn('URQ failed', { err: (err as Error).message });
      }
      this.registration = undefined;
    }
    this.stopped = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('RAS client stopped'));
    }
    this.pending.clear();
    if (!this.opts.transport && this.transport) await this.transport.close();
    this.transport = undefined;
  }
}
