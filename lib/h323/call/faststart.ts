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

export function offerFastStart(codecs: readonly Codec[], rtp: HostPort): Uint8Array[] {
  const out: Uint8Array[] = [];
  const rtcp = { host: rtp.host, port: rtp.port + 1 };
  let ch = 1;
  for (const codec of codecs.filter((c) => !isVideo(c))) {
    out.push(encodeOlc(openLogicalChannel({ channel: ch++, codec, rtcp })));
    out.push(encodeOlc(openLogicalChannel({ channel: ch++, codec, reverse: true, rtp, rtcp })));
  }
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

export interface FastStartChoice {
  readonly codec: Codec;
  /** The fastStart elements of our answer. */
  readonly accepted: Uint8Array[];
  /** Where we send RTP (the caller's receive address) and its RTCP. */
  readonly sendTo: HostPort;
  readonly remoteRtcp?: HostPort;
}

/** Pick the first of our codecs the caller proposed in both directions. */
export function answerFastStart(proposals: readonly FastStartProposal[], codecs: readonly Codec[], rtp: HostPort): FastStartChoice | undefined {
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
          value: { ...(fwd ?? { sessionID: 1 }), mediaChannel: h245Address(rtp.host, rtp.port), mediaControlChannel: h245Address(rtcp.host, rtcp.port) },
        },
      },
    };
    const remoteRtcp = h245AddressToHostPort(rxParams?.mediaControlChannel);
    return { codec, accepted: [encodeOlc(accepted), encodeOlc(rx.olc)], sendTo, ...(remoteRtcp ? { remoteRtcp } : {}) };
  }
  return undefined;
}

export interface FastStartResult {
  /** What we send and where (from the accepted transmit proposal). */
  readonly tx?: { readonly codec: Codec; readonly rtp: HostPort; readonly rtcp?: HostPort };
  /** What the callee will send us (from the accepted receive proposal). */
  readonly rx?: Codec;
}

/** Read the callee's fastStart answer (caller side). */
export function readFastStartAnswer(items: readonly Uint8Array[]): FastStartResult {
  let tx: FastStartResult['tx'];
  let rx: Codec | undefined;
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
      if (codec && rtp && !tx) tx = { codec, rtp, ...(rtcp ? { rtcp } : {}) };
    } else if (olc.reverseLogicalChannelParameters) {
      rx ??= codecOf(olc.reverseLogicalChannelParameters.dataType);
    }
  }
  return { ...(tx ? { tx } : {}), ...(rx ? { rx } : {}) };
}
