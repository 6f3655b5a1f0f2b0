/** SDP for the H.323 side of a media leg: FreeSWITCH is offered the far end's RTP address. */
import { isIPv6 } from 'node:net';

export type H323Codec = 'PCMU' | 'PCMA' | 'G722' | 'G729';

export interface RemoteMedia {
  host: string;
  port: number;
  codec: H323Codec;
}

const PT: Record<H323Codec, { pt: number; rtpmap: string }> = {
  PCMU: { pt: 0, rtpmap: 'PCMU/8000' },
  PCMA: { pt: 8, rtpmap: 'PCMA/8000' },
  G722: { pt: 9, rtpmap: 'G722/8000' },
  G729: { pt: 18, rtpmap: 'G729/8000' },
};

export const TELEPHONE_EVENT_PT = 101;

/** An offer naming the H.323 side's RTP address and codec (+ telephone-event for DTMF). */
export function remoteOffer(remote: RemoteMedia, version = 1): string {
  const c = PT[remote.codec];
  if (!c) throw new Error(`unsupported codec ${String(remote.codec)}`);
  if (!Number.isInteger(remote.port) || remote.port <= 0 || remote.port > 65535) throw new Error('remote RTP port out of range');
  const fam = isIPv6(remote.host) ? 'IP6' : 'IP4';
  return [
    'v=0', `o=gw-h323 1 ${version} IN ${fam} ${remote.host}`, 's=-', `c=IN ${fam} ${remote.host}`, 't=0 0',
    `m=audio ${remote.port} RTP/AVP ${c.pt} ${TELEPHONE_EVENT_PT}`,
    `a=rtpmap:${c.pt} ${c.rtpmap}`, `a=rtpmap:${TELEPHONE_EVENT_PT} telephone-event/8000`, `a=fmtp:${TELEPHONE_EVENT_PT} 0-15`,
    ...(remote.codec === 'G729' ? ['a=fmtp:18 annexb=no'] : []),
    'a=ptime:20', 'a=sendrecv', '',
  ].join('\r\n');
}
