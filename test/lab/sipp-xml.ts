/**
 * SIPp scenario fragments the hand-written scenarios in the tests share: answering the request
 * just received with 200 OK, and a caller's own BYE. Indented as they stand inside <scenario>.
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
