/**
 * CLI for the H.323 test endpoint.
 *   answer:  node --import tsx test/lab/h323-endpoint/main.ts listen --port 1720 [--no-faststart] [--no-tunnel] [--reject 17]
 *   call:    node --import tsx test/lab/h323-endpoint/main.ts call 127.0.0.1:1720 --number 9123 [--dtmf 123#] [--rtp 250] [--seconds 10]
 */
import { H323Endpoint } from './endpoint.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

async function main(): Promise<void> {
  const cmd = process.argv[2];
  const reject = arg('reject');
  const ep = new H323Endpoint({
    host: arg('host') ?? '127.0.0.1',
    fastStart: !flag('no-faststart'),
    tunnel: !flag('no-tunnel'),
    rtpPackets: Number(arg('rtp') ?? 250),
    ...(reject ? { answer: { mode: 'reject' as const, cause: Number(reject) } } : {}),
  });
  ep.on('call', (c) => {
    c.call.on('connected', () => console.log('connected', c.call.callId));
    c.call.on('media', (m) => console.log('media', m.codec, `${m.remoteRtp.host}:${m.remoteRtp.port}`, m.via));
    c.call.on('dtmf', (d) => console.log('dtmf', d));
    c.call.on('released', (r) => console.log('released', r.cause, r.by, r.reason ?? '', 'rtp sent', c.rtp.stats.sent, 'received', c.rtp.stats.received));
  });
  if (cmd === 'listen') {
    const a = await ep.listen(Number(arg('port') ?? 1720));
    console.log(`listening on ${a.host}:${a.port}`);
    return;
  }
  if (cmd === 'call') {
    const [host, port] = (process.argv[3] ?? '127.0.0.1:1720').split(':');
    const c = await ep.call(host!, Number(port), arg('number') ?? '1000');
    const dtmf = arg('dtmf');
    if (dtmf) c.call.once('connected', () => c.call.sendDtmf(dtmf));
    const seconds = Number(arg('seconds') ?? 10);
    setTimeout(() => c.call.hangup(), seconds * 1000);
    await c.done;
    await ep.close();
    return;
  }
  console.log('usage: main.ts listen|call ... (see header)');
}

void main();
