/**
 * A drachtio-srf + drachtio-fsmrf 4.1.2 app doing what the recorded one did in
 * test/fixtures/freeswitch (play, conf, bridge), so the FreeSWITCH double (or a real FreeSWITCH)
 * can be driven the same way. Request-URI user selects the scenario.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Srf from 'drachtio-srf';
import { createMrf, type Conference, type Endpoint, type MediaServer } from '../../../types/drachtio-fsmrf.js';

export const PLAY_TONE = 'tone_stream://%(1500,500,440);loops=1';
export const BRIDGE_TONE = 'tone_stream://%(400,200,425);loops=10';
/**
 * The sound file the recordings played (play: `playback`, conf: `conference ... play`), at the path
 * it had on the recording host. Tests do not use that path: it exists only there. They write the
 * same file (`writeOracleWav`) into a directory of their own and pass it as `wav`; the transcript
 * comparison replaces the directory by `<sounds>` on both sides (transcript.ts, SOUND_FILE).
 */
export const RECORDED_WAV = '/opt/freeswitch/run/sounds/oracle-2s-660hz.wav';
export const WAV_NAME = 'oracle-2s-660hz.wav';

/**
 * Writes `oracle-2s-660hz.wav` into `dir`: 2 s of a 660 Hz sine, 8 kHz mono 16-bit PCM (what the
 * name says; FreeSWITCH resamples as needed). A real FreeSWITCH reads it from there, so it must run
 * on this host; dir and file are made world-readable in case it runs as another user.
 * Returns the file's path.
 */
export function writeOracleWav(dir: string): string {
  const rate = 8000;
  const samples = 2 * rate;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 660 * i) / rate)), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  const path = join(dir, WAV_NAME);
  writeFileSync(path, Buffer.concat([h, data]));
  chmodSync(dir, 0o755);
  chmodSync(path, 0o644);
  return path;
}

export interface ScenarioAppOptions {
  drachtio: { host: string; port: number; secret: string };
  fs: { host: string; port: number; secret: string };
  /** X-esl-outbound address to advertise instead of fsmrf's own listener (an EslTap). */
  advertise?: { host: string; port: number };
  /** conf: how long conf.destroy() may stay pending before the uuid_kill fallback (recording: 3000). */
  confDestroyFallbackMs?: number;
  /** conf: delay between starting conf.play() and getSize() (recording: 1500). */
  confSizeDelayMs?: number;
  /** The sound file play and conf play: a path FreeSWITCH can read (`writeOracleWav`). */
  wav: string;
}

export interface ScenarioApp {
  readonly ms: MediaServer;
  /** Notable steps, in order. */
  readonly events: string[];
  /** Resolves when a scenario run has finished (all its legs released); rejects on failure. */
  finished(scenario: 'play' | 'conf' | 'bridge'): Promise<void>;
  /** Resolves once the first bridge leg is connected (start the second caller then). */
  firstBridgeLeg(): Promise<void>;
  stop(): Promise<void>;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export async function startScenarioApp(o: ScenarioAppOptions): Promise<ScenarioApp> {
  const srf = new Srf();
  const events: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const done = { play: deferred(), conf: deferred(), bridge: deferred() };
  const firstLeg = deferred();
  const wait = (ms: number): Promise<void> => new Promise((r) => {
    const t = setTimeout(() => {
      timers.delete(t);
      r();
    }, ms);
    timers.add(t);
  });

  await new Promise<void>((resolve, reject) => {
    srf.once('connect', (err: Error | null) => (err ? reject(err) : resolve()));
    srf.once('error', reject);
    void srf.connect({ host: o.drachtio.host, port: o.drachtio.port, secret: o.drachtio.secret });
  });
  srf.on('error', (err: Error) => events.push(`srf error: ${err.message}`));

  const mrf = createMrf(srf);
  const ms = await mrf.connect({
    address: o.fs.host, port: o.fs.port, secret: o.fs.secret, listenAddress: '127.0.0.1', listenPort: 0,
    ...(o.advertise ? { advertisedAddress: o.advertise.host, advertisedPort: o.advertise.port } : {}),
  });
  ms.on('error', (err) => events.push(`ms error: ${err.message}`));
  events.push('mediaserver ready');

  let stopped = false;
  const { wav } = o;
  let bridgeA: { endpoint: Endpoint; dialog: Srf.Dialog } | undefined;

  const play = async (req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> => {
    const { endpoint, dialog } = await ms.connectCaller(req, res);
    events.push('play: connectCaller ok');
    await endpoint.play(PLAY_TONE);
    events.push('play: tone done');
    await endpoint.play(wav);
    events.push('play: file done');
    const vars = await endpoint.getChannelVariables(true);
    events.push(`play: variables read_codec=${vars.variable_read_codec ?? vars.read_codec ?? '?'}`);
    await endpoint.destroy();
    events.push('play: endpoint destroyed (FS BYE)');
    dialog.destroy();
    events.push('play: caller dialog destroyed');
    done.play.resolve();
  };

  const conf = async (req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> => {
    const { endpoint, dialog } = await ms.connectCaller(req, res);
    events.push('conf: connectCaller ok');
    const name = `oracle-conf-${Date.now()}`;
    const c: Conference = await ms.createConference(name, { maxMembers: 10 });
    events.push(`conf: created ${name}`);
    const callerGone = new Promise<void>((r) => dialog.on('destroy', () => r()));
    const { memberId } = await endpoint.join(c);
    events.push(`conf: caller joined as member ${memberId}`);
    const played = c.play(wav).then((r) => events.push(`conf: play done ${r.milliseconds} ms`));
    await wait(o.confSizeDelayMs ?? 1500);
    events.push(`conf: size ${await c.getSize()}`);
    await played;
    await callerGone;
    events.push('conf: caller hung up');
    await endpoint.destroy();
    events.push('conf: caller endpoint destroyed');
    let destroyed = false;
    const destroying = c.destroy().then(() => {
      destroyed = true;
    });
    await Promise.race([destroying, wait(o.confDestroyFallbackMs ?? 3000)]);
    if (!destroyed) {
      events.push(`conf: destroy() still pending; fallback uuid_kill ${c.endpoint.uuid}`);
      const r = await ms.api(`uuid_kill ${c.endpoint.uuid}`);
      events.push(`conf: uuid_kill -> ${r.trim()}`);
      await destroying;
    }
    events.push('conf: conference destroyed');
    done.conf.resolve();
  };

  const bridge = async (req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> => {
    const { endpoint, dialog } = await ms.connectCaller(req, res);
    if (!bridgeA) {
      bridgeA = { endpoint, dialog };
      events.push('bridge: leg A connected');
      endpoint.play(BRIDGE_TONE).catch((e: Error) => events.push(`bridge: tone failed ${e.message}`));
      firstLeg.resolve();
      return;
    }
    const a = bridgeA;
    events.push('bridge: leg B connected');
    const aGone = new Promise<void>((r) => a.dialog.on('destroy', () => r()));
    await a.endpoint.api('uuid_break', a.endpoint.uuid);
    await a.endpoint.bridge(endpoint);
    events.push('bridge: bridged');
    await aGone;
    events.push('bridge: A hung up');
    await a.endpoint.destroy();
    await endpoint.destroy();
    dialog.destroy();
    events.push('bridge: both endpoints destroyed, BYE to B');
    done.bridge.resolve();
  };

  srf.invite((req, res) => {
    const user = /^sips?:([^@;]+)@/.exec(req.uri ?? '')?.[1] ?? '';
    const run = user === 'play' ? play : user === 'conf' ? conf : user === 'bridge' ? bridge : undefined;
    if (!run) {
      res.send(404);
      return;
    }
    run(req, res).catch((e: Error) => {
      events.push(`${user}: failed ${e.message}`);
      const d = user === 'play' ? done.play : user === 'conf' ? done.conf : done.bridge;
      d.reject(e);
    });
  });

  return {
    ms,
    events,
    finished: (s) => done[s].promise,
    firstBridgeLeg: () => firstLeg.promise,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      ms.disconnect();
      srf.disconnect();
    },
  };
}
