/**
 * Bandwidth analyser for an N-participant council. Participants are the twelve guardians of the
 * design brief (cycled when N > 12). For each, the upstream rate (what they send) is the
 * catalogue's on-wire rate of their audio codec plus, for video participants, their video codec;
 * the downstream rate depends on the topology: with an MCU (FreeSWITCH mixing) everyone receives
 * one mixed stream of their own media type, in a mesh everyone receives every other stream.
 */
import { codecByName, wireBps } from './catalogue.js';
import { DEFAULT_ALLOWED_CODECS } from './filter.js';

export interface CouncilMember {
  id: string;
  role: string;
  /** Budget the user's documents state for this member, bits/s. */
  declaredBps: number;
  media: 'VP8' | 'H264' | 'audio';
}

/** The council from the design brief; the stated total there is "about 24.7 Mbps". */
export const COUNCIL: readonly CouncilMember[] = [
  { id: 'T-01', role: 'Technical', declaredBps: 2_500_000, media: 'VP8' },
  { id: 'C-01', role: 'Civic', declaredBps: 2_000_000, media: 'VP8' },
  { id: 'E-01', role: 'Ethical', declaredBps: 2_500_000, media: 'VP8' },
  { id: 'K-01', role: 'Cultural', declaredBps: 2_000_000, media: 'VP8' },
  { id: 'Cont-01', role: 'Contrarian', declaredBps: 1_500_000, media: 'audio' },
  { id: 'M-01', role: 'Meta', declaredBps: 2_000_000, media: 'H264' },
  { id: 'S-01', role: 'Security', declaredBps: 2_500_000, media: 'VP8' },
  { id: 'A-01', role: 'Accessibility', declaredBps: 1_500_000, media: 'audio' },
  { id: 'Sci-01', role: 'Scientific', declaredBps: 2_500_000, media: 'VP8' },
  { id: 'Econ-01', role: 'Economic', declaredBps: 2_000_000, media: 'VP8' },
  { id: 'Env-01', role: 'Environmental', declaredBps: 2_500_000, media: 'H264' },
  { id: 'Leg-01', role: 'Legal', declaredBps: 1_500_000, media: 'audio' },
];

export const STATED_TOTAL_BPS = 24_700_000;

export interface AnalyseOptions {
  participants: number;
  audioCodec?: string;
  topology?: 'mcu' | 'mesh';
  /** Override the catalogue's nominal video payload rate. */
  videoBitrateBps?: number;
  /** Per-caller quota the fairness gate applies (default 3 Mbps). */
  quotaBps?: number;
}

export interface MemberRow {
  id: string;
  role: string;
  media: string;
  codecs: string;
  declaredBps: number;
  upBps: number;
  downBps: number;
  withinDeclared: boolean;
  withinQuota: boolean;
  /** Whether the default codec whitelist lets this member's codecs through. */
  allowedByDefault: boolean;
}

export interface CouncilAnalysis {
  participants: number;
  topology: 'mcu' | 'mesh';
  rows: MemberRow[];
  totals: { declaredBps: number; statedBps: number; upBps: number; downBps: number; serverBps: number };
}

export type AnalyseResult = { ok: true; analysis: CouncilAnalysis } | { ok: false; error: string };

export function analyseCouncil(opts: AnalyseOptions): AnalyseResult {
  const n = opts.participants;
  if (!Number.isInteger(n) || n < 1 || n > 1000) return { ok: false, error: 'participants must be an integer 1..1000' };
  const audio = codecByName(opts.audioCodec ?? 'opus');
  if (!audio || audio.kind !== 'audio' || audio.event) return { ok: false, error: `unknown audio codec ${opts.audioCodec}` };
  const topology = opts.topology ?? 'mcu';
  const quota = opts.quotaBps ?? 3_000_000;
  const audioBps = wireBps(audio);
  const members = Array.from({ length: n }, (_, i) => {
    const base = COUNCIL[i % COUNCIL.length]!;
    return i < COUNCIL.length ? base : { ...base, id: `${base.id}#${Math.floor(i / COUNCIL.length) + 1}` };
  });
  const up = members.map((m) => {
    if (m.media === 'audio') return audioBps;
    const v = codecByName(m.media)!;
    return audioBps + wireBps(v, opts.videoBitrateBps ? { bitrateBps: opts.videoBitrateBps } : {});
  });
  const totalUp = up.reduce((a, b) => a + b, 0);
  const allowed = new Set(DEFAULT_ALLOWED_CODECS.map((c) => c.toLowerCase()));
  const rows: MemberRow[] = members.map((m, i) => {
    const down = topology === 'mcu' ? up[i]! : totalUp - up[i]!;
    return {
      id: m.id,
      role: m.role,
      media: m.media === 'audio' ? 'audio only' : `${m.media} video`,
      codecs: m.media === 'audio' ? audio.name : `${audio.name}+${m.media}`,
      declaredBps: m.declaredBps,
      upBps: up[i]!,
      downBps: down,
      withinDeclared: up[i]! <= m.declaredBps,
      withinQuota: up[i]! <= quota,
      allowedByDefault: m.media === 'audio' || allowed.has(m.media.toLowerCase()),
    };
  });
  const declared = rows.reduce((a, r) => a + r.declaredBps, 0);
  const downBps = rows.reduce((a, r) => a + r.downBps, 0);
  return {
    ok: true,
    analysis: {
      participants: n,
      topology,
      rows,
      totals: { declaredBps: declared, statedBps: STATED_TOTAL_BPS, upBps: totalUp, downBps, serverBps: totalUp + downBps },
    },
  };
}

const mbps = (b: number) => (b / 1e6).toFixed(3);

/** Markdown table of an analysis (the CLI prints it; docs/codecs.md is generated from it). */
export function councilMarkdown(a: CouncilAnalysis): string {
  const lines = [
    `Participants: ${a.participants}, topology: ${a.topology}. Rates are one direction, on the wire (IPv4/UDP/RTP headers included), Mbps.`,
    '',
    '| id | role | media | codecs | declared | up (sends) | down (receives) | within declared |',
    '|---|---|---|---|---:|---:|---:|---|',
    ...a.rows.map((r) => `| ${r.id} | ${r.role} | ${r.media} | ${r.codecs} | ${mbps(r.declaredBps)} | ${mbps(r.upBps)} | ${mbps(r.downBps)} | ${r.withinDeclared ? 'yes' : 'NO'} |`),
    '',
    a.participants === COUNCIL.length
      ? `Declared total: ${mbps(a.totals.declaredBps)} Mbps (the documents state about ${mbps(a.totals.statedBps)} Mbps; their own table's rows sum to ${mbps(a.totals.declaredBps)}).`
      : `Declared total: ${mbps(a.totals.declaredBps)} Mbps.`,
    ...(a.rows.some((r) => !r.allowedByDefault)
      ? [`Not passed by the default codec whitelist (video would be removed unless the list is extended): ${a.rows.filter((r) => !r.allowedByDefault).map((r) => r.id).join(', ')}.`]
      : []),
    `Estimated upstream total: ${mbps(a.totals.upBps)} Mbps; downstream total: ${mbps(a.totals.downBps)} Mbps; at the media server (up + down): ${mbps(a.totals.serverBps)} Mbps.`,
  ];
  return lines.join('\n');
}
