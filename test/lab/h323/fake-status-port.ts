/**
 * A fake GnuGk status port that replays a recorded transcript (test/fixtures/h323/status-port):
 * the banner on connect, then for each command the exact text GnuGk sent after it, including
 * events that interleaved. Transcript lines starting ">>> " are what the client typed.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { fixture } from '../../support/paths.js';

export interface Transcript {
  banner: Buffer;
  replies: { command: string; text: Buffer }[];
}

export function loadTranscript(name: string): Transcript {
  // The recording is UTF-8 text in which the telnet option bytes became U+00FD..U+00FF;
  // latin1 turns them back into the bytes GnuGk sent.
  const text = readFileSync(fixture('h323', 'status-port', name), 'utf8');
  const parts = text.split(/^>>> (.*)\r?\n/m);
  const replies: { command: string; text: Buffer }[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2) replies.push({ command: parts[i]!.trim(), text: Buffer.from(parts[i + 1]!, 'latin1') });
  return { banner: Buffer.from(parts[0]!, 'latin1'), replies };
}

export class FakeStatusPort {
  readonly commands: string[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(t: Transcript, extra: Record<string, Buffer> = {}): Promise<FakeStatusPort> {
    const used = new Set<number>();
    let self: FakeStatusPort | undefined;
    const server = createServer((sock) => {
      self!.sockets.add(sock);
      sock.on('close', () => self!.sockets.delete(sock));
      sock.write(t.banner);
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const cmd = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          self!.commands.push(cmd);
          if (cmd === 'quit') {
            sock.end();
            return;
          }
          const idx = t.replies.findIndex((r, i) => r.command === cmd && !used.has(i));
          if (idx >= 0) {
            used.add(idx);
            sock.write(t.replies[idx]!.text);
          } else if (extra[cmd]) sock.write(extra[cmd]);
          else sock.write(`Error: Unknown command '${cmd}'\r\n`);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const addr = server.address();
    self = new FakeStatusPort(server, typeof addr === 'object' && addr ? addr.port : 0);
    return self;
  }

  /** Pushes unprompted text (events) to every connected client. */
  push(text: string): void {
    for (const s of this.sockets) s.write(text);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
