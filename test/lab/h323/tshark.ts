/** Runs Debian's tshark on a pcap; tests skip (with a message) when it is not installed. */
import { execFile, execFileSync } from 'node:child_process';

export function tsharkAvailable(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** tshark -V output split per frame (index 0 = frame 1). */
export function tsharkFrames(pcapPath: string, extraArgs: string[] = []): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('tshark', ['-n', '-r', pcapPath, '-V', ...extraArgs], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      if (err) return reject(err);
      const frames = stdout.split(/^(?=Frame \d+:)/m).filter((s) => s.startsWith('Frame '));
      resolve(frames);
    });
  });
}
