/**
 * The few FreeSWITCH event-socket exchanges the launcher needs to see that FreeSWITCH is up:
 * authenticate, run one `api` command, read its body. (The gateway's own ESL client is
 * drachtio-fsmrf; this is only a readiness probe.)
 */
import net from 'node:net';
import { EslReader } from '../../support/esl-frame.js';

/** Logs in and runs `api <command>`; resolves with the response body. */
export function eslApi(host: string, port: number, password: string, command: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const reader = new EslReader();
    let stage: 'auth' | 'authed' | 'api' = 'auth';
    const done = (err: Error | undefined, body?: string): void => {
      clearTimeout(timer);
      sock.end('exit\n\n');
      sock.destroy();
      if (err) reject(err);
      else resolve(body ?? '');
    };
    const timer = setTimeout(() => done(new Error(`no ESL answer within ${timeoutMs} ms (stage ${stage})`)), timeoutMs);
    sock.once('error', (e) => done(e));
    sock.on('data', (d: Buffer) => {
      for (const m of reader.push(d)) {
        const type = m.headers['content-type'];
        if (stage === 'auth' && type === 'auth/request') {
          sock.write(`auth ${password}\n\n`);
          stage = 'authed';
        } else if (stage === 'authed' && type === 'command/reply') {
          const reply = m.headers['reply-text'] ?? '';
          if (!reply.startsWith('+OK')) return done(new Error(`ESL login refused: ${reply}`));
          sock.write(`api ${command}\n\n`);
          stage = 'api';
        } else if (stage === 'api' && type === 'api/response') {
          done(undefined, m.body);
        } else if (type === 'text/rude-rejection') {
          done(new Error(`ESL refused the connection (ACL): ${m.body.trim()}`));
        }
      }
    });
  });
}

/**
 * The drachtio_mrf line of `sofia status`, e.g.
 * `drachtio_mrf  profile  sip:mod_sofia@127.0.0.1:5080  RUNNING (0)`: its SIP address when the
 * profile is RUNNING, undefined otherwise.
 */
export function runningProfileAddress(sofiaStatus: string, profile = 'drachtio_mrf'): string | undefined {
  const re = new RegExp(`^\\s*${profile}\\s+profile\\s+sip:mod_sofia@([^\\s;]+)\\s+RUNNING\\b`, 'm');
  return re.exec(sofiaStatus)?.[1];
}
