/**
 * Normalised ESL and SIP transcripts for golden comparison: the recorded ones
 * (test/fixtures/freeswitch/<scenario>-esl-messages.txt, -sip-messages.txt) and the double's own
 * (FreeSwitchDouble.transcript / sipLog) are reduced to the same one-line form per message —
 * command line (+ execute-app headers), content type, event name and key headers, short api bodies —
 * with uuids, conference names, ports and tags replaced by stable labels, the event socket password
 * masked and the sound file's directory replaced. Comparison is per ESL connection and direction,
 * because the interleaving of pipelined commands and replies and of different connections depends
 * on timing.
 */
import type { EslRecord, SipRecord } from './double.js';

export interface NormRecord {
  /** Connection number (tcp.stream in the recordings). */
  stream: number;
  dir: 'app->FS' | 'FS->app';
  line: string;
}

/**
 * Events whose timing or presence depends on audio energy or clocks, not on the command flow.
 * `video-floor-change` belongs to the floor events too: mod_conference hands the video floor to a
 * member that has video when the (audio) floor moves (conference_video_set_floor_holder,
 * conference_video.c:4713-4830 in 1.10.12). Whether any member has video is configuration: the
 * recordings' FreeSWITCH offered audio only on fsmrf's 3pcc control leg, the conf tree of
 * sip-configs/freeswitch (codec-prefs ...,VP8,H264) offers video too, so there the control leg
 * joins with Video=true and takes the video floor. The app never reads floor events.
 */
export const IGNORED: RegExp[] = [
  /Event-Name=HEARTBEAT/,
  /Action=(start-talking|stop-talking|floor-change|video-floor-change)\b/,
];

/**
 * Secrets on the wire: the event socket password of `auth <password>` (and `userauth
 * <user>@<domain> <password>`) becomes `<password>`, so transcripts compare, and failure diffs
 * print, no password (the recordings' ClueCon, a real server's random one).
 */
export const SECRET_COMMANDS: Array<[RegExp, string]> = [
  [/^command: auth .*$/, 'command: auth <password>'],
  [/^command: userauth (\S+) .*$/, 'command: userauth $1 <password>'],
];

/**
 * The scenario app's sound file (scenario-app.ts, WAV_NAME) lives in a directory of each run's
 * own (the recording host's /opt/freeswitch/run/sounds exists only there): its directory becomes
 * `<sounds>`, wherever the path appears (commands, Application-Data, api replies). The file name
 * is still compared.
 */
export const SOUND_FILE = /(^|[\s=:])\/[^\s]*\/(oracle-[\w.-]+\.wav)/g;

const KEY_ORDER = [
  'Event-Name', 'Event-Subclass', 'Action', 'Reply-Text', 'Application', 'Application-Data', 'Application-Response',
  'Channel-Call-State', 'Answer-State',
];

function headerBlock(text: string): { headers: Map<string, string>; body: string } {
  const end = text.indexOf('\n\n');
  const head = end >= 0 ? text.slice(0, end) : text;
  const body = end >= 0 ? text.slice(end + 2) : '';
  const headers = new Map<string, string>();
  for (const l of head.split('\n')) {
    const i = l.indexOf(': ');
    if (i > 0) headers.set(l.slice(0, i), l.slice(i + 2));
  }
  return { headers, body };
}

function summarise(contentType: string, fields: Map<string, string>): string {
  const parts = [contentType];
  for (const k of KEY_ORDER) {
    const v = fields.get(k);
    if (v !== undefined && v !== '') parts.push(`${k}=${v}`);
  }
  return parts.join(' ');
}

function shortBody(body: string): string {
  const b = body.replace(/\s+$/, '');
  if (b.length > 100 || b.includes('\n')) return '';
  return ` body=${b}`;
}

function commandLine(lines: string[]): string {
  const first = lines[0] ?? '';
  if (!first.startsWith('sendmsg')) return `command: ${first}`;
  const h = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) h.set(l.slice(0, i).trim(), l.slice(i + 1).trim());
  }
  const parts = [`command: ${first}`, `call-command=${h.get('call-command') ?? ''}`];
  if (h.has('execute-app-name')) parts.push(`execute-app-name=${h.get('execute-app-name')}`);
  if (h.get('execute-app-arg')) parts.push(`execute-app-arg=${h.get('execute-app-arg')}`);
  return parts.join(' ');
}

/** One message of the double's transcript as a summary line (before label normalisation). */
export function summariseDouble(r: EslRecord): string {
  if (r.dir === 'app->FS') return commandLine(r.text.split('\n').filter((l) => l !== ''));
  const { headers, body } = headerBlock(r.text);
  const ct = headers.get('Content-Type') ?? '';
  if (ct === 'text/event-json') {
    let f: Record<string, unknown> = {};
    try {
      f = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return `${ct} <unparsable body>`;
    }
    return summarise(ct, new Map(Object.entries(f).map(([k, v]) => [k, String(v)])));
  }
  if (ct === 'api/response') return `api/response${shortBody(body)}`;
  if (ct === 'command/reply') {
    const parts = [ct];
    for (const k of ['Event-Name', 'Reply-Text']) if (headers.get(k)) parts.push(`${k}=${headers.get(k)}`);
    return parts.join(' ');
  }
  return summarise(ct, headers);
}

/** Parse a recorded `<scenario>-esl-messages.txt`. */
export function parseRecordedEsl(text: string): Array<{ stream: number; dir: 'app->FS' | 'FS->app'; line: string }> {
  const out: Array<{ stream: number; dir: 'app->FS' | 'FS->app'; line: string }> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^>>>> (app->FS|FS->app) {2}\[(.*)\]$/.exec(lines[i]!);
    if (!m) continue;
    const dir = m[1] as 'app->FS' | 'FS->app';
    const meta = /tcp\.stream=(\d+)/.exec(lines[i + 1] ?? '');
    const stream = Number(meta?.[1] ?? -1);
    const msg: string[] = [];
    let j = i + 2;
    while (j < lines.length && !lines[j]!.startsWith('>>>> ')) msg.push(lines[j++]!);
    let line: string;
    if (dir === 'app->FS') line = commandLine(msg.filter((l) => l !== ''));
    else if (m[2] === 'api/response') {
      const b = msg.indexOf('---- body ----');
      const body = b >= 0 ? msg.slice(b + 1).join('\n') : '';
      line = `api/response${shortBody(body.replace(/\n+$/, ''))}`;
    } else line = m[2]!;
    out.push({ stream, dir, line });
  }
  return out;
}

/** Replace uuids, conference names and ports by labels given in order of first appearance. */
export function normalise(records: Array<{ stream: number; dir: 'app->FS' | 'FS->app'; line: string }>): NormRecord[] {
  const labels = new Map<string, string>();
  const label = (kind: string, v: string): string => {
    const key = `${kind}:${v}`;
    let l = labels.get(key);
    if (!l) {
      l = `<${kind}${[...labels.keys()].filter((k) => k.startsWith(`${kind}:`)).length + 1}>`;
      labels.set(key, l);
    }
    return l;
  };
  const ordered = [...records].sort((a, b) => a.stream - b.stream || (a.dir === b.dir ? 0 : a.dir === 'app->FS' ? -1 : 1));
  const out: NormRecord[] = [];
  for (const r of ordered) {
    if (IGNORED.some((re) => re.test(r.line))) continue;
    let line = r.line;
    if (r.dir === 'app->FS') for (const [re, masked] of SECRET_COMMANDS) line = line.replace(re, masked);
    line = line
      .replace(SOUND_FILE, '$1<sounds>/$2')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => label('uuid', u))
      .replace(/oracle-conf-\d+/g, (c) => label('conf', c))
      .replace(/(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):\d+/g, '$1:<port>');
    out.push({ stream: r.stream, dir: r.dir, line });
  }
  return out;
}

export function normaliseDouble(t: EslRecord[]): NormRecord[] {
  return normalise(t.map((r) => ({ stream: r.conn, dir: r.dir, line: summariseDouble(r) })));
}

/** Start lines of the SIP between drachtio and FreeSWITCH, from a recorded `-sip-messages.txt`. */
export function parseRecordedSip(text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^==== frame=\d+ t=\S+ \S+ (\S+) -> (\S+)$/.exec(lines[i]!);
    if (!m) continue;
    const toFs = m[2]!.startsWith('FreeSWITCH');
    const fromFs = m[1]!.startsWith('FreeSWITCH');
    if (!toFs && !fromFs) continue;
    out.push(`${toFs ? 'in ' : 'out'} ${normaliseSipStart(lines[i + 1] ?? '')}`);
  }
  return out;
}

export function normaliseSipStart(l: string): string {
  return l.replace(/(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):\d+/g, '$1:<port>').trim();
}

export function doubleSip(log: SipRecord[]): string[] {
  return log.map((r) => `${r.dir === 'in' ? 'in ' : 'out'} ${normaliseSipStart(r.startLine)}`);
}

/** Line diff (LCS) of two sequences; '' when equal. */
export function diffLines(expected: string[], actual: string[], actualLabel = 'double'): string {
  if (expected.length === actual.length && expected.every((l, i) => l === actual[i])) return '';
  const n = expected.length;
  const m = actual.length;
  const dp: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i]![j] = expected[i] === actual[j] ? dp[i + 1]![j + 1]! + 1 : Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      out.push(`  ${expected[i]}`);
      i++;
      j++;
    } else if (j < m && (i >= n || dp[i]![j + 1]! >= dp[i + 1]![j]!)) out.push(`+ ${actual[j++]}`);
    else out.push(`- ${expected[i++]}`);
  }
  return `--- recorded (FreeSWITCH 1.10.12)\n+++ ${actualLabel}\n${out.join('\n')}`;
}

/** Per connection and direction: `stream N dir` -> lines. */
export function byStream(rs: NormRecord[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of rs) {
    const k = `stream ${r.stream} ${r.dir}`;
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(r.line);
  }
  return m;
}

export const HANGUP_CALLSTATE = 'text/event-json Event-Name=CHANNEL_CALLSTATE Channel-Call-State=HANGUP Answer-State=hangup';
export const DISCONNECT_NOTICE = 'text/disconnect-notice';
export const DEL_MEMBER = 'text/event-json Event-Name=CUSTOM Event-Subclass=conference::maintenance Action=del-member Channel-Call-State=ACTIVE Answer-State=hangup';
export const ADD_MEMBER = 'text/event-json Event-Name=CUSTOM Event-Subclass=conference::maintenance Action=add-member Channel-Call-State=ACTIVE Answer-State=answered';

/** FS->app of an outbound (per channel) connection: stream 0 is the app's inbound connection. */
const OUTBOUND_FS_TO_APP = /^stream [1-9]\d* FS->app$/;
const isReply = (l: string): boolean => l.startsWith('command/reply') || l.startsWith('api/response');

/**
 * Two orders a real FreeSWITCH produces depending on thread timing, each seen in the recordings
 * or in runs against FreeSWITCH 1.10.12 (source: src/mod/event_handlers/mod_event_socket/
 * mod_event_socket.c, src/mod/applications/mod_conference/mod_conference.c). Events reach an ESL
 * connection through the core's dispatch thread, which queues them for the connection's listener
 * (event_handler, switch_queue_trypush of listener->event_queue, :387); the listener's own thread
 * writes replies itself and writes queued events only while no command is half read (read_packet,
 * `if (!*mbuf)` :1367, drain :1412), between polls of its socket of up to 20 ms (:1496).
 * Each entry maps a stream's lines to one canonical form, applied to both sides, so exactly that
 * difference, in exactly that place, compares equal; anything else still fails.
 */
export const FREESWITCH_RACES: Array<{ name: string; canonical: (key: string, lines: string[]) => string[] }> = [
  {
    // An outbound connection's last event, CHANNEL_CALLSTATE HANGUP right before the closing
    // disconnect notice, is there or not: the listener sees the channel down (:1465) and, without
    // linger, leaves its loop; listener_run destroys the events still queued (flush_listener :2798)
    // and sends the notice (:2816). The event is written when the dispatch thread queued it before
    // the listener's last drain, else dropped. The recordings show both (bridge: leg B has it, leg
    // A not); a real FreeSWITCH here sent it on leg A too. Canonical: left out.
    name: 'CHANNEL_CALLSTATE HANGUP before the disconnect notice',
    canonical: (key, lines) => {
      const n = lines.length;
      if (!OUTBOUND_FS_TO_APP.test(key) || n < 2 || lines[n - 1] !== DISCONNECT_NOTICE || lines[n - 2] !== HANGUP_CALLSTATE) return lines;
      return [...lines.slice(0, n - 2), DISCONNECT_NOTICE];
    },
  },
  {
    // conf: the caller's del-member (fired on the caller's session thread when the conference app
    // returns after its hangup, conference_member_del mod_conference.c:2545, before sofia's BYE)
    // and the reply to the command the app sends on the control leg's connection once that BYE
    // reached it (conf.destroy() -> sendmsg hangup -> +OK). When the event is queued while the
    // control leg's listener polls and the command arrives within the same poll, the reply is
    // written first (the recording); when the poll ran out in between, the event is (seen here).
    // The double has the same race (del-member memberLeaveLatencyMs after the hangup, 150 ms).
    // Canonical: a del-member directly after a reply moves before it (one place, either way).
    // The same listener race for the other member's add-member and the reply to the command the app
    // sent meanwhile (conf: `play` on the control leg while the caller joins; seen on a real
    // FreeSWITCH 1.10.12 in 1 of 4 full real-server runs).
    name: 'add-member or del-member and an adjacent reply',
    canonical: (key, lines) => {
      if (!OUTBOUND_FS_TO_APP.test(key)) return lines;
      const out = [...lines];
      for (let i = 0; i + 1 < out.length; i++) {
        if (isReply(out[i]!) && (out[i + 1] === DEL_MEMBER || out[i + 1] === ADD_MEMBER)) {
          [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
          i++;
        }
      }
      return out;
    },
  },
];

export interface CompareEslOptions {
  /**
   * Accept the orders that depend on thread timing inside FreeSWITCH (FREESWITCH_RACES). The golden
   * tests turn it on for both targets: a real FreeSWITCH produces either order, and so can the
   * double under load (its del-member follows the hangup by memberLeaveLatencyMs, 150 ms, while the
   * app's reply path runs on the same busy machine).
   */
  freeswitchRaces?: boolean;
  /** What the observed transcript came from, for the diff header (default `double`). */
  observedLabel?: string;
}

/** Readable differences between a recorded and an observed transcript ('' when equal). */
export function compareEsl(recorded: NormRecord[], observed: NormRecord[], o: CompareEslOptions = {}): string {
  const a = byStream(recorded);
  const b = byStream(observed);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const diffs: string[] = [];
  for (const k of keys) {
    const rec = a.get(k) ?? [];
    const obs = b.get(k) ?? [];
    if (o.freeswitchRaces) {
      const canonical = (lines: string[]): string[] => FREESWITCH_RACES.reduce((l, r) => r.canonical(k, l), lines);
      // Equal up to the races: pass; otherwise the diff shows the transcripts as they were.
      if (diffLines(canonical(rec), canonical(obs)) === '') continue;
    }
    const d = diffLines(rec, obs, o.observedLabel);
    if (d) diffs.push(`== ${k}\n${d}`);
  }
  return diffs.join('\n\n');
}
