/**
 * GnuGk neighbour responder: answers LRQs from configured neighbour gatekeepers with LCF (the
 * gateway's call signalling and RAS address) or LRJ, on its own UDP socket.
 *
 * What GnuGk sends (see test/fixtures/h323/ras): LRQs from its RAS port with replyAddress = that
 * port, retries byte-identical with the same requestSeqNum, and "pings" for the alias
 * gatekeeper-monitoring-check every few seconds; an unanswered ping disables the neighbour.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIPv4 } from 'node:net';
import { componentLogger } from '../../log/logger.js';
import type { AliasAddressValue, TransportAddressValue } from '../h225/common-types.js';
import { PerDecodeError } from '../per/index.js';
import { AnswerCache } from './answer-cache.js';
import { aliasToString, decodeRas, encodeRas, ipAddress, ras, rasType, type HostPort } from './messages.js';
import { countingChild, rasMetrics, type CountingChild, type RasMetrics } from './metrics.js';
import { SourceRateLimiter, type RateLimitConfig } from './rate-limit.js';
import type { AliasResolver, LocationAnswer, LocationQuery, LrjReason } from './resolver.js';
import type { EndpointTypeValue } from '../h225/common-types.js';
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

const ANSWER_CACHE_MS = 10000;
/** Answers kept at most (and their bytes): a flood shortens how long answers stay, not memory. */
const ANSWER_CACHE_SLOTS = 20000;
const ANSWER_CACHE_BYTES = 2 << 20;

/** LCF destinationType: the shape GnuGk accepted from H323Plus; only read by the encoder. */
const GATEWAY_TYPE: EndpointTypeValue = Object.freeze({ gateway: Object.freeze({}), mc: false, undefinedNode: false });

/**
 * dgram resolves every send's address with dns.lookup, which for an IP literal still defers the
 * send by a tick; our reply addresses are always IPv4 literals, so answer those at once.
 */
function literalLookup(host: string, options: LookupOneOptions, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  if (isIPv4(host)) cb(null, host, 4);
  else dnsLookup(host, options, cb);
}

/** Whether the 4 octets of an IPv4 TransportAddress spell the dotted string `s`, without building a string. */
function sameIPv4(ip: Uint8Array, s: string): boolean {
  if (ip.length !== 4) return false;
  let k = 0;
  for (let i = 0; i < 4; i++) {
    let v = 0;
    const start = k;
    for (; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c === 46) break;
      if (c < 48 || c > 57) return false;
      v = v * 10 + (c - 48);
    }
    if (k === start || k - start > 3 || v !== ip[i]) return false;
    if (i < 3) {
      if (s.charCodeAt(k) !== 46) return false;
      k++;
    }
  }
  return k === s.length;
}

export class NeighbourResponder {
  private socket: Socket | undefined;
  private readonly log = componentLogger('h323-neighbour');
  private readonly metrics: RasMetrics;
  private readonly limiter: SourceRateLimiter;
  /** Lookups running, by requestKey. */
  private readonly pending = new Map<number, Pending>();
  /** Answers for retries, by requestKey, in typed arrays (nothing for the GC to copy; see AnswerCache). */
  private readonly answered = new AnswerCache({ slots: ANSWER_CACHE_SLOTS, bytes: ANSWER_CACHE_BYTES, ttlMs: ANSWER_CACHE_MS });
  private readonly inFlight = new Set<AbortController>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private bound: HostPort | undefined;
  private otherHandler: RasHandler | undefined;
  /** Labelled metric children, resolved once per label set rather than on every datagram. */
  private readonly inByType = new Map<string, CountingChild>();
  private readonly rejectsByReason = new Map<string, CountingChild>();
  private readonly outLcf: CountingChild;
  private readonly outLrj: CountingChild;
  private readonly answerLcf: { observe(v: number): void };
  private readonly answerLrj: { observe(v: number): void };
  private readonly refusedUnknownSource: CountingChild;
  private readonly refusedGatekeeperId: CountingChild;
  private readonly refusedRateLimited: CountingChild;
  private readonly malformed: CountingChild;
  /** Default LCF addresses as RAS values, built once (after bind for the RAS address). */
  private defaultCsa: TransportAddressValue | undefined;
  private defaultRas: TransportAddressValue | undefined;
  private readonly onSent = (err: Error | null): void => {
    if (err) this.log.warn('RAS send failed', { err: err.message });
  };

  constructor(private readonly opts: NeighbourResponderOptions) {
    this.metrics = rasMetrics(opts.registry);
    const m = this.metrics;
    this.outLcf = countingChild(m.messages, { direction: 'out', type: 'locationConfirm' });
    this.outLrj = countingChild(m.messages, { direction: 'out', type: 'locationReject' });
    this.answerLcf = m.lrqAnswerSeconds.labels({ result: 'lcf' });
    this.answerLrj = m.lrqAnswerSeconds.labels({ result: 'lrj' });
    this.refusedUnknownSource = countingChild(m.refused, { cause: 'unknownSource' });
    this.refusedGatekeeperId = countingChild(m.refused, { cause: 'gatekeeperId' });
    this.refusedRateLimited = countingChild(m.refused, { cause: 'rateLimited' });
    this.malformed = countingChild(m.malformed, { component: 'neighbour' });
    this.limiter = new SourceRateLimiter(opts.rateLimit ?? { perSecond: 200, burst: 400 });
  }

  /** Binds the socket; resolves with the bound address (port 0 picks a free port). */
  start(): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      // A larger receive buffer rides out bursts (GnuGk retries, floods) while a lookup runs.
      const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, lookup: literalLookup });
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
      send: (bytes, to) => this.send(bytes, to.host, to.port),
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
      this.malformed.inc();
      this.log.warn('neighbour datagram handling failed', { err: (err as Error).message });
    }
  }

  private handle(buf: Buffer, rinfo: RemoteInfo): void {
    const t0 = performance.now();
    if (!this.limiter.allow(rinfo.address)) {
      this.refusedRateLimited.inc();
      return;
    }
    let msg: RasMessageValue;
    try {
      msg = decodeRas(buf);
    } catch (err) {
      if (!(err instanceof PerDecodeError)) throw err;
      this.malformed.inc();
      this.log.debug('malformed RAS dropped', { from: rinfo.address, bytes: buf.length });
      return;
    }
    const type = rasType(msg) ?? 'unknown';
    let inCounter = this.inByType.get(type);
    if (!inCounter) {
      inCounter = countingChild(this.metrics.messages, { direction: 'in', type });
      this.inByType.set(type, inCounter);
    }
    inCounter.inc();
    if (msg.choice !== 'locationRequest') {
      if (this.otherHandler) this.otherHandler(msg, { host: rinfo.address, port: rinfo.port });
      else this.log.debug('non-LRQ ignored on neighbour socket', { type });
      return;
    }
    this.onLrq(msg.value, rinfo.address, rinfo.port, t0);
  }

  /** Index of the configured neighbour sending from host:port, or -1. */
  private findPeer(host: string, port: number): number {
    const peers = this.opts.neighbours;
    for (let i = 0; i < peers.length; i++) {
      const n = peers[i]!;
      if (n.host === host && (n.port === undefined || n.port === port)) return i;
    }
    return -1;
  }

  private onLrq(lrq: LocationRequestValue, host: string, port: number, t0: number): void {
    // Answers go to the sender's host: replyAddress only chooses the port (see replyPort).
    const replyTo = this.replyPort(lrq, host, port);
    const peerIndex = this.findPeer(host, port);
    const peer = peerIndex >= 0 ? this.opts.neighbours[peerIndex] : undefined;
    if (!peer) {
      this.refusedUnknownSource.inc();
      this.reject(lrq.requestSeqNum, 'securityDenial', host, replyTo, t0);
      return;
    }
    if (peer.gatekeeperId !== undefined && lrq.gatekeeperIdentifier !== undefined && lrq.gatekeeperIdentifier !== peer.gatekeeperId) {
      this.refusedGatekeeperId.inc();
      this.reject(lrq.requestSeqNum, 'securityDenial', host, replyTo, t0);
      return;
    }
    // One request: its neighbour (so its host), source port and sequence number, as a number
    // (exact below 2^53) rather than a string built and hashed per LRQ.
    const key = (peerIndex * 65536 + port) * 65536 + lrq.requestSeqNum;
    const done = this.answered.get(key, t0);
    if (done) {
      // A retry of an LRQ we already answered: same answer again, no second lookup.
      this.send(done, host, replyTo);
      return;
    }
    if (this.pending.has(key)) return; // retry while the lookup runs; RIP/answer will follow
    const dest = lrq.destinationInfo;
    const destinationStrings: string[] = [];
    let ping = false;
    for (let i = 0; i < dest.length; i++) {
      const s = aliasToString(dest[i]!);
      if (s === undefined) continue;
      destinationStrings.push(s);
      if (s === GNUGK_PING_ALIAS) ping = true;
    }
    if (ping) {
      this.reject(lrq.requestSeqNum, 'requestDenied', host, replyTo, t0, key);
      return;
    }
    const query: LocationQuery = {
      destination: dest,
      destinationStrings,
      source: lrq.sourceInfo ?? [],
      neighbour: peer.name,
      callIdentifier: lrq.callIdentifier?.guid,
      hopCount: lrq.hopCount,
    };
    const resolver = this.opts.resolver;
    if (resolver.locateNow) {
      let answer: LocationAnswer | undefined;
      try {
        answer = resolver.locateNow(query);
      } catch (err) {
        this.log.warn('alias lookup failed', { neighbour: peer.name, err: (err as Error)?.message });
        answer = { result: 'notFound', reason: 'undefinedReason' };
      }
      if (answer) {
        this.answer(lrq, answer, host, replyTo, t0, key);
        return;
      }
    }
    this.lookup(lrq, query, host, replyTo, key, t0);
  }

  /** A lookup that may take long: RIP after ripAfterMs, give up after lookupTimeoutMs. */
  private lookup(lrq: LocationRequestValue, query: LocationQuery, host: string, replyTo: number, key: number, t0: number): void {
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
      this.send(bytes, host, replyTo);
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
      this.answer(lrq, answer, host, replyTo, t0, key);
    };
    let p: Promise<LocationAnswer>;
    try {
      p = this.opts.resolver.locate(query, ctl.signal);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(finish, (err: unknown) => {
      this.log.warn('alias lookup failed', { neighbour: query.neighbour, err: (err as Error)?.message });
      finish({ result: 'notFound', reason: 'undefinedReason' });
    });
  }

  private answer(lrq: LocationRequestValue, answer: LocationAnswer, host: string, replyTo: number, t0: number, key: number): void {
    if (!this.socket) return;
    if (answer.result === 'found') this.confirm(lrq, answer, host, replyTo, t0, key);
    else this.reject(lrq.requestSeqNum, answer.reason ?? 'requestDenied', host, replyTo, t0, key);
  }

  private confirm(lrq: LocationRequestValue, answer: Extract<LocationAnswer, { result: 'found' }>, host: string, replyTo: number, t0: number, key: number): void {
    const csa = answer.callSignalAddress
      ? ipAddress(answer.callSignalAddress.host, answer.callSignalAddress.port)
      : (this.defaultCsa ??= ipAddress(this.opts.callSignalAddress.host, this.opts.callSignalAddress.port));
    const rasAddr = (this.defaultRas ??= ((a) => ipAddress(a.host, a.port))(this.opts.rasAddress ?? this.address()));
    // Same shape as the H323Plus neighbour LCF GnuGk accepted in the captures. The encoder only
    // reads the alias list, so the LRQ's (or resolver's) array goes in as it is.
    const bytes = encodeRas(
      ras('locationConfirm', {
        requestSeqNum: lrq.requestSeqNum,
        callSignalAddress: csa,
        rasAddress: rasAddr,
        destinationInfo: (answer.destinationInfo ?? lrq.destinationInfo) as AliasAddressValue[],
        destinationType: GATEWAY_TYPE,
      }),
    );
    this.outLcf.inc();
    this.remember(key, bytes);
    this.send(bytes, host, replyTo);
    this.answerLcf.observe((performance.now() - t0) / 1000);
  }

  private reject(seq: number, reason: LrjReason, host: string, replyTo: number, t0: number, key?: number): void {
    const bytes = encodeRas(ras('locationReject', { requestSeqNum: seq, rejectReason: { choice: reason, value: null } }));
    this.outLrj.inc();
    let byReason = this.rejectsByReason.get(reason);
    if (!byReason) {
      byReason = countingChild(this.metrics.rejects, { direction: 'out', type: 'locationReject', reason });
      this.rejectsByReason.set(reason, byReason);
    }
    byReason.inc();
    if (key !== undefined) this.remember(key, bytes);
    this.send(bytes, host, replyTo);
    this.answerLrj.observe((performance.now() - t0) / 1000);
  }

  private remember(key: number, bytes: Uint8Array): void {
    this.answered.put(key, bytes, performance.now());
  }

  /**
   * H.225 says answer to replyAddress; we only do so when it names the sender's own host, so a
   * forged LRQ cannot make us send datagrams at a third party. Returns the port to answer at.
   */
  private replyPort(lrq: LocationRequestValue, host: string, port: number): number {
    const ra = lrq.replyAddress;
    if (ra.choice === 'ipAddress' && ra.value.port > 0 && sameIPv4(ra.value.ip, host)) return ra.value.port;
    return port;
  }

  private send(bytes: Uint8Array, host: string, port: number): void {
    this.socket?.send(bytes, port, host, this.onSent);
  }
}
