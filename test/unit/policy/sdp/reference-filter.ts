/**
 * The codec filter as it was before the hot path got its own SDP reader (lib/sdp/scan.ts): the
 * decisions made on sdp-transform's structure. Kept only as the oracle the differential tests
 * hold filterSdp to; not used by the gateway.
 */
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { codecByStaticPt } from '../../../../lib/sdp/catalogue.js';
import { parseSdp, DEFAULT_MAX_SDP_BYTES } from '../../../../lib/sdp/parse.js';
import { DEFAULT_ALLOWED_CODECS } from '../../../../lib/sdp/filter.js';

/** Codecs that only make sense next to a media codec. */
const AUXILIARY = new Set(['telephone-event', 'rtx', 'red', 'ulpfec', 'flexfec-03', 'cn']);

export interface FilterOptions {
  allow?: readonly string[];
  maxBytes?: number;
}

export type ReferenceFilterResult =
  | { ok: true; sdp: string; parsed: SessionDescription; kept: string[]; removed: string[] }
  | { ok: false; malformed: boolean; reason: string; offered: string[] };

export function referenceFilterSdp(text: string, opts: FilterOptions = {}): ReferenceFilterResult {
  const parsed = parseSdp(text, opts.maxBytes ?? DEFAULT_MAX_SDP_BYTES);
  if (!parsed.ok) return { ok: false, malformed: true, reason: parsed.reason, offered: [] };
  const allow = new Set((opts.allow ?? DEFAULT_ALLOWED_CODECS).map((c) => c.toLowerCase()));
  const sdp = parsed.sdp;
  const kept = new Set<string>();
  const removed = new Set<string>();
  const offered = new Set<string>();
  const droppedMids = new Set<string>();

  const media: MediaDescription[] = [];
  const keepByIndex: Array<Set<number> | null> = [];
  for (const m of sdp.media) {
    // Payload type -> codec name for this stream, looked up once (first rtpmap wins, as find()).
    const names = new Map<number, string>();
    for (const r of m.rtp ?? []) if (!names.has(r.payload)) names.set(r.payload, String(r.codec));
    const nameOf = (pt: number): string => names.get(pt) ?? codecByStaticPt(pt)?.name ?? `pt${pt}`;
    const pts = String(m.payloads ?? '')
      .trim()
      .split(/\s+/)
      .filter((p) => p.length > 0)
      .map(Number);
    if (m.type !== 'audio' && m.type !== 'video') {
      for (const p of pts) removed.add(`${m.type}/${p}`);
      if (m.mid !== undefined) droppedMids.add(String(m.mid));
      keepByIndex.push(null);
      continue;
    }
    // Retransmission formats point at a media payload with apt=: they follow that payload
    // (kept with an allowed codec, removed with a refused one) whatever the list says.
    const aptOf = (pt: number): number | undefined => {
      const f = m.fmtp?.find((x) => x.payload === pt);
      const a = f ? /(?:^|;)\s*apt=(\d+)/.exec(f.config) : null;
      return a ? Number(a[1]) : undefined;
    };
    let keep = pts.filter((pt) => {
      const name = nameOf(pt);
      if (name.toLowerCase() === 'rtx') return true;
      offered.add(name);
      return allow.has(name.toLowerCase());
    });
    keep = keep.filter((pt) => {
      const apt = aptOf(pt);
      if (nameOf(pt).toLowerCase() === 'rtx') return apt !== undefined && keep.includes(apt) && apt !== pt;
      return apt === undefined || keep.includes(apt);
    });
    const hasMedia = keep.some((pt) => !AUXILIARY.has(nameOf(pt).toLowerCase()));
    for (const pt of pts) if (!keep.includes(pt) || !hasMedia) removed.add(nameOf(pt));
    if (!hasMedia) {
      if (m.mid !== undefined) droppedMids.add(String(m.mid));
      keepByIndex.push(null);
      continue;
    }
    for (const pt of keep) kept.add(nameOf(pt));
    const keepSet = new Set(keep);
    keepByIndex.push(keepSet);
    m.payloads = keep.join(' ');
    // One rtpmap and one fmtp per payload: the first, which the decision above was based on
    // (a later duplicate could otherwise smuggle a refused codec under an allowed payload type).
    const firstRtp = new Set<number>();
    m.rtp = (m.rtp ?? []).filter((r) => keepSet.has(r.payload) && !firstRtp.has(r.payload) && !!firstRtp.add(r.payload));
    const firstFmtp = new Set<number>();
    m.fmtp = (m.fmtp ?? []).filter((f) => keepSet.has(f.payload) && !firstFmtp.has(f.payload) && !!firstFmtp.add(f.payload));
    if (m.rtcpFb) m.rtcpFb = m.rtcpFb.filter((f) => f.payload === '*' || keepSet.has(Number(f.payload)));
    if (m.rtcpFbTrrInt) m.rtcpFbTrrInt = m.rtcpFbTrrInt.filter((f) => f.payload === '*' || keepSet.has(Number(f.payload)));
    media.push(m);
  }
  if (media.length === 0) return { ok: false, malformed: false, reason: 'no allowed codec left', offered: [...offered] };
  sdp.media = media;
  if (sdp.groups && droppedMids.size > 0) {
    sdp.groups = sdp.groups
      .map((g) => ({ ...g, mids: String(g.mids).split(' ').filter((x) => !droppedMids.has(x)).join(' ') }))
      .filter((g) => g.mids.length > 0);
  }
  for (const k of kept) removed.delete(k);
  // Always rewritten, even when nothing was removed: attribute lines for payload types the
  // m-line does not list are dropped too, so what we forward is consistent.
  return { ok: true, sdp: rewriteLines(parsed.lines, keepByIndex, droppedMids), parsed: sdp, kept: [...kept], removed: [...removed] };
}

const PT_ATTR_NAME = /^a=(?:rtpmap|fmtp|rtcp-fb|rtcp-fb-trr-int):/;
// Payload type without leading zeros: "a=rtpmap:096" is not the same token as "96" to every parser.
const PT_ATTR = /^a=(rtpmap|fmtp|rtcp-fb|rtcp-fb-trr-int):(0|[1-9]\d{0,2}) \S/;

/** Applies the filter decisions to the original text, line by line. */
function rewriteLines(lines: readonly string[], keepByIndex: Array<Set<number> | null>, droppedMids: Set<string>): string {
  const out: string[] = [];
  let index = -1;
  let skipping = false;
  let keep: Set<number> | null = null;
  // rtpmap/fmtp lines already forwarded in the current section ("rtpmap:96").
  const once = new Set<string>();
  for (const line of lines) {
    if (line.startsWith('m=')) {
      index++;
      once.clear();
      keep = keepByIndex[index] ?? null;
      skipping = keep === null;
      if (skipping) continue;
      const parts = line.split(' ').filter((x) => x.length > 0);
      out.push(`${parts.slice(0, 3).join(' ')} ${parts.slice(3).filter((p) => keep!.has(Number(p))).join(' ')}`);
      continue;
    }
    if (skipping) continue;
    if (index < 0 && line.startsWith('a=group:') && droppedMids.size > 0) {
      const [head, ...mids] = line.split(' ');
      const left = mids.filter((x) => !droppedMids.has(x));
      if (left.length > 0) out.push([head, ...left].join(' '));
      continue;
    }
    if (keep && PT_ATTR_NAME.test(line)) {
      // Per-payload attributes must name a listed payload type exactly; anything else
      // (a=rtpmap: 96 ..., unknown payloads) is dropped rather than forwarded ambiguously.
      if (line.startsWith('a=rtcp-fb:*') || line.startsWith('a=rtcp-fb-trr-int:*')) {
        out.push(line);
        continue;
      }
      const m = PT_ATTR.exec(line);
      if (!m || !keep.has(Number(m[2]))) continue;
      if (m[1] === 'rtpmap' || m[1] === 'fmtp') {
        const k = `${m[1]}:${m[2]}`;
        if (once.has(k)) continue;
        once.add(k);
      }
    }
    out.push(line);
  }
  return `${out.join('\r\n')}\r\n`;
}
