/**
 * The test's own FreeSWITCH event-socket connection (inbound ESL), so suites read FreeSWITCH's
 * state the way an operator does - `api` answers and events - against the FreeSWITCH double or a
 * real FreeSWITCH alike, never the double's tables.
 *
 * Only api commands both answer are wrapped here: `show channels count`, `uuid_exists`,
 * `uuid_getvar`, `conference <name> list`. Events: whatever `event json ...` subscribes to (the
 * double publishes CHANNEL_BRIDGE, CHANNEL_HANGUP_COMPLETE, CHANNEL_EXECUTE[_COMPLETE], DTMF and
 * the conference::maintenance subclass; it has no CHANNEL_CREATE/ANSWER, no `show channels` list,
 * no `conference ... json_list`).
 */
import net from 'node:net';
import { realFsFromEnv } from '../e2e/freeswitch-double/harness.js';
import { waitUntil } from '../lab/wait.js';
import { EslReader, type EslMessage } from './esl-frame.js';

export interface FsTarget {
  host: string;
  port: number;
  secret: string;
}

/**
 * The event socket of the FreeSWITCH a suite uses: a real one from FS_HOST/FS_PORT/FS_SECRET/FS_SIP,
 * else the double's (its host, port and the password the suite started it with).
 */
export function fsTarget(double: { host: string; eslPort: number } | undefined, doubleSecret: string): FsTarget {
  const real = realFsFromEnv();
  if (real) return { host: real.host, port: real.port, secret: real.secret };
  if (!double) throw new Error('no FreeSWITCH: neither FS_* variables nor a double');
  return { host: double.host, port: double.eslPort, secret: doubleSecret };
}

export interface EslEvent {
  /** Test clock when the event arrived. */
  at: number;
  name: string;
  fields: Record<string, string>;
}

export interface ConferenceMember {
  memberId: number;
  uuid: string;
  flags: Set<string>;
}

export class EslClient {
  readonly events: EslEvent[] = [];
  private readonly pending: Array<{ resolve: (m: EslMessage) => void; reject: (e: Error) => void }> = [];
  private readonly watchers = new Set<(e: EslEvent) => void>();
  private closed = false;

  private constructor(private readonly sock: net.Socket, private readonly what: string) {}

  /** Connects and logs in; rejects with FreeSWITCH's answer when the password is refused. */
  static async connect(t: FsTarget, timeoutMs = 5000): Promise<EslClient> {
    const sock = net.connect(t.port, t.host);
    sock.setNoDelay(true);
    const c = new EslClient(sock, `${t.host}:${t.port}`);
    const reader = new EslReader();
    const authRequest = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ESL ${c.what}: no auth/request within ${timeoutMs} ms`)), timeoutMs);
      let greeted = false;
      sock.on('data', (chunk: Buffer) => {
        for (const m of reader.push(chunk)) {
          const type = m.headers['content-type'];
          if (!greeted && type === 'auth/request') {
            greeted = true;
            clearTimeout(timer);
            resolve();
          } else c.onMessage(m);
        }
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    sock.on('error', (e) => c.fail(e));
    sock.on('close', () => c.fail(new Error(`ESL ${c.what}: connection closed`)));
    await authRequest;
    const reply = await c.command(`auth ${t.secret}`);
    if (!/^\+OK/.test(reply.headers['reply-text'] ?? '')) {
      c.close();
      throw new Error(`ESL ${c.what}: auth refused: ${reply.headers['reply-text'] ?? ''}`);
    }
    return c;
  }

  private onMessage(m: EslMessage): void {
    const type = m.headers['content-type'];
    if (type === 'text/event-json') {
      let fields: Record<string, string>;
      try {
        fields = JSON.parse(m.body) as Record<string, string>;
      } catch {
        return;
      }
      const e: EslEvent = { at: Date.now(), name: fields['Event-Name'] ?? '', fields };
      this.events.push(e);
      for (const w of [...this.watchers]) w(e);
      return;
    }
    if (type === 'api/response' || type === 'command/reply') this.pending.shift()?.resolve(m);
  }

  private fail(e: Error): void {
    this.closed = true;
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  private command(line: string): Promise<EslMessage> {
    if (this.closed) return Promise.reject(new Error(`ESL ${this.what}: closed`));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.sock.write(`${line}\n\n`);
    });
  }

  /** `api <cmd>`: FreeSWITCH's answer (the api/response body). */
  async api(cmd: string): Promise<string> {
    return (await this.command(`api ${cmd}`)).body;
  }

  /** `event json <names...>` (put CUSTOM last: every token after it is a subclass). */
  async subscribe(names: string[]): Promise<void> {
    const r = await this.command(`event json ${names.join(' ')}`);
    if (!/^\+OK/.test(r.headers['reply-text'] ?? '')) throw new Error(`ESL ${this.what}: event subscription refused: ${r.headers['reply-text'] ?? ''}`);
  }

  /** Calls `fn` for each event from now on; returns the unsubscribe function. */
  onEvent(fn: (e: EslEvent) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  /** The first event (already received or coming) that `pred` accepts. */
  waitForEvent(pred: (e: EslEvent) => boolean, what: string, timeoutMs = 10_000): Promise<EslEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const off = this.onEvent((e) => {
        if (!pred(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
      const timer = setTimeout(() => {
        off();
        reject(new Error(`ESL ${this.what}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  /** `show channels count`: channels FreeSWITCH has open. */
  async channelCount(): Promise<number> {
    const body = await this.api('show channels count');
    const m = /(\d+) total/.exec(body);
    if (!m) throw new Error(`show channels count: unexpected answer ${JSON.stringify(body.slice(0, 200))}`);
    return Number(m[1]);
  }

  async uuidExists(uuid: string): Promise<boolean> {
    const body = (await this.api(`uuid_exists ${uuid}`)).trim();
    if (body !== 'true' && body !== 'false') throw new Error(`uuid_exists: unexpected answer ${JSON.stringify(body.slice(0, 200))}`);
    return body === 'true';
  }

  /** A channel variable; undefined when unset (`_undef_`) or the channel is gone (-ERR). */
  async getVar(uuid: string, name: string): Promise<string | undefined> {
    const body = (await this.api(`uuid_getvar ${uuid} ${name}`)).trim();
    return body === '_undef_' || body.startsWith('-ERR') ? undefined : body;
  }

  /**
   * `conference <name> list`: one row per member, `id;channel;uuid;cid name;cid number;flags;...`
   * (flags like hear|speak|moderator). Undefined when the conference does not exist.
   */
  async conferenceList(name: string): Promise<ConferenceMember[] | undefined> {
    const body = await this.api(`conference ${name} list`);
    if (/^-ERR/.test(body.trim())) return undefined;
    const out: ConferenceMember[] = [];
    for (const line of body.split('\n')) {
      const f = line.trim().split(';');
      if (f.length < 6 || !/^\d+$/.test(f[0]!)) continue;
      out.push({ memberId: Number(f[0]), uuid: f[2]!, flags: new Set(f[5]!.split('|').filter(Boolean)) });
    }
    return out;
  }

  close(): void {
    if (!this.closed) this.sock.end('exit\n\n');
    this.closed = true;
    this.sock.destroy();
  }
}

/** Event field shortcut. */
export function ev(e: EslEvent, name: string): string | undefined {
  return e.fields[name];
}

/** The two channel UUIDs of each CHANNEL_BRIDGE event received since `since` (test clock). */
export function bridgesSince(esl: EslClient, since: number): Array<[string, string]> {
  return esl.events
    .filter((e) => e.name === 'CHANNEL_BRIDGE' && e.at >= since)
    .map((e) => [e.fields['Bridge-A-Unique-ID'] ?? '', e.fields['Bridge-B-Unique-ID'] ?? ''] as [string, string])
    .filter(([a, b]) => a !== '' && b !== '');
}

/** Test-clock time of the CHANNEL_HANGUP_COMPLETE event of `uuid`, or undefined (not yet). */
export function hangupAt(esl: EslClient, uuid: string): number | undefined {
  return esl.events.find((e) => e.name === 'CHANNEL_HANGUP_COMPLETE' && e.fields['Unique-ID'] === uuid)?.at;
}

/** Resolves once the CHANNEL_HANGUP_COMPLETE event of every uuid has arrived. */
export async function waitHangups(esl: EslClient, uuids: readonly string[], what: string, timeoutMs = 10_000): Promise<void> {
  await Promise.all(uuids.map((u) => esl.waitForEvent((e) => e.name === 'CHANNEL_HANGUP_COMPLETE' && e.fields['Unique-ID'] === u, `${what}: hangup of ${u}`, timeoutMs)));
}

/** UUIDs of the CHANNEL_HANGUP_COMPLETE events received since `since` (test clock). */
export function hangupsSince(esl: EslClient, since: number): string[] {
  return esl.events.filter((e) => e.name === 'CHANNEL_HANGUP_COMPLETE' && e.at >= since).map((e) => e.fields['Unique-ID'] ?? '');
}

/**
 * FreeSWITCH's own account of a call's end: resolves once `show channels count` is back at
 * `baseline` and at least `legs` channels reported CHANNEL_HANGUP_COMPLETE since `since`; returns
 * the UUIDs hung up (callers check how many).
 */
export async function channelsReleased(esl: EslClient, o: { baseline: number; since: number; legs: number }, what = 'the call\'s channels hung up at FreeSWITCH'): Promise<string[]> {
  let seen = '';
  try {
    return await waitUntil(async () => {
      const gone = hangupsSince(esl, o.since);
      const count = await esl.channelCount();
      seen = `${gone.length} hung up (want ${o.legs}), ${count} channels open (want ${o.baseline})`;
      return gone.length >= o.legs && count === o.baseline ? gone : undefined;
    }, what);
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${seen}`);
  }
}
