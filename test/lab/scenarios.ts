/** SIPp scenario templates filled in per test (SIPp cannot take a response code from a variable). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';

/** Path of an INVITE scenario that passes only if the final response is `status`. */
export function inviteExpecting(status: number): string {
  const tmpl = readFileSync(join(repoRoot, 'sip-configs/sipp/gateway/invite-expect-status.xml.tmpl'), 'utf8');
  const file = join(mkdtempSync(join(tmpdir(), 'sipp-scn-')), `invite-expect-${status}.xml`);
  writeFileSync(file, tmpl.replaceAll('@STATUS@', String(status)));
  return file;
}

/** SDP offers the policy scenarios send (SIPp fills [media_port] etc.). */
export const SDP = {
  /** PCMU, PCMA, G722 (not on the whitelist), G729, telephone-event. */
  audio: [
    'v=0', 'o=user1 53655765 2353687637 IN IP4 [local_ip]', 's=-', 'c=IN IP4 [media_ip]', 't=0 0',
    'm=audio [media_port] RTP/AVP 0 8 9 18 101',
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:9 G722/8000', 'a=rtpmap:18 G729/8000',
    'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
  ],
  /** Audio plus VP8/H264 video asking for 2.5 Mbps. */
  video: [
    'v=0', 'o=user1 53655765 2353687637 IN IP4 [local_ip]', 's=-', 'c=IN IP4 [media_ip]', 't=0 0',
    'm=audio [media_port] RTP/AVP 0 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000',
    'm=video [media_port+2] RTP/AVP 96 97', 'b=AS:2500', 'a=rtpmap:96 VP8/90000', 'a=rtpmap:97 H264/90000',
  ],
  /** Nothing on the whitelist: G722 and H264 only. */
  noneAllowed: [
    'v=0', 'o=user1 53655765 2353687637 IN IP4 [local_ip]', 's=-', 'c=IN IP4 [media_ip]', 't=0 0',
    'm=audio [media_port] RTP/AVP 9', 'a=rtpmap:9 G722/8000',
    'm=video [media_port+2] RTP/AVP 97', 'a=rtpmap:97 H264/90000',
  ],
  malformed: ['v=0', 'this is not sdp', 'm=audio notaport RTP/AVP'],
} as const;

/**
 * The policy INVITE scenario (challenge, then authenticated INVITE with an Identity header)
 * expecting `status`; 200 calls hold for SIPp's -d and hang up.
 */
export function policyInvite(status: number, sdp: readonly string[] = SDP.audio): string {
  const dir = join(repoRoot, 'sip-configs/sipp/policy');
  const tmpl = readFileSync(join(dir, 'invite-auth.xml.tmpl'), 'utf8');
  const tail = status === 200 ? readFileSync(join(dir, 'answered-tail.xml.part'), 'utf8') : '';
  const body = sdp.map((l) => `      ${l}`).join('\n') + '\n';
  const file = join(mkdtempSync(join(tmpdir(), 'sipp-scn-')), `policy-invite-${status}.xml`);
  writeFileSync(file, tmpl.replaceAll('@STATUS@', String(status)).replaceAll('@SDP@', body).replace('@ANSWERED@', tail).replace('@CODECS@', 'the SDP')
    // The ACK to a 2xx is its own transaction; the ACK to a failure reuses the INVITE's branch.
    .replace('@FINAL_ACK_VIA@', status < 300 ? 'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]' : '[last_Via:]'));
  return file;
}

/** A SIPp injection file (-inf): one line per call, fields separated by ';' (values must not contain ';'). */
export function injectionFile(rows: ReadonlyArray<readonly string[]>): string {
  for (const r of rows) for (const f of r) if (f.includes(';') || f.includes('\n')) throw new Error(`injection field may not contain ';' or newline: ${f}`);
  const file = join(mkdtempSync(join(tmpdir(), 'sipp-inf-')), 'calls.csv');
  writeFileSync(file, ['SEQUENTIAL', ...rows.map((r) => r.join(';'))].join('\n') + '\n');
  return file;
}
