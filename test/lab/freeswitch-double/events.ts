/**
 * Event field sets for the FreeSWITCH double, shaped after the recorded FreeSWITCH 1.10.12 events
 * (test/fixtures/freeswitch/*-esl-messages.txt). Only headers drachtio-fsmrf / drachtio-modesl
 * read plus the identifying ones; no RTP quality figures are ever produced here.
 */
import { randomUUID } from 'node:crypto';

export type Fields = Record<string, string>;

export interface CoreInfo {
  coreUuid: string;
  hostname: string;
  ipv4: string;
  version: string;
}

let sequence = 1000;

function dateLocal(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

export function nowMicros(): string {
  return `${Date.now()}000`;
}

export function baseFields(core: CoreInfo, eventName: string, callingFunction = 'double'): Fields {
  const d = new Date();
  return {
    'Event-Name': eventName,
    'Core-UUID': core.coreUuid,
    'FreeSWITCH-Hostname': core.hostname,
    'FreeSWITCH-Switchname': core.hostname,
    'FreeSWITCH-IPv4': core.ipv4,
    'FreeSWITCH-IPv6': '::1',
    'Event-Date-Local': dateLocal(d),
    'Event-Date-GMT': d.toUTCString(),
    'Event-Date-Timestamp': nowMicros(),
    'Event-Calling-File': 'freeswitch-double.ts',
    'Event-Calling-Function': callingFunction,
    'Event-Calling-Line-Number': '0',
    'Event-Sequence': String(++sequence),
  };
}

/** What a channel contributes to every event about it. */
export interface ChannelView {
  uuid: string;
  channelName: string;
  state: 'CS_EXECUTE' | 'CS_HANGUP';
  callState: 'ACTIVE' | 'HANGUP';
  answerState: 'answered' | 'hangup';
  codec: string;
  createdMicros: string;
  variables: Fields;
}

export function channelFields(ch: ChannelView): Fields {
  const f: Fields = {
    'Channel-Direction': 'inbound',
    'Channel-Logical-Direction': 'inbound',
    'Channel-Dialplan': 'XML',
    'Channel-Destination-Number': 'drachtio',
    'Channel-Unique-ID': ch.uuid,
    'Channel-Source': 'mod_sofia',
    'Channel-Context': 'mrf',
    'Channel-Channel-Name': ch.channelName,
    'Channel-State': ch.state,
    'Channel-Call-State': ch.callState,
    'Channel-State-Number': ch.state === 'CS_EXECUTE' ? '4' : '10',
    'Channel-Name': ch.channelName,
    'Unique-ID': ch.uuid,
    'Call-Direction': 'inbound',
    'Presence-Call-Direction': 'inbound',
    'Channel-HIT-Dialplan': 'true',
    'Channel-Call-UUID': ch.uuid,
    'Answer-State': ch.answerState,
    'Channel-Read-Codec-Name': ch.codec,
    'Channel-Read-Codec-Rate': '8000',
    'Channel-Write-Codec-Name': ch.codec,
    'Channel-Write-Codec-Rate': '8000',
    'Caller-Direction': 'inbound',
    'Caller-Destination-Number': 'drachtio',
    'Caller-Unique-ID': ch.uuid,
    'Caller-Source': 'mod_sofia',
    'Caller-Context': 'mrf',
    'Caller-Channel-Name': ch.channelName,
    'Caller-Channel-Created-Time': ch.createdMicros,
    'Caller-Channel-Answered-Time': ch.createdMicros,
  };
  for (const [k, v] of Object.entries(ch.variables)) f[`variable_${k}`] = v;
  return f;
}

export function heartbeatFields(core: CoreInfo, o: { sessions: number; maxSessions: number; startedAt: number; sinceStartup: number }): Fields {
  const up = Date.now() - o.startedAt;
  return {
    ...baseFields(core, 'HEARTBEAT', 'send_heartbeat'),
    'Event-Info': 'System Ready',
    'Up-Time': `0 years, 0 days, 0 hours, 0 minutes, ${Math.floor(up / 1000)} seconds, ${up % 1000} milliseconds, 0 microseconds`,
    'FreeSWITCH-Version': core.version,
    'Uptime-msec': String(up),
    'Session-Count': String(o.sessions),
    'Max-Sessions': String(o.maxSessions),
    'Session-Per-Sec': '30',
    'Session-Per-Sec-Last': '0',
    'Session-Per-Sec-Max': '0',
    'Session-Per-Sec-FiveMin': '0',
    'Session-Since-Startup': String(o.sinceStartup),
    'Session-Peak-Max': String(o.sessions),
    'Session-Peak-FiveMin': String(o.sessions),
    // The double reports no CPU measurement of its own; 100 = idle, so fsmrf's load view stays neutral.
    'Idle-CPU': '100.000000',
  };
}

export function newUuid(): string {
  return randomUUID();
}
