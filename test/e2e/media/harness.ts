/**
 * Wiring for the lib/media suites: the drachtio target (double or real), the FreeSWITCH target
 * (the double, or a real FreeSWITCH when FS_HOST/FS_PORT/FS_SECRET/FS_SIP are set), an srf app
 * whose INVITE handler each test sets, and a MediaController on an isolated registry.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { linkApp, startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { writePcmaPcap } from '../../lab/freeswitch-double/pcap.js';
import { decodeG711, encodeG711, type G711 } from '../../lab/freeswitch-double/rtp.js';
import { caller, realFsFromEnv, type RealFsEnv } from '../freeswitch-double/harness.js';
import { createSrf, type GatewaySrf, type SrfRequest, type SrfResponse } from '../../../types/drachtio-srf.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { MediaController } from '../../../lib/media/controller.js';
import { validateMediaConfig, type MediaConfig } from '../../../lib/media/config.js';

export const PCAP_PACKETS = 100;

export type InviteHandler = (req: SrfRequest, res: SrfResponse) => void;

export interface MediaLab {
  drachtio: DrachtioTarget;
  /** Undefined against a real FreeSWITCH. */
  fs?: FreeSwitchDouble;
  real?: RealFsEnv;
  srf: GatewaySrf;
  media: MediaController;
  config: MediaConfig;
  registry: Registry;
  workDir: string;
  pcapFor(codec: G711): string;
  /** The INVITE handler for the next calls. */
  onInvite(h: InviteHandler): void;
  stop(): Promise<void>;
}

/**
 * `over`: media config fields. `o.idleSilence`: the FreeSWITCH double writes silence on idle legs,
 * as FreeSWITCH does with the mrf dialplan's send_silence_when_idle=-1 (a real FreeSWITCH always does).
 */
export async function startMediaLab(over: Record<string, unknown> = {}, o: { idleSilence?: boolean } = {}): Promise<MediaLab> {
  const drachtio = await startDrachtioTarget();
  const real = realFsFromEnv();
  let fs: FreeSwitchDouble | undefined;
  const srf = createSrf();
  let media: MediaController | undefined;
  let handler: InviteHandler = (_req, res) => res.send(404);
  try {
    if (!real) fs = await FreeSwitchDouble.start({ eslPassword: 'ClueCon', sipPort: 0, eslPort: 0, fileDurationMs: () => 400, idleSilence: o.idleSilence ?? false });
    await linkApp(srf, drachtio);
    srf.use('invite', (req, res) => handler(req, res));
    const config = validateMediaConfig({
      esl: real ? { host: real.host, port: real.port, secret: real.secret } : { host: fs!.host, port: fs!.eslPort, secret: 'ClueCon' },
      listen: { address: '127.0.0.1', port: 0 },
      allowDefaultSecret: true,
      reconnect: { initialDelayMs: 50, maxDelayMs: 400, connectTimeoutMs: 2000 },
      releaseTimeoutMs: 1000,
      conference: { destroyTimeoutMs: 300 },
      ...over,
    });
    const registry = isolatedRegistry();
    media = new MediaController(srf, config, { registry });
    if (!(await media.start())) throw new Error('media controller did not come up');
    const workDir = mkdtempSync(join(tmpdir(), 'media-lab-'));
    const pcma = join(workDir, 'pcma.pcap');
    const pcmu = join(workDir, 'pcmu.pcap');
    writePcmaPcap(pcma, { packets: PCAP_PACKETS });
    writePcmaPcap(pcmu, { packets: PCAP_PACKETS, codec: 'PCMU' });
    const m = media;
    return {
      drachtio, fs, ...(real ? { real } : {}), srf, media: m, config, registry, workDir,
      pcapFor: (c) => (c === 'PCMU' ? pcmu : pcma),
      onInvite: (h) => {
        handler = h;
      },
      async stop(): Promise<void> {
        await m.stop();
        srf.disconnect();
        await fs?.stop();
        await drachtio.stop();
        rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await media?.stop();
    srf.disconnect();
    await fs?.stop();
    await drachtio.stop();
    throw e;
  }
}

/** A SIPp caller (scenarios of the FreeSWITCH double suites) sending G.711 from the lab's pcap. */
export const sippCaller = caller;

/** A plain UDP socket playing the H.323 side's RTP. */
export interface UdpPeer {
  sock: dgram.Socket;
  port: number;
  packets: Buffer[];
  /** Resolves once `n` packets matching pred have arrived. */
  waitForCount(n: number, pred?: (p: Buffer) => boolean): Promise<void>;
  close(): void;
}

export async function udpPeer(): Promise<UdpPeer> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const packets: Buffer[] = [];
  const waiters: Array<{ n: number; pred: (p: Buffer) => boolean; resolve: () => void }> = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      if (packets.filter(w.pred).length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  sock.on('message', (p) => {
    packets.push(p);
    check();
  });
  let closed = false;
  return {
    sock, port: sock.address().port, packets,
    waitForCount: (n, pred = () => true) => new Promise<void>((resolve) => {
      waiters.push({ n, pred, resolve });
      check();
    }),
    close: () => {
      if (!closed) sock.close();
      closed = true;
    },
  };
}

export const payloadType = (p: Buffer): number => p[1]! & 0x7f;

/** An RTP packet of 20 ms G.711 silence with payload type pt. */
export function rtpPacket(pt: number, seq: number, ssrc = 0x1234): Buffer {
  const b = Buffer.alloc(172, pt === 8 ? 0xd5 : 0xff);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 160) >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

export const seqOf = (p: Buffer): number => p.readUInt16BE(2);
export const ssrcOf = (p: Buffer): number => p.readUInt32BE(8);
const lawOf = (p: Buffer): G711 | undefined => (payloadType(p) === 0 ? 'PCMU' : payloadType(p) === 8 ? 'PCMA' : undefined);

/** A G.711 packet (PCMU/PCMA) whose 160 samples are all (about) zero: what FreeSWITCH sends on an idle leg. */
export function isSilence(p: Buffer): boolean {
  const law = lawOf(p);
  if (!law || p.length < 12 + 160) return false;
  for (let i = 12; i < p.length; i++) if (Math.abs(decodeG711(law, p[i]!)) > 16) return false;
  return true;
}

/**
 * Share of a G.711 packet's power at `hz` (Goertzel over its 20 ms: 1 for a pure tone of that
 * frequency, ~0 for silence, comfort noise or a tone at another multiple of 50 Hz); 0 for
 * anything that is not G.711 or nearly silent.
 */
export function toneShare(p: Buffer, hz: number): number {
  const law = lawOf(p);
  if (!law) return 0;
  const x = [...p.subarray(12)].map((b) => decodeG711(law, b));
  const n = x.length;
  const meanSquare = x.reduce((a, v) => a + v * v, 0) / n;
  if (n === 0 || meanSquare < 100 * 100) return 0;
  const w = (2 * Math.PI * hz) / 8000;
  let re = 0;
  let im = 0;
  for (let i = 0; i < n; i++) {
    re += x[i]! * Math.cos(w * i);
    im -= x[i]! * Math.sin(w * i);
  }
  return (2 * (re * re + im * im)) / (n * n) / meanSquare;
}

/** A 20 ms G.711 RTP packet of a sine tone at hz (amplitude 8000), frame `seq` of a continuous stream. */
export function toneRtp(codec: G711, seq: number, hz: number, ssrc = 0x4321): Buffer {
  const b = Buffer.alloc(172);
  b[0] = 0x80;
  b[1] = codec === 'PCMU' ? 0 : 8;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 160) >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  for (let i = 0; i < 160; i++) b[12 + i] = encodeG711(codec, Math.round(8000 * Math.sin((2 * Math.PI * hz * (seq * 160 + i)) / 8000)));
  return b;
}

/**
 * A talker: sends a tone from `peer` to host:port in real time (one packet per 20 ms, as a
 * phone does, so that a conference mixer takes every frame) until stop().
 */
export function talk(peer: UdpPeer, port: number, codec: G711, hz: number, host = '127.0.0.1'): { stop(): void; sent(): number } {
  let seq = 0;
  const t = setInterval(() => peer.sock.send(toneRtp(codec, seq++, hz), port, host), 20);
  return { stop: () => clearInterval(t), sent: () => seq };
}

/** Resolves once the double has at most `n` ESL connections open (closes are events: 'closed'). */
export function eslConnectionsAtMost(fs: FreeSwitchDouble, n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (fs.connectionCount > n) return;
      fs.off('closed', check);
      resolve();
    };
    fs.on('closed', check);
    check();
  });
}
