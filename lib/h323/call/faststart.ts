/**
 * fastStart (H.323 8.1.7) offer and answer, as pure functions over OpenLogicalChannel elements.
 *
 * Offer (caller, in Setup): per audio codec, a transmit proposal (we send; forward dataType = codec,
 * mediaControlChannel = our RTCP) and a receive proposal (the callee sends; forward nullData,
 * reverse dataType = codec with our RTP and RTCP addresses).
 * Answer (callee, in Alerting/Connect): one codec; the caller's transmit proposal returned with our
 * RTP/RTCP as forward mediaChannel/mediaControlChannel, and the caller's receive proposal as is.
 */
import { decodeOlc, encodeOlc } from '../h245/codec.js';
import { codecOf, forwardH2250, h245Address, h245AddressToHostPort, isVideo, openLogicalChannel, reverseH2250, type Codec } from '../h245/messages.js';
import type { OpenLogicalChannelValue } from '../h245/schema.js';
import type { HostPort } from './h245-session.js';

export interface FastStartProposal {
  readonly codec: Codec;
  readonly olc: OpenLogicalChannelValue;
}

/**
 * Audio proposals for every audio codec; video proposals (session 2: H.264 as an H.241
 * genericVideoCapability, H.263 as h263VideoCapability) only when `video` (where we receive
 * video RTP) is given. Callees that do not do video simply accept none of them (H.323 8.1.7.1).
 */
export function offerFastStart(codecs: readonly Codec[], rtp: HostPort, video?: HostPort): Uint8Array[] {
  const out: Uint8Array[] = [];
  let ch = 1;
  const add = (codec: Codec, media: HostPort): void => {
    const rtcp = { host: media.host, port: media.port + 1 };
    out.push(encodeOlc(openLogicalChannel({ channel: ch++, codec, rtcp })));
    out.push(encodeOlc(openLogicalChannel({ channel: ch++, codec, reverse: true, rtp: media, rtcp })));
  };
  for (const codec of codecs.filter((c) => !isVideo(c))) add(codec, rtp);
  if (video) for (const codec of codecs.filter(isVideo)) add(codec, video);
  return out;
}

/** The proposals we understand (undecodable or unknown-codec elements are skipped). */
export function parseFastStartOffer(items: readonly Uint8Array[]): FastStartProposal[] {
  const out: FastStartProposal[] = [];
  for (const b of items) {
    try {
      const olc = decodeOlc(b);
      const codec = codecOf(olc.reverseLogicalChannelParameters?.dataType ?? olc.forwardLogicalChannelParameters.dataType);
      if (codec) out.push({ codec, olc });
    } catch {
      // Not accepted.
    }
  }
  return out;
}

export interface FastStartStream {
  readonly codec: Codec;
  /** The fastStart elements accepting this stream (our transmit and receive channel). */
  readonly accepted: Uint8Array[];
  /** Where we send RTP (the caller's receive address) and its RTCP. */
  readonly sendTo: HostPort;
  readonly remoteRtcp?: HostPort;
}

export interface FastStartChoice extends FastStartStream {
  /** The fastStart elements of our answer (audio, then video when accepted). */
  readonly accepted: Uint8Array[];
  /** The video stream accepted, when the caller proposed one of our video codecs and we have a video address. */
  readonly video?: FastStartStream;
}

/**
 * Pick the first of our audio codecs the caller proposed in both directions, and likewise one
 * video codec when `video` (our video receive address) is given. No common audio codec: no answer.
 */
export function answerFastStart(proposals: readonly FastStartProposal[], codecs: readonly Codec[], rtp: HostPort, video?: HostPort): FastStartChoice | undefined {
  const audio = pickStream(proposals, codecs.filter((c) => !isVideo(c)), rtp);
  if (!audio) return undefined;
  const v = video ? pickStream(proposals, codecs.filter(isVideo), video) : undefined;
  return { ...audio, accepted: [...audio.accepted, ...(v ? v.accepted : [])], ...(v ? { video: v } : {}) };
}

function pickStream(proposals: readonly FastStartProposal[], codecs: readonly Codec[], rtp: HostPort): FastStartStream | undefined {
  const rtcp = { host: rtp.host, port: rtp.port + 1 };
  for (const codec of codecs) {
    const tx = proposals.find((p) => p.codec === codec && p.olc.forwardLogicalChannelParameters.dataType.choice !== 'nullData');
    const rx = proposals.find((p) => p.codec === codec && p.olc.reverseLogicalChannelParameters !== undefined);
    const rxParams = rx ? reverseH2250(rx.olc) : undefined;
    const sendTo = h245AddressToHostPort(rxParams?.mediaChannel);
    if (!tx || !rx || !sendTo) continue;
    const fwd = forwardH2250(tx.olc);
    const accepted: OpenLogicalChannelValue = {
      ...tx.olc,
      forwardLogicalChannelParameters: {
        ...tx.olc.forwardLogicalChannelParameters,
        multiplexParameters: {
          choice: 'h2250LogicalChannelParameters',
          value: { ...(fwd ?? { sessionID: isVideo(codec) ? 2 : 1 }), mediaChannel: h245Address(rtp.host, rtp.port), mediaControlChannel: h245Address(rtcp.host, rtcp.port) },
        },
      },
    };
    const remoteRtcp = h245AddressToHostPort(rxParams?.mediaControlChannel);
    return { codec, accepted: [encodeOlc(accepted), encodeOlc(rx.olc)], sendTo, ...(remoteRtcp ? { remoteRtcp } : {}) };
  }
  return undefined;
}

export interface FastStartTx {
  readonly codec: Codec;
  readonly rtp: HostPort;
  readonly rtcp?: HostPort;
}

export interface FastStartResult {
  /** What we send and where (from the accepted audio transmit proposal). */
  readonly tx?: FastStartTx;
  /** What the callee will send us (from the accepted audio receive proposal). */
  readonly rx?: Codec;
  /** The accepted video transmit proposal, if any. */
  readonly videoTx?: FastStartTx;
  readonly videoRx?: Codec;
}

/** Read the callee's fastStart answer (caller side). */
export function readFastStartAnswer(items: readonly Uint8Array[]): FastStartResult {
  let tx: FastStartTx | undefined;
  let rx: Codec | undefined;
  let videoTx: FastStartTx | undefined;
  let videoRx: Codec | undefined;
  for (const b of items) {
    let olc: OpenLogicalChannelValue;
    try {
      olc = decodeOlc(b);
    } catch {
      continue;
    }
    const fdt = olc.forwardLogicalChannelParameters.dataType;
    if (fdt.choice !== 'nullData') {
      const codec = codecOf(fdt);
      const p = forwardH2250(olc);
      const rtp = h245AddressToHostPort(p?.mediaChannel);
      const rtcp = h245AddressToHostPort(p?.mediaControlChannel);
      if (!codec || !rtp) continue;
      const t = { codec, rtp, ...(rtcp ? { rtcp } : {}) };
      if (isVideo(codec)) videoTx ??= t;
      else tx ??= t;
    } else if (olc.reverseLogicalChannelParameters) {
      const codec = codecOf(olc.reverseLogicalChannelParameters.dataType);
      if (codec && isVideo(codec)) videoRx ??= codec;
      else if (codec) rx ??= codec;
    }
  }
  return { ...(tx ? { tx } : {}), ...(rx ? { rx } : {}), ...(videoTx ? { videoTx } : {}), ...(videoRx ? { videoRx } : {}) };
}
