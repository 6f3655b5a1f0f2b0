/**
 * Real encoded video for the end-to-end suites: ffmpeg (Debian's, libx264 + libvpx) encodes a
 * test pattern to RTP, and ffmpeg decodes what arrives, from an SDP file, frame by frame
 * (`showinfo`: one line per decoded frame with its mean luma), so a test counts decoded frames and
 * checks they are not black. Nothing here fabricates packets.
 *
 * A media server takes RTP only from the address:port the SDP (or OLC) advertised (FreeSWITCH drops
 * other sources, or with auto-adjust re-targets its output at them), while ffmpeg cannot send and
 * receive on one port from two processes. `SymmetricVideoPort` is that one port: what arrives
 * there goes on to the decoder's port, and what the encoder sends to the port's `input` goes out
 * from it to the `remote`, as a real endpoint's symmetric RTP does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type VideoCodecName = 'H264' | 'VP8';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

function ffmpeg(args: string[]): ChildProcess {
  const p = spawn(process.env.FFMPEG_BIN ?? 'ffmpeg', ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(p);
  p.once('exit', () => running.delete(p));
  p.once('error', (e) => {
    running.delete(p);
    spawnErrors.set(p, e);
  });
  return p;
}

/** ffmpeg processes that never started (no ffmpeg on PATH: Debian's `ffmpeg` package, or FFMPEG_BIN). */
const spawnErrors = new WeakMap<ChildProcess, Error>();

async function stopProcess(p: ChildProcess, graceMs = 3000): Promise<void> {
  if (p.pid === undefined || spawnErrors.has(p) || p.exitCode !== null || p.signalCode !== null) return;
  const exited = once(p, 'exit').then(() => undefined);
  p.kill('SIGINT');
  const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/** A UDP port pair (RTP, RTCP = RTP + 1) free on 127.0.0.1 now: bound and released. */
export async function freeRtpPair(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const a = createSocket('udp4');
    a.bind(0, host);
    await once(a, 'listening');
    const port = a.address().port;
    if (port % 2 !== 0 || port >= 65534) {
      a.close();
      continue;
    }
    const b = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      b.once('error', () => resolve(false));
      b.bind(port + 1, host, () => resolve(true));
    });
    a.close();
    b.close();
    if (ok) return port;
  }
  throw new Error('no free RTP port pair');
}

export interface DecodedFrame {
  /** Wall-clock time the decoder reported it (ms since the epoch; ffmpeg may hold frames back while it probes). */
  at: number;
  /** Presentation time (s) from the stream's RTP timestamps, 0 at the first packet ffmpeg took. */
  pts: number;
  /** Mean luma (0-255; black is 16 or below). */
  meanY: number;
  /** Standard deviation of the luma: 0 for a flat picture (a plain background), ~70 for testsrc. */
  stdevY: number;
  size: string;
  key: boolean;
}

export interface DecodeSummary {
  frames: number;
  /** Frames whose mean luma is above 24 (not black). */
  nonBlack: number;
  firstAt?: number;
  lastAt?: number;
  /** Frames per second of stream time (presentation timestamps), when there are at least two. */
  fps?: number;
  /** Presentation time of the first decoded frame (s after the first packet ffmpeg took). */
  firstPts?: number;
  sizes: string[];
  errors: string[];
}

/**
 * ffmpeg decoding one RTP video stream at 127.0.0.1:`port` (SDP file in a temp dir); each decoded
 * frame is recorded as the decoder reports it.
 */
export class VideoDecoder {
  readonly frames: DecodedFrame[] = [];
  /** Per `regions` crop given at start: its frames (mean/stdev of that part of the picture). */
  readonly regionFrames: DecodedFrame[][] = [];
  readonly errors: string[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly port: number, private readonly p: ChildProcess, private readonly dir: string) {
    let buf = '';
    p.stderr!.setEncoding('utf8');
    p.stderr!.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.search(/[\r\n]/)) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.onLine(line);
      }
    });
  }

  /**
   * `regions`: ffmpeg crop expressions (`w:h:x:y`, e.g. `iw/2:ih/2:0:ih/4`) measured as well, frame
   * by frame: where a canvas tile is, whether it has picture content.
   */
  static async start(o: { codec: VideoCodecName; pt: number; port?: number; regions?: string[] }): Promise<VideoDecoder> {
    const port = o.port ?? (await freeRtpPair());
    const dir = mkdtempSync(join(tmpdir(), 'video-dec-'));
    const sdp = join(dir, 'in.sdp');
    writeFileSync(sdp, [
      'v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=decoder', 'c=IN IP4 127.0.0.1', 't=0 0',
      `m=video ${port} RTP/AVP ${o.pt}`, `a=rtpmap:${o.pt} ${o.codec}/90000`,
      ...(o.codec === 'H264' ? [`a=fmtp:${o.pt} packetization-mode=1`] : []), 'a=recvonly', '',
    ].join('\r\n'));
    const p = ffmpeg([
      '-loglevel', 'info', '-protocol_whitelist', 'file,udp,rtp', '-reorder_queue_size', '100',
      '-analyzeduration', '2M', '-probesize', '2M', '-i', sdp, '-an', ...filters(o.regions ?? []),
    ]);
    const d = new VideoDecoder(port, p, dir);
    for (let i = 0; i < (o.regions ?? []).length; i++) d.regionFrames.push([]);
    // ffmpeg binds its ports while opening the input: give it that moment before anything is sent.
    await new Promise((r) => setTimeout(r, 300));
    const spawnError = spawnErrors.get(p);
    if (spawnError) throw new Error(`ffmpeg not started (${spawnError.message}): the video tests need Debian's ffmpeg (libx264, libvpx) or FFMPEG_BIN`);
    if (p.exitCode !== null) throw new Error(`ffmpeg decoder exited: ${d.errors.join('; ')}`);
    return d;
  }

  private onLine(line: string): void {
    const m = /Parsed_showinfo_(\d+).* n:\s*\d+ .*pts_time:([-\d.]+).*s:(\d+x\d+).* iskey:(\d).* mean:\[(\d+)[^\]]*\] stdev:\[([\d.]+)/.exec(line);
    if (m) {
      const f = { at: Date.now(), pts: Number(m[2]), size: m[3]!, key: m[4] === '1', meanY: Number(m[5]), stdevY: Number(m[6]) };
      // filter indexes: showinfo is 0 alone; with regions split is 0, then showinfo 1, crop 2k, showinfo 2k+1
      const idx = Number(m[1]);
      if (this.regionFrames.length > 0 && idx > 1) {
        this.regionFrames[(idx - 3) / 2]?.push(f);
        return;
      }
      this.frames.push(f);
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
      return;
    }
    if (/error|invalid|corrupt|missing/i.test(line) && this.errors.length < 50) this.errors.push(line.trim());
  }

  /** Resolves once `n` frames are decoded; rejects after `timeoutMs`. */
  async waitFrames(n: number, timeoutMs: number, what = 'decoded video frames'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: ${this.frames.length} of ${n} in ${timeoutMs} ms (decoder: ${this.errors.slice(-3).join(' | ')})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  summary(): DecodeSummary {
    const f = this.frames;
    const first = f[0]?.at;
    const last = f[f.length - 1]?.at;
    return {
      frames: f.length,
      nonBlack: f.filter((x) => x.meanY > 24).length,
      ...(first !== undefined ? { firstAt: first } : {}),
      ...(last !== undefined ? { lastAt: last } : {}),
      ...(f.length >= 2 && f[f.length - 1]!.pts > f[0]!.pts ? { fps: Math.round(((f.length - 1) / (f[f.length - 1]!.pts - f[0]!.pts)) * 10) / 10 } : {}),
      ...(f[0] ? { firstPts: f[0].pts } : {}),
      sizes: [...new Set(f.map((x) => x.size))],
      errors: this.errors,
    };
  }

  async stop(): Promise<DecodeSummary> {
    await stopProcess(this.p);
    rmSync(this.dir, { recursive: true, force: true });
    return this.summary();
  }
}

/** ffmpeg output options: showinfo on the whole picture, and on each region's crop. */
function filters(regions: string[]): string[] {
  if (regions.length === 0) return ['-vf', 'showinfo', '-f', 'null', '-'];
  const outs = ['[o0]', ...regions.map((_, i) => `[o${i + 1}]`)];
  const graph = `[0:v]split=${regions.length + 1}${regions.map((_, i) => `[s${i + 1}]`).join('')}[s0];[s0]showinfo[o0];`
    + regions.map((r, i) => `[s${i + 1}]crop=${r},showinfo[o${i + 1}]`).join(';');
  return ['-filter_complex', graph, ...outs.flatMap((o) => ['-map', o, '-f', 'null', '-'])];
}

/**
 * ffmpeg sending a moving test pattern (testsrc) as RTP video: H.264 Constrained Baseline
 * (libx264, Annex B, packetization-mode 1) or VP8 (libvpx), a key frame every second.
 */
export class VideoEncoder {
  private constructor(private readonly p: ChildProcess) {}

  static start(o: { codec: VideoCodecName; pt: number; to: { host: string; port: number }; seconds?: number; size?: string; fps?: number }): VideoEncoder {
    const fps = o.fps ?? 15;
    const enc = o.codec === 'H264'
      ? ['-c:v', 'libx264', '-profile:v', 'baseline', '-level', '3.1', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(fps), '-bsf:v', 'h264_mp4toannexb']
      : ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', String(fps), '-b:v', '300k'];
    const p = ffmpeg([
      '-loglevel', 'error', '-re', '-f', 'lavfi', '-t', String(o.seconds ?? 20), '-i', `testsrc=size=${o.size ?? '320x240'}:rate=${fps}`,
      '-an', '-pix_fmt', 'yuv420p', ...enc, '-payload_type', String(o.pt), '-f', 'rtp', `rtp://${o.to.host}:${o.to.port}?pkt_size=1200`,
    ]);
    return new VideoEncoder(p);
  }

  stop(): Promise<void> {
    return stopProcess(this.p);
  }
}

/**
 * The one video port an endpoint advertises (SDP m=video or H.245 OLC): packets arriving there go
 * on to `decodeTo`; packets the encoder sends to `input` go out from this port to `remote` (set
 * once the far end's address is known; until then they are dropped). RTCP (port + 1) is bound
 * and drained.
 */
export class SymmetricVideoPort {
  remote: { host: string; port: number } | undefined;
  decodeTo: { host: string; port: number } | undefined;
  /** Packets that arrived at the port (from anywhere but the input). */
  received = 0;
  /** When the first of them arrived (ms since the epoch). */
  firstReceivedAt: number | undefined;
  /** Encoder packets sent on to the remote. */
  sent = 0;
  /**
   * Take the remote from the first packet that arrives (a media server sends from the port it
   * receives on: symmetric RTP), when it is not known otherwise.
   */
  learnRemote = false;
  private constructor(private readonly rtp: Socket, private readonly rtcp: Socket | undefined, private readonly inputSock: Socket, private readonly owned: boolean) {
    rtp.on('message', (b, rinfo) => {
      this.received++;
      this.firstReceivedAt ??= Date.now();
      if (this.learnRemote && !this.remote) this.remote = { host: rinfo.address, port: rinfo.port };
      if (this.decodeTo) rtp.send(b, this.decodeTo.port, this.decodeTo.host);
    });
    inputSock.on('message', (b) => {
      if (!this.remote) return;
      this.sent++;
      rtp.send(b, this.remote.port, this.remote.host);
    });
    rtcp?.on('message', () => undefined);
  }

  /** Binds `port` (and port + 1), or adopts an already bound RTP socket (e.g. the H.323 lab endpoint's video port). */
  static async open(o: { port?: number; socket?: Socket; host?: string }): Promise<SymmetricVideoPort> {
    const host = o.host ?? '127.0.0.1';
    let rtp = o.socket;
    let rtcp: Socket | undefined;
    if (!rtp) {
      const port = o.port ?? (await freeRtpPair(host));
      rtp = createSocket('udp4');
      rtp.bind(port, host);
      await once(rtp, 'listening');
      rtcp = createSocket('udp4');
      rtcp.bind(port + 1, host);
      await once(rtcp, 'listening');
    }
    const input = createSocket('udp4');
    input.bind(0, host);
    await once(input, 'listening');
    return new SymmetricVideoPort(rtp, rtcp, input, !o.socket);
  }

  get port(): number {
    return this.rtp.address().port;
  }

  /** Where the encoder sends. */
  get input(): { host: string; port: number } {
    const a = this.inputSock.address();
    return { host: a.address, port: a.port };
  }

  close(): void {
    this.inputSock.close();
    if (this.owned) {
      this.rtp.close();
      this.rtcp?.close();
    }
  }
}
