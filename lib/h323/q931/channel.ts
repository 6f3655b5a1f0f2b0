/**
 * Q.931 over TPKT on one TCP connection (H.225.0 call signalling channel). Decodes each frame and
 * hands the owner (the call layer) typed messages. A frame that is not a valid Q.931 message does
 * not break the stream - framing is intact - so it is reported to the owner, which decides
 * whether to answer with Status or ReleaseComplete; TPKT-level errors close the connection.
 */
import type { Socket } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import { metricsRegistry } from '../../metrics/registry.js';
import { TpktChannel, type TpktChannelOptions } from '../tpkt/channel.js';
import type { TpktError } from '../tpkt/framing.js';
import { messageTypeName } from './constants.js';
import { decodeQ931, encodeQ931, type Q931Message } from './message.js';
import type { Q931Error } from './result.js';

export interface Q931ChannelEvents {
  onMessage(msg: Q931Message, raw: Uint8Array): void;
  /** A frame that did not decode as Q.931 (the connection stays open). */
  onBadMessage?(error: Q931Error, raw: Uint8Array): void;
  /** TPKT keep-alive (empty frame). */
  onKeepAlive?(): void;
  onProtocolError?(error: TpktError): void;
  onClose?(): void;
}

export type Q931ChannelOptions = Omit<TpktChannelOptions, 'channel'>;

export interface SendError {
  readonly code: 'channel-closed';
  readonly message: string;
}

interface Q931Metrics {
  readonly messages: Counter<'direction' | 'type'>;
  readonly decodeErrors: Counter<'reason'>;
}

const byRegistry = new WeakMap<Registry, Q931Metrics>();

export function q931Metrics(registry: Registry): Q931Metrics {
  const known = byRegistry.get(registry);
  if (known) return known;
  const m: Q931Metrics = {
    messages: new Counter({
      name: 'gw_q931_messages_total',
      help: 'Q.931 messages on H.225.0 call signalling channels, by direction and message type',
      labelNames: ['direction', 'type'],
      registers: [registry],
    }),
    decodeErrors: new Counter({
      name: 'gw_q931_decode_errors_total',
      help: 'Received frames that did not decode as Q.931, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
  byRegistry.set(registry, m);
  return m;
}

function typeLabel(code: number): string {
  return messageTypeName(code) ?? 'other';
}

export class Q931Channel {
  readonly tpkt: TpktChannel;
  private readonly metrics: Q931Metrics;

  constructor(socket: Socket, events: Q931ChannelEvents, options: Q931ChannelOptions = {}) {
    this.metrics = q931Metrics(options.registry ?? metricsRegistry());
    this.tpkt = new TpktChannel(
      socket,
      {
        onFrame: (raw) => {
          if (raw.length === 0) {
            events.onKeepAlive?.();
            return;
          }
          const r = decodeQ931(raw);
          if (r.ok) {
            this.metrics.messages.inc({ direction: 'in', type: typeLabel(r.value.messageType) });
            events.onMessage(r.value, raw);
          } else {
            this.metrics.decodeErrors.inc({ reason: r.error.code });
            events.onBadMessage?.(r.error, raw);
          }
        },
        ...(events.onProtocolError ? { onProtocolError: (e: TpktError) => events.onProtocolError?.(e) } : {}),
        ...(events.onClose ? { onClose: () => events.onClose?.() } : {}),
      },
      { ...options, channel: 'q931' },
    );
  }

  /** Encode and send. Returns why it was not sent, or undefined once the frame is queued. */
  send(msg: Q931Message): Q931Error | SendError | undefined {
    const enc = encodeQ931(msg);
    if (!enc.ok) return enc.error;
    if (!this.tpkt.send(enc.value)) return { code: 'channel-closed', message: 'the connection is closed' };
    this.metrics.messages.inc({ direction: 'out', type: typeLabel(msg.messageType) });
    return undefined;
  }

  close(): void {
    this.tpkt.close();
  }
}
