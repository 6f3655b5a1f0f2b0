/**
 * Run inside a network namespace that has the lab's addresses (compose-freeswitch.test.ts starts
 * it there): a real FreeSWITCH (FREESWITCH_BIN, the project's launcher) on FreeSWITCH's side of
 * the lab, 172.28.0.5, with the conf tree in argv[2] whose FS_EXT_RTP_IP is the documentation
 * address 203.0.113.9 (the launcher sets FS_EXT_RTP_IP to its own host, so the probe writes the
 * value into a copy of the tree); then, from drachtio's lab address 172.28.0.3, the INVITE
 * drachtio-fsmrf sends to create an endpoint (no SDP, User-Agent drachtio-fsmrf:<uuid>); and, from
 * the gateway's lab address 172.28.0.10, an event-socket login (the event socket's ACL).
 * Prints one JSON line: the c= and m=audio of FreeSWITCH's 200 OK offer, and the ESL outcome.
 *
 *   node --import tsx test/unit/ops/fs-nat-probe.ts <conf dir>
 */
import { randomBytes, randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFreeSwitch } from '../../lab/real-servers/freeswitch.js';

export const FS_ADDR = '172.28.0.5';
export const PEER_ADDR = '172.28.0.3';
export const EXT_RTP_IP = '203.0.113.9';
export const GATEWAY_ADDR = '172.28.0.10';

/** Connects to ESL from `localAddress` and logs in: 'accepted', 'rejected' (ACL) or 'refused' (password). */
function eslLoginFrom(localAddress: string, host: string, port: number, password: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port, localAddress });
    let buf = '';
    const done = (v: string): void => {
      clearTimeout(t);
      sock.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(`timeout: ${JSON.stringify(buf.slice(0, 200))}`), 5000);
    sock.on('error', (e) => done(`error: ${e.message}`));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.includes('text/rude-rejection')) done('rejected');
      else if (buf.includes('auth/request') && !buf.includes('Reply-Text')) sock.write(`auth ${password}\n\n`);
      else if (/Reply-Text: \+OK accepted/.test(buf)) done('accepted');
      else if (/Reply-Text: -ERR/.test(buf)) done('refused');
    });
  });
}

async function main(): Promise<void> {
  const src = process.argv[2];
  if (!src) throw new Error('usage: fs-nat-probe.ts <conf dir>');
  const conf = mkdtempSync(join(tmpdir(), 'fs-nat-conf-'));
  cpSync(src, conf, { recursive: true });
  const mrfFile = join(conf, 'sip_profiles', 'mrf.xml');
  const mrf = readFileSync(mrfFile, 'utf8');
  const line = '<X-PRE-PROCESS cmd="env-set" data="council_ext_rtp_ip=$FS_EXT_RTP_IP"/>';
  if (!mrf.includes(line)) throw new Error('mrf.xml has no env-set line for FS_EXT_RTP_IP');
  writeFileSync(mrfFile, mrf.replace(line, `<X-PRE-PROCESS cmd="set" data="council_ext_rtp_ip=${EXT_RTP_IP}"/>`));
  const fs = await startFreeSwitch({ bin: process.env.FREESWITCH_BIN!, host: FS_ADDR, confDir: conf, timeoutMs: 30_000 }).catch((e: unknown) => {
    rmSync(conf, { recursive: true, force: true });
    throw e;
  });
  const sock = dgram.createSocket('udp4');
  try {
    await new Promise<void>((r) => sock.bind(0, PEER_ADDR, () => r()));
    const port = sock.address().port;
    const [fsHost, fsPort] = fs.sip.split(':') as [string, string];
    const callId = randomBytes(8).toString('hex');
    const tag = randomBytes(4).toString('hex');
    const head = (method: string, cseq: number, toTag = '', branch = randomBytes(6).toString('hex')): string[] => [
      `${method} sip:drachtio@${fsHost}:${fsPort} SIP/2.0`,
      `Via: SIP/2.0/UDP ${PEER_ADDR}:${port};branch=z9hG4bK${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:probe@${PEER_ADDR}:${port}>;tag=${tag}`,
      `To: <sip:drachtio@${fsHost}:${fsPort}>${toTag}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
    ];
    const send = (lines: string[]): void => {
      sock.send(`${[...lines, 'Content-Length: 0', '', ''].join('\r\n')}`, Number(fsPort), fsHost);
    };
    const ok = new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no 200 OK from FreeSWITCH within 15 s')), 15_000);
      sock.on('message', (m) => {
        const text = m.toString('utf8');
        if (/^SIP\/2\.0 200 /.test(text) && /CSeq: 1 INVITE/i.test(text)) {
          clearTimeout(t);
          resolve(text);
        } else if (/^SIP\/2\.0 [3-6]\d\d /.test(text) && /CSeq: 1 INVITE/i.test(text)) {
          clearTimeout(t);
          reject(new Error(`FreeSWITCH refused: ${text.split('\r\n')[0]}`));
        }
      });
    });
    send([...head('INVITE', 1), `Contact: <sip:probe@${PEER_ADDR}:${port}>`, `User-Agent: drachtio-fsmrf:${randomUUID()}`, `X-esl-outbound: ${PEER_ADDR}:9`]);
    const res = await ok;
    const toTag = /^To:.*(;tag=[^;\s]+)/im.exec(res)?.[1] ?? '';
    send(head('ACK', 1, toTag));
    send(head('BYE', 2, toTag));
    const esl = await eslLoginFrom(GATEWAY_ADDR, fs.eslHost, fs.eslPort, fs.secret);
    const c = /^c=IN IP4 (\S+)/m.exec(res)?.[1];
    const audio = /^m=audio (\d+) /m.exec(res)?.[1];
    process.stdout.write(`${JSON.stringify({ c, audioPort: audio ? Number(audio) : undefined, rtpIp: FS_ADDR, extRtpIp: EXT_RTP_IP, eslFromGateway: esl })}\n`);
  } finally {
    sock.close();
    await fs.stop();
    rmSync(conf, { recursive: true, force: true });
  }
}

// Only when run as a script (the test imports the addresses above).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
