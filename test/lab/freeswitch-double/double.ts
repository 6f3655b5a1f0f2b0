/**
 * FreeSwitchDouble: an in-process stand-in for the FreeSWITCH 1.10 that drachtio-fsmrf 4.1.x
 * drives (sofia profile drachtio_mrf + mod_event_socket + mod_conference), built from the
 * recordings in test/fixtures/freeswitch. Test code only; see docs/freeswitch-double.md.
 *
 * - inbound ESL server (auth, event json, filter, api/bgapi, exit; HEARTBEAT events);
 * - SIP UAS on UDP+TCP answering fsmrf's INVITEs (with SDP: answer; without: 3pcc offer);
 * - an outbound ESL connection per channel to the X-esl-outbound address (connect -> CHANNEL_DATA,
 *   sendmsg execute -> CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE with Application-UUID);
 * - playback, hangup, set, conference (member ids global, max_members), uuid_bridge, uuid_kill;
 * - F1: a 3pcc leg ACKed recvonly and sitting in a conference never runs queued commands;
 * - RTP: a UDP port per channel; relay between bridged/conferenced legs; tones for playback.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomInt } from 'node:crypto';
import {
  EslCommandParser, EslFrameError, apiResponse, authRequest, cmdHeader, commandReply, disconnectNotice, jsonEvent,
  urlEncodeValue, type EslCommand,
} from './esl-wire.js';
import { baseFields, channelFields, heartbeatFields, newUuid, nowMicros, type CoreInfo, type Fields } from './events.js';
import { SipTransport, hdr, tagOf, uriIn, type SipMsg, type SipPeer } from './sip.js';
import { RtpPort, SRTP_TAG_BYTES, STATIC_PT, type G711, type RtpCounters } from './rtp.js';

export interface FreeSwitchDoubleOptions {
  eslPassword: string;
  host?: string;
  /** 0 = free port (UDP and TCP). */
  sipPort?: number;
  /** 0 = free port. */
  eslPort?: number;
  profile?: string;
  /** Address FreeSWITCH reports in FreeSWITCH-IPv4 and the o= line of its 3pcc offers (F3). */
  reportedIpv4?: string;
  /** HEARTBEAT period (FreeSWITCH default 20 s; the recordings used 5 s). */
  heartbeatMs?: number;
  /** An inbound client that has not authenticated by then is disconnected. */
  authTimeoutMs?: number;
  maxSessions?: number;
  /** Length of a played file; tone_stream lengths are computed from the spec. Default 2000 ms. */
  fileDurationMs?: (path: string) => number;
  /** uuid_break ends a running playback after this delay (or at once on uuid_bridge). */
  breakLatencyMs?: number;
  /** Delay between a member's hangup and its del-member event (default 150 ms; recorded ~50 ms). */
  memberLeaveLatencyMs?: number;
  /**
   * FreeSWITCH global variables (what `<X-PRE-PROCESS cmd="set" data="name=value"/>` lines in its
   * configuration define). The 3pcc offer is made when the INVITE arrives, before the dialplan,
   * so only these decide `rtp_secure_media_inbound` / `rtp_secure_media` for fsmrf's (inbound)
   * channels. Default: the set lines of the configuration this repository ships
   * (sip-configs/freeswitch, or the directory in FS_DOUBLE_CONFIG; see freeswitchConfigVars());
   * `{}` is stock FreeSWITCH (the recordings).
   */
  vars?: Record<string, string>;
  /**
   * Write silence on idle channels as FreeSWITCH does with the mrf dialplan's
   * `send_silence_when_idle=-1` (see RtpPort#startIdleSilence): a leg in the socket app with no
   * playback, bridge or conference sends a silent G.711 frame every 20 ms to its remote address.
   * Default false: the call suites count every packet at their far ends as relayed audio
   * (docs/freeswitch-double.md, "Idle silence").
   */
  idleSilence?: boolean;
  log?: (line: string) => void;
}

export type EslDirection = 'app->FS' | 'FS->app';

export interface EslRecord {
  /** Connection number, in order of creation (inbound and outbound share the sequence). */
  conn: number;
  kind: 'inbound' | 'outbound';
  dir: EslDirection;
  /** The message as sent on the wire. */
  text: string;
  at: number;
}

export interface SipRecord {
  dir: 'in' | 'out';
  startLine: string;
  callId: string;
  at: number;
}

export interface ChannelInfo {
  uuid: string;
  callId: string;
  is3pcc: boolean;
  recvonly: boolean;
  codec: G711;
  localRtpPort: number;
  remoteRtp?: { address: string; port: number };
  rtp: RtpCounters;
  /** The SDES suite this leg negotiated (RTP/SAVP): it sends SRTP and drops plain RTP from then on. */
  srtp?: string;
  /** The video stream (only with FreeSwitchDouble#videoPassthrough). */
  video?: { codec: string; localPort: number; remote?: { address: string; port: number }; rtp: RtpCounters };
  state: 'active' | 'hangup';
  bridgedTo?: string;
  conference?: { name: string; memberId: number };
}

export interface ConferenceInfo {
  name: string;
  uuid: string;
  maxMembers: number;
  members: Array<{ uuid: string; memberId: number; flags: string[] }>;
}

interface DoubleEvents {
  problem: [string];
  /** An ESL connection (inbound or outbound) closed. */
  closed: [number];
  channel: [ChannelInfo];
  hangup: [ChannelInfo];
  /** An RTP packet FreeSWITCH would ignore arrived on a channel (not relayed; counted in rtp.droppedPackets). */
  rtpDropped: [uuid: string, pt: number, reason: 'payload-type' | 'srtp'];
}

const SIP_ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REGISTER, REFER, NOTIFY';

// ---------------------------------------------------------------- ESL connections

class EslConn {
  readonly parser = new EslCommandParser();
  authed = false;
  events = new Set<string>();
  customs = new Set<string>();
  allEvents = false;
  filters: Array<[string, string]> = [];
  closed = false;
  channel?: Channel;
  authTimer?: NodeJS.Timeout;
  constructor(readonly id: number, readonly kind: 'inbound' | 'outbound', readonly socket: net.Socket) {}

  wants(f: Fields): boolean {
    const name = f['Event-Name']!;
    if (name === 'CUSTOM') {
      if (!this.allEvents && !this.customs.has(f['Event-Subclass'] ?? '')) return false;
    } else if (!this.allEvents && !this.events.has(name)) return false;
    if (this.filters.length === 0) return true;
    return this.filters.some(([k, v]) => f[k] === v);
  }
}

// ---------------------------------------------------------------- channels & conferences

interface QueuedApp {
  app: string;
  arg: string;
  eventUuid?: string;
}

interface Running {
  app: string;
  arg: string;
  eventUuid?: string;
  /** Ends the app early (break, bridge, hangup); runs its completion. */
  stop?: (why: 'break' | 'bridge' | 'hangup') => void;
}

class Channel {
  readonly uuid = newUuid();
  readonly created = nowMicros();
  state: 'active' | 'hangup' = 'active';
  answerState: 'answered' | 'hangup' = 'answered';
  recvonly = false;
  acked = false;
  conn?: EslConn;
  queue: QueuedApp[] = [];
  running?: Running;
  socketRunning = true;
  lastResponse = '_none_';
  bridgedTo?: Channel;
  /** Accepted video stream (videoPassthrough): relayed untouched to the bridged leg's video. */
  video?: { rtp: RtpPort; pt: number; codec: string };
  conf?: { conf: Conference; memberId: number; flags: string[]; done: () => void };
  vars: Fields = {};
  localTag = randomBytes(6).toString('base64url');
  cseq = randomInt(1000, 100000);
  localSdp = '';
  breakTimer?: NodeJS.Timeout;
  okTimer?: NodeJS.Timeout;
  constructor(
    readonly callId: string,
    readonly remoteTag: string,
    readonly invite: SipMsg,
    readonly peer: SipPeer,
    readonly remoteTarget: string,
    readonly rtp: RtpPort,
    readonly is3pcc: boolean,
    readonly eslTarget: string,
  ) {}

  get codec(): G711 {
    return this.rtp.codec;
  }

  get channelName(): string {
    return `sofia/drachtio_mrf/nobody@${this.peer.address}:${this.peer.port}`;
  }

  info(): ChannelInfo {
    const i: ChannelInfo = {
      uuid: this.uuid, callId: this.callId, is3pcc: this.is3pcc, recvonly: this.recvonly, codec: this.codec,
      localRtpPort: this.rtp.port, rtp: copyCounters(this.rtp.counters),
      state: this.state,
    };
    if (this.rtp.srtp) i.srtp = this.rtp.srtp.suite;
    if (this.rtp.remote) i.remoteRtp = { ...this.rtp.remote };
    if (this.video) {
      const v = this.video.rtp;
      i.video = { codec: this.video.codec, localPort: v.port, rtp: copyCounters(v.counters) };
      if (v.remote) i.video.remote = { ...v.remote };
    }
    if (this.bridgedTo) i.bridgedTo = this.bridgedTo.uuid;
    if (this.conf) i.conference = { name: this.conf.conf.name, memberId: this.conf.memberId };
    return i;
  }
}

function copyCounters(c: RtpCounters): RtpCounters {
  return {
    ...c, rxPayloadTypes: { ...c.rxPayloadTypes }, txPayloadTypes: { ...c.txPayloadTypes }, droppedPayloadTypes: { ...c.droppedPayloadTypes },
  };
}

class Conference {
  readonly uuid = newUuid();
  readonly members = new Map<number, Channel>();
  maxMembers = 0; // 0 = unlimited
  ended = false;
  constructor(readonly name: string) {}
}

// ---------------------------------------------------------------- helpers

/** Duration of a tone_stream:// spec: sum of on/off pairs times loops (-1 loops = until stopped). */
export function toneStreamMs(spec: string): number | undefined {
  const m = /^tone_stream:\/\/(.*)$/.exec(spec);
  if (!m) return undefined;
  let total = 0;
  for (const seg of m[1]!.matchAll(/%\(([^)]*)\)/g)) {
    const nums = seg[1]!.split(',').map(Number);
    total += (nums[0] ?? 0) + (nums[1] ?? 0);
  }
  const loops = /;loops=(-?\d+)/.exec(m[1]!);
  const n = loops ? Number(loops[1]) : 1;
  if (n < 0) return Number.POSITIVE_INFINITY;
  return total * Math.max(1, n);
}

function toneHz(spec: string): number {
  const m = /%\(\d+,\d+,(\d+)/.exec(spec);
  return m ? Number(m[1]) : 440;
}

interface SdpMedia {
  address?: string;
  port: number;
  proto: string;
  pts: number[];
  rtpmap: Map<number, string>;
  recvonly: boolean;
  crypto: Array<{ tag: number; suite: string }>;
}

function parseSdp(sdp: string): { sessionAddress?: string; sessionRecvonly: boolean; media: SdpMedia[] } {
  const out: { sessionAddress?: string; sessionRecvonly: boolean; media: SdpMedia[] } = { sessionRecvonly: false, media: [] };
  let cur: SdpMedia | undefined;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=audio ')) {
      const [, port, proto, ...pts] = line.slice(2).split(/\s+/);
      cur = { port: Number(port), proto: proto ?? '', pts: pts.map(Number).filter(Number.isFinite), rtpmap: new Map(), recvonly: false, crypto: [] };
      out.media.push(cur);
    } else if (line.startsWith('m=')) cur = undefined;
    else if (line.startsWith('c=IN IP4 ')) {
      const a = line.slice(9).trim();
      if (cur) cur.address = a;
      else if (out.media.length === 0) out.sessionAddress = a;
    } else if (line.startsWith('a=rtpmap:')) {
      const m = /^a=rtpmap:(\d+)\s+([^/\s]+)/.exec(line);
      if (m && cur) cur.rtpmap.set(Number(m[1]), m[2]!.toUpperCase());
    } else if (line.startsWith('a=crypto:')) {
      const m = /^a=crypto:(\d+)\s+(\S+)\s+inline:/.exec(line);
      if (m && cur) cur.crypto.push({ tag: Number(m[1]), suite: m[2]! });
    } else if (line === 'a=recvonly' || line === 'a=inactive') {
      if (cur) cur.recvonly = true;
      else if (out.media.length === 0) out.sessionRecvonly = true;
    }
  }
  return out;
}

/** The codecs of the recorded 3pcc offer: [pt, encoding, rate, fmtp]. */
const OFFER_CODECS: Array<[number, string, string, string?]> = [
  [0, 'PCMU', '8000'], [8, 'PCMA', '8000'],
  [102, 'opus', '48000/2', 'useinbandfec=1; maxaveragebitrate=30000; maxplaybackrate=48000; ptime=20; minptime=10; maxptime=40'],
  [18, 'G729', '8000'], [101, 'telephone-event', '8000', '0-15'], [13, 'CN', '8000'],
  [103, 'telephone-event', '48000', '0-15'], [104, 'CN', '48000'],
];

/** Video codecs FreeSWITCH passes through (no transcoding). */
const PASSTHROUGH_VIDEO = new Set(['H264', 'H263', 'H263-1998', 'VP8']);

interface VideoOffer {
  port: number;
  address?: string;
  pts: number[];
  rtpmap: Map<number, string>;
}

/** The first m=video of an SDP (its own c= line, or the session one). */
function parseVideo(sdp: string): VideoOffer | undefined {
  let v: VideoOffer | undefined;
  let session: string | undefined;
  let inVideo = false;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      if (v) break;
      inVideo = line.startsWith('m=video ');
      if (inVideo) {
        const [, port, , ...pts] = line.slice(2).split(/\s+/);
        v = { port: Number(port), pts: pts.map(Number).filter(Number.isFinite), rtpmap: new Map() };
      }
    } else if (line.startsWith('c=IN IP4 ')) {
      if (inVideo && v) v.address = line.slice(9).trim();
      else if (!inVideo) session ??= line.slice(9).trim();
    } else if (inVideo && v && line.startsWith('a=rtpmap:')) {
      const m = /^a=rtpmap:(\d+)\s+([^/\s]+)/.exec(line);
      if (m) v.rtpmap.set(Number(m[1]), m[2]!.toUpperCase());
    }
  }
  if (v && !v.address && session) v.address = session;
  return v;
}

function codecOf(m: SdpMedia, pt: number): string | undefined {
  return m.rtpmap.get(pt) ?? (pt === 0 ? 'PCMU' : pt === 8 ? 'PCMA' : pt === 18 ? 'G729' : pt === 13 ? 'CN' : undefined);
}

/** Payload types of a remote m-line with their encoding names: what a leg accepts (RtpPort#accept). */
function acceptedOf(m: SdpMedia): Map<number, string> {
  const out = new Map<number, string>();
  for (const pt of m.pts) out.set(pt, codecOf(m, pt) ?? 'unknown');
  return out;
}

// ---------------------------------------------------------------- SDES-SRTP

/**
 * How FreeSWITCH treats SDES for a channel (switch_core_media.c, parse_crypto_prefs): optional
 * offers RTP/SAVP (with crypto) and RTP/AVP, mandatory RTP/SAVP only, forbidden RTP/AVP only.
 */
export type SecureMedia = 'optional' | 'mandatory' | 'forbidden';

/**
 * The mode of an inbound channel (fsmrf's INVITEs are inbound to FreeSWITCH):
 * `rtp_secure_media_inbound`, else `rtp_secure_media` (a `:SUITE...` tail is the suite list);
 * none at all = optional; `true` = mandatory; anything else but `optional` = forbidden.
 */
export function secureMediaOf(vars: Record<string, string>): SecureMedia {
  const raw = vars.rtp_secure_media_inbound ?? vars.rtp_secure_media;
  const val = (raw ?? '').split(':')[0]!.trim().toLowerCase();
  if (val === '' || val === 'optional') return 'optional';
  if (val === 'mandatory' || ['true', 'yes', 'on', 'enabled', 'active', 'allow', '1'].includes(val)) return 'mandatory';
  return 'forbidden';
}

/** FreeSWITCH's SDES suites in its order of preference (SUITES[] in switch_core_media.c), with key+salt bytes. */
const SDES_SUITES: Array<[string, number]> = [
  ['AEAD_AES_256_GCM_8', 44], ['AEAD_AES_256_GCM', 44], ['AEAD_AES_128_GCM_8', 28], ['AEAD_AES_128_GCM', 28],
  ['AES_256_CM_HMAC_SHA1_80', 46], ['AES_192_CM_HMAC_SHA1_80', 38], ['AES_CM_128_HMAC_SHA1_80', 30],
  ['AES_256_CM_HMAC_SHA1_32', 46], ['AES_192_CM_HMAC_SHA1_32', 38], ['AES_CM_128_HMAC_SHA1_32', 30], ['AES_CM_128_NULL_AUTH', 30],
];
const SUITE_ALIASES: Record<string, string> = {
  AES_CM_256_HMAC_SHA1_80: 'AES_256_CM_HMAC_SHA1_80', AES_CM_192_HMAC_SHA1_80: 'AES_192_CM_HMAC_SHA1_80',
  AES_CM_256_HMAC_SHA1_32: 'AES_256_CM_HMAC_SHA1_32', AES_CM_192_HMAC_SHA1_32: 'AES_192_CM_HMAC_SHA1_32',
};

function sdesKey(suite: string): string {
  const bytes = SDES_SUITES.find(([n]) => n === suite)?.[1] ?? 30;
  return randomBytes(bytes).toString('base64');
}

/**
 * The audio m-line FreeSWITCH takes from a remote SDP: the first with a port whose profile the
 * mode allows (RTP/SAVP needs an a=crypto of a suite it knows) and that offers PCMU or PCMA.
 */
function chooseAudio(sdp: ReturnType<typeof parseSdp>, mode: SecureMedia): { media: SdpMedia; codec: G711; crypto?: { tag: number; suite: string } } | undefined {
  for (const m of sdp.media) {
    if (m.port <= 0) continue;
    const codec = m.pts.map((pt) => codecOf(m, pt)).find((n) => n === 'PCMU' || n === 'PCMA') as G711 | undefined;
    if (!codec) continue;
    if (m.proto === 'RTP/SAVP') {
      if (mode === 'forbidden') continue;
      const c = m.crypto.map((x) => ({ tag: x.tag, suite: SUITE_ALIASES[x.suite] ?? x.suite })).find((x) => SRTP_TAG_BYTES[x.suite] !== undefined);
      if (c) return { media: m, codec, crypto: c };
    } else if (m.proto === 'RTP/AVP') {
      if (mode !== 'mandatory') return { media: m, codec };
    }
  }
  return undefined;
}

/** Where the configuration this repository ships for FreeSWITCH lives. */
const PROJECT_FS_CONFIG = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'sip-configs', 'freeswitch');

/**
 * FreeSWITCH global variables set by `<X-PRE-PROCESS cmd="set" data="name=value"/>` in the XML
 * files under `dir` (read in path order, later ones win, as FreeSWITCH's preprocessor would for
 * one include order). Values still holding `$${...}` references are left out; `env-set` lines are
 * ignored (the environment of a test run is not FreeSWITCH's). A missing dir gives {}.
 */
export function freeswitchConfigVars(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const files: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.xml')) files.push(p);
    }
  };
  walk(dir);
  for (const f of files) {
    const text = readFileSync(f, 'utf8').replace(/<!--[\s\S]*?-->/g, '');
    for (const m of text.matchAll(/<X-PRE-PROCESS\s+cmd="set"\s+data="([^"=]+)=([^"]*)"\s*\/>/g)) {
      if (!m[2]!.includes('$${')) out[m[1]!.trim()] = m[2]!.trim();
    }
  }
  return out;
}

// ---------------------------------------------------------------- the double

export class FreeSwitchDouble extends EventEmitter<DoubleEvents> {
  readonly transcript: EslRecord[] = [];
  /**
   * Answer video streams in passthrough (H.264, H.263, VP8: a media port, relayed untouched to
   * the bridged leg's video), as FreeSWITCH does with video codecs in the profile. Off by default:
   * the recorded profile (and the golden transcripts) are audio-only.
   */
  videoPassthrough = false;

  /** Channels a key frame was asked for (`uuid_video_refresh`, INFO picture_fast_update), in order. */
  readonly videoRefreshes: string[] = [];
  readonly sipLog: SipRecord[] = [];
  readonly problems: string[] = [];
  private readonly core: CoreInfo;
  private readonly opts: Required<Omit<FreeSwitchDoubleOptions, 'log' | 'sipPort' | 'eslPort'>> & { log?: (l: string) => void };
  /** FreeSWITCH's global variables (options.vars; `global_setvar` changes them). */
  readonly globals: Record<string, string>;
  private esl!: net.Server;
  private sip!: SipTransport;
  private readonly conns = new Set<EslConn>();
  private nextConnId = 0;
  private readonly channels = new Map<string, Channel>();
  private readonly byCallId = new Map<string, Channel>();
  private readonly hungUp: ChannelInfo[] = [];
  private readonly confs = new Map<string, Conference>();
  /** Member ids are global across conferences (F5). */
  private memberSeq = 0;
  private heartbeat?: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private sessionsSinceStartup = 0;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(o: FreeSwitchDoubleOptions) {
    super();
    this.opts = {
      eslPassword: o.eslPassword,
      host: o.host ?? '127.0.0.1',
      profile: o.profile ?? 'drachtio_mrf',
      reportedIpv4: o.reportedIpv4 ?? o.host ?? '127.0.0.1',
      heartbeatMs: o.heartbeatMs ?? 5000,
      authTimeoutMs: o.authTimeoutMs ?? 5000,
      maxSessions: o.maxSessions ?? 100,
      fileDurationMs: o.fileDurationMs ?? (() => 2000),
      breakLatencyMs: o.breakLatencyMs ?? 250,
      memberLeaveLatencyMs: o.memberLeaveLatencyMs ?? 150,
      idleSilence: o.idleSilence ?? false,
      vars: o.vars ?? freeswitchConfigVars(process.env.FS_DOUBLE_CONFIG ?? PROJECT_FS_CONFIG),
      ...(o.log ? { log: o.log } : {}),
    };
    this.globals = { ...this.opts.vars };
    this.core = { coreUuid: newUuid(), hostname: 'fs-double', ipv4: this.opts.reportedIpv4, version: '1.10.12-double' };
  }

  static async start(o: FreeSwitchDoubleOptions): Promise<FreeSwitchDouble> {
    const d = new FreeSwitchDouble(o);
    await d.listen(o.sipPort ?? 0, o.eslPort ?? 0);
    return d;
  }

  get host(): string {
    return this.opts.host;
  }
  get eslPort(): number {
    return (this.esl.address() as net.AddressInfo).port;
  }
  get sipPort(): number {
    return this.sip.port;
  }
  /** host:port of the drachtio_mrf profile. */
  get sipAddress(): string {
    return `${this.opts.host}:${this.sip.port}`;
  }
  /**
   * SDES mode of the next fsmrf channel (switch_core_session_parse_crypto_prefs for an inbound
   * channel), from the globals as they are when its INVITE arrives.
   */
  get secureMedia(): SecureMedia {
    return secureMediaOf(this.globals);
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /**
   * Fault injection: reset every ESL connection of `kind` (default both) abruptly, as when
   * FreeSWITCH's event socket goes away. Channels whose outbound socket is cut are hung up (BYE).
   */
  dropConnections(kind?: 'inbound' | 'outbound'): void {
    for (const c of [...this.conns]) if (!kind || c.kind === kind) c.socket.resetAndDestroy();
  }

  /** Resolves once no ESL connection (inbound or outbound) is open. */
  idle(): Promise<void> {
    if (this.conns.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.conns.size > 0) return;
        this.off('closed', check);
        resolve();
      };
      this.on('closed', check);
    });
  }

  /** Live channels and, after them, those already hung up (with final RTP counters). */
  channelInfo(): ChannelInfo[] {
    return [...[...this.channels.values()].map((c) => c.info()), ...this.hungUp];
  }

  conferenceInfo(): ConferenceInfo[] {
    return [...this.confs.values()].map((c) => ({
      name: c.name, uuid: c.uuid, maxMembers: c.maxMembers,
      members: [...c.members.entries()].map(([memberId, ch]) => ({ uuid: ch.uuid, memberId, flags: ch.conf?.flags ?? [] })),
    }));
  }

  private log(line: string): void {
    this.opts.log?.(`[fs-double] ${line}`);
  }

  private problem(line: string): void {
    this.problems.push(line);
    this.log(line);
    this.emit('problem', line);
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private cancel(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  private async listen(sipPort: number, eslPort: number): Promise<void> {
    this.sip = new SipTransport(this.opts.host);
    this.sip.on('message', (m, peer) => this.onSip(m, peer));
    this.sip.on('problem', (p) => this.problem(p));
    await this.sip.listen(sipPort);
    // Like mod_event_socket, which sets TCP_NODELAY on every listener socket (inbound and outbound).
    this.esl = net.createServer({ noDelay: true }, (s) => this.onInbound(s));
    await new Promise<void>((resolve, reject) => {
      this.esl.once('error', reject);
      this.esl.listen(eslPort, this.opts.host, () => resolve());
    });
    this.esl.on('error', (e) => this.problem(`esl server error: ${e.message}`));
    if (this.opts.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.publish(heartbeatFields(this.core, {
        sessions: this.channels.size, maxSessions: this.opts.maxSessions, startedAt: this.startedAt,
        sinceStartup: this.sessionsSinceStartup,
      })), this.opts.heartbeatMs);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ch of this.channels.values()) {
      ch.rtp.close();
    ch.video?.rtp.close();
      if (ch.breakTimer) clearTimeout(ch.breakTimer);
    }
    this.channels.clear();
    for (const c of this.conns) {
      if (c.authTimer) clearTimeout(c.authTimer);
      c.socket.destroy();
    }
    this.conns.clear();
    await new Promise<void>((r) => this.esl.close(() => r()));
    await this.sip.close();
  }

  // ------------------------------------------------------------ ESL plumbing

  private write(c: EslConn, text: string): void {
    if (c.closed || c.socket.destroyed) return;
    this.transcript.push({ conn: c.id, kind: c.kind, dir: 'FS->app', text, at: Date.now() });
    c.socket.write(text);
  }

  private attach(c: EslConn): void {
    this.conns.add(c);
    c.socket.on('data', (d: Buffer) => {
      if (c.closed) return;
      let cmds: EslCommand[];
      try {
        cmds = c.parser.push(d);
      } catch (e) {
        const why = e instanceof EslFrameError ? e.message : String(e);
        this.problem(`esl conn ${c.id}: ${why}; closing`);
        this.closeConn(c, false);
        return;
      }
      for (const cmd of cmds) {
        if (c.closed) break;
        this.transcript.push({ conn: c.id, kind: c.kind, dir: 'app->FS', text: formatCommand(cmd), at: Date.now() });
        try {
          this.onCommand(c, cmd);
        } catch (e) {
          this.problem(`esl conn ${c.id}: command '${cmd.line.slice(0, 80)}' failed: ${(e as Error).message}`);
          this.write(c, commandReply(`-ERR ${(e as Error).message}`));
        }
      }
    });
    c.socket.on('error', (e) => this.log(`esl conn ${c.id} socket error: ${e.message}`));
    c.socket.on('close', () => {
      c.closed = true;
      if (c.authTimer) clearTimeout(c.authTimer);
      this.conns.delete(c);
      this.emit('closed', c.id);
      const ch = c.channel;
      // Outbound socket gone while the channel lives: FreeSWITCH hangs the channel up (async full).
      if (ch && ch.state === 'active' && !this.stopped) this.hangup(ch, 'NORMAL_CLEARING', { sendBye: true });
    });
  }

  private closeConn(c: EslConn, notice: boolean): void {
    if (c.closed) return;
    if (notice) this.write(c, disconnectNotice(c.kind === 'outbound' ? c.channel?.uuid : undefined));
    c.closed = true;
    c.socket.end();
  }

  private onInbound(s: net.Socket): void {
    const c = new EslConn(this.nextConnId++, 'inbound', s);
    this.attach(c);
    this.write(c, authRequest());
    c.authTimer = setTimeout(() => {
      if (!c.authed && !c.closed) {
        this.problem(`esl conn ${c.id}: no auth within ${this.opts.authTimeoutMs} ms; closing`);
        this.closeConn(c, true);
      }
    }, this.opts.authTimeoutMs);
  }

  private publish(f: Fields): void {
    for (const c of this.conns) {
      if (c.closed || (c.kind === 'inbound' && !c.authed)) continue;
      if (c.wants(f)) this.write(c, jsonEvent(f));
    }
  }

  private onCommand(c: EslConn, cmd: EslCommand): void {
    const [verb = '', ...rest] = cmd.line.split(/\s+/);
    const args = cmd.line.slice(verb.length).trim();
    if (c.kind === 'inbound' && !c.authed) {
      if (verb === 'auth') {
        if (args === this.opts.eslPassword) {
          c.authed = true;
          if (c.authTimer) clearTimeout(c.authTimer);
          this.write(c, commandReply('+OK accepted'));
        } else {
          this.problem(`esl conn ${c.id}: wrong password`);
          this.write(c, commandReply('-ERR invalid'));
          this.closeConn(c, true);
        }
      } else if (verb === 'exit') {
        this.write(c, commandReply('+OK bye'));
        this.closeConn(c, true);
      } else this.write(c, commandReply('-ERR invalid'));
      return;
    }
    switch (verb) {
      case 'connect':
        if (c.kind === 'outbound' && c.channel) this.write(c, this.channelData(c.channel));
        else this.write(c, commandReply('-ERR command not found'));
        return;
      case 'event': {
        const [format = 'plain', ...names] = rest;
        let custom = false;
        for (const n of names) {
          if (custom) c.customs.add(n);
          else if (n === 'ALL' || n === 'all') c.allEvents = true;
          else {
            const name = n.replace(/^SWITCH_EVENT_/, '');
            c.events.add(name);
            if (name === 'CUSTOM') custom = true;
          }
        }
        this.write(c, commandReply(`+OK event listener enabled ${format}`));
        return;
      }
      case 'noevents':
        c.events.clear();
        c.customs.clear();
        c.allEvents = false;
        this.write(c, commandReply('+OK no longer listening for events'));
        return;
      case 'nixevent':
        for (const n of rest) c.events.delete(n);
        this.write(c, commandReply('+OK events nixed'));
        return;
      case 'filter': {
        if (rest[0] === 'delete') {
          const [, h, v] = rest;
          c.filters = c.filters.filter(([k, val]) => !(k === h && (v === undefined || val === v)));
          this.write(c, commandReply(`+OK filter deleted. [${h ?? ''}]=[${v ?? ''}]`));
          return;
        }
        const [h, ...vs] = rest;
        const v = vs.join(' ');
        if (!h) {
          this.write(c, commandReply('-ERR invalid syntax'));
          return;
        }
        c.filters.push([h, v]);
        this.write(c, commandReply(`+OK filter added. [${h}]=[${v}]`));
        return;
      }
      case 'myevents':
      case 'linger':
      case 'nolinger':
      case 'resume':
      case 'divert_events':
        this.write(c, commandReply('+OK'));
        return;
      case 'exit':
        this.write(c, commandReply('+OK bye'));
        this.closeConn(c, true);
        return;
      case 'api':
        this.write(c, apiResponse(this.api(args)));
        return;
      case 'bgapi': {
        const job = cmdHeader(cmd, 'Job-UUID') ?? newUuid();
        this.write(c, commandReply(`+OK Job-UUID: ${job}`));
        const body = this.api(args);
        setImmediate(() => {
          const [command = '', ...a] = args.split(' ');
          this.publish({ ...baseFields(this.core, 'BACKGROUND_JOB'), 'Job-UUID': job, 'Job-Command': command, 'Job-Command-Arg': a.join(' '), _body: body });
        });
        return;
      }
      case 'sendmsg':
        this.sendmsg(c, rest[0], cmd);
        return;
      default:
        this.write(c, commandReply('-ERR command not found'));
    }
  }

  private sendmsg(c: EslConn, uuidArg: string | undefined, cmd: EslCommand): void {
    const ch = uuidArg ? this.channels.get(uuidArg) : c.channel;
    if (!ch) {
      this.write(c, commandReply('-ERR invalid session id'));
      return;
    }
    const command = (cmdHeader(cmd, 'call-command') ?? '').toLowerCase();
    this.write(c, commandReply('+OK'));
    if (command === 'execute') {
      const app = cmdHeader(cmd, 'execute-app-name') ?? '';
      const arg = cmdHeader(cmd, 'execute-app-arg') ?? cmd.body?.trim() ?? '';
      const q: QueuedApp = { app, arg };
      const eu = cmdHeader(cmd, 'Event-UUID');
      if (eu) q.eventUuid = eu;
      ch.queue.push(q);
      setImmediate(() => this.pump(ch));
    } else if (command === 'hangup') {
      const cause = cmdHeader(cmd, 'hangup-cause') ?? 'NORMAL_CLEARING';
      setImmediate(() => this.hangup(ch, cause, { sendBye: true }));
    } else if (command === 'unicast' || command === 'nomedia' || command === 'xferext') {
      this.problem(`sendmsg ${command} not emulated`);
    }
  }

  // ------------------------------------------------------------ events about channels

  private chFields(ch: Channel, name: string, extra: Fields = {}): Fields {
    // Channel-Call-State stays ACTIVE in every recorded event but the CHANNEL_CALLSTATE HANGUP one.
    return {
      ...baseFields(this.core, name),
      ...channelFields({
        uuid: ch.uuid, channelName: ch.channelName, state: 'CS_EXECUTE', callState: 'ACTIVE',
        answerState: ch.answerState, codec: ch.codec, createdMicros: ch.created, variables: ch.vars,
      }),
      ...extra,
    };
  }

  private channelData(ch: Channel): string {
    const f = this.chFields(ch, 'CHANNEL_DATA');
    const lines = Object.entries(f).map(([k, v]) => `${k}: ${urlEncodeValue(v).replace(/%2F/g, '/')}`);
    lines.push('Content-Type: command/reply', 'Reply-Text: %2BOK%0A', 'Socket-Mode: async', 'Control: full');
    return `${lines.join('\n')}\n\n`;
  }

  private execEvent(ch: Channel, name: 'CHANNEL_EXECUTE' | 'CHANNEL_EXECUTE_COMPLETE', r: { app: string; arg: string; eventUuid?: string }, response?: string): void {
    const extra: Fields = { Application: r.app, 'Application-Data': r.arg };
    if (response !== undefined) extra['Application-Response'] = response;
    if (r.eventUuid) extra['Application-UUID'] = r.eventUuid;
    ch.vars.current_application = r.app;
    ch.vars.current_application_data = r.arg;
    this.publish(this.chFields(ch, name, extra));
  }

  // ------------------------------------------------------------ application execution

  private pump(ch: Channel): void {
    if (this.stopped) return;
    while (ch.state === 'active' && ch.queue.length > 0) {
      if (ch.running) {
        // Inside conference or bridge FreeSWITCH parses queued messages (nested execution), except
        // for a recvonly 3pcc conference leg, whose queue mod_conference never services (F1).
        const nested = (ch.running.app === 'conference' && !ch.recvonly) || ch.running.app === 'uuid_bridge' || ch.running.app === 'park';
        if (!nested) return;
        if (ch.running.app === 'park') {
          const r = ch.running;
          ch.running = undefined;
          r.stop?.('break');
          continue;
        }
        const q = ch.queue.shift()!;
        this.runApp(ch, q, true);
        continue;
      }
      const q = ch.queue.shift()!;
      this.runApp(ch, q, false);
    }
  }

  private runApp(ch: Channel, q: QueuedApp, nested: boolean): void {
    const r: Running = { app: q.app, arg: q.arg };
    if (q.eventUuid) r.eventUuid = q.eventUuid;
    const complete = (response: string): void => {
      if (!nested && ch.running === r) ch.running = undefined;
      ch.lastResponse = response;
      if (ch.state === 'active' || q.app === 'hangup') this.execEvent(ch, 'CHANNEL_EXECUTE_COMPLETE', r, response);
      if (!nested) setImmediate(() => this.pump(ch));
    };
    this.execEvent(ch, 'CHANNEL_EXECUTE', r);
    switch (q.app) {
      case 'hangup': {
        const cause = q.arg.trim() || 'NORMAL_CLEARING';
        ch.answerState = 'hangup';
        this.execEvent(ch, 'CHANNEL_EXECUTE_COMPLETE', r, '_none_');
        this.hangup(ch, cause, { sendBye: true });
        return;
      }
      case 'set':
      case 'export':
      case 'set_zombie_exec':
      case 'multiset': {
        const items = q.app === 'multiset' ? q.arg.replace(/^\^\^(.)/, '').split(/[\s^]+/) : [q.arg];
        for (const it of items) {
          const i = it.indexOf('=');
          if (i > 0) ch.vars[it.slice(0, i)] = it.slice(i + 1);
        }
        complete('_none_');
        return;
      }
      case 'unset':
        delete ch.vars[q.arg.trim()];
        complete('_none_');
        return;
      case 'send_dtmf': {
        const [digits = '', dur] = q.arg.trim().split('@');
        ch.rtp.sendDtmf(digits, Number(dur) || 100);
        complete('_none_');
        return;
      }
      case 'answer':
      case 'pre_answer':
      case 'ring_ready':
      case 'set_mute':
      case 'log':
      case 'info':
        complete('_none_');
        return;
      case 'sleep': {
        const t = this.later(Math.max(0, Number(q.arg) || 0), () => complete('_none_'));
        r.stop = () => {
          this.cancel(t);
          complete('_none_');
        };
        break;
      }
      case 'park':
        r.stop = () => complete('_none_');
        break;
      case 'playback':
        this.playback(ch, r, complete);
        break;
      case 'conference':
        this.joinConference(ch, r, complete);
        break;
      default:
        this.problem(`application '${q.app}' not emulated; completing at once`);
        complete('_none_');
        return;
    }
    if (!nested) ch.running = r;
  }

  private playback(ch: Channel, r: Running, complete: (resp: string) => void): void {
    const delim = ch.vars.playback_delimiter ?? '!';
    const files = r.arg.split(delim).filter((f) => f.length > 0);
    let i = 0;
    let stopTone: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const playbackFields = (file: string, status?: string): Fields => {
      const f: Fields = { 'Playback-File-Path': file, 'Playback-File-Type': file.startsWith('tone_stream') ? 'tone_stream' : 'sndfile' };
      if (status) f['Playback-Status'] = status;
      return f;
    };
    const finishAll = (status: 'done' | 'break'): void => {
      if (done) return;
      done = true;
      this.cancel(timer);
      stopTone?.();
      if (ch.breakTimer) {
        clearTimeout(ch.breakTimer);
        ch.breakTimer = undefined;
      }
      if (ch.state === 'active') this.publish(this.chFields(ch, 'PLAYBACK_STOP', playbackFields(files[Math.min(i, files.length - 1)] ?? '', status)));
      complete('FILE PLAYED');
    };
    const next = (): void => {
      if (done) return;
      if (i >= files.length) {
        done = true;
        complete('FILE PLAYED');
        return;
      }
      const file = files[i]!;
      this.publish(this.chFields(ch, 'PLAYBACK_START', playbackFields(file)));
      const ms = toneStreamMs(file) ?? this.opts.fileDurationMs(file);
      const hz = file.startsWith('tone_stream') ? toneHz(file) : 660;
      if (Number.isFinite(ms)) {
        stopTone = ch.rtp.playTone(hz, ms, () => undefined);
        timer = this.later(ms, () => {
          stopTone?.();
          this.publish(this.chFields(ch, 'PLAYBACK_STOP', playbackFields(file, 'done')));
          i++;
          if (i >= files.length) {
            done = true;
            complete('FILE PLAYED');
          } else next();
        });
      } else stopTone = ch.rtp.playTone(hz, 24 * 3600 * 1000, () => undefined);
    };
    r.stop = (why) => finishAll(why === 'hangup' ? 'done' : 'break');
    next();
  }

  // ------------------------------------------------------------ conference

  private confFields(conf: Conference, action: string, extra: Fields = {}): Fields {
    return {
      ...baseFields(this.core, 'CUSTOM', 'conference_event'),
      'Event-Subclass': 'conference::maintenance',
      'Conference-Name': conf.name,
      'Conference-Domain': this.opts.host,
      'Conference-Size': String(conf.members.size),
      'Conference-Ghosts': '0',
      'Conference-Profile-Name': 'default',
      'Conference-Unique-ID': conf.uuid,
      Action: action,
      ...extra,
    };
  }

  private memberFields(ch: Channel, conf: Conference, action: string): Fields {
    const flags = ch.conf?.flags ?? [];
    return {
      ...this.chFields(ch, 'CUSTOM'),
      ...this.confFields(conf, action),
      Floor: 'false', Video: 'false', Hear: 'true', See: 'true',
      Speak: flags.includes('mute') ? 'false' : 'true',
      Talking: 'false', 'Mute-Detect': 'false',
      'Member-ID': String(ch.conf?.memberId ?? 0),
      'Member-Type': flags.includes('moderator') ? 'moderator' : 'member',
      'Member-Ghost': flags.includes('ghost') ? 'true' : 'false',
      'Energy-Level': '100',
    };
  }

  private joinConference(ch: Channel, r: Running, complete: (resp: string) => void): void {
    // name[@profile][+pin][+flags{a|b}]
    const m = /^([^@+\s]+)(?:@([^+\s]+))?(?:\+([^+]*))?(?:\+flags\{([^}]*)\})?/.exec(r.arg.trim());
    if (!m) {
      complete('_none_');
      return;
    }
    const name = m[1]!;
    const flags = (m[4] ?? '').split('|').filter(Boolean);
    let conf = this.confs.get(name);
    if (!conf) {
      conf = new Conference(name);
      this.confs.set(name, conf);
      this.publish(this.confFields(conf, 'conference-create'));
    }
    if (conf.maxMembers > 0 && conf.members.size >= conf.maxMembers) {
      this.publish(this.confFields(conf, 'maxmember-count-reached', { 'Member-Count': String(conf.members.size) }));
      complete('_none_');
      return;
    }
    const memberId = ++this.memberSeq;
    const c = conf;
    let left = false;
    const leave = (resp: string): void => {
      if (left) return;
      left = true;
      c.members.delete(memberId);
      ch.rtp.sink = undefined;
      const fields = this.memberFields(ch, c, 'del-member');
      ch.conf = undefined;
      // endconf: the conference ends when the last member carrying that flag leaves. It is gone for
      // api commands at once; its events follow the del-member.
      const endconfGone = flags.includes('endconf') && [...c.members.values()].every((x) => !x.conf?.flags.includes('endconf'));
      const ending = c.members.size === 0 || endconfGone;
      if (ending && this.confs.get(c.name) === c) this.confs.delete(c.name);
      const finish = (): void => {
        this.publish(fields);
        if (ending) this.endConference(c);
      };
      // mod_conference notices a hung-up member on its own thread: the recording shows del-member
      // ~50 ms after the hangup, after the app's next command. A kicked (hup'd, bridged away)
      // member leaves at once, del-member before its conference app completes (FreeSWITCH 1.10.12).
      if (ch.state === 'active') {
        finish();
        complete(resp);
      } else this.later(this.opts.memberLeaveLatencyMs, finish);
    };
    ch.conf = { conf, memberId, flags, done: () => leave('_none_') };
    conf.members.set(memberId, ch);
    ch.rtp.sink = (pkt, from) => {
      for (const other of c.members.values()) if (other !== ch) other.rtp.relay(pkt, from);
    };
    r.stop = () => leave('_none_');
    this.publish(this.memberFields(ch, conf, 'add-member'));
  }

  private endConference(conf: Conference): void {
    if (conf.ended) return;
    conf.ended = true;
    if (this.confs.get(conf.name) === conf) this.confs.delete(conf.name);
    for (const ch of [...conf.members.values()]) ch.conf?.done();
    this.publish(this.confFields(conf, 'conference-destroy'));
  }

  private confPlay(conf: Conference, file: string): void {
    // The api reply goes out first, then the event (as recorded).
    setImmediate(() => this.publish(this.confFields(conf, 'play-file', { File: file, Async: 'false' })));
    const ms = toneStreamMs(file) ?? this.opts.fileDurationMs(file);
    const stops = [...conf.members.values()].map((ch) => ch.rtp.playTone(660, Number.isFinite(ms) ? ms : 2000, () => undefined));
    const started = Date.now();
    this.later(Number.isFinite(ms) ? ms : 2000, () => {
      for (const s of stops) s();
      // Lengths of what the double played (wall clock), not a quality measurement.
      const played = Date.now() - started;
      if (!conf.ended) {
        this.publish(this.confFields(conf, 'play-file-done', {
          seconds: String(Math.round(played / 1000)), milliseconds: String(played), samples: String(played * 8), File: file,
        }));
      }
    });
  }

  // ------------------------------------------------------------ api

  private api(line: string): string {
    const [cmd = '', ...a] = line.trim().split(/\s+/);
    switch (cmd) {
      case 'sofia':
        if (a[0] === 'status') return this.sofiaStatus();
        return '-ERR usage\n';
      case 'status':
        return `UP 0 years, 0 days\nFreeSWITCH (Version ${this.core.version}) is ready\n${this.sessionsSinceStartup} session(s) since startup\n${this.channels.size} session(s) - peak ${this.channels.size}\n${this.opts.maxSessions} session(s) max\n`;
      case 'version':
        return `FreeSWITCH Version ${this.core.version}\n`;
      case 'global_getvar':
        // mod_commands: the value (empty if unset), or every name=value without an argument
        if (a[0]) return this.globals[a[0]] ?? '';
        return Object.entries(this.globals).map(([k, v]) => `${k}=${v}\n`).join('');
      case 'global_setvar': {
        // mod_commands: `name=value` (an empty value unsets it) -> "+OK"
        const m = /^([^=]+)=?(.*)$/.exec(a.join(' '));
        if (!m || !m[1]!.trim()) return '-USAGE: <var>=<value> [=<value2>]\n';
        const value = m[2]!.split('=')[0]!.trim();
        if (value) this.globals[m[1]!.trim()] = value;
        else delete this.globals[m[1]!.trim()];
        return '+OK';
      }
      case 'uuid_exists':
        return this.channels.has(a[0] ?? '') ? 'true' : 'false';
      case 'uuid_video_refresh': {
        // 1.10.12: "+OK Success"; a conference member then gets a key frame of the canvas (the
        // double has no canvas: it records the request).
        const ch = this.channels.get(a[0] ?? '');
        if (!ch) return '-ERR No such channel!\n';
        this.videoRefreshes.push(ch.uuid);
        return '+OK Success\n';
      }
      case 'uuid_kill': {
        const ch = this.channels.get(a[0] ?? '');
        if (!ch) return '-ERR No such channel!\n';
        setImmediate(() => this.hangup(ch, a[1] ?? 'NORMAL_CLEARING', { sendBye: true }));
        return '+OK\n';
      }
      case 'uuid_break': {
        const ch = this.channels.get(a[0] ?? '');
        if (!ch) return '-ERR No such channel!\n';
        if (ch.running?.app === 'playback' && !ch.breakTimer) {
          const r = ch.running;
          ch.breakTimer = setTimeout(() => {
            ch.breakTimer = undefined;
            if (ch.running === r) r.stop?.('break');
          }, this.opts.breakLatencyMs);
        }
        return '+OK\n';
      }
      case 'uuid_bridge':
        return this.uuidBridge(a[0] ?? '', a[1] ?? '');
      case 'uuid_transfer': {
        const ch = this.channels.get(a[0] ?? '');
        if (!ch) return '-ERR No such channel!\n';
        this.unbridge(ch);
        return '+OK\n';
      }
      case 'uuid_send_dtmf': {
        // mod_commands' replies (FreeSWITCH 1.10.12)
        const ch = this.channels.get(a[0] ?? '');
        if (!ch) return '-ERR Cannot locate session!\n';
        const [digits = '', dur] = (a[1] ?? '').split('@');
        ch.rtp.sendDtmf(digits, Number(dur) || 100);
        return `+OK ${ch.uuid} sent DTMF ${a[1] ?? ''}.\n`;
      }
      case 'uuid_set_media_stats':
        return this.channels.has(a[0] ?? '') ? '+OK:\n' : '-ERR No such channel!\n';
      case 'uuid_dump': {
        const ch = this.channels.get(a[0] ?? '');
        if (!ch) return '-ERR No such channel!\n';
        // URL-encoded values, as FreeSWITCH writes them (fsmrf decodes each one).
        return Object.entries(this.chFields(ch, 'CHANNEL_DATA')).map(([k, v]) => `${k}: ${urlEncodeValue(v)}`).join('\n') + '\n';
      }
      case 'uuid_setvar': {
        const ch = this.channels.get(a[0] ?? '');
        if (!ch || !a[1]) return '-ERR No such channel!\n';
        ch.vars[a[1]] = a.slice(2).join(' ');
        return '+OK\n';
      }
      case 'uuid_getvar': {
        const ch = this.channels.get(a[0] ?? '');
        if (!ch) return '-ERR No such channel!\n';
        return ch.vars[a[1] ?? ''] ?? '_undef_';
      }
      case 'conference':
        return this.conferenceApi(a);
      case 'show':
        if (a[0] === 'channels' && a[1] === 'count') return `\n${this.channels.size} total.\n`;
        return '-ERR usage\n';
      default:
        return `-ERR ${cmd} Command not found!\n`;
    }
  }

  private sofiaStatus(): string {
    const pad = (s: string, n: number): string => s.padStart(n);
    const bar = '='.repeat(97);
    return [
      `${pad('Name', 25)}\t${pad('Type', 7)}\t${pad('Data', 42)}\tState`,
      bar,
      `${pad(this.opts.host, 25)}\t${pad('alias', 7)}\t${pad(this.opts.profile, 42)}\tALIASED`,
      `${pad(this.opts.profile, 25)}\t${pad('profile', 7)}\t${pad(`sip:mod_sofia@${this.opts.host}:${this.sip.port}`, 42)}\tRUNNING (0)`,
      bar,
      '1 profile 1 alias',
      '',
    ].join('\n');
  }

  private conferenceApi(a: string[]): string {
    const [name = '', sub = '', ...rest] = a;
    if (!name || name === 'list' && !sub) {
      if (this.confs.size === 0) return 'No active conferences.\n';
      return [...this.confs.values()].map((c) => `Conference ${c.name} (${c.members.size} members)`).join('\n') + '\n';
    }
    const conf = this.confs.get(name);
    if (!conf) return `-ERR Conference ${name} not found\n`;
    const member = (id: string | undefined): Channel | undefined => conf.members.get(Number(id));
    switch (sub) {
      case 'list':
        if (rest[0] === 'count') return String(conf.members.size);
        return [...conf.members.entries()]
          .map(([id, ch]) => `${id};${ch.channelName};${ch.uuid};drachtio;drachtio;${ch.conf?.flags.includes('mute') ? '' : 'speak|'}hear;0;0;100;0`)
          .join('\n') + '\n';
      case 'set':
        if (rest[0] === 'max_members') {
          conf.maxMembers = Number(rest[1]) || 0;
          return '0';
        }
        return '-ERR unsupported\n';
      case 'play':
        if (!rest[0]) return '-ERR no file\n';
        this.confPlay(conf, rest.join(' '));
        return `+OK (play) Playing file ${rest.join(' ')}`;
      case 'kick':
      case 'hup': {
        // Both only end the member's conference app (mod_conference clears MFLAG_RUNNING; kick
        // also plays the profile's kicked-sound, none here): the member leaves at once, the
        // conference app completes and the channel goes back to the socket app, still up. Nothing
        // hangs it up (a real FreeSWITCH 1.10.12: "Channel leaving conference, cause: NONE", no
        // hangup). Events as recorded: kick-member / hup-member, then del-member.
        const targets = rest[0] === 'all' ? [...conf.members.values()] : [member(rest[0])].filter((x): x is Channel => !!x);
        if (targets.length === 0) return rest[0] === 'all' ? '' : `-ERR Non-Existant ID ${Number(rest[0]) || 0}\n`;
        let reply = '';
        for (const t of targets) {
          reply += `+OK ${sub === 'kick' ? 'kicked' : 'hup'} ${t.conf!.memberId}\n`;
          this.publish(this.memberFields(t, conf, `${sub}-member`));
          t.conf?.done();
        }
        return reply;
      }
      case 'mute':
      case 'unmute':
      case 'deaf':
      case 'undeaf':
      case 'tmute': {
        const t = member(rest[0]);
        if (!t) return `-ERR Non-Existant ID ${Number(rest[0]) || 0}\n`;
        const f = t.conf!.flags;
        if (sub === 'mute' && !f.includes('mute')) f.push('mute');
        if (sub === 'unmute') t.conf!.flags = f.filter((x) => x !== 'mute');
        this.publish(this.memberFields(t, conf, `${sub}-member`));
        return `+OK ${sub} ${t.conf!.memberId}\n`;
      }
      case 'lock':
      case 'unlock':
        this.publish(this.confFields(conf, sub));
        return `OK ${name} ${sub}ed\n`;
      default:
        return `-ERR ${sub} unsupported\n`;
    }
  }

  // ------------------------------------------------------------ bridge

  private uuidBridge(au: string, bu: string): string {
    const a = this.channels.get(au);
    const b = this.channels.get(bu);
    if (!a || !b) return `-ERR no such channel ${a ? bu : au}\n`;
    setImmediate(() => {
      if (a.state !== 'active' || b.state !== 'active') return;
      for (const ch of [a, b]) {
        // The running app (playback) is interrupted; the socket app ends as the channel is transferred.
        const r = ch.running;
        ch.running = undefined;
        if (r) r.stop?.('bridge');
        ch.conf?.done();
      }
      for (const [ch, other] of [[b, a], [a, b]] as const) {
        if (ch.socketRunning) {
          ch.socketRunning = false;
          this.execEvent(ch, 'CHANNEL_EXECUTE_COMPLETE', { app: 'socket', arg: `${ch.eslTarget} async full` }, ch.lastResponse);
        }
        ch.bridgedTo = other;
        ch.running = { app: 'uuid_bridge', arg: other.uuid };
        this.execEvent(ch, 'CHANNEL_EXECUTE', { app: 'uuid_bridge', arg: other.uuid });
        ch.rtp.sink = (pkt, from) => other.rtp.relay(pkt, from);
        const ov = other.video;
        if (ch.video && ov) ch.video.rtp.sink = (pkt) => ov.rtp.forward(pkt, ov.pt);
      }
      this.publish(this.chFields(a, 'CHANNEL_BRIDGE', { 'Bridge-A-Unique-ID': a.uuid, 'Bridge-B-Unique-ID': b.uuid }));
    });
    return `+OK ${bu}\n`;
  }

  /** The partner of a bridge that ended: park_after_bridge=true, so it parks silently. */
  private unbridge(ch: Channel): void {
    const other = ch.bridgedTo;
    if (!other) return;
    ch.bridgedTo = undefined;
    other.bridgedTo = undefined;
    ch.rtp.sink = undefined;
    other.rtp.sink = undefined;
    if (ch.video) ch.video.rtp.sink = undefined;
    if (other.video) other.video.rtp.sink = undefined;
    for (const x of [ch, other]) if (x.running?.app === 'uuid_bridge') x.running = { app: 'park', arg: '' };
  }

  // ------------------------------------------------------------ hangup

  private hangup(ch: Channel, cause: string, o: { sendBye: boolean }): void {
    if (ch.state !== 'active' || this.stopped) return;
    const wasBusy = !!ch.conf || !!ch.bridgedTo;
    const r = ch.running;
    ch.running = undefined;
    ch.queue = [];
    if (ch.breakTimer) clearTimeout(ch.breakTimer);
    this.cancel(ch.okTimer);
    ch.vars.hangup_cause = cause;
    if (r && r.app === 'playback') r.stop?.('hangup');
    ch.answerState = 'hangup';
    ch.state = 'hangup';
    if (ch.conn && !ch.conn.closed) {
      // As recorded: a channel in a conference or bridge closes its socket before the socket
      // app's completion and the HANGUP call state are delivered.
      if (!wasBusy) {
        if (ch.socketRunning) {
          ch.socketRunning = false;
          this.execEvent(ch, 'CHANNEL_EXECUTE_COMPLETE', { app: 'socket', arg: `${ch.eslTarget} async full` }, '_none_');
        }
        this.publish(this.chFields(ch, 'CHANNEL_CALLSTATE', {
          'Channel-State': 'CS_HANGUP', 'Channel-Call-State': 'HANGUP', 'Original-Channel-Call-State': 'ACTIVE',
          'Channel-Call-State-Number': '10', 'Hangup-Cause': cause,
        }));
      }
      const conn = ch.conn;
      this.closeConn(conn, true);
    }
    const conf = ch.conf;
    if (conf) conf.done();
    this.unbridge(ch);
    this.channels.delete(ch.uuid);
    this.byCallId.delete(ch.callId);
    this.publish(this.chFields(ch, 'CHANNEL_HANGUP_COMPLETE', { 'Hangup-Cause': cause }));
    const info = ch.info();
    this.hungUp.push(info);
    ch.rtp.close();
    ch.video?.rtp.close();
    if (o.sendBye) this.sendBye(ch, cause);
    this.emit('hangup', info);
  }

  // ------------------------------------------------------------ SIP

  private sipOut(m: SipMsg, peer: SipPeer): void {
    if (this.stopped) return;
    this.sipLog.push({ dir: 'out', startLine: m.method ? `${m.method} ${m.uri} SIP/2.0` : `SIP/2.0 ${m.status} ${m.reason}`, callId: hdr(m, 'call-id') ?? '', at: Date.now() });
    this.sip.send(m, peer);
  }

  private respond(req: SipMsg, peer: SipPeer, status: number, reason: string, o: { toTag?: string; headers?: Array<[string, string]>; body?: string } = {}): void {
    const headers: Array<[string, string]> = [];
    for (const [k, v] of req.headers) {
      const n = k.toLowerCase();
      if (n === 'via' || n === 'v') {
        let via = v;
        if (headers.every(([h]) => h !== 'Via')) {
          via = via.replace(/;rport(?=;|$)/, `;rport=${peer.port}`);
        }
        headers.push(['Via', via]);
      }
    }
    const to = hdr(req, 'to') ?? '';
    headers.push(['From', hdr(req, 'from') ?? ''], ['To', o.toTag && !tagOf(to) ? `${to};tag=${o.toTag}` : to],
      ['Call-ID', hdr(req, 'call-id') ?? ''], ['CSeq', hdr(req, 'cseq') ?? ''], ['User-Agent', 'drachtio MRF (FreeSWITCH double)']);
    headers.push(...(o.headers ?? []));
    this.sipOut({ status, reason, headers, body: o.body ?? '' }, peer);
  }

  private onSip(m: SipMsg, peer: SipPeer): void {
    this.sipLog.push({ dir: 'in', startLine: m.method ? `${m.method} ${m.uri} SIP/2.0` : `SIP/2.0 ${m.status} ${m.reason}`, callId: hdr(m, 'call-id') ?? '', at: Date.now() });
    if (!m.method) return; // responses to our BYEs need no action
    const callId = hdr(m, 'call-id');
    if (!callId || !hdr(m, 'cseq') || !hdr(m, 'from') || !hdr(m, 'to') || !hdr(m, 'via')) {
      this.problem(`SIP ${m.method} without mandatory headers dropped`);
      return;
    }
    const ch = this.byCallId.get(callId);
    switch (m.method) {
      case 'INVITE':
        if (ch && !tagOf(hdr(m, 'to'))) {
          // retransmission of the initial INVITE
          this.respond(m, peer, 200, 'OK', { toTag: ch.localTag, headers: this.okHeaders(), body: ch.localSdp });
          return;
        }
        if (ch) {
          // re-INVITE (fsmrf Endpoint#modify): a new remote SDP updates remote media and codec
          if (m.body.trim() && !this.applyRemoteSdp(ch, m.body, true)) {
            this.respond(m, peer, 488, 'Not Acceptable Here');
            return;
          }
          this.respond(m, peer, 200, 'OK', { headers: this.okHeaders(), body: ch.localSdp });
          return;
        }
        void this.onInvite(m, peer, callId);
        return;
      case 'ACK':
        if (ch && !ch.acked) {
          ch.acked = true;
          this.cancel(ch.okTimer);
          if (m.body.trim()) this.applyAck(ch, m.body);
        }
        return;
      case 'BYE':
        if (!ch) {
          this.respond(m, peer, 481, 'Call/Transaction Does Not Exist');
          return;
        }
        this.respond(m, peer, 200, 'OK');
        this.hangup(ch, 'NORMAL_CLEARING', { sendBye: false });
        return;
      case 'CANCEL':
        this.respond(m, peer, ch ? 200 : 481, ch ? 'OK' : 'Call/Transaction Does Not Exist');
        return;
      case 'OPTIONS':
        this.respond(m, peer, 200, 'OK', { headers: [['Allow', SIP_ALLOW]] });
        return;
      case 'INFO':
        // RFC 5168 picture_fast_update: FreeSWITCH sends that leg key frames (the double records it)
        if (ch && /picture_fast_update/.test(m.body)) this.videoRefreshes.push(ch.uuid);
        this.respond(m, peer, ch ? 200 : 481, ch ? 'OK' : 'Call/Transaction Does Not Exist');
        return;
      case 'UPDATE':
      case 'NOTIFY':
        this.respond(m, peer, ch ? 200 : 481, ch ? 'OK' : 'Call/Transaction Does Not Exist');
        return;
      default:
        this.respond(m, peer, 405, 'Method Not Allowed', { headers: [['Allow', SIP_ALLOW]] });
    }
  }

  private okHeaders(): Array<[string, string]> {
    return [
      ['Contact', `<sip:drachtio@${this.opts.host}:${this.sip.port};transport=udp>`],
      ['Accept', 'application/sdp'], ['Allow', SIP_ALLOW], ['Supported', 'path, replaces'],
      ['Allow-Events', 'talk, hold, conference, refer'], ['Content-Type', 'application/sdp'], ['Content-Disposition', 'session'],
    ];
  }

  private async onInvite(m: SipMsg, peer: SipPeer, callId: string): Promise<void> {
    const ua = hdr(m, 'user-agent') ?? '';
    if (!/^drachtio-fsmrf:/.test(ua)) {
      this.problem(`INVITE without drachtio-fsmrf User-Agent ('${ua.slice(0, 60)}'): no route`);
      this.respond(m, peer, 404, 'Not Found', { toTag: randomBytes(6).toString('base64url') });
      return;
    }
    const esl = hdr(m, 'x-esl-outbound');
    const target = esl ? /^([^:\s]+):(\d+)$/.exec(esl.trim()) : null;
    if (!target) {
      this.problem('INVITE without a usable X-esl-outbound header');
      this.respond(m, peer, 500, 'Server Internal Error', { toTag: randomBytes(6).toString('base64url') });
      return;
    }
    const is3pcc = m.body.trim() === '';
    let codec: G711 = 'PCMU';
    let remote: { address: string; port: number } | undefined;
    let dtmfPt = 101;
    let chosen: ReturnType<typeof chooseAudio>;
    if (!is3pcc) {
      const sdp = parseSdp(m.body);
      chosen = chooseAudio(sdp, this.secureMedia);
      if (!chosen) {
        this.respond(m, peer, 488, 'Not Acceptable Here', { toTag: randomBytes(6).toString('base64url') });
        return;
      }
      const media = chosen.media;
      codec = chosen.codec;
      const te = [...media.rtpmap.entries()].find(([, n]) => n === 'TELEPHONE-EVENT');
      if (te) dtmfPt = te[0];
      remote = { address: media.address ?? sdp.sessionAddress ?? peer.address, port: media.port };
      this.respond(m, peer, 100, 'Trying');
    }
    const rtp = await RtpPort.open(this.opts.host);
    if (this.stopped) {
      rtp.close();
      return;
    }
    rtp.codec = codec;
    rtp.pt = STATIC_PT[codec];
    rtp.dtmfPt = dtmfPt;
    if (remote) rtp.remote = remote;
    // until a remote SDP says otherwise a 3pcc leg takes what it offered
    rtp.accept = chosen ? acceptedOf(chosen.media) : new Map(OFFER_CODECS.map(([pt, name]) => [pt, name.toUpperCase()]));
    if (chosen?.crypto) rtp.srtp = { suite: chosen.crypto.suite, tagBytes: SRTP_TAG_BYTES[chosen.crypto.suite]! };
    const contact = hdr(m, 'contact');
    const ch = new Channel(callId, tagOf(hdr(m, 'from')) ?? '', m, peer, contact ? uriIn(contact) : `sip:${peer.address}:${peer.port}`,
      rtp, is3pcc, `${target[1]}:${target[2]}`);
    ch.localSdp = is3pcc ? this.offerSdp(rtp.port) : this.answerSdp(rtp.port, codec, dtmfPt, chosen?.crypto);
    if (this.videoPassthrough) {
      ch.localSdp += is3pcc ? await this.offerVideo(ch) : await this.acceptVideo(ch, m.body);
      if (this.stopped) {
        rtp.close();
        ch.video?.rtp.close();
        return;
      }
    }
    const userAgentUuid = ua.replace(/^drachtio-fsmrf:/, '');
    Object.assign(ch.vars, {
      direction: 'inbound', uuid: ch.uuid, call_uuid: ch.uuid, sip_call_id: callId, sip_user_agent: ua, sofia_profile_name: this.opts.profile,
      'sip_h_X-esl-outbound': esl!.trim(), switch_r_sdp: m.body, rtp_local_sdp_str: ch.localSdp, local_media_ip: this.opts.host,
      local_media_port: String(rtp.port), remote_media_ip: remote?.address ?? '', remote_media_port: remote ? String(remote.port) : '',
      dtmf_type: 'rfc2833', read_codec: codec, write_codec: codec, rtp_use_codec_name: codec, endpoint_disposition: 'ANSWER',
      send_silence_when_idle: '-1', hangup_after_bridge: 'false', park_after_bridge: 'true', playback_terminators: 'none',
      current_application: 'socket', current_application_data: `${target[1]}:${target[2]} async full`, socket_host: target[1]!,
      fsmrf_request_uuid: userAgentUuid,
    });
    if (is3pcc) {
      delete ch.vars.remote_media_ip;
      delete ch.vars.remote_media_port;
    }
    if (rtp.srtp) Object.assign(ch.vars, { rtp_secure_media_negotiated: rtp.srtp.suite, rtp_secure_audio_confirmed: 'true' });
    rtp.onDropped = (pt, why) => this.emit('rtpDropped', ch.uuid, pt, why);
    rtp.onDrop = (pt, why) => this.log(why === 'srtp'
      ? `${ch.uuid}: plain RTP (PT ${pt}) on a leg that negotiated ${ch.rtp.srtp?.suite}: dropped (SRTP unprotect fails)`
      : `${ch.uuid}: RTP PT ${pt} not in the leg's remote SDP (${[...(ch.rtp.accept?.keys() ?? [])].join(' ')}): dropped`);
    rtp.onDtmf = (digit, duration) => {
      if (ch.state === 'active') this.publish(this.chFields(ch, 'DTMF', { 'DTMF-Digit': digit, 'DTMF-Duration': String(duration), 'DTMF-Source': 'RTP' }));
    };
    if (this.opts.idleSilence) {
      rtp.idle = () => this.isIdle(ch);
      rtp.startIdleSilence();
    }
    this.channels.set(ch.uuid, ch);
    this.byCallId.set(callId, ch);
    this.sessionsSinceStartup++;
    this.respond(m, peer, 200, 'OK', { toTag: ch.localTag, headers: this.okHeaders(), body: ch.localSdp });
    if (peer.transport === 'udp') this.retransmitOk(ch, m, peer, 500);
    this.emit('channel', ch.info());
    this.connectOutbound(ch, target[1]!, Number(target[2]));
  }

  /**
   * Idle as FreeSWITCH's send_silence_when_idle means it: the channel sits in the socket app (or
   * park/sleep) with nothing writing media to it - no playback, bridge or conference.
   */
  private isIdle(ch: Channel): boolean {
    if (ch.state !== 'active' || !ch.socketRunning || ch.conf || ch.bridgedTo) return false;
    if (ch.running && ch.running.app !== 'park' && ch.running.app !== 'sleep') return false;
    return (Number(ch.vars.send_silence_when_idle) || 0) !== 0;
  }

  /** RFC 3261 13.3.1.4: over UDP the 2xx is resent (T1 doubling, capped at T2) until the ACK, for 64*T1. */
  private retransmitOk(ch: Channel, invite: SipMsg, peer: SipPeer, interval: number, elapsed = 0): void {
    ch.okTimer = this.later(interval, () => {
      if (ch.acked || ch.state !== 'active') return;
      if (elapsed + interval >= 32_000) {
        this.problem(`no ACK for ${ch.callId}; hanging up`);
        this.hangup(ch, 'RECOVERY_ON_TIMER_EXPIRE', { sendBye: true });
        return;
      }
      this.respond(invite, peer, 200, 'OK', { toTag: ch.localTag, headers: this.okHeaders(), body: ch.localSdp });
      this.retransmitOk(ch, invite, peer, Math.min(interval * 2, 4000), elapsed + interval);
    });
  }

  /** Offer in a re-INVITE: pick PCMU/PCMA, take the remote address, answer from the same port. */
  private applyRemoteSdp(ch: Channel, body: string, offer: boolean): boolean {
    const sdp = parseSdp(body);
    const chosen = chooseAudio(sdp, this.secureMedia);
    if (!chosen) return false;
    const { media, codec: pick } = chosen;
    ch.rtp.codec = pick;
    ch.rtp.pt = STATIC_PT[pick];
    const te = [...media.rtpmap.entries()].find(([, n]) => n === 'TELEPHONE-EVENT');
    if (te) ch.rtp.dtmfPt = te[0];
    ch.rtp.accept = acceptedOf(media);
    // An RTP/AVP re-offer on a leg that negotiated SRTP is answered RTP/AVP, but the RTP session
    // keeps its keys: it goes on sending SRTP and dropping plain RTP (recording T1).
    this.secureLeg(ch, chosen.crypto);
    ch.recvonly = sdp.sessionRecvonly || media.recvonly;
    const addr = media.address ?? sdp.sessionAddress;
    if (addr) {
      ch.rtp.remote = { address: addr, port: media.port };
      Object.assign(ch.vars, { remote_media_ip: addr, remote_media_port: String(media.port) });
    }
    Object.assign(ch.vars, { switch_r_sdp: body, read_codec: pick, write_codec: pick, rtp_use_codec_name: pick });
    if (offer) {
      ch.localSdp = this.answerSdp(ch.rtp.port, pick, ch.rtp.dtmfPt, chosen.crypto) + this.reofferVideo(ch, body);
      ch.vars.rtp_local_sdp_str = ch.localSdp;
    }
    return true;
  }

  /** The leg negotiated SDES with `crypto`: from now on its RTP is SRTP. */
  private secureLeg(ch: Channel, crypto: { tag: number; suite: string } | undefined): void {
    if (!crypto || ch.rtp.srtp) return;
    ch.rtp.srtp = { suite: crypto.suite, tagBytes: SRTP_TAG_BYTES[crypto.suite]! };
    Object.assign(ch.vars, { rtp_secure_media_negotiated: crypto.suite, rtp_secure_audio_confirmed: 'true' });
  }

  /**
   * Video in an initial offer (videoPassthrough): the first codec FreeSWITCH can pass through gets
   * a media port, anything else is refused with port 0. Returns the answer's video lines.
   */
  private async acceptVideo(ch: Channel, body: string): Promise<string> {
    const v = parseVideo(body);
    if (!v) return '';
    const pt = v.port > 0 ? v.pts.find((p) => PASSTHROUGH_VIDEO.has(v.rtpmap.get(p) ?? (p === 34 ? 'H263' : ''))) : undefined;
    if (pt === undefined) return `m=video 0 RTP/AVP ${v.pts[0] ?? 96}\r\n`;
    const codec = v.rtpmap.get(pt) ?? 'H263';
    const rtp = await RtpPort.open(this.opts.host);
    if (v.address) rtp.remote = { address: v.address, port: v.port };
    ch.video = { rtp, pt, codec };
    // as the real one: frames of its own to the offered video address, before any relay
    if (v.address) this.later(20, () => rtp.ownVideo(pt));
    return `m=video ${rtp.port} RTP/AVP ${pt}\r\na=rtpmap:${pt} ${codec}/90000\r\n`;
  }

  /** 3pcc offer (videoPassthrough): H.264 (96) and H.263 (34) on a media port of its own. */
  private async offerVideo(ch: Channel): Promise<string> {
    const rtp = await RtpPort.open(this.opts.host);
    ch.video = { rtp, pt: 96, codec: 'H264' };
    return `m=video ${rtp.port} RTP/AVP 96 34\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=rtpmap:34 H263/90000\r\n`;
  }

  /** Video in a re-offer (or the answer to our 3pcc offer): the stream follows the new address and codec (port 0 stops it). */
  private reofferVideo(ch: Channel, body: string): string {
    const v = parseVideo(body);
    if (!v) return '';
    // As the real FreeSWITCH: a leg's codec_string (fsmrf sets it on endpoints made with a remote
    // SDP) also governs its re-offers; a video codec missing from it is refused (port 0).
    const allowed = ch.vars.codec_string?.toUpperCase().split(',');
    const pt = v.pts.find((p) => {
      const name = v.rtpmap.get(p) ?? (p === 34 ? 'H263' : '');
      return PASSTHROUGH_VIDEO.has(name) && (!allowed || allowed.includes(name));
    });
    if (!ch.video || v.port === 0 || pt === undefined) {
      if (ch.video) ch.video.rtp.remote = undefined;
      return `m=video 0 RTP/AVP ${ch.video?.pt ?? v.pts[0] ?? 96}\r\n`;
    }
    ch.video.pt = pt;
    ch.video.codec = v.rtpmap.get(pt) ?? 'H263';
    if (v.address) ch.video.rtp.remote = { address: v.address, port: v.port };
    return `m=video ${ch.video.rtp.port} RTP/AVP ${ch.video.pt}\r\na=rtpmap:${ch.video.pt} ${ch.video.codec}/90000\r\n`;
  }

  private applyAck(ch: Channel, body: string): void {
    const sdp = parseSdp(body);
    const chosen = chooseAudio(sdp, this.secureMedia);
    const media = chosen?.media ?? sdp.media.find((x) => x.proto === 'RTP/AVP' && x.port > 0) ?? sdp.media[0];
    if (sdp.sessionRecvonly || media?.recvonly) ch.recvonly = true;
    if (!media) return;
    if (chosen) {
      ch.rtp.codec = chosen.codec;
      ch.rtp.pt = STATIC_PT[chosen.codec];
      ch.rtp.accept = acceptedOf(media);
      // F2: the answer fsmrf ACKs with is FreeSWITCH's own offer, RTP/SAVP first: the leg goes SRTP
      this.secureLeg(ch, chosen.crypto);
    }
    const addr = media.address ?? sdp.sessionAddress;
    if (addr) {
      ch.rtp.remote = { address: addr, port: media.port };
      ch.vars.remote_media_ip = addr;
      ch.vars.remote_media_port = String(media.port);
    }
    ch.vars.switch_r_sdp = body;
  }

  private answerSdp(port: number, codec: G711, dtmfPt: number, crypto?: { tag: number; suite: string }): string {
    const sess = randomInt(1_000_000_000, 1_900_000_000);
    const pt = STATIC_PT[codec];
    return [
      'v=0', `o=FreeSWITCH ${sess} ${sess + 1} IN IP4 ${this.opts.reportedIpv4}`, 's=FreeSWITCH', `c=IN IP4 ${this.opts.host}`, 't=0 0',
      `m=audio ${port} ${crypto ? 'RTP/SAVP' : 'RTP/AVP'} ${pt} ${dtmfPt}`, `a=rtpmap:${pt} ${codec}/8000`, `a=rtpmap:${dtmfPt} telephone-event/8000`,
      `a=fmtp:${dtmfPt} 0-15`, 'a=ptime:20', ...(crypto ? [`a=crypto:${crypto.tag} ${crypto.suite} inline:${sdesKey(crypto.suite)}`] : []), '',
    ].join('\r\n');
  }

  /**
   * 3pcc offer, laid out as recorded (F2, interop B1/T1): with SDES optional (stock) an RTP/SAVP
   * m-line with one a=crypto per suite, then the same codecs as RTP/AVP; mandatory: RTP/SAVP only;
   * forbidden (rtp_secure_media[_inbound]=forbidden): RTP/AVP only. Codecs as the recorded profile
   * offers them (codec-prefs PCMU,PCMA,OPUS,G729; telephone-event 101).
   */
  private offerSdp(port: number): string {
    const sess = randomInt(1_000_000_000, 1_900_000_000);
    const pts = OFFER_CODECS.map(([pt]) => pt).join(' ');
    const maps = OFFER_CODECS.flatMap(([pt, name, rate, fmtp]) => [`a=rtpmap:${pt} ${name}/${rate}`, ...(fmtp ? [`a=fmtp:${pt} ${fmtp}`] : [])]);
    const savp = [`m=audio ${port} RTP/SAVP ${pts}`, ...maps, ...SDES_SUITES.map(([suite], i) => `a=crypto:${i + 1} ${suite} inline:${sdesKey(suite)}`), 'a=ptime:20'];
    const avp = [`m=audio ${port} RTP/AVP ${pts}`, ...maps, 'a=ptime:20'];
    const mode = this.secureMedia;
    return [
      'v=0', `o=FreeSWITCH ${sess} ${sess + 1} IN IP4 ${this.opts.reportedIpv4}`, 's=FreeSWITCH', `c=IN IP4 ${this.opts.host}`, 't=0 0',
      ...(mode === 'forbidden' ? [] : savp), ...(mode === 'mandatory' ? [] : avp), '',
    ].join('\r\n');
  }

  private sendBye(ch: Channel, cause: string): void {
    const inv = ch.invite;
    const from = hdr(inv, 'from') ?? '';
    const to = hdr(inv, 'to') ?? '';
    const q850: Record<string, number> = { NORMAL_CLEARING: 16, USER_BUSY: 17, NO_ROUTE_DESTINATION: 3, MANAGER_REQUEST: 16 };
    const code = q850[cause] ?? 16;
    const headers: Array<[string, string]> = [
      ['Via', `SIP/2.0/${ch.peer.transport.toUpperCase()} ${this.opts.host}:${this.sip.port};rport;branch=z9hG4bK${randomBytes(8).toString('hex')}`],
      ['Max-Forwards', '70'],
      ['From', tagOf(to) ? to : `${to};tag=${ch.localTag}`],
      ['To', from],
      ['Call-ID', ch.callId],
      ['CSeq', `${++ch.cseq} BYE`],
      ['User-Agent', 'drachtio MRF (FreeSWITCH double)'],
      ['Allow', SIP_ALLOW],
      ['Reason', `Q.850;cause=${code};text="${cause}"`],
    ];
    this.sipOut({ method: 'BYE', uri: ch.remoteTarget, headers, body: '' }, ch.peer);
  }

  // ------------------------------------------------------------ outbound ESL

  private connectOutbound(ch: Channel, host: string, port: number): void {
    const s = net.connect({ port, host, noDelay: true });
    const c = new EslConn(this.nextConnId++, 'outbound', s);
    c.authed = true;
    c.channel = ch;
    ch.conn = c;
    s.once('connect', () => this.attach(c));
    s.once('error', (e) => {
      if (!this.conns.has(c)) {
        this.problem(`outbound ESL to ${host}:${port} failed: ${e.message}; hanging up ${ch.uuid}`);
        ch.conn = undefined;
        this.hangup(ch, 'DESTINATION_OUT_OF_ORDER', { sendBye: true });
      }
    });
  }
}

function formatCommand(c: EslCommand): string {
  const lines = [c.line, ...c.headers.map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\n')}\n\n${c.body ?? ''}`;
}
