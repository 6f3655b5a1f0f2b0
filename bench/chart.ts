/**
 * Stacked line charts sharing one x axis (offered call rate for bench/load.ts), drawn with
 * bench/chart-png.ts. Axes start at zero so steps compare by eye; each panel has its own y scale.
 */
import { Canvas, type Rgb } from './chart-png.js';

export interface Series {
  name: string;
  color: Rgb;
  points: ReadonlyArray<readonly [number, number]>;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
}

export interface ChartSpec {
  title: string;
  /** Lines under the title (conditions of the run). */
  notes: string[];
  xLabel: string;
  panels: Panel[];
  /** Vertical marker (e.g. the knee) at this x, with a label. */
  marker?: { x: number; label: string };
}

export const COLORS = {
  blue: [31, 119, 180],
  orange: [255, 127, 14],
  green: [44, 160, 44],
  red: [214, 39, 40],
  purple: [148, 103, 189],
  grey: [140, 140, 140],
} as const satisfies Record<string, Rgb>;

const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];

/** A 1/2/5 x 10^n step giving about `n` intervals up to `max`. */
function niceStep(max: number, n = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return `${+(v / 1000).toFixed(1)}K`;
  return String(+v.toFixed(2));
}

export function renderChart(spec: ChartSpec): Buffer {
  const W = 1100;
  const left = 100;
  const right = 30;
  const headerH = 64 + spec.notes.length * 18;
  const panelH = 250;
  const gap = 70;
  const H = headerH + spec.panels.length * (panelH + gap) + 20;
  const c = new Canvas(W, H);
  c.text(left, 14, spec.title, INK, 3);
  spec.notes.forEach((n, i) => c.text(left, 44 + i * 18, n, [90, 90, 90], 2));

  const xs = spec.panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt[0]))).filter(Number.isFinite);
  const xStep = niceStep(Math.max(1, ...xs), 8);
  const xMax = Math.ceil((Math.max(1, ...xs) * 1.04) / xStep) * xStep;
  const plotW = W - left - right;
  const px = (x: number): number => left + (x / xMax) * plotW;

  spec.panels.forEach((p, k) => {
    const top = headerH + k * (panelH + gap) + 24;
    const bottom = top + panelH;
    const ys = p.series.flatMap((s) => s.points.map((pt) => pt[1])).filter(Number.isFinite);
    const yStep = niceStep(Math.max(1e-9, ...ys, 0) * 1.1 || 1);
    const yMax = Math.max(yStep, Math.ceil((Math.max(0, ...ys) * 1.1) / yStep) * yStep);
    const py = (y: number): number => bottom - (y / yMax) * panelH;

    c.text(left, top - 22, p.title, INK, 2);
    for (let y = 0; y <= yMax + 1e-9; y += yStep) {
      c.line(left, py(y), left + plotW, py(y), GRID);
      const label = fmt(y);
      c.text(left - 10 - Canvas.textWidth(label), py(y) - 7, label, INK, 2);
    }
    for (let x = 0; x <= xMax + 1e-9; x += xStep) {
      c.line(px(x), top, px(x), bottom, GRID);
      const label = fmt(x);
      c.text(px(x) - Canvas.textWidth(label) / 2, bottom + 8, label, INK, 2);
    }
    c.line(left, top, left, bottom, INK, 2);
    c.line(left, bottom, left + plotW, bottom, INK, 2);
    c.textUp(16, bottom - (panelH - Canvas.textWidth(p.yLabel)) / 2, p.yLabel, INK, 2);
    if (k === spec.panels.length - 1) c.text(left + (plotW - Canvas.textWidth(spec.xLabel)) / 2, bottom + 30, spec.xLabel, INK, 2);

    if (spec.marker) {
      c.line(px(spec.marker.x), top, px(spec.marker.x), bottom, COLORS.red, 2, [6, 5]);
      if (k === 0) c.text(px(spec.marker.x) + 6, top + 4, spec.marker.label, COLORS.red, 2);
    }

    for (const s of p.series) {
      const pts = s.points.filter((pt) => Number.isFinite(pt[0]) && Number.isFinite(pt[1]));
      for (let i = 1; i < pts.length; i++) {
        c.line(px(pts[i - 1]![0]), py(pts[i - 1]![1]), px(pts[i]![0]), py(pts[i]![1]), s.color, 3, s.dashed ? [10, 6] : undefined);
      }
      if (!s.dashed) for (const pt of pts) c.marker(px(pt[0]), py(pt[1]), s.color);
    }
    // Legend along the panel's top edge, right-aligned.
    let lx = left + plotW;
    for (const s of [...p.series].reverse()) {
      const w = Canvas.textWidth(s.name) + 22;
      lx -= w + 18;
      c.fillRect(lx, top - 18, 14, 14, s.color);
      c.text(lx + 20, top - 18, s.name, INK, 2);
    }
  });
  return c.png();
}
