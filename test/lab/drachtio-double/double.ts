/**
 * DrachtioDouble: an in-process stand-in for drachtio-server (v0.9.x wire protocol as recorded in
 * test/fixtures/drachtio) for tests on machines where the real server cannot run. Test code only.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { componentLogger } from '../../../lib/log/logger.js';
import { AppConnection } from './app-connection.js';
import { DialogStore, dialogIdOf, type Dialog } from './dialogs.js';
import { newBranch, newCallId, newCseq, newTag, uuid, wireTime } from './ids.js';
import {
  SipMessage, getTag, parseAppSip, parseSip, parseUri, parseVia, uriOf, canonicalName,
} from './sip-message.js';
import {
  buildResponse, customHeaders, localContact, rewriteLocalhost, stampTopVia, viaSentBy, type LocalAddress,
} from './sip-build.js';
import {
  ClientTransaction, DEFAULT_TIMERS, ServerTransaction, type Peer, type SipTimers,
} from './transactions.js';
import { SipTransport, type Inbound, type SipTransportName } from './transport.js';
import { RouteTable } from './routes.js';
import { buildWire, noResponse, nokResponse, okResponse, type WireMessage } from './wire.js';

export interface DrachtioDoubleOptions {
  secret: string;
  sipHost?: string;
  /** 0 = a port free for both UDP and TCP. */
  sipPort?: number;
  transports?: SipTransportName[];
  controlHost?: string;
  /** 0 = free port. */
  controlPort?: number;
  timers?: Partial<SipTimers>;
  /** Version reported on authenticate; srf enables pinging for >= v0.8.2. */
  version?: string;
  /** Frames kept in `frames` (oldest dropped first). */
  maxFrames?: number;
}

export interface FrameRecord {
  dir: 'app->server' | 'server->app';
  app: number;
  payload: string;
  at: number;
}

export interface DoubleEvents {
  frame: [FrameRecord];
  /** Human-readable notes on bad input and other anomalies (also logged). */
  problem: [string];
  /** An app's control connection closed (id as in FrameRecord.app). */
  appGone: [number];
  /** A SIP TCP connection closed (`address:port` of the far end). */
  sipTcpClosed: [string];
}

const REASONS: Record<number, string> = {
  100: 'Trying', 200: 'OK', 400: 'Bad Request', 408: 'Request Timeout', 481: 'Call/Transaction Does Not Exist',
  487: 'Request Terminated', 503: 'Service Unavailable',
};

const log = componentLogger('drachtio-double');

/** Longest line sofia-sip's message logger (tport_log_msg, MAX_LINELEN) takes before truncating. */
export const SOFIA_MAX_LINE = 8192;

/**
 * Why sofia-sip's tport_log_msg() would truncate this message (and so mark it MSG_FLG_TRUNC), or
 * undefined: a run of bytes between CR/LF longer than SOFIA_MAX_LINE, or a NUL byte.
 */
export function sofiaLogTruncation(data: Buffer): string | undefined {
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    const b = i < data.length ? data[i] : 0x0a;
    if (b === 0x00) return `NUL byte at offset ${i}`;
    if (b === 0x0d || b === 0x0a) {
      if (i - start > SOFIA_MAX_LINE) return `a ${i - start}-byte line (more than ${SOFIA_MAX_LINE})`;
      start = i + 1;
    }
  }
  return undefined;
}

export class DrachtioDouble extends EventEmitter<DoubleEvents> {
  readonly frames: FrameRecord[] = [];
  readonly problems: string[] = [];
  private control!: net.Server;
  private transport!: SipTransport;
  private readonly apps = new Map<number, AppConnection>();
  private nextAppId = 1;
  /** drachtio-server's verb -> app multimap and round-robin offsets (routes.ts). */
  readonly routes = new RouteTable();
  private readonly serverTxns = new Map<string, ServerTransaction>();
  private readonly serverTxnById = new Map<string, ServerTransaction>();
  private readonly clientTxns = new Map<string, ClientTransaction>();
  private readonly clientTxnById = new Map<string, ClientTransaction>();
  private readonly dialogs = new DialogStore();
  private readonly timers: SipTimers;
  private readonly opts: Required<Pick<DrachtioDoubleOptions, 'secret' | 'sipHost' | 'transports' | 'controlHost' | 'version' | 'maxFrames'>>;
  /** Last ACK sent per UAC dialog, resent when a 2xx is retransmitted. */
  private readonly lastAck = new Map<string, { data: string; peer: Peer }>();
  private stopped = false;

  private constructor(o: DrachtioDoubleOptions) {
    super();
    this.timers = { ...DEFAULT_TIMERS, ...o.timers };
    this.opts = {
      secret: o.secret,
      sipHost: o.sipHost ?? '127.0.0.1',
      transports: o.transports ?? ['udp', 'tcp'],
      controlHost: o.controlHost ?? '127.0.0.1',
      version: o.version ?? 'v0.9.10-double',
      maxFrames: o.maxFrames ?? 20000,
    };
  }

  static async start(o: DrachtioDoubleOptions): Promise<DrachtioDouble> {
    const d = new DrachtioDouble(o);
    await d.listen(o.sipPort ?? 0, o.controlPort ?? 0);
    return d;
  }

  get sipHost(): string {
    return this.opts.sipHost;
  }
  get sipPort(): number {
    return this.transport.port;
  }
  get controlPort(): number {
    return (this.control.address() as net.AddressInfo).port;
  }
  /** Apps currently connected (authenticated or not). */
  get appCount(): number {
    return this.apps.size;
  }
  get dialogCount(): number {
    return this.dialogs.size;
  }

  private get local(): LocalAddress {
    return { host: this.opts.sipHost, port: this.transport.port };
  }

  private async listen(sipPort: number, controlPort: number): Promise<void> {
    this.transport = new SipTransport(this.opts.sipHost, this.opts.transports);
    this.transport.on('message', (m) => this.onSip(m));
    this.transport.on('problem', (p) => this.problem(p));
    this.transport.on('tcpClosed', (k) => this.emit('sipTcpClosed', k));
    await this.transport.start(sipPort);
    this.control = net.createServer((sock) => this.onAppSocket(sock));
    await new Promise<void>((resolve, reject) => {
      this.control.once('error', reject);
      this.control.listen(controlPort, this.opts.controlHost, () => {
        this.control.off('error', reject);
        resolve();
      });
    });
    log.debug('listening', { sipPort: this.sipPort, controlPort: this.controlPort });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.serverTxns.values()) t.timers.clear();
    for (const t of this.clientTxns.values()) t.timers.clear();
    for (const a of this.apps.values()) a.destroy();
    await new Promise<void>((r) => this.control.close(() => r()));
    await this.transport.stop();
  }

  private problem(text: string): void {
    this.problems.push(text);
    log.warn(text);
    this.emit('problem', text);
  }

  private record(dir: FrameRecord['dir'], app: number, payload: string): void {
    const rec: FrameRecord = { dir, app, payload, at: Date.now() };
    this.frames.push(rec);
    if (this.frames.length > this.opts.maxFrames) this.frames.shift();
    this.emit('frame', rec);
  }

  // ---------------------------------------------------------------- control connections

  private onAppSocket(sock: net.Socket): void {
    const app = new AppConnection(this.nextAppId++, sock);
    this.apps.set(app.id, app);
    app.on('frameIn', (p) => this.record('app->server', app.id, p));
    app.on('frameOut', (p) => this.record('server->app', app.id, p));
    app.on('framingError', (reason) => this.problem(`control link ${app.id} (${app.remote}): ${reason}; closing that link`));
    app.on('garbage', (payload, reason) => {
      this.problem(`control link ${app.id}: unparseable payload (${reason}); answered NO`);
      const id = payload.split('|')[0] || 'unknown';
      app.send(noResponse(id.slice(0, 64), 'invalid message'));
    });
    app.on('close', () => {
      this.apps.delete(app.id);
      log.debug('app gone', { app: app.id });
      this.emit('appGone', app.id);
      this.abandonPendingInvites(app.id);
    });
    app.on('message', (m) => {
      try {
        this.onAppMessage(app, m);
      } catch (err) {
        // a bug or unexpected input must not take the double down; answer and keep serving
        this.problem(`control link ${app.id}: error handling '${m.type}': ${(err as Error).message}`);
        app.send(noResponse(m.id, `server error: ${(err as Error).message}`));
      }
    });
  }

  /**
   * INVITEs the dead app never answered: the caller keeps getting only the 100 until the server
   * gives up, silently, 64*T1 after the INVITE (a later CANCEL then gets 481), as in n3.
   */
  private abandonPendingInvites(appId: number): void {
    for (const t of this.serverTxns.values()) {
      if (t.appId !== appId || t.method !== 'INVITE' || t.state !== 'proceeding') continue;
      t.timers.after(Math.max(0, 64 * this.timers.t1 - (Date.now() - t.createdAt)), () => {
        if (t.state !== 'proceeding') return;
        this.problem(`INVITE transaction ${t.id} of dead app ${appId} abandoned after 64*T1 without a final response`);
        t.terminate();
      });
    }
  }

  private hostports(): string {
    const order: SipTransportName[] = ['tcp', 'udp'];
    return order.filter((t) => this.opts.transports.includes(t)).map((t) => `${t}/${this.opts.sipHost}:${this.sipPort}`).join(',');
  }

  private onAppMessage(app: AppConnection, m: WireMessage): void {
    if (m.type === 'authenticate') {
      if (m.tokens[2] === this.opts.secret) {
        app.authenticated = true;
        app.send(okResponse(m.id, [this.hostports(), this.opts.version, this.hostports()]));
      } else {
        this.problem(`control link ${app.id}: wrong secret; closing`);
        app.sendAndClose(noResponse(m.id, 'incorrect secret'));
      }
      return;
    }
    if (!app.authenticated) {
      this.problem(`control link ${app.id}: '${m.type}' before authenticate; closing`);
      app.sendAndClose(noResponse(m.id, 'not authenticated'));
      return;
    }
    switch (m.type) {
      case 'route':
        // every route adds an entry, a repeated one too (wants_requests does not deduplicate)
        this.routes.add(app.id, m.tokens[2] ?? '');
        app.send(okResponse(m.id));
        return;
      case 'remove_route':
        // no_longer_wants_requests erases all of this app's entries; the verb is never compared
        this.routes.removeApp(app.id);
        app.send(okResponse(m.id));
        return;
      case 'ping':
        app.send(okResponse(m.id, ['pong']));
        return;
      case 'sip':
        this.onAppSip(app, m);
        return;
      case 'proxy':
        app.send(noResponse(m.id, 'proxy is not implemented by the drachtio double'));
        return;
      default:
        this.problem(`control link ${app.id}: unknown message type '${m.type.slice(0, 40)}'`);
        app.send(noResponse(m.id, `unknown message type: ${m.type.slice(0, 40)}`));
    }
  }

  private liveApp(id: number | undefined): AppConnection | undefined {
    if (id === undefined) return undefined;
    const a = this.apps.get(id);
    return a && a.authenticated && !a.closed ? a : undefined;
  }

  /** The real server's round robin over the verb's route entries (RouteTable.select). */
  private pickApp(verb: string): AppConnection | undefined {
    const id = this.routes.select(verb, (appId) => this.liveApp(appId) !== undefined);
    return this.liveApp(id);
  }

  private sendCdr(kind: 'cdr:attempt' | 'cdr:start' | 'cdr:stop', preferred: number | undefined, tokens: string[], sip: string): void {
    const pref = this.liveApp(preferred);
    const target = pref && this.routes.has(pref.id, kind) ? pref : [...this.apps.values()].find((a) => a.authenticated && !a.closed && this.routes.has(a.id, kind));
    if (target) target.send(buildWire([kind, ...tokens], sip).payload);
  }

  // ---------------------------------------------------------------- SIP from the network

  private onSip(inb: Inbound): void {
    let raw = inb.data.toString('utf8');
    let msg: SipMessage;
    try {
      msg = parseSip(inb.data);
      // sofia logs (and so may truncate) only a message it could parse
      const cut = sofiaLogTruncation(inb.data);
      if (cut) {
        this.onTruncated(inb, cut);
        return;
      }
      if (msg.isRequest) {
        parseVia(msg.get('via')!);
        raw = stampTopVia(raw, inb.remoteAddress, inb.remotePort);
        msg = parseSip(Buffer.from(raw, 'utf8'));
      }
    } catch (err) {
      this.onBadSip(inb, err as Error);
      return;
    }
    const peer: Peer = { transport: inb.transport, address: inb.remoteAddress, port: inb.remotePort };
    if (inb.conn) peer.conn = inb.conn;
    try {
      if (msg.isRequest) this.onNetworkRequest(msg, raw, inb.data.length, peer);
      else this.onNetworkResponse(msg, raw, inb.data.length, peer);
    } catch (err) {
      this.problem(`SIP from ${inb.transport}:${inb.remoteAddress}:${inb.remotePort}: ${(err as Error).message}; dropped`);
    }
  }

  private onBadSip(inb: Inbound, err: Error): void {
    const where = `${inb.transport}:${inb.remoteAddress}:${inb.remotePort}`;
    // answer 400 when the request is good enough to address a response, else drop
    try {
      const lenient = parseAppSip(inb.data.toString('utf8'));
      if (lenient.isRequest && lenient.method !== 'ACK' && ['via', 'from', 'to', 'call-id', 'cseq'].every((h) => lenient.has(h))) {
        parseVia(lenient.get('via')!);
        const res = buildResponse(lenient, { status: 400, reason: 'Bad Request', toTag: newTag() });
        this.problem(`unparseable SIP from ${where} (${err.message}); answered 400`);
        const peer: Peer = { transport: inb.transport, address: inb.remoteAddress, port: inb.remotePort };
        if (inb.conn) peer.conn = inb.conn;
        this.sendTo(peer, res.toString());
        return;
      }
    } catch {
      /* fall through to drop */
    }
    this.problem(`unparseable SIP from ${where} (${err.message}); dropped`);
  }

  /**
   * drachtio-server runs sofia-sip with TPORT_LOG=1, and its tport_log_msg() marks a message it
   * cannot log whole MSG_FLG_TRUNC (a line over 8192 bytes, or a NUL byte); sip_sanity_check()
   * then fails and nta answers `400 Bad Request` statelessly (new To tag, Via with rport), before
   * any transaction or app exists: no 100, no cdr, nothing to the app. An ACK (or a request
   * without the headers a response needs) is dropped; over TCP the connection is shut after the 400.
   */
  private onTruncated(inb: Inbound, why: string): void {
    const where = `${inb.transport}:${inb.remoteAddress}:${inb.remotePort}`;
    try {
      const req = parseAppSip(stampTopVia(inb.data.toString('utf8'), inb.remoteAddress, inb.remotePort));
      if (req.isRequest && req.method !== 'ACK' && ['via', 'from', 'to', 'call-id', 'cseq'].every((h) => req.has(h))) {
        parseVia(req.get('via')!);
        const res = buildResponse(req, { status: 400, reason: 'Bad Request', toTag: newTag() });
        this.problem(`SIP ${req.method} from ${where}: ${why}; answered 400 (sofia truncates it)`);
        const peer: Peer = { transport: inb.transport, address: inb.remoteAddress, port: inb.remotePort };
        if (inb.conn) peer.conn = inb.conn;
        this.transport.send(peer.transport, peer.address, peer.port, res.toString(), peer.conn).then(
          () => { if (inb.conn) inb.conn.end(); },
          (err: Error) => this.problem(`send to ${where} failed: ${err.message}`),
        );
        return;
      }
    } catch {
      /* fall through to drop */
    }
    this.problem(`SIP from ${where}: ${why}; dropped (sofia truncates it)`);
    if (inb.conn) inb.conn.end();
  }

  private sendTo(peer: Peer, data: string): void {
    this.transport.send(peer.transport, peer.address, peer.port, data, peer.conn).catch((err: Error) => {
      this.problem(`send to ${peer.transport}:${peer.address}:${peer.port} failed: ${err.message}`);
    });
  }

  private txnKey(branch: string | undefined, method: string, msg: SipMessage): string {
    // RFC 2543 peers without a magic-cookie branch: fall back to Call-ID + CSeq + From tag
    if (branch && branch.startsWith('z9hG4bK')) return `${branch}|${method}`;
    return `${msg.get('call-id')}|${msg.cseq().seq}|${getTag(msg.get('from'))}|${method}`;
  }

  private newServerTxn(req: SipMessage, key: string, bytes: number, peer: Peer): ServerTransaction {
    const t = new ServerTransaction(uuid(), key, req, bytes, peer, this.timers, (data) => this.sendTo(peer, data), (tx) => {
      if (this.serverTxns.get(tx.key) === tx) this.serverTxns.delete(tx.key);
      this.serverTxnById.delete(tx.id);
    });
    this.serverTxns.set(key, t);
    this.serverTxnById.set(t.id, t);
    return t;
  }

  /** Respond from the double itself (100, 481, 487, 503, 200 to CANCEL). */
  private respondLocally(txn: ServerTransaction, status: number, toTag?: string): string {
    const res = buildResponse(txn.request, status === 100 ? { status, reason: REASONS[status]! } : { status, reason: REASONS[status] ?? 'Unknown', toTag: toTag ?? (txn.toTag ??= newTag()) });
    const data = res.toString();
    this.sendTo(txn.peer, data);
    txn.responded(status, data);
    return data;
  }

  private onNetworkRequest(req: SipMessage, raw: string, bytes: number, peer: Peer): void {
    const via = parseVia(req.get('via')!);
    const method = req.method!;
    const callId = req.get('call-id')!;
    const fromTag = getTag(req.get('from'));
    const toTag = getTag(req.get('to'));
    const time = wireTime();

    if (method === 'ACK') {
      const inviteTxn = this.serverTxns.get(this.txnKey(via.branch, 'INVITE', req));
      if (inviteTxn && inviteTxn.lastResponse && !/^SIP\/2\.0 2/.test(inviteTxn.lastResponse)) {
        inviteTxn.acked(); // ACK to a non-2xx final: hop-by-hop, never reaches the app
        return;
      }
      const dialog = this.dialogs.find(callId, toTag, fromTag);
      if (!dialog) {
        log.debug('ACK without dialog dropped', { callId });
        return;
      }
      const txn2xx = this.serverTxnById.get(dialog.lastInviteTxnId ?? dialog.inviteTxnId);
      if (txn2xx) txn2xx.acked(); // stops the 2xx retransmissions
      if (inviteTxn && inviteTxn !== txn2xx) inviteTxn.acked();
      // the first ACK reuses the INVITE's transaction id; a re-INVITE's ACK gets a fresh one
      const txid = dialog.firstAckSeen ? uuid() : dialog.inviteTxnId;
      dialog.firstAckSeen = true;
      const app = this.liveApp(dialog.appId);
      if (app) app.send(buildWire(['sip', 'network', String(bytes), '', peer.address, String(peer.port), time, txid, dialog.id, ''], raw).payload);
      return;
    }

    const key = this.txnKey(via.branch, method, req);
    const existing = this.serverTxns.get(key);
    if (existing) {
      existing.onRetransmission();
      log.debug('retransmission absorbed', { method, callId });
      return;
    }

    if (method === 'CANCEL') {
      this.onNetworkCancel(req, raw, key, bytes, peer, time, via.branch);
      return;
    }

    if (toTag !== undefined) {
      const txn = this.newServerTxn(req, key, bytes, peer);
      const dialog = this.dialogs.find(callId, toTag, fromTag);
      const app = dialog ? this.liveApp(dialog.appId) : undefined;
      if (!dialog || !app) {
        this.respondLocally(txn, 481, toTag);
        // n2: a BYE in a dead app's dialog still ends the call for the server: it is 481'd, the
        // dialog is dropped and its cdr:stop (normal-release, the BYE) goes to a live CDR app.
        if (dialog && method === 'BYE') {
          this.dialogs.remove(dialog);
          this.sendCdr('cdr:stop', undefined, ['network', time, 'normal-release'], raw);
        }
        return;
      }
      txn.appId = app.id;
      txn.dialogId = dialog.id;
      txn.receivedAt = time;
      txn.rawRequest = raw;
      if (method === 'INVITE') {
        this.respondLocally(txn, 100);
        dialog.lastInviteTxnId = txn.id;
      }
      app.send(buildWire(['sip', 'network', String(bytes), peer.transport, peer.address, String(peer.port), time, txn.id, dialog.id, ''], raw).payload);
      return;
    }

    const txn = this.newServerTxn(req, key, bytes, peer);
    txn.receivedAt = time;
    if (method === 'INVITE') this.respondLocally(txn, 100);
    const app = this.pickApp(method.toLowerCase());
    if (!app) {
      this.respondLocally(txn, 503);
      this.problem(`no app routes '${method.toLowerCase()}': answered 503`);
      return;
    }
    txn.appId = app.id;
    app.send(buildWire(['sip', 'network', String(bytes), peer.transport, peer.address, String(peer.port), time, txn.id, '', this.opts.sipHost, String(this.sipPort), ''], raw).payload);
    if (method === 'INVITE') {
      txn.rawRequest = raw;
      this.sendCdr('cdr:attempt', app.id, ['network', time], raw);
    }
  }

  private onNetworkCancel(req: SipMessage, raw: string, key: string, bytes: number, peer: Peer, time: string, branch: string | undefined): void {
    const cancelTxn = this.newServerTxn(req, key, bytes, peer);
    const invite = this.serverTxns.get(this.txnKey(branch, 'INVITE', req));
    if (!invite) {
      this.respondLocally(cancelTxn, 481);
      return;
    }
    const tag = (invite.toTag ??= newTag());
    this.respondLocally(cancelTxn, 200, tag);
    if (invite.state !== 'proceeding') return; // final already sent: CANCEL has no effect
    this.respondLocally(invite, 487, tag);
    const dialog = invite.dialogId ? this.dialogs.get(invite.dialogId) : undefined;
    if (dialog && dialog.state === 'early') this.dialogs.remove(dialog);
    this.sendCdr('cdr:stop', invite.appId, ['network', time, 'call-canceled'], invite.rawRequest ?? raw);
    const app = this.liveApp(invite.appId);
    // reported on the INVITE's transaction; the bytes token repeats the INVITE's size
    if (app) app.send(buildWire(['sip', 'network', String(invite.rawBytes), peer.transport, peer.address, String(peer.port), time, invite.id, invite.dialogId, ''], raw).payload);
  }

  private onNetworkResponse(res: SipMessage, raw: string, bytes: number, peer: Peer): void {
    const via = parseVia(res.get('via')!);
    const cseq = res.cseq();
    const status = res.status!;
    const txn = this.clientTxns.get(this.txnKey(via.branch, cseq.method, res));
    if (!txn) {
      if (cseq.method === 'INVITE' && status >= 200 && status < 300) {
        // retransmitted 2xx after the INVITE transaction ended: re-send the dialog's ACK
        const d = this.dialogs.find(res.get('call-id')!, getTag(res.get('from')), getTag(res.get('to')));
        const ack = d && this.lastAck.get(d.id);
        if (ack) this.sendTo(ack.peer, ack.data);
        return;
      }
      log.debug('stray response dropped', { status });
      return;
    }
    if (!txn.onResponse(status)) return;
    if (txn.method === 'CANCEL') return; // the real server does not pass 200 (CANCEL) up
    const time = wireTime();
    const callId = res.get('call-id')!;
    const localTag = getTag(res.get('from'));
    const remoteTag = getTag(res.get('to'));
    if (txn.method === 'INVITE') {
      let dialog = this.dialogs.find(callId, localTag, remoteTag);
      if (!dialog && remoteTag && localTag && status > 100 && status < 300) {
        const contact = res.get('contact');
        const dlg: Dialog = {
          id: txn.dialogId,
          role: 'uac',
          callId,
          localTag,
          remoteTag,
          localUri: stripTag(txn.request.get('from')!),
          remoteUri: stripTag(res.get('to')!),
          remoteTarget: contact ? uriOf(contact) : txn.request.uri!,
          routeSet: res.getAll('record-route').flatMap(splitList).reverse(),
          localCseq: txn.request.cseq().seq,
          inviteCseq: txn.request.cseq().seq,
          peer: txn.peer,
          appId: txn.appId,
          state: status >= 200 ? 'confirmed' : 'early',
          inviteTxnId: txn.id,
          firstAckSeen: true,
        };
        // only one dialog per dialog id is tracked (forking is not modelled)
        if (!this.dialogs.get(dlg.id)) this.dialogs.add(dlg);
        dialog = dlg;
      }
      if (dialog && status >= 200 && status < 300) {
        dialog.state = 'confirmed';
        const contact = res.get('contact');
        if (contact) dialog.remoteTarget = uriOf(contact);
        this.sendCdr('cdr:start', txn.appId, ['network', time, 'uac'], raw);
      }
      if (status >= 300) {
        this.sendHopAck(txn, res);
        if (dialog && dialog.state === 'early') this.dialogs.remove(dialog);
        this.sendCdr('cdr:stop', txn.appId, ['network', time, 'call-rejected'], raw);
      }
    }
    if (txn.method === 'BYE' && status >= 200) {
      const d = this.dialogs.get(txn.dialogId);
      if (d) this.dialogs.remove(d);
    }
    const app = this.liveApp(txn.appId);
    if (app) app.send(buildWire(['sip', 'network', String(bytes), peer.transport, peer.address, String(peer.port), time, txn.id, txn.dialogId, ''], raw).payload);
  }

  /** ACK to a non-2xx final is generated by the transaction layer (same branch). */
  private sendHopAck(txn: ClientTransaction, res: SipMessage): void {
    const ack = new SipMessage();
    ack.method = 'ACK';
    ack.uri = txn.request.uri!;
    ack.headers.push({ name: 'Via', value: txn.request.get('via')! });
    ack.headers.push({ name: 'Max-Forwards', value: '70' });
    ack.headers.push({ name: 'From', value: txn.request.get('from')! });
    ack.headers.push({ name: 'To', value: res.get('to')! });
    ack.headers.push({ name: 'Call-ID', value: txn.request.get('call-id')! });
    ack.headers.push({ name: 'CSeq', value: `${txn.request.cseq().seq} ACK` });
    for (const r of txn.request.getAll('route')) ack.headers.push({ name: 'Route', value: r });
    ack.headers.push({ name: 'Content-Length', value: '0' });
    txn.ack = ack.toString();
    this.sendTo(txn.peer, txn.ack);
  }

  // ---------------------------------------------------------------- SIP from apps

  private onAppSip(app: AppConnection, m: WireMessage): void {
    const txnId = m.tokens[2] ?? '';
    const dialogId = m.tokens[3] ?? '';
    if (m.sip === undefined) {
      app.send(noResponse(m.id, 'sip message missing'));
      return;
    }
    let appMsg: SipMessage;
    try {
      appMsg = parseAppSip(m.sip);
    } catch (err) {
      this.problem(`control link ${app.id}: unparseable SIP from app (${(err as Error).message}); answered NO`);
      app.send(noResponse(m.id, `invalid sip message: ${(err as Error).message}`));
      return;
    }
    if (!appMsg.isRequest) {
      this.onAppResponse(app, m.id, txnId, appMsg);
      return;
    }
    if (txnId && appMsg.method === 'CANCEL') {
      this.onAppCancel(app, m.id, txnId);
      return;
    }
    if (dialogId) {
      this.onAppInDialogRequest(app, m.id, dialogId, appMsg);
      return;
    }
    if (appMsg.method === 'ACK') {
      app.send(nokResponse(m.id, 'Server error: ACK for non-success final response is automatically generated by server'));
      return;
    }
    this.onAppNewRequest(app, m.id, appMsg, m.tokens[4] ?? '');
  }

  private onAppResponse(app: AppConnection, frameId: string, txnId: string, appMsg: SipMessage): void {
    const txn = this.serverTxnById.get(txnId);
    if (!txn || txn.state !== 'proceeding') {
      app.send(nokResponse(frameId, 'Response not sent due to unknown transaction'));
      return;
    }
    const status = appMsg.status!;
    const req = txn.request;
    const isInvite = txn.method === 'INVITE';
    const fromTag = getTag(req.get('from'))!;
    const existingToTag = getTag(req.get('to'));
    const callId = req.get('call-id')!;
    // doRespondToSipRequest: "we allow the app to set the local tag (ie tag on the To)". On the
    // first response to a new request (>100 here) the app's tag, if any, becomes the transaction's
    // and so the dialog's local tag; on the wire each response carries the tag of the To the app
    // sent (as the real server does: a later response with another tag shows that tag, though the
    // dialog keeps the first). In-dialog requests keep the request's To tag.
    const appTag = existingToTag === undefined ? appToTag(appMsg.get('to')) : undefined;
    if (status > 100) txn.toTag ??= existingToTag ?? appTag ?? newTag();
    const contact = appMsg.get('contact')
      ? rewriteLocalhost(appMsg.get('contact')!, this.local)
      : isInvite && status >= 200 && status < 300 ? localContact(this.local, txn.peer.transport) : undefined;
    const parts: Parameters<typeof buildResponse>[1] = {
      status,
      reason: appMsg.reason ?? '',
      headers: customHeaders(appMsg),
      body: appMsg.body,
    };
    if (status > 100 && (appTag ?? txn.toTag)) parts.toTag = appTag ?? txn.toTag;
    if (contact) parts.contact = contact;
    const ct = appMsg.get('content-type');
    if (ct) parts.contentType = ct;
    const res = buildResponse(req, parts);
    const data = res.toString();
    this.sendTo(txn.peer, data);
    txn.responded(status, data);
    const time = wireTime();

    let dialogId = '';
    const reInvite = existingToTag !== undefined;
    if (isInvite) {
      dialogId = reInvite ? txn.dialogId : dialogIdOf(callId, fromTag);
      txn.dialogId = dialogId;
      if (!reInvite && status > 100 && status < 300 && !this.dialogs.get(dialogId)) {
        const contactHdr = req.get('contact');
        this.dialogs.add({
          id: dialogId,
          role: 'uas',
          callId,
          localTag: txn.toTag!,
          remoteTag: fromTag,
          localUri: stripTag(req.get('to')!),
          remoteUri: stripTag(req.get('from')!),
          remoteTarget: contactHdr ? uriOf(contactHdr) : `sip:${txn.peer.address}:${txn.peer.port}`,
          routeSet: req.getAll('record-route').flatMap(splitList),
          localCseq: newCseq(),
          inviteCseq: req.cseq().seq,
          peer: txn.peer,
          appId: app.id,
          state: 'early',
          inviteTxnId: txn.id,
          firstAckSeen: false,
        });
      }
      const d = this.dialogs.get(dialogId);
      if (d && status >= 200 && status < 300) d.state = 'confirmed';
      if (d && status >= 300 && d.state === 'early') this.dialogs.remove(d);
    }
    let byeDone = false;
    if (txn.method === 'BYE' && status >= 200 && status < 300 && txn.dialogId) {
      const d = this.dialogs.get(txn.dialogId);
      if (d) {
        this.dialogs.remove(d);
        byeDone = true;
      }
    }
    if (byeDone) this.sendCdr('cdr:stop', app.id, ['network', txn.receivedAt ?? time, 'normal-release'], txn.rawRequest ?? req.toString());
    app.send(okResponse(frameId, ['application', String(Buffer.byteLength(data, 'utf8')), isInvite ? txn.peer.transport : '', txn.peer.address, String(txn.peer.port), time, txn.id, isInvite ? dialogId : '', '', 'Msg sent:', ''], data));
    if (isInvite && !reInvite && status >= 200) {
      if (status < 300) this.sendCdr('cdr:start', app.id, ['application', time, 'uas'], data);
      else this.sendCdr('cdr:stop', app.id, ['application', time, 'call-rejected'], data);
    }
  }

  private onAppCancel(app: AppConnection, frameId: string, inviteTxnId: string): void {
    const inv = this.clientTxnById.get(inviteTxnId);
    if (!inv || inv.method !== 'INVITE' || inv.state === 'terminated' || inv.state === 'completed') {
      app.send(noResponse(frameId, 'unknown transaction for CANCEL'));
      return;
    }
    const c = new SipMessage();
    c.method = 'CANCEL';
    c.uri = inv.request.uri!;
    c.headers.push({ name: 'Via', value: inv.request.get('via')! });
    c.headers.push({ name: 'Max-Forwards', value: '70' });
    for (const n of ['From', 'To', 'Call-ID']) c.headers.push({ name: n, value: inv.request.get(n)! });
    c.headers.push({ name: 'CSeq', value: `${inv.request.cseq().seq} CANCEL` });
    for (const r of inv.request.getAll('route')) c.headers.push({ name: 'Route', value: r });
    c.headers.push({ name: 'Content-Length', value: '0' });
    const branch = parseVia(inv.request.get('via')!).branch!;
    const t = this.startClientTxn(app, c, branch, inv.peer, '');
    this.replySent(app, frameId, c.toString(), inv.peer.transport, t.id);
  }

  private onAppInDialogRequest(app: AppConnection, frameId: string, dialogId: string, appMsg: SipMessage): void {
    const d = this.dialogs.get(dialogId);
    const method = appMsg.method!;
    if (!d) {
      if (method === 'ACK') app.send(nokResponse(frameId, 'Server error: ACK for non-success final response is automatically generated by server'));
      else app.send(noResponse(frameId, `unable to find dialog for dialog id ${dialogId}`));
      return;
    }
    const req = new SipMessage();
    req.method = method;
    req.uri = d.remoteTarget;
    const branch = newBranch();
    const target = parseUri(d.remoteTarget);
    const transport: SipTransportName = d.peer.transport;
    req.headers.push({ name: 'Via', value: `SIP/2.0/${transport.toUpperCase()} ${viaSentBy(this.local)};rport;branch=${branch}` });
    req.headers.push({ name: 'Max-Forwards', value: appMsg.get('max-forwards') ?? '70' });
    for (const r of d.routeSet) req.headers.push({ name: 'Route', value: r });
    req.headers.push({ name: 'From', value: `${d.localUri};tag=${d.localTag}` });
    req.headers.push({ name: 'To', value: `${d.remoteUri};tag=${d.remoteTag}` });
    req.headers.push({ name: 'Call-ID', value: d.callId });
    let seq: number;
    if (method === 'ACK') seq = d.inviteCseq;
    else seq = ++d.localCseq;
    if (method === 'INVITE') d.inviteCseq = seq;
    req.headers.push({ name: 'CSeq', value: `${seq} ${method}` });
    const contact = appMsg.get('contact');
    if (contact) req.headers.push({ name: 'Contact', value: rewriteLocalhost(contact, this.local) });
    else if (method === 'INVITE' || method === 'UPDATE') req.headers.push({ name: 'Contact', value: localContact(this.local, transport) });
    pushBody(req, appMsg);
    const peer: Peer = { transport, address: stripBrackets(target.host), port: target.port ?? 5060 };
    if (d.peer.conn && !d.peer.conn.destroyed) peer.conn = d.peer.conn;
    if (method === 'ACK') {
      const data = req.toString();
      this.sendTo(peer, data);
      this.lastAck.set(d.id, { data, peer });
      this.replySent(app, frameId, data, transport, uuid());
      return;
    }
    const t = this.startClientTxn(app, req, branch, peer, d.id);
    if (method === 'BYE') this.sendCdr('cdr:stop', app.id, ['application', wireTime(), 'normal-release'], req.toString());
    this.replySent(app, frameId, t.data, transport, t.id);
  }

  /**
   * A new request: Call-ID, From (tag included), To (tag included) and CSeq given by the app are
   * kept, as the real server's stack does (nta leg from the app's From/To/Call-ID; the app's CSeq
   * seeds the fresh leg's sequence), so an app can address an existing dialog it does not own
   * (an HA survivor's BYE). Route is immutable for apps there and is dropped; `proxy` (the 4th
   * leader token, srf's `proxy` option) is where the request goes instead of the Request-URI.
   */
  private onAppNewRequest(app: AppConnection, frameId: string, appMsg: SipMessage, proxy = ''): void {
    const method = appMsg.method!;
    let target;
    try {
      target = parseUri(proxy || appMsg.uri!);
    } catch (err) {
      app.send(noResponse(frameId, (err as Error).message));
      return;
    }
    const transport = (target.transport ?? 'udp') as SipTransportName;
    if (!this.opts.transports.includes(transport)) {
      app.send(noResponse(frameId, `transport ${transport} not available`));
      return;
    }
    const branch = newBranch();
    const req = new SipMessage();
    req.method = method;
    req.uri = appMsg.uri!;
    req.headers.push({ name: 'Via', value: `SIP/2.0/${transport.toUpperCase()} ${viaSentBy(this.local)};rport;branch=${branch}` });
    req.headers.push({ name: 'Max-Forwards', value: appMsg.get('max-forwards') ?? '70' });
    const fromTag = newTag();
    const from = appMsg.get('from') ? rewriteLocalhost(appMsg.get('from')!, this.local) : `<sip:${this.local.host}:${this.local.port}>`;
    req.headers.push({ name: 'From', value: getTag(from) ? from : `${from};tag=${fromTag}` });
    req.headers.push({ name: 'To', value: appMsg.get('to') ?? `<${appMsg.uri}>` });
    const callId = appMsg.get('call-id') ?? newCallId();
    req.headers.push({ name: 'Call-ID', value: callId });
    const appSeq = appMsg.get('cseq') ? appMsg.cseq().seq : undefined;
    req.headers.push({ name: 'CSeq', value: `${appSeq ?? newCseq()} ${method}` });
    const contact = appMsg.get('contact');
    if (contact) req.headers.push({ name: 'Contact', value: rewriteLocalhost(contact, this.local) });
    else if (['INVITE', 'SUBSCRIBE', 'REFER', 'REGISTER', 'OPTIONS', 'NOTIFY', 'UPDATE'].includes(method)) {
      req.headers.push({ name: 'Contact', value: localContact(this.local, transport) });
    }
    pushBody(req, appMsg, ['route']);
    const peer: Peer = { transport, address: stripBrackets(target.host), port: target.port ?? 5060 };
    const dialogId = method === 'INVITE' ? dialogIdOf(callId, getTag(req.get('from'))!) : '';
    const t = this.startClientTxn(app, req, branch, peer, dialogId);
    this.replySent(app, frameId, t.data, transport, t.id);
  }

  private startClientTxn(app: AppConnection, req: SipMessage, branch: string, peer: Peer, dialogId: string): ClientTransaction {
    const key = `${branch}|${req.method}`;
    const t = new ClientTransaction(uuid(), branch, req, req.toString(), peer, app.id, dialogId, this.timers,
      (data) => this.sendTo(peer, data),
      (tx) => this.onClientTimeout(tx),
      (tx) => {
        if (this.clientTxns.get(key) === tx) this.clientTxns.delete(key);
        this.clientTxnById.delete(tx.id);
      });
    this.clientTxns.set(key, t);
    this.clientTxnById.set(t.id, t);
    this.transport.send(peer.transport, peer.address, peer.port, t.data, peer.conn).then(() => t.start(), (err: Error) => {
      this.problem(`send ${req.method} to ${peer.transport}:${peer.address}:${peer.port} failed: ${err.message}; answering 503`);
      this.fabricate(t, 503, 'Service Unavailable');
      t.terminate();
    });
    return t;
  }

  /** Timer B/F fired: the stack fabricates 408, reported with bytes 0 and no address. */
  private onClientTimeout(t: ClientTransaction): void {
    this.problem(`${t.method} to ${t.peer.address}:${t.peer.port} timed out (timer ${t.method === 'INVITE' ? 'B' : 'F'})`);
    this.fabricate(t, 408, 'Request Timeout');
  }

  private fabricate(t: ClientTransaction, status: number, reason: string): void {
    if (t.method === 'CANCEL' || t.method === 'ACK') return;
    const res = new SipMessage();
    res.status = status;
    res.reason = reason;
    for (const n of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) res.headers.push({ name: n, value: t.request.get(n)! });
    res.headers.push({ name: 'Content-Length', value: '0' });
    if (t.method === 'INVITE') {
      const d = this.dialogs.get(t.dialogId);
      if (d && d.state === 'early') this.dialogs.remove(d);
    }
    const app = this.liveApp(t.appId);
    if (app) app.send(buildWire(['sip', 'network', '0', t.peer.transport, '', '0', wireTime(), t.id, t.dialogId, ''], res.toString()).payload);
  }

  /** `OK|application|<bytes>|<transport>|<local addr>|<local port>|<time>|<txid>|Msg sent:|` */
  private replySent(app: AppConnection, frameId: string, data: string, transport: SipTransportName, txid: string): void {
    app.send(okResponse(frameId, ['application', String(Buffer.byteLength(data, 'utf8')), transport, this.local.host, String(this.local.port), wireTime(), txid, 'Msg sent:', ''], data));
  }
}

function stripTag(nameAddr: string): string {
  return nameAddr.replace(/;\s*tag=[^;]*/i, '');
}

function stripBrackets(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/**
 * The tag an app put on the To of its response, as drachtio-server reads it
 * (std::regex "tag=(.*)" on the To value: everything after the first `tag=`, other parameters
 * included), or undefined when there is none or it is empty.
 */
export function appToTag(to: string | undefined): string | undefined {
  if (!to) return undefined;
  const m = /tag=(.*)/.exec(to);
  return m && m[1] ? m[1] : undefined;
}

/** Split a comma-separated header list (Record-Route), keeping <...> intact. */
function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of value) {
    if (ch === '<') depth++;
    if (ch === '>') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Content-Type, Content-Length, then the app's custom headers (the order the real server uses). */
function pushBody(req: SipMessage, appMsg: SipMessage, alsoSkip: string[] = []): void {
  const ct = appMsg.get('content-type');
  if (ct) req.headers.push({ name: 'Content-Type', value: ct });
  else if (appMsg.body.length) req.headers.push({ name: 'Content-Type', value: 'application/sdp' });
  req.headers.push({ name: 'Content-Length', value: String(Buffer.byteLength(appMsg.body, 'utf8')) });
  for (const h of customHeaders(appMsg)) {
    if (alsoSkip.includes(h.name.toLowerCase())) continue;
    req.headers.push({ name: canonicalName(h.name), value: h.value });
  }
  req.body = appMsg.body;
}

