/**
 * The caller side of the failover test as a SIPp scenario, plus a reader for SIPp's -trace_msg
 * log (timestamps per message) so figures come from what SIPp saw on the wire.
 *
 * Each call is challenged twice before its authenticated INVITE: drachtio hands INVITEs round
 * robin, and with two INVITEs per call every authenticated one would land on the same instance;
 * with three they alternate between the two instances, call after call.
 * The Request-URI has no user part: this SIPp puts "sip:<remote host:port>" into the digest uri
 * whatever the request line says, and the gateway checks that the two match (the dial plan's ''
 * prefix routes a user-less URI like any other).
 * The answered call then waits `holdMs` for a BYE from the network (the survivor ending a dead
 * instance's call: answered 200) and otherwise hangs up itself.
 * With `subject`, every INVITE carries `Subject: <subject>` (e.g. SIPp's [call_id]): the gateway
 * forwards Subject to the callee (policy.forwardHeaders), so the callee's trace names the caller.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callerBye, okToLastRequest } from '../../lab/sipp-xml.js';

const SDP = ['v=0', 'o=user1 53655765 2353687637 IN IP4 [local_ip]', 's=-', 'c=IN IP4 [media_ip]', 't=0 0', 'm=audio [media_port] RTP/AVP 0', 'a=rtpmap:0 PCMU/8000'];

/** `<send>` of the caller's INVITE `cseq` (PCMU offer; `auth`: with [authentication]), then an optional 100. */
export function uacInvite(cseq: number, user: string, auth: boolean, subject?: string): string {
  return `  <send retrans="500">
    <![CDATA[
      INVITE sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:${user}@[local_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: ${cseq} INVITE
      Contact: sip:${user}@[local_ip]:[local_port]
${subject !== undefined ? `      Subject: ${subject}\n` : ''}${auth ? '      [authentication]\n' : ''}      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

${SDP.map((l) => `      ${l}`).join('\n')}

    ]]>
  </send>
  <recv response="100" optional="true"/>`;
}

/** `<send>` of the caller's ACK of INVITE `cseq`, in `via` ([last_Via:] for an error response). */
export function uacAck(cseq: number, user: string, via: string): string {
  return `  <send>
    <![CDATA[
      ACK sip:[remote_ip]:[remote_port] SIP/2.0
      ${via}
      From: <sip:${user}@[local_ip]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: ${cseq} ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>`;
}

export function uacHoldScenario(user: string, holdMs: number, answerTimeoutMs: number, o: { subject?: string } = {}): string {
  const xml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="ha caller">
${uacInvite(1, user, false, o.subject)}
  <recv response="407" timeout="${answerTimeoutMs}"/>
${uacAck(1, user, '[last_Via:]')}
${uacInvite(2, user, false, o.subject)}
  <recv response="407" auth="true" timeout="${answerTimeoutMs}"/>
${uacAck(2, user, '[last_Via:]')}
${uacInvite(3, user, true, o.subject)}
  <recv response="180" optional="true"/>
  <recv response="200" timeout="${answerTimeoutMs}"/>
${uacAck(3, user, 'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]')}
  <recv request="BYE" timeout="${holdMs}" ontimeout="hangup"/>
${okToLastRequest(' next="done"')}
  <label id="hangup"/>
${callerBye(user, 4)}
  <recv response="200" timeout="${answerTimeoutMs}"/>
  <label id="done"/>
</scenario>
`;
  const file = join(mkdtempSync(join(tmpdir(), 'sipp-ha-')), 'uac-hold.xml');
  writeFileSync(file, xml);
  return file;
}

export interface TracedMessage {
  /** Wall clock, ms since the epoch (SIPp prints local time with microseconds). */
  at: number;
  dir: 'sent' | 'received';
  /** First line of the SIP message. */
  start: string;
  callId: string;
  cseq: string;
  text: string;
}

/** Parses SIPp's -trace_msg file. */
export function parseSippTrace(log: string): TracedMessage[] {
  const out: TracedMessage[] = [];
  const blocks = log.split(/^-{20,} /m).slice(1);
  for (const b of blocks) {
    const m = /^(\d{4})-(\d{2})-(\d{2})[ \t]+(\d{2}):(\d{2}):(\d{2})\.(\d{6})\s*\n(\w+) message (sent|received)[^\n]*\n\n([\s\S]*)$/.exec(b);
    if (!m) continue;
    const [, y, mo, d, h, mi, s, us, , dir, text] = m;
    const at = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)).getTime() + Number(us) / 1000;
    const body = text!.trimStart();
    out.push({
      at,
      dir: dir as 'sent' | 'received',
      start: body.split(/\r?\n/)[0]!.trim(),
      callId: /^Call-ID:\s*(\S+)/im.exec(body)?.[1] ?? '',
      cseq: /^CSeq:\s*(.+)$/im.exec(body)?.[1]?.trim() ?? '',
      text: body,
    });
  }
  return out;
}
