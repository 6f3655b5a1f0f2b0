/**
 * Video between the SIP side and the H.323 side. FreeSWITCH relays video (bridge) or switches it
 * (conference) but does not transcode it, so a video stream exists only when both sides share a
 * codec: H.264 (H.241 genericVideoCapability on H.323) or H.263. VP8 has no H.245 capability that
 * room systems understand; a VP8-only caller talks to an H.323 room system with audio only (the
 * video m-line is refused with port 0 by FreeSWITCH, no video channel is proposed to H.323).
 * docs/media.md, "Video".
 */
import type { VideoCodec } from '../h323/h245/messages.js';

/**
 * SIP encoding names (upper case) -> H.323 video codec. Only H263 (RFC 2190 payload, what H.323
 * endpoints send): H263-1998 (RFC 4629) is another payload format, and FreeSWITCH relays video
 * payloads untouched.
 */
const SIP_TO_H323: Readonly<Record<string, VideoCodec>> = { H264: 'H264', H263: 'H263' };
/** Static payload type 34 is H.263 (RFC 3551). */
const STATIC_VIDEO: Readonly<Record<string, string>> = { '34': 'H263' };

/** Encoding names (upper case) of the first active m=video line, in the offer's order. */
export function sipVideoCodecs(sdp: string): string[] {
  const lines = sdp.split(/\r?\n/).map((l) => l.trim());
  const start = lines.findIndex((l) => /^m=video [1-9]\d* /.test(l));
  if (start < 0) return [];
  let end = lines.findIndex((l, i) => i > start && l.startsWith('m='));
  if (end < 0) end = lines.length;
  const pts = lines[start]!.split(/\s+/).slice(3);
  const names = new Map<string, string>();
  for (const l of lines.slice(start + 1, end)) {
    const r = /^a=rtpmap:(\d+)\s+([^/\s]+)/.exec(l);
    if (r) names.set(r[1]!, r[2]!.toUpperCase());
  }
  const out: string[] = [];
  for (const pt of pts) {
    const n = names.get(pt) ?? STATIC_VIDEO[pt];
    if (n && !out.includes(n)) out.push(n);
  }
  return out;
}

export interface VideoPlan {
  /** H.323 video codecs to propose (caller's order); empty = no video toward H.323. */
  readonly h323: VideoCodec[];
  /** Why there is no video (for logs/docs); undefined when video is proposed. */
  readonly dropped?: 'no-video-offered' | 'no-common-codec';
}

/**
 * SIP -> H.323: the caller's video codecs (from the offer the policy chain let through, so
 * already within the codec whitelist) that the H.323 side can take.
 */
export function planSipToH323Video(offerSdp: string): VideoPlan {
  const sip = sipVideoCodecs(offerSdp);
  if (sip.length === 0) return { h323: [], dropped: 'no-video-offered' };
  const h323: VideoCodec[] = [];
  for (const n of sip) {
    const c = SIP_TO_H323[n];
    if (c && !h323.includes(c)) h323.push(c);
  }
  return h323.length > 0 ? { h323 } : { h323: [], dropped: 'no-common-codec' };
}

/**
 * The offer with every video stream refused (port 0, RFC 3264 section 6): given to FreeSWITCH for
 * the caller's leg when the H.323 side will carry no video, so the caller's answer says so instead
 * of opening a video stream that leads nowhere.
 */
export function refuseVideo(sdp: string): string {
  return sdp.replace(/^m=video [1-9]\d*( |\/)/gm, 'm=video 0$1');
}
