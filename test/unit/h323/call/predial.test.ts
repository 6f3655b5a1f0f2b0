/**
 * predial(): the call-signalling connection opened before the call is placed, on real loopback
 * TCP. Setup is the first thing written on it, when the call is placed; an abandoned connection
 * carries nothing; a destination that refused the early connection still ends the call with
 * cause 27 (Destination out of order).
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { isolatedRegistry } from '../../../../lib/metrics/registry.js';
import { predial, type CallOptions, type ReleaseInfo } from '../../../../lib/h323/call/index.js';
import { MessageType, Q931Channel, type Q931Message } from '../../../../lib/h323/q931/index.js';
import { realTimers } from '../../../../lib/h323/tpkt/channel.js';
import { freePort } from '../../../lab/ports.js';
import { waitUntil } from '../../../lab/wait.js';

const callOptions = (): CallOptions => ({ codecs: ['PCMA'], media: { rtp: { host: '127.0.0.1', port: 40000 } }, registry: isolatedRegistry() });

describe('h323/call predial', () => {
  let server: Server;
  let accepted: Promise<Socket>;

  beforeEach(async () => {
    server = createServer();
    accepted = once(server, 'connection').then(([s]) => s as Socket);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  const port = (): number => (server.address() as { port: number }).port;

  it('connects before the call exists; Setup is the first message on the connection', async () => {
    const pending = predial('127.0.0.1', port());
    const peer = await accepted;
    await waitUntil(async () => pending.state === 'connected', 'the early connection');
    const got: Q931Message[] = [];
    const first = new Promise<void>((resolve) => {
      const onMessage = (m: Q931Message): void => {
        got.push(m);
        resolve();
      };
      new Q931Channel(peer, { onMessage, onClose: () => undefined }, { timers: realTimers, registry: isolatedRegistry() });
    });
    const call = pending.dial({ ...callOptions(), target: { calledNumber: '1000' } });
    await first;
    expect(got[0]?.messageType).to.equal(MessageType.Setup);
    expect(() => pending.dial(callOptions())).to.throw(/already dialled/);
    call.hangup(16);
    peer.destroy();
  });

  it('abandon() closes the connection without a byte on it', async () => {
    const pending = predial('127.0.0.1', port());
    const peer = await accepted;
    let bytes = 0;
    peer.on('data', (d: Buffer) => (bytes += d.length));
    pending.abandon();
    await once(peer, 'close');
    expect(bytes).to.equal(0);
    expect(pending.state).to.equal('closed');
    pending.abandon(); // idempotent
  });

  it('a destination that refused the early connection ends the placed call with cause 27', async () => {
    const pending = predial('127.0.0.1', await freePort()); // nothing listens there
    await waitUntil(async () => pending.state === 'closed', 'the refusal');
    const call = pending.dial(callOptions());
    const [info] = (await once(call, 'released')) as [ReleaseInfo];
    expect(info.cause).to.equal(27);
  });
});
