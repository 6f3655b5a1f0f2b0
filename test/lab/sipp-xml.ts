/**
 * SIPp scenario fragments the hand-written scenarios in the tests share: answering the request
 * just received with 200 OK, a caller's INVITE (PCMA offer), its ACK and its own BYE. Indented as
 * they stand inside <scenario>.
 */

/** `<send>` of a 200 OK to the last request received (a BYE, typically). `attrs`: e.g. ` next="done"`. */
export function okToLastRequest(attrs = ''): string {
  return `  <send${attrs}>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>`;
}

/** `<send>` of the caller's BYE in its own dialog (From user `fromUser`, CSeq `cseq`), retransmitted. */
export function callerBye(fromUser: string, cseq: number): string {
  return `  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:${fromUser}@[local_ip]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: ${cseq} BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>`;
}

/** A caller's From header (without its tag): `"display" <sip:user@[local_ip]>`. */
function callerFrom(user: string, display: string | undefined): string {
  return `${display !== undefined ? `"${display}" ` : ''}<sip:${user}@[local_ip]>`;
}

/**
 * `<send>` of the caller's INVITE to [service] offering PCMA audio on [media_port], retransmitted:
 * From user `user` (with `display`, its display name), CSeq `cseq`, the SDP session version
 * 2353687636 + `cseq`; `headers` (e.g. `[authentication]`) stand after Contact.
 */
export function callerInvite(o: { user: string; display?: string; cseq: number; headers?: readonly string[] }): string {
  const extra = (o.headers ?? []).map((h) => `      ${h}\n`).join('');
  return `  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: ${callerFrom(o.user, o.display)};tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: ${o.cseq} INVITE
      Contact: sip:${o.user}@[local_ip]:[local_port]
${extra}      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 ${2353687636 + o.cseq} IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000

    ]]>
  </send>`;
}

/**
 * `<send>` of the caller's ACK of its INVITE `cseq` (From as in callerInvite): of a 2xx in a Via of
 * its own (`via: 'new'`), of an error response in the INVITE's Via (`via: 'last'`, same branch).
 */
export function callerAck(o: { user: string; display?: string; cseq: number; via: 'new' | 'last' }): string {
  const via = o.via === 'new' ? 'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]' : '[last_Via:]';
  return `  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      ${via}
      From: ${callerFrom(o.user, o.display)};tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: ${o.cseq} ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>`;
}
