/** The captured H.225.0 TCP payloads (GnuGk / H323Plus) copied under test/fixtures/h323/q931. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../../../../support/paths.js';

export const SCENARIOS = [
  's3a-call-tunnelled',
  's3b-call-h245-separate-tcp',
  's4-call-via-neighbour-lcf',
  's5-unregistered-setup-via-neighbour',
  's7-statusport-makecall',
] as const;

export interface CapturedSegment {
  readonly scenario: string;
  /** File name without extension, e.g. 0014-tcp-setup-127.0.0.1_45500-to-127.0.0.1_1720. */
  readonly name: string;
  /** The TCP payload of one segment (one or more TPKT frames). */
  readonly bytes: Buffer;
  readonly tsharkText: string;
}

export function capturedSegments(): CapturedSegment[] {
  const out: CapturedSegment[] = [];
  for (const scenario of SCENARIOS) {
    const dir = fixture('h323', 'q931', scenario);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.hex')).sort()) {
      const name = file.slice(0, -4);
      out.push({
        scenario,
        name,
        bytes: Buffer.from(readFileSync(join(dir, file), 'utf8').trim(), 'hex'),
        tsharkText: readFileSync(join(dir, `${name}.tshark.txt`), 'utf8'),
      });
    }
  }
  return out;
}

/** The TCP segment whose name starts with `prefix` in a scenario. */
export function segment(scenario: string, prefix: string): CapturedSegment {
  const s = capturedSegments().find((c) => c.scenario === scenario && c.name.startsWith(prefix));
  if (!s) throw new Error(`no captured segment ${scenario}/${prefix}`);
  return s;
}
