/**
 * Reads a GnuGk configuration file (sip-configs/gnugk/gatekeeper.ini) the way GnuGk 5.15 reads the
 * keys the gateway depends on, so tests check what GnuGk will do rather than how the file looks.
 * Sources (github.com/willamowius/gnugk at 5.15, commit 0a87c1bf):
 * - PTLib PConfig: `[Section]`, `Key=Value`, `;`/`#` comments; section and key names caseless.
 * - Neighbor.cxx:488-493 SendPrefixes: comma-separated, each `prefix` or `prefix:=priority`.
 * - Neighbor.cxx:543-544 pings: on when `SendLRQPing` is true in [RasSrv::LRQFeatures] or in the
 *   neighbour's own section; interval `LRQPingInterval` (seconds, default 60), read from
 *   [RasSrv::LRQFeatures] only.
 * - Neighbor.cxx:284 and :1977 NeighborTimeout: tenths of a second (x 100 ms), default 5.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';

export const SHIPPED_GATEKEEPER_INI = join(repoRoot, 'sip-configs/gnugk/gatekeeper.ini');
export const LRQ_FEATURES = 'RasSrv::LRQFeatures';

export class GnuGkIni {
  /** Lower-cased section name -> lower-cased key -> key as written and value (later duplicates win). */
  private readonly sections = new Map<string, Map<string, { key: string; value: string }>>();
  /** Section names as written, in file order. */
  readonly sectionNames: string[] = [];

  constructor(text: string) {
    let current: Map<string, { key: string; value: string }> | undefined;
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
      const sec = /^\[(.+)\]$/.exec(line);
      if (sec) {
        const name = sec[1]!.trim();
        current = this.sections.get(name.toLowerCase());
        if (!current) {
          current = new Map();
          this.sections.set(name.toLowerCase(), current);
          this.sectionNames.push(name);
        }
        continue;
      }
      const eq = line.indexOf('=');
      if (eq <= 0 || !current) continue;
      const key = line.slice(0, eq).trim();
      current.set(key.toLowerCase(), { key, value: line.slice(eq + 1).trim() });
    }
  }

  static read(path = SHIPPED_GATEKEEPER_INI): GnuGkIni {
    return new GnuGkIni(readFileSync(path, 'utf8'));
  }

  get(section: string, key: string): string | undefined {
    return this.sections.get(section.toLowerCase())?.get(key.toLowerCase())?.value;
  }

  /** Keys of a section as written. */
  keys(section: string): string[] {
    return [...(this.sections.get(section.toLowerCase())?.values() ?? [])].map((e) => e.key);
  }

  /** PConfig::GetBoolean: true for a value starting with T/Y or a non-zero integer. */
  bool(section: string, key: string, dflt = false): boolean {
    const v = this.get(section, key);
    if (v === undefined || v === '') return dflt;
    return /^[ty]/i.test(v) || (/^-?\d+/.test(v) && parseInt(v, 10) !== 0);
  }

  /** PConfig::GetInteger (leading integer, default when absent). */
  int(section: string, key: string, dflt: number): number {
    const v = this.get(section, key);
    if (v === undefined || v === '') return dflt;
    const n = parseInt(v, 10);
    return Number.isNaN(n) ? 0 : n;
  }

  /** Neighbour ids listed in [RasSrv::Neighbors] (each configured in [Neighbor::<id>]). */
  neighbours(): string[] {
    return this.keys('RasSrv::Neighbors');
  }

  /** The prefixes GnuGk sends LRQs to this neighbour for (priorities stripped). */
  sendPrefixes(neighbour: string): string[] {
    return (this.get(`Neighbor::${neighbour}`, 'SendPrefixes') ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '')
      .map((p) => p.split(':=')[0]!.trim());
  }

  acceptPrefixes(neighbour: string): string[] {
    return (this.get(`Neighbor::${neighbour}`, 'AcceptPrefixes') ?? '*').split(',').map((p) => p.trim()).filter((p) => p !== '');
  }

  /** Whether and how often GnuGk pings this neighbour with an LRQ (Neighbor.cxx:543-544). */
  lrqPing(neighbour: string): { enabled: boolean; intervalS: number } {
    const enabled = this.bool(LRQ_FEATURES, 'SendLRQPing') || this.bool(`Neighbor::${neighbour}`, 'SendLRQPing');
    return { enabled, intervalS: this.int(LRQ_FEATURES, 'LRQPingInterval', 60) };
  }

  /** How long GnuGk waits for an answer to one LRQ or ping, in ms. */
  neighbourTimeoutMs(): number {
    return this.int(LRQ_FEATURES, 'NeighborTimeout', 5) * 100;
  }
}
