/** SDP offers used across tests. */
export const AUDIO_VIDEO_OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'a=group:BUNDLE 0 1 2',
  'm=audio 4000 RTP/AVP 9 0 8 111 101',
  'a=mid:0',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'm=video 4002 RTP/AVP 96 97 98 99',
  'a=mid:1',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:* ccm fir',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 H264/90000',
  'a=fmtp:98 profile-level-id=42e01f',
  'a=rtcp-fb:98 nack pli',
  'a=rtpmap:99 rtx/90000',
  'a=fmtp:99 apt=98',
  'm=application 5000 UDP/BFCP *',
  'a=mid:2',
  '',
].join('\r\n');

export function audioOffer(codecs: string[] = ['PCMU/8000'], extra: string[] = []): string {
  const pts = codecs.map((_, i) => 96 + i);
  return [
    'v=0',
    'o=- 1 1 IN IP4 192.0.2.10',
    's=-',
    'c=IN IP4 192.0.2.10',
    't=0 0',
    `m=audio 4000 RTP/AVP ${pts.join(' ')}`,
    ...codecs.map((c, i) => `a=rtpmap:${pts[i]} ${c}`),
    ...extra,
    '',
  ].join('\r\n');
}

export function videoOffer(videoAsKbps?: number, audio = 'PCMU/8000'): string {
  return [
    'v=0',
    'o=- 1 1 IN IP4 192.0.2.10',
    's=-',
    'c=IN IP4 192.0.2.10',
    't=0 0',
    'm=audio 4000 RTP/AVP 0',
    `a=rtpmap:0 ${audio}`,
    'm=video 4002 RTP/AVP 96',
    ...(videoAsKbps ? [`b=AS:${videoAsKbps}`] : []),
    'a=rtpmap:96 VP8/90000',
    '',
  ].join('\r\n');
}
