/**
 * Compares a decoded PER value with tshark's -V text of the same packet: every leaf we decoded
 * (name: value) must appear as a tshark line with the same field name and a matching rendering.
 * Used by the capture and pcap proofs.
 */
import { guidToString } from '../../../lib/h323/ras/messages.js';

export interface Leaf {
  name: string;
  /** Another acceptable form, e.g. a NULL alternative shown as "alt: NULL". */
  or?: Leaf;
  /** Accepted tshark renderings of the value (the text after "name: "). */
  renderings: string[];
}

function isBitString(v: object): v is { length: number; bytes: Uint8Array } {
  return 'length' in v && 'bytes' in v && (v as { bytes: unknown }).bytes instanceof Uint8Array;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** H.235 TimeStamps (seconds since 1970) are shown by tshark as UTC dates. */
function timeStamp(v: number): string[] {
  if (v < 1e9 || v > 4294967295) return [];
  const d = new Date(v * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return [`${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())}, ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.000000000 UTC`];
}

/** Leaves of a decoded value, named by their innermost SEQUENCE field or CHOICE alternative. */
export function leaves(value: unknown, name = ''): Leaf[] {
  if (value === null || value === undefined) return [];
  if (typeof value === 'boolean') return [{ name, renderings: [value ? 'True' : 'False'] }];
  if (typeof value === 'number') return [{ name, renderings: [String(value), ...timeStamp(value)] }];
  if (typeof value === 'string') return value === '' ? [] : [{ name, renderings: [value] }];
  if (value instanceof Uint8Array) {
    const h = Buffer.from(value).toString('hex');
    const r = [h, `${value.length} octets`, `${value.length} octet`];
    if (value.length === 4) r.push(Array.from(value).join('.'));
    if (value.length === 16) r.push(guidToString(value));
    if (value.length > 0) r.push(Buffer.from(value).toString('latin1').replace(/\0+$/, ''));
    return [{ name, renderings: r }];
  }
  if (Array.isArray(value)) return value.flatMap((v) => leaves(v, name));
  if (typeof value === 'object') {
    if (isBitString(value)) return [];
    const o = value as Record<string, unknown>;
    if (typeof o['choice'] === 'string' && 'value' in o && Object.keys(o).length <= 3) {
      if (o['choice'] === '$unknown') return [];
      // A NULL alternative shows in tshark as "field: alternative (index)".
      if (o['value'] === null) return name ? [{ name, renderings: [o['choice']], or: { name: o['choice'], renderings: ['NULL'] } }] : [];
      return leaves(o['value'], o['choice']);
    }
    return Object.entries(o).flatMap(([k, v]) => leaves(v, k));
  }
  return [];
}

/** tshark "name: rest" pairs from -V text (bit-field prefixes like "1... ...." removed). */
export function tsharkFields(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/^[01.]{4} [01.]{4}(?: [01.]{4} [01.]{4})* /, '');
    const m = /^([A-Za-z0-9_-]+): (.*)$/.exec(line);
    if (!m) continue;
    const list = out.get(m[1]!) ?? [];
    list.push(m[2]!);
    out.set(m[1]!, list);
  }
  return out;
}


export interface Comparison {
  matched: number;
  missing: string[];
}

function renders(tsharkValue: string, r: string): boolean {
  return tsharkValue === r || tsharkValue.startsWith(`${r} `) || tsharkValue.endsWith(`(${r})`) || tsharkValue.includes(`(${r})`);
}

export function compareWithTshark(value: unknown, tsharkText: string, only?: (leaf: Leaf) => boolean): Comparison {
  const fields = tsharkFields(tsharkText);
  let matched = 0;
  const missing: string[] = [];
  for (const leaf of leaves(value)) {
    if (only && !only(leaf)) continue;
    const seen = fields.get(leaf.name) ?? [];
    const alt = leaf.or ? (fields.get(leaf.or.name) ?? []) : [];
    if (seen.some((t) => leaf.renderings.some((r) => renders(t, r))) || (leaf.or && alt.some((t) => leaf.or!.renderings.some((r) => renders(t, r))))) matched++;
    else missing.push(`${leaf.name}=${leaf.renderings[0]} (tshark: ${seen.join(' | ') || 'none'})`);
  }
  return { matched, missing };
}
