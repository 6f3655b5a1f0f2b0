/**
 * GnuGk neighbour responder: answers LRQs from configured neighbour gatekeepers with LCF (the
 * gateway's call signalling and RAS address) or LRJ, on its own UDP socket.
 *
 * What GnuGk sends (see test/fixtures/h323/ras): LRQs from its RAS port with replyAddress = that
 * port, retries byte-identical with the same requestSeqNum, and "pings" for the alias
 * gatekeeper-monitoring-check every few seconds; an unanswered ping disables the neighbour.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { componentLogger } from '../../log/logger.js';
import type { AliasAddressValue, TransportAddressValue } from '../h225/common-types.js';
import { PerDecodeError } from '../per/index.js';
import { aliasToString, decodeRas, encodeRas, ipAddress, ras, rasType, transportHostPort, type HostPort } from './messages.js';
import { rasMetrics, type RasMetrics } from './metrics.js';
import { SourceRateLimiter, type RateLimitConfig } from './rate-limit.js';
import type { AliasResolver, LocationAnswer, LrjReason } from './resolver.js';
import type { LocationRequestValue, RasMessageValue } from './schema.js';
import type { RasHandler, RasTransport } from './transport.js';
import type { Registry } from 'prom-client';

export const GNUGK_PING_ALIAS = 'gatekeeper-monitoring-check';

export interface NeighbourPeer {
  /** Name for logs and metrics (e.g. the GnuGk config section). */
  readonly name: string;
  /** Source IPv4 address of its LRQs. */
  readonly host: string;
  /** Source port; any when absent (GnuGk sends from its RAS port, 1719 by default). */
  readonly port?: number;
  /** When set, an LRQ naming another gatekeeperIdentifier is refused (pings carry none). */
  readonly gatekeeperId?: string;
}

export interface NeighbourResponderOptions {
  readonly bind: HostPort;
  /** LCF callSignalAddress: where GnuGk sends Setup. */
  readonly callSignalAddress: HostPort;
  /** LCF rasAddress; default: the bound socket address. */
  readonly rasAddress?: HostPort;
  readonly neighbours: readonly NeighbourPeer[];
  readonly resolver: AliasResolver;
  /** Send RequestInProgress when the lookup has not finished after this long (ms). */
  readonly ripAfterMs?: number;
  /** Give up on the lookup (LRJ resourceUnavailable) after this long (ms); also RIP's delay. */
  readonly lookupTimeoutMs?: number;
  readonly rateLimit?: RateLimitConfig;
  readonly registry?: Registry;
}

interface Pending {
  readonly startedAt: number;
}

interface Answered {
  readonly bytes: Uint8Array;
  readonly expires: number;
}

const ANSWER_CACHE_MS = 10000;
const ANSWER_CACHE_MAX = 10000;

export class NeighbourResponder {
  private socket: Socket | undefined;
  private readonly log = componentLogger('h323-neighbour');
  private readonly metrics: RasMetrics;
  private readonly limiter: SourceRateLimiter;
  private readonly pending = new Map<string, Pending>();
  private readonly answered = new Map<string, Answered>();
  private readonly inFlight = new Set<AbortController>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private bound: HostPort | undefined;
  private otherHandler: RasHandler | undefined;
  /** Labelled metric children, resolved once per label set rather than hashed on every LRQ. */
  private readonly inByType = new Map<string, { inc(): void }>();
  private readonly outLcf: { inc(): void };
  private readonly outLrj: { inc(): void };
  private readonly answerLcf: { observe(v: number): void };
  private readonly answerLrj: { observe(v: number): void };
  /** Default LCF addresses as RAS values, built once (after bind for the RAS address). */
  private defaultCsa: TransportAddressValue | undefined;
  private defaultRas: TransportAddressValue | undefined;
  private readonly onSent = (err: Error | null): void => {
    if (err) this.log.warn('RAS send failed', { err: err.message });
  };

  constructor(private readonly opts: NeighbourResponderOptions) {
    this.metrics = rasMetrics(opts.registry);
    this.outLcf = this.metrics.messages.labels({ direction: 'out', type: 'locationConfirm' });
    this.outLrj = this.metrics.messages.labels({ direction: 'out', type: 'locationReject' });
    this.answerLcf = this.metrics.lrqAnswerSeconds.labels({ result: 'lcf' });
    this.answerLrj = this.metrics.lrqAnswerSeconds.labels({ result: 'lrj' });
    this.limiter = new SourceRateLimiter(opts.rateLimit ?? { perSecond: 200, burst: 400 });
  }

  /** Binds the socket; resolves with the bound address (port 0 picks a free port). */
  start(): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      // A larger receive buffer rides out bursts (GnuGk retries, floods) while a lookup runs.
      const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
      this.socket = s;
      s.once('error', reject);
      s.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
      s.bind(this.opts.bind.port, this.opts.bind.host, () => {
        s.off('error', reject);
        s.on('error', (err) => this.log.error('neighbour socket error', { err: err.message }));
        const a = s.address();
        this.bound = { host: a.address, port: a.port };
        this.defaultRas = undefined; // the RAS address may differ after a restart
        this.log.debug('neighbour responder listening', { host: a.address, port: a.port, neighbours: this.opts.neighbours.length });
        resolve(this.bound);
      });
    });
  }

  address(): HostPort {
    if (!this.bound) throw new Error('not started');
    return this.bound;
  }

  async stop(): Promise<void> {
    for (const c of this.inFlight) c.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /**
   * This socket as a RasTransport for the RAS client: GnuGk answers LRQs only from a configured
   * neighbour address, so our own LRQs should leave from the neighbour socket. Non-LRQ messages
   * (LCF/LRJ/RIP answers) go to the client; closing is left to the responder.
   */
  rasTransport(): RasTransport {
    return {
      send: (bytes, to) => this.send(bytes, to),
      setHandler: (h) => {
        this.otherHandler = h;
      },
      address: () => this.address(),
      close: () => Promise.resolve(),
    };
  }

  private onDatagram(buf: Buffer, rinfo: RemoteInfo): void {
    try {
      this.handle(buf, rinfo);
    } catch (err) {
      // Never let one datagram take the process down.
      this.metrics.malformed.inc({ component: 'neighbour' });
      this.log.warn('neighbour datagram handling failed', { err: (err as Error).message });
    }
  }

  private handle(buf: Buffer, rinfo: RemoteInfo): void {
    if (!this.limiter.allow(rinfo.address)) {
      this.metrics.refused.inc({ cause: 'rateLimited' });
      return;
    }
    let msg: RasMessageValue;
    try {
      msg = decodeRas(buf);
    } catch (err) {
      if (!(err instanceof PerDecodeError)) throw err;
      this.metrics.malformed.inc({ component: 'neighbour' });
      this.log.debug('malformed RAS dropped', { from: rinfo.address, bytes: buf.length });
      return;
    }
    const type = rasType(msg) ?? 'unknown';
    let inCounter = this.inByType.get(type);
    if (!inCounter) {
      inCounter = this.metrics.messages.labels({ direction: 'in', type });
      this.inByType.set(type, inCounter);
    }
    inCounter.inc();
    if (msg.choice !== 'locationRequest') {
      if (this.otherHandler) this.otherHandler(msg, { host: rinfo.address, port: rinfo.port });
      else this.log.debug('non-LRQ ignored on neighbour socket', { type });
      return;
    }
    this.onLrq(msg.value, rinfo, performance.now());
  }

  private onLrq(lrq: LocationRequestValue, rinfo: RemoteInfo, t0: number): void {
    const replyTo = this.replyTarget(lrq, rinfo);
    const peer = this.opts.neighbours.find((n) => n.host === rinfo.address && (n.port === undefined || n.port === rinfo.port));
    if (!peer) {
      this.metrics.refused.inc({ cause: 'unknownSource' });
      this.reject(lrq.requestSeqNum, 'securityDenial', replyTo, t0);
      return;
    }
    if (peer.gatekeeperId !== undefined && lrq.gatekeeperIdentifier !== undefined && lrq.gatekeeperIdentifier !== peer.gatekeeperId) {
      this.metrics.refused.inc({ cause: 'gatekeeperId' });
      this.reject(lrq.requestSeqNum, 'securityDenial', replyTo, t0);
      return;
    }
    const key = `${rinfo.address}:${rinfo.port}:${lrq.requestSeqNum}`;
    const done = this.answered.get(key);
    if (done && done.expires > Date.now()) {
      // A retry of an LRQ we already answered: same answer again, no second lookup.
      this.send(done.bytes, replyTo);
      return;
    }
    if (this.pending.has(key)) return; // retry while the lookup runs; RIP/answer will follow
    const destinationStrings = lrq.destinationInfo.map(aliasToString).filter((s): s is string => s !== undefined);
    if (destinationStrings.includes(GNUGK_PING_ALIAS)) {
      this.reject(lrq.requestSeqNum, 'requestDenied', replyTo, t0, key);
      return;
    }
    this.lookup(lrq, peer, destinationStrings, replyTo, key, t0);
  }

  private lookup(lrq: LocationRequestValue, peer: NeighbourPeer, destinationStrings: string[], replyTo: HostPort, key: string, t0: number): void {
    const ctl = new AbortController();
    this.inFlight.add(ctl);
    this.pending.set(key, { startedAt: t0 });
    const timeoutMs = this.opts.lookupTimeoutMs ?? 3000;
    const ripAfter = this.opts.ripAfterMs ?? 250;
    let settled = false;
    // One timer at a time per lookup (most lookups finish before the first fires): first the RIP
    // deadline, then the give-up deadline for the time that is left.
    let timer: NodeJS.Timeout | undefined;
    const giveUp = (): void => {
      this.timers.delete(timer!);
      ctl.abort();
      finish({ result: 'notFound', reason: 'resourceUnavailable' });
    };
    const sendRip = (): void => {
      this.timers.delete(timer!);
      if (settled) return;
      const bytes = encodeRas(ras('requestInProgress', { requestSeqNum: lrq.requestSeqNum, delay: Math.min(65535, Math.max(1, timeoutMs)) }));
      this.metrics.messages.inc({ direction: 'out', type: 'requestInProgress' });
      this.send(bytes, replyTo);
      timer = setTimeout(giveUp, Math.max(0, timeoutMs - ripAfter));
      this.timers.add(timer);
    };
    timer = ripAfter < timeoutMs ? setTimeout(sendRip, ripAfter) : setTimeout(giveUp, timeoutMs);
    this.timers.add(timer);
    const finish = (answer: LocationAnswer): void => {
      if (settled) return;
      settled = true;
      if (timer) {
        clearTimeout(timer);
        this.timers.delete(timer);
      }
      this.inFlight.delete(ctl);
      this.pending.delete(key);
      if (!this.socket) return;
      if (answer.result === 'found') this.confirm(lrq, answer, replyTo, t0, key);
      else this.reject(lrq.requestSeqNum, answer.reason ?? 'requestDenied', replyTo, t0, key);
    };
    const query = {
      destination: lrq.destinationInfo,
      destinationStrings,
      source: lrq.sourceInfo ?? [],
      neighbour: peer.name,
      ...(lrq.callIdentifier ? { callIdentifier: lrq.callIdentifier.guid } : {}),
      ...(lrq.hopCount !== undefined ? { hopCount: lrq.hopCount } : {}),
    };
    let p: Promise<LocationAnswer>;
    try {
      p = this.opts.resolver.locate(query, ctl.signal);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(finish, (err: unknown) => {
      this.log.warn('alias lookup failed', { neighbour: peer.name, err: (err as Error)?.message });
      finish({ result: 'notFound', reason: 'undefinedReason' });
    });
  }

  private confirm(lrq: LocationRequestValue, answer: Extract<LocationAnswer, { result: 'found' }>, replyTo: HostPort, t0: number, key: string): void {
    const csa = answer.callSignalAddress
      ? ipAddress(answer.callSignalAddress.host, answer.callSignalAddress.port)
      : (this.defaultCsa ??= ipAddress(this.opts.callSignalAddress.host, this.opts.callSignalAddress.port));
    const rasAddr = (this.defaultRas ??= ((a) => ipAddress(a.host, a.port))(this.opts.rasAddress ?? this.address()));
    const destinationInfo: AliasAddressValue[] = [...(answer.destinationInfo ?? lrq.destinationInfo)];
    // Same shape as the H323Plus neighbour LCF GnuGk accepted in the captures.
    const bytes = encodeRas(
      ras('locationConfirm', {
        requestSeqNum: lrq.requestSeqNum,
        callSignalAddress: csa,
        rasAddress: rasAddr,
        destinationInfo,
        destinationType: { gateway: {}, mc: false, undefinedNode: false },
      }),
    );
    this.outLcf.inc();
    this.remember(key, bytes);
    this.send(bytes, replyTo);
    this.answerLcf.observe((performance.now() - t0) / 1000);
  }

  private reject(seq: number, reason: LrjReason, replyTo: HostPort, t0: number, key?: string): void {
    const bytes = encodeRas(ras('locationReject', { requestSeqNum: seq, rejectReason: { choice: reason, value: null } }));
    this.outLrj.inc();
    this.metrics.rejects.inc({ direction: 'out', type: 'locationReject', reason });
    if (key) this.remember(key, bytes);
    this.send(bytes, replyTo);
    this.answerLrj.observe((performance.now() - t0) / 1000);
  }

  private remember(key: string, bytes: Uint8Array): void {
    const now = Date.now();
    if (this.answered.size >= ANSWER_CACHE_MAX) {
      for (const [k, a] of this.answered) if (a.expires <= now) this.answered.delete(k);
      if (this.answered.size >= ANSWER_CACHE_MAX) this.answered.clear();
    }
    this.answered.set(key, { bytes, expires: now + ANSWER_CACHE_MS });
  }

  /**
   * H.225 says answer to replyAddress; we only do so when it names the sender's own host, so a
   * forged LRQ cannot make us send datagrams at a third party.
   */
  private replyTarget(lrq: LocationRequestValue, rinfo: RemoteInfo): HostPort {
    const hp = transportHostPort(lrq.replyAddress);
    if (hp && hp.host === rinfo.address && hp.port > 0) return hp;
    return { host: rinfo.address, port: rinfo.port };
  }

  private send(bytes: Uint8Array, to: HostPort): void {
    this.socket?.send(bytes, to.port, to.host, this.onSent);
  }
}
