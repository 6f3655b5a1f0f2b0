/**
 * A drachtio-srf app that behaves like the one used for the recordings in test/fixtures/drachtio:
 * Request-URI user auth* -> 401 digest (realm oracle.local, alice/secret) until valid credentials;
 * cancel* -> 180 then 200 after a delay; anything else -> 200 + SDP; OPTIONS -> 200 with Allow.
 * `placeCall()` does what scenario e did: createUAC to a UAS, BYE after a pause.
 */
import { createHash, randomBytes } from 'node:crypto';
import Srf from 'drachtio-srf';

/** The answer SDP; the a-f recordings used session name srf-probe, the g-o ones `main`. */
export function uasSdp(sessionName = 'srf-probe', version = 1): string {
  return [
    'v=0', `o=oracle 1 ${version} IN IP4 127.0.0.1`, `s=${sessionName}`, 'c=IN IP4 127.0.0.1', 't=0 0',
    'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', '',
  ].join('\r\n');
}

export const UAC_SDP = [
  'v=0', 'o=oracle 1 1 IN IP4 127.0.0.1', 's=srf-probe-uac', 'c=IN IP4 127.0.0.1', 't=0 0',
  'm=audio 40002 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', '',
].join('\r\n');

const REALM = 'oracle.local';
const USER = 'alice';
const PASSWORD = 'secret';

export interface RecordingAppOptions {
  host: string;
  port: number;
  secret: string;
  /** Route invite/options and the three CDR verbs (scenarios a-d). Default true. */
  routes?: boolean;
  /**
   * More verbs routed after invite, before options (the g..o recordings routed register, message);
   * they are answered 200.
   */
  extraRoutes?: ('register' | 'message')[];
  /** SDP session name in answers (default srf-probe). */
  sessionName?: string;
  /** Delay before cancel* calls are answered (the recording used 5 s). */
  cancelAnswerDelayMs?: number;
  /** srf pings the server every pingInterval ms (min 5000) when enabled. */
  enablePing?: boolean;
  pingInterval?: number;
}

export interface RecordingApp {
  readonly srf: Srf;
  /** One line per notable event, like the recording's app.log (without timestamps). */
  readonly events: string[];
  /** Calls answered 200 so far. */
  answered(): number;
  /** createUAC to `uri` with the recorded X-Oracle header and SDP; BYE after `holdMs`. */
  placeCall(uri: string, holdMs: number): Promise<void>;
  stop(): Promise<void>;
}

type Cfg = Srf.SrfConfig & { enablePing?: boolean; pingInterval?: number; reconnect?: { retryMaxDelay?: number; maxAttempts?: number } };

interface SrfResponseLike {
  send(status: number, opts?: { headers?: Record<string, string>; body?: string }): void;
}

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

function parseDigest(h: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of h.replace(/^Digest\s+/i, '').matchAll(/(\w+)=("([^"]*)"|[^,\s]*)/g)) out[m[1]!.toLowerCase()] = m[3] ?? m[2]!;
  return out;
}

function digestValid(authorization: string, method: string, nonces: Set<string>): boolean {
  const d = parseDigest(authorization);
  if (d.username !== USER || d.realm !== REALM || !d.nonce || !nonces.has(d.nonce) || !d.uri || !d.response) return false;
  const ha1 = md5(`${USER}:${REALM}:${PASSWORD}`);
  const ha2 = md5(`${method}:${d.uri}`);
  const expect = d.qop ? md5(`${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}:${ha2}`) : md5(`${ha1}:${d.nonce}:${ha2}`);
  return expect === d.response;
}

/** Connects and resolves once authenticated; rejects on a refused secret or connection error. */
export async function startRecordingApp(o: RecordingAppOptions): Promise<RecordingApp> {
  const srf = new Srf();
  const events: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const nonces = new Set<string>();
  let answered = 0;

  const cfg: Cfg = { host: o.host, port: o.port, secret: o.secret, reconnect: { maxAttempts: 1 } };
  if (o.enablePing) {
    cfg.enablePing = true;
    cfg.pingInterval = o.pingInterval ?? 5000;
  }
  await new Promise<void>((resolve, reject) => {
    const onConnect = (err: Error | null | undefined): void => {
      srf.removeListener('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onError = (err: Error): void => {
      srf.removeListener('connect', onConnect);
      reject(err);
    };
    srf.once('connect', onConnect);
    srf.once('error', onError);
    // connect() returns the app, not a promise; the outcome arrives as connect/error events
    void srf.connect(cfg as Srf.SrfConfig);
    // handlers registered after connect(): the CDR routes then go first, as in the recordings
    if (o.routes !== false) {
      srf.on('cdr:attempt', (source: string, time: string) => { events.push(`CDR attempt source=${source} time=${time}`); });
      srf.on('cdr:start', (source: string, time: string, role: string) => { events.push(`CDR start source=${source} time=${time} role=${role}`); });
      srf.on('cdr:stop', (source: string, time: string, reason: string) => { events.push(`CDR stop source=${source} time=${time} reason=${reason}`); });

      srf.invite((req, res) => {
        const user = /^sips?:([^@;]+)@/.exec(req.uri ?? '')?.[1] ?? '';
        events.push(`INVITE user=${user}`);
        const answer = (): void => {
          srf.createUAS(req, res, { localSdp: uasSdp(o.sessionName) }).then((dlg) => {
            answered++;
            events.push(`dialog established call-id=${dlg.sip.callId}`);
            dlg.on('destroy', () => events.push('dialog destroyed (BYE received)'));
          // re-INVITE: answer with the SDP version bumped, as the g-o recording app did
          let version = 1;
          dlg.on('modify', (_req: unknown, mres: unknown) => {
            version++;
            events.push(`re-INVITE answered with SDP v${version}`);
            (mres as SrfResponseLike).send(200, { body: uasSdp(o.sessionName, version), headers: { 'content-type': 'application/sdp' } });
          });
          }, (err: Error) => events.push(`createUAS failed: ${err.message}`));
        };
        if (user.startsWith('auth')) {
          const auth = req.get('Authorization');
          if (!auth || !digestValid(auth, 'INVITE', nonces)) {
            const nonce = randomBytes(8).toString('hex');
            nonces.add(nonce);
            (res as unknown as SrfResponseLike).send(401, {
              headers: { 'www-authenticate': `Digest realm="${REALM}", nonce="${nonce}", algorithm=MD5, qop="auth"` },
            });
            return;
          }
          answer();
          return;
        }
        if (user.startsWith('cancel')) {
          (res as unknown as SrfResponseLike).send(180);
          const t = setTimeout(() => {
            timers.delete(t);
            answer();
          }, o.cancelAnswerDelayMs ?? 5000);
          timers.add(t);
          req.on('cancel', () => {
            clearTimeout(t);
            timers.delete(t);
            events.push('INVITE canceled by caller');
          });
          return;
        }
        answer();
      });

      const verbs = srf as unknown as Record<'register' | 'message', (fn: (req: unknown, res: SrfResponseLike) => void) => void>;
      for (const v of o.extraRoutes ?? []) verbs[v]((_req, res) => res.send(200));
      (srf as unknown as { options(fn: (req: unknown, res: SrfResponseLike) => void): void }).options((_req, res) => {
        res.send(200, { headers: { allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS' } });
      });
    }
  });
  // later link errors must not crash the test process
  srf.on('error', (err: Error) => events.push(`srf error: ${err.message}`));

  return {
    srf,
    events,
    answered: () => answered,
    async placeCall(uri: string, holdMs: number): Promise<void> {
      const dlg = await srf.createUAC(uri, { localSdp: UAC_SDP, headers: { 'X-Oracle': 'uac-probe' } });
      events.push(`UAC dialog up call-id=${dlg.sip.callId}`);
      await new Promise<void>((r) => {
        const t = setTimeout(() => { timers.delete(t); r(); }, holdMs);
        timers.add(t);
      });
      await new Promise<void>((resolve) => dlg.destroy({ headers: {} }, () => resolve()));
      events.push('BYE sent by app, dialog destroyed');
    },
    async stop(): Promise<void> {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      srf.disconnect();
    },
  };
}
