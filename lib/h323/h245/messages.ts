/**
 * Builders and readers for the H.245 messages an H.323 call uses: capability sets with the audio
 * and video codecs we support, master/slave determination, logical channels (also the fastStart
 * proposals carried in H.225.0), user input (DTMF), round trip delay and end session.
 */
import type { UnknownAlternative } from '../per/index.js';
import {
  H245_PROTOCOL_ID_V15,
  type AudioCapabilityValue,
  type CapabilityTableEntryValue,
  type CapabilityValue,
  type DataTypeValue,
  type GenericCapabilityValue,
  type H2250CapabilityValue,
  type H2250LogicalChannelParametersValue,
  type H245TransportAddressValue,
  type MultimediaSystemControlMessageValue,
  type OpenLogicalChannelAckValue,
  type OpenLogicalChannelValue,
  type TerminalCapabilitySetValue,
  type UserInputIndicationValue,
  type VideoCapabilityValue,
} from './schema.js';

export { H245_PROTOCOL_ID_V15 };

/** "request.terminalCapabilitySet" style name, for logs and metrics. */
export function h245MessageKind(m: MultimediaSystemControlMessageValue): string {
  if (m.choice === '$unknown') return 'unknown';
  return `${m.choice}.${h245MessageName(m)}`;
}

/** The inner message name (terminalCapabilitySet, openLogicalChannelAck, userInput...). */
export function h245MessageName(m: MultimediaSystemControlMessageValue): string {
  if (m.choice === '$unknown') return 'unknown';
  const inner = m.value as { choice: string };
  return inner.choice === '$unknown' ? 'unknown' : inner.choice;
}

// --- text <-> GeneralString --------------------------------------------------------------------

export function text(s: string): Uint8Array {
  return Uint8Array.from([...s].map((c) => c.charCodeAt(0) & 0xff));
}
export function fromText(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

// --- transport addresses ---------------------------------------------------------------------------

export function h245Address(ip: string, port: number): H245TransportAddressValue {
  const parts = ip.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return { choice: 'unicastAddress', value: { choice: 'iPAddress', value: { network: Uint8Array.from(parts), tsapIdentifier: port } } };
}

export function h245AddressToHostPort(a: H245TransportAddressValue | undefined): { host: string; port: number } | undefined {
  if (!a || a.choice !== 'unicastAddress' || a.value.choice !== 'iPAddress') return undefined;
  return { host: Array.from(a.value.value.network).join('.'), port: a.value.value.tsapIdentifier };
}

// --- codecs ----------------------------------------------------------------------------------------

export type AudioCodec = 'PCMA' | 'PCMU' | 'G729' | 'G729A' | 'G722';
export type VideoCodec = 'H263' | 'H264';
export type Codec = AudioCodec | VideoCodec;

/** H.241 generic capability identifier of H.264. */
export const H264_CAPABILITY_OID = '0.0.8.241.0.0.1';

export const RTP_PAYLOAD_TYPE: Readonly<Record<AudioCodec, number>> = { PCMU: 0, PCMA: 8, G722: 9, G729: 18, G729A: 18 };

/** Frames (G.711/G.722: milliseconds of audio; G.729: 10 ms frames) per packet. */
export function audioCapability(codec: AudioCodec, framesPerPacket?: number): AudioCapabilityValue {
  switch (codec) {
    case 'PCMA':
      return { choice: 'g711Alaw64k', value: framesPerPacket ?? 20 };
    case 'PCMU':
      return { choice: 'g711Ulaw64k', value: framesPerPacket ?? 20 };
    case 'G722':
      return { choice: 'g722-64k', value: framesPerPacket ?? 20 };
    case 'G729':
      return { choice: 'g729', value: framesPerPacket ?? 2 };
    case 'G729A':
      return { choice: 'g729AnnexA', value: framesPerPacket ?? 2 };
  }
}

export interface H264Options {
  /** H.241 profile bit mask (64 = baseline). */
  readonly profile?: number;
  /** H.241 level (e.g. 29 = level 2, 71 = level 3.1). */
  readonly level?: number;
  /** units of 100 bit/s */
  readonly maxBitRate?: number;
}

export function videoCapability(codec: VideoCodec, opts: H264Options = {}): VideoCapabilityValue {
  if (codec === 'H263') {
    return {
      choice: 'h263VideoCapability',
      value: {
        qcifMPI: 1,
        cifMPI: 1,
        maxBitRate: opts.maxBitRate ?? 3840,
        unrestrictedVector: false,
        arithmeticCoding: false,
        advancedPrediction: false,
        pbFrames: false,
        temporalSpatialTradeOffCapability: false,
        errorCompensation: false,
      },
    };
  }
  const generic: GenericCapabilityValue = {
    capabilityIdentifier: { choice: 'standard', value: H264_CAPABILITY_OID },
    maxBitRate: opts.maxBitRate ?? 3840,
    collapsing: [
      { parameterIdentifier: { choice: 'standard', value: 41 }, parameterValue: { choice: 'booleanArray', value: opts.profile ?? 64 } },
      { parameterIdentifier: { choice: 'standard', value: 42 }, parameterValue: { choice: 'unsignedMin', value: opts.level ?? 29 } },
    ],
  };
  return { choice: 'genericVideoCapability', value: generic };
}

/** The codec a DataType (OLC) or an audio/video capability describes, if we know it. */
export function codecOf(dt: DataTypeValue | CapabilityValue): Codec | undefined {
  let audio: AudioCapabilityValue | undefined;
  let video: VideoCapabilityValue | undefined;
  switch (dt.choice) {
    case 'audioData':
    case 'receiveAudioCapability':
    case 'transmitAudioCapability':
    case 'receiveAndTransmitAudioCapability':
      audio = dt.value;
      break;
    case 'videoData':
    case 'receiveVideoCapability':
    case 'transmitVideoCapability':
    case 'receiveAndTransmitVideoCapability':
      video = dt.value;
      break;
    default:
      return undefined;
  }
  if (audio) {
    switch (audio.choice) {
      case 'g711Alaw64k':
        return 'PCMA';
      case 'g711Ulaw64k':
        return 'PCMU';
      case 'g722-64k':
        return 'G722';
      case 'g729':
      case 'g729wAnnexB':
        return 'G729';
      case 'g729AnnexA':
      case 'g729AnnexAwAnnexB':
        return 'G729A';
      default:
        return undefined;
    }
  }
  if (video?.choice === 'h263VideoCapability') return 'H263';
  if (video?.choice === 'genericVideoCapability') {
    const id = video.value.capabilityIdentifier;
    if (id.choice === 'standard' && id.value === H264_CAPABILITY_OID) return 'H264';
  }
  return undefined;
}

/** Frames per packet of an audio DataType (undefined for others). */
export function framesOf(dt: DataTypeValue): number | undefined {
  if (dt.choice !== 'audioData') return undefined;
  const v = (dt.value as { value?: unknown }).value;
  return typeof v === 'number' ? v : undefined;
}

export function dataType(codec: Codec): DataTypeValue {
  return codec === 'H263' || codec === 'H264'
    ? { choice: 'videoData', value: videoCapability(codec) }
    : { choice: 'audioData', value: audioCapability(codec) };
}

export function isVideo(codec: Codec): codec is VideoCodec {
  return codec === 'H263' || codec === 'H264';
}

// --- capability set ----------------------------------------------------------------------------------

export function h2250Capability(): H2250CapabilityValue {
  const mp = () => ({
    multicastCapability: false,
    multiUniCastConference: false,
    mediaDistributionCapability: [
      {
        centralizedControl: false,
        distributedControl: false,
        centralizedAudio: false,
        distributedAudio: false,
        centralizedVideo: false,
        distributedVideo: false,
      },
    ],
  });
  return {
    maximumAudioDelayJitter: 250,
    receiveMultipointCapability: mp(),
    transmitMultipointCapability: mp(),
    receiveAndTransmitMultipointCapability: mp(),
    mcCapability: { centralizedConferenceMC: false, decentralizedConferenceMC: false },
    rtcpVideoControlCapability: false,
    mediaPacketizationCapability: { h261aVideoPacketization: false },
    logicalChannelSwitchingCapability: false,
    t120DynamicPortCapability: false,
  };
}

export interface CapabilitySetOptions {
  readonly sequenceNumber: number;
  /** In order of preference. */
  readonly codecs: readonly Codec[];
  /** Announce DTMF by UserInputIndication (basicString + dtmf). Default true. */
  readonly userInput?: boolean;
  /** RFC 2833/4733 telephone-event payload type to announce, if any. */
  readonly telephoneEventPayloadType?: number;
}

/** A TerminalCapabilitySet: audio codecs as alternatives, video ones as alternatives, user input. */
export function terminalCapabilitySet(o: CapabilitySetOptions): TerminalCapabilitySetValue {
  const table: CapabilityTableEntryValue[] = [];
  const audio: number[] = [];
  const video: number[] = [];
  const ui: number[] = [];
  let n = 1;
  for (const c of o.codecs) {
    const capability: CapabilityValue = isVideo(c)
      ? { choice: 'receiveVideoCapability', value: videoCapability(c) }
      : { choice: 'receiveAudioCapability', value: audioCapability(c) };
    table.push({ capabilityTableEntryNumber: n, capability });
    (isVideo(c) ? video : audio).push(n++);
  }
  if (o.userInput ?? true) {
    table.push({ capabilityTableEntryNumber: n, capability: { choice: 'receiveUserInputCapability', value: { choice: 'basicString', value: null } } });
    ui.push(n++);
    table.push({ capabilityTableEntryNumber: n, capability: { choice: 'receiveUserInputCapability', value: { choice: 'dtmf', value: null } } });
    ui.push(n++);
  }
  if (o.telephoneEventPayloadType !== undefined) {
    table.push({
      capabilityTableEntryNumber: n,
      capability: {
        choice: 'receiveRTPAudioTelephonyEventCapability',
        value: { dynamicRTPPayloadType: o.telephoneEventPayloadType, audioTelephoneEvent: text('0-16') },
      },
    });
    ui.push(n++);
  }
  const simultaneous = [audio, video, ui].filter((s) => s.length > 0);
  const tcs: TerminalCapabilitySetValue = {
    sequenceNumber: o.sequenceNumber,
    protocolIdentifier: H245_PROTOCOL_ID_V15,
    multiplexCapability: { choice: 'h2250Capability', value: h2250Capability() },
  };
  if (table.length > 0) {
    tcs.capabilityTable = table;
    tcs.capabilityDescriptors = [{ capabilityDescriptorNumber: 0, simultaneousCapabilities: simultaneous }];
  }
  return tcs;
}

/** Codecs the peer can receive, in its table order (unknown capabilities are skipped). */
export function receiveCodecs(tcs: TerminalCapabilitySetValue): Codec[] {
  const out: Codec[] = [];
  for (const e of tcs.capabilityTable ?? []) {
    if (!e.capability) continue;
    const c = e.capability.choice;
    if (c === 'transmitAudioCapability' || c === 'transmitVideoCapability') continue;
    const codec = codecOf(e.capability);
    if (codec && !out.includes(codec)) out.push(codec);
  }
  return out;
}

export function supportsDtmfUserInput(tcs: TerminalCapabilitySetValue): boolean {
  return (tcs.capabilityTable ?? []).some(
    (e) =>
      e.capability !== undefined &&
      (e.capability.choice === 'receiveUserInputCapability' || e.capability.choice === 'receiveAndTransmitUserInputCapability') &&
      ['dtmf', 'basicString', 'iA5String', 'generalString'].includes((e.capability.value as { choice: string }).choice),
  );
}

// --- logical channels ---------------------------------------------------------------------------------

export interface OlcOptions {
  readonly channel: number;
  readonly codec: Codec;
  /** RTCP address we receive reports on (mediaControlChannel). */
  readonly rtcp: { host: string; port: number };
  /** For a fastStart receive proposal (reverse direction): where we receive RTP. */
  readonly rtp?: { host: string; port: number };
  /** Propose a channel the peer transmits on (fastStart receive proposal). */
  readonly reverse?: boolean;
  readonly sessionID?: number;
  readonly silenceSuppression?: boolean;
}

function h2250Params(o: OlcOptions, withRtp: boolean): H2250LogicalChannelParametersValue {
  const p: H2250LogicalChannelParametersValue = {
    sessionID: o.sessionID ?? (isVideo(o.codec) ? 2 : 1),
    mediaControlChannel: h245Address(o.rtcp.host, o.rtcp.port),
  };
  if (withRtp && o.rtp) p.mediaChannel = h245Address(o.rtp.host, o.rtp.port);
  if (!isVideo(o.codec)) p.silenceSuppression = o.silenceSuppression ?? false;
  return p;
}

/**
 * OpenLogicalChannel. Normal (forward) channel: we transmit `codec`; the mediaControlChannel is
 * our RTCP. FastStart receive proposal (`reverse: true`): forward dataType nullData and reverse
 * parameters carrying where we receive RTP/RTCP (H.323 8.1.7.1).
 */
export function openLogicalChannel(o: OlcOptions): OpenLogicalChannelValue {
  const dt = dataType(o.codec);
  if (o.reverse) {
    return {
      forwardLogicalChannelNumber: o.channel,
      forwardLogicalChannelParameters: {
        dataType: { choice: 'nullData', value: null },
        multiplexParameters: { choice: 'none', value: null },
      },
      reverseLogicalChannelParameters: {
        dataType: dt,
        multiplexParameters: { choice: 'h2250LogicalChannelParameters', value: h2250Params(o, true) },
      },
    };
  }
  return {
    forwardLogicalChannelNumber: o.channel,
    forwardLogicalChannelParameters: {
      dataType: dt,
      multiplexParameters: { choice: 'h2250LogicalChannelParameters', value: h2250Params(o, o.rtp !== undefined) },
    },
  };
}

/** OpenLogicalChannelAck telling the opener where to send RTP (and our RTCP). */
export function openLogicalChannelAck(channel: number, rtp: { host: string; port: number }, rtcp: { host: string; port: number }): OpenLogicalChannelAckValue {
  return {
    forwardLogicalChannelNumber: channel,
    forwardMultiplexAckParameters: {
      choice: 'h2250LogicalChannelAckParameters',
      value: { mediaChannel: h245Address(rtp.host, rtp.port), mediaControlChannel: h245Address(rtcp.host, rtcp.port) },
    },
  };
}

/** Forward H.225.0 parameters of an OLC (undefined when absent or not H.225.0). */
export function forwardH2250(olc: OpenLogicalChannelValue): H2250LogicalChannelParametersValue | undefined {
  const mp = olc.forwardLogicalChannelParameters.multiplexParameters;
  return mp.choice === 'h2250LogicalChannelParameters' ? mp.value : undefined;
}

export function reverseH2250(olc: OpenLogicalChannelValue): H2250LogicalChannelParametersValue | undefined {
  const mp = olc.reverseLogicalChannelParameters?.multiplexParameters;
  return mp?.choice === 'h2250LogicalChannelParameters' ? mp.value : undefined;
}

/** Where the ack says to send media. */
export function ackMediaChannel(ack: OpenLogicalChannelAckValue): { host: string; port: number } | undefined {
  const p = ack.forwardMultiplexAckParameters;
  if (!p || p.choice !== 'h2250LogicalChannelAckParameters') return undefined;
  return h245AddressToHostPort(p.value.mediaChannel);
}

// --- message wrappers ---------------------------------------------------------------------------------

type Msg = MultimediaSystemControlMessageValue;
type Inner<K extends string> = Extract<Msg, { choice: K }>['value'];
type InnerChoice<K extends 'request' | 'response' | 'command' | 'indication'> = Exclude<Inner<K>, UnknownAlternative>;

export function request<T extends InnerChoice<'request'>['choice']>(choice: T, value: Extract<InnerChoice<'request'>, { choice: T }>['value']): Msg {
  return { choice: 'request', value: { choice, value } as Inner<'request'> };
}
export function response<T extends InnerChoice<'response'>['choice']>(choice: T, value: Extract<InnerChoice<'response'>, { choice: T }>['value']): Msg {
  return { choice: 'response', value: { choice, value } as Inner<'response'> };
}
export function command<T extends InnerChoice<'command'>['choice']>(choice: T, value: Extract<InnerChoice<'command'>, { choice: T }>['value']): Msg {
  return { choice: 'command', value: { choice, value } as Inner<'command'> };
}
export function indication<T extends InnerChoice<'indication'>['choice']>(choice: T, value: Extract<InnerChoice<'indication'>, { choice: T }>['value']): Msg {
  return { choice: 'indication', value: { choice, value } as Inner<'indication'> };
}

/** The inner value when `m` is `kind`.`name`, else undefined. */
export function pick<K extends 'request' | 'response' | 'command' | 'indication', N extends InnerChoice<K>['choice']>(
  m: Msg,
  kind: K,
  name: N,
): Extract<InnerChoice<K>, { choice: N }>['value'] | undefined {
  if (m.choice !== kind) return undefined;
  const inner = m.value as { choice: string; value: unknown };
  return inner.choice === name ? (inner.value as Extract<InnerChoice<K>, { choice: N }>['value']) : undefined;
}

export function userInputSignal(digit: string, durationMs?: number): UserInputIndicationValue {
  const value: { signalType: string; duration?: number } = { signalType: digit };
  if (durationMs !== undefined) value.duration = durationMs;
  return { choice: 'signal', value };
}

export function userInputAlphanumeric(s: string): UserInputIndicationValue {
  return { choice: 'alphanumeric', value: text(s) };
}

/** The DTMF digits a UserInputIndication carries (signal or alphanumeric), '' for other kinds. */
export function userInputDigits(u: UserInputIndicationValue): string {
  switch (u.choice) {
    case 'signal':
      return u.value.signalType === '!' ? '' : u.value.signalType;
    case 'alphanumeric':
      return fromText(u.value);
    case 'extendedAlphanumeric':
      return fromText(u.value.alphanumeric);
    default:
      return '';
  }
}
