/** SDP for the H.323 side of a media leg: FreeSWITCH is offered the far end's RTP address. */
import { isIPv6 } from 'node:net';

export type H323Codec = 'PCMU' | 'PCMA' | 'G722' | 'G729';

export type H323VideoCodec = 'H264' | 'H263';

export interface RemoteVideo {
  host: string;
  port: number;
  codec: H323VideoCodec;
}

export interface RemoteMedia {
  host: string;
  port: number;
  codec: H323Codec;
  /** The H.323 side's video (FreeSWITCH relays it, never transcodes: same codec on both legs); port 0 = refused. */
  video?: RemoteVideo;
}

/**
 * H.264 takes a dynamic payload type; H.263 has the static 34 (RFC 3551). H.264 names its profile
 * and level (RFC 6184): Constrained Baseline level 3.1, the fmtp FreeSWITCH 1.10.12 was seen to
 * take and echo (/opt/real/research-video/REPORT.md). No a=rtcp-fb: the H.323 side asks for key
 * frames with H.245 videoFastUpdatePicture, not RTCP PLI/FIR, and FreeSWITCH sends PLI/FIR only to
 * a leg whose offer had rtcp-fb.
 */
const VIDEO_PT: Record<H323VideoCodec, { pt: number; rtpmap: string; fmtp?: string }> = {
  H264: { pt: 96, rtpmap: 'H264/90000', fmtp: 'packetization-mode=1;profile-level-id=42e01f' },
  H263: { pt: 34, rtpmap: 'H263/90000' },
};

const PT: Record<H323Codec, { pt: number; rtpmap: string }> = {
  PCMU: { pt: 0, rtpmap: 'PCMU/8000' },
  PCMA: { pt: 8, rtpmap: 'PCMA/8000' },
  G722: { pt: 9, rtpmap: 'G722/8000' },
  G729: { pt: 18, rtpmap: 'G729/8000' },
};

export const TELEPHONE_EVENT_PT = 101;

/**
 * The codec list (FreeSWITCH's codec_string) of an H.323 leg first offered `first`: every H.323
 * audio codec, `first` ahead, and the leg's video codec when it was offered video. A leg whose
 * codec_string named only `first` would refuse the re-offer that switches it to the codec the
 * H.323 side opened instead; one without the video codec answers a re-offer's video with port 0
 * (fsmrf sets codec_string on an endpoint made with a remote SDP, and FreeSWITCH applies it to
 * every later re-INVITE: what the real FreeSWITCH did when the room system's H.264 answer
 * re-pointed the leg).
 */
export function h323LegCodecs(first: H323Codec, video?: H323VideoCodec): string[] {
  return [first, ...(Object.keys(PT) as H323Codec[]).filter((c) => c !== first), ...(video ? [video] : [])];
}

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
    'a=ptime:20', 'a=sendrecv',
    ...(remote.video ? videoLines(remote.video) : []),
    '',
  ].join('\r\n');
}

function videoLines(v: RemoteVideo): string[] {
  const c = VIDEO_PT[v.codec];
  if (!c) throw new Error(`unsupported video codec ${String(v.codec)}`);
  if (!Number.isInteger(v.port) || v.port < 0 || v.port > 65535) throw new Error('remote video port out of range');
  // Port 0: the stream stays in the offer, refused (RFC 3264 8.2: m-lines are never removed in a re-offer).
  if (v.port === 0) return [`m=video 0 RTP/AVP ${c.pt}`, `a=rtpmap:${c.pt} ${c.rtpmap}`];
  const vfam = isIPv6(v.host) ? 'IP6' : 'IP4';
  return [
    // media-level c= (the video may come from another address than the audio)
    `m=video ${v.port} RTP/AVP ${c.pt}`, `c=IN ${vfam} ${v.host}`,
    `a=rtpmap:${c.pt} ${c.rtpmap}`, ...(c.fmtp ? [`a=fmtp:${c.pt} ${c.fmtp}`] : []), 'a=sendrecv',
  ];
}

/** Where an SDP (FreeSWITCH's) receives video: the first m=video with a port, else undefined. */
export function sdpVideoAddress(sdp: string | undefined): { host: string; port: number } | undefined {
  if (!sdp) return undefined;
  let session: string | undefined;
  let inVideo = false;
  let port = 0;
  let host: string | undefined;
  for (const raw of sdp.split(/\r?\n/)) {
    const l = raw.trim();
    if (l.startsWith('m=')) {
      if (inVideo) break;
      const m = /^m=video (\d+) /.exec(l);
      inVideo = m !== null && Number(m[1]) > 0;
      if (inVideo) port = Number(m![1]);
      continue;
    }
    const c = /^c=IN IP[46] (\S+)/.exec(l);
    if (c) {
      if (inVideo) host = c[1];
      else if (port === 0) session ??= c[1];
    }
  }
  const h = host ?? session;
  return inVideo && h && port > 0 && port <= 65535 ? { host: h, port } : undefined;
}
