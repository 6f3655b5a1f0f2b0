/**
 * Codec selector: the best codec every endpoint supports, per media kind. "Best" is the highest
 * quality among common codecs whose on-wire rate fits the budget (when one is given); ties go to
 * the more efficient codec (quality per on-wire Mbps).
 */
import { codecByName, efficiency, wireBps, type CodecInfo, type MediaKind } from './catalogue.js';

export interface Selection {
  codec: CodecInfo;
  wireBps: number;
  efficiency: number;
}

export function selectCodec(endpoints: ReadonlyArray<readonly string[]>, kind: MediaKind, budgetBps?: number): Selection | undefined {
  if (endpoints.length === 0) return undefined;
  const sets = endpoints.map((names) => new Set(names.map((n) => n.toLowerCase())));
  const candidates: CodecInfo[] = [];
  for (const name of sets[0]!) {
    const c = codecByName(name);
    if (!c || c.kind !== kind || c.event) continue;
    if (sets.every((s) => s.has(name))) candidates.push(c);
  }
  const fitting = candidates.filter((c) => budgetBps === undefined || wireBps(c) <= budgetBps);
  fitting.sort((a, b) => b.quality - a.quality || efficiency(b) - efficiency(a) || a.name.localeCompare(b.name));
  const best = fitting[0];
  return best ? { codec: best, wireBps: wireBps(best), efficiency: efficiency(best) } : undefined;
}
