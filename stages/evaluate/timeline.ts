// A per-video rally timeline as SVG: ground truth above, predictions below, colour-coded by match.
// Pure string building with fixed decimals, so the same scores give the same bytes.
import type { RallySpan } from '../lib/contracts.js';
import type { VideoScores } from '../lib/metrics/index.js';

const WIDTH = 1000;
const MARGIN = 12;
const LANE = 22;
const COLORS = { matched: '#2e7d32', missed: '#ef6c00', predicted: '#1565c0', falsePositive: '#c62828', axis: '#555' };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fx = (n: number): string => n.toFixed(2);

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export interface TimelineInput {
  video_id: string;
  filename: string;
  truth: readonly RallySpan[];
  predicted: readonly RallySpan[];
  scores: VideoScores;
  /** Video length when known; otherwise the last rally end sets the scale. */
  duration_ms?: number;
}

export function timelineSvg(input: TimelineInput): string {
  const { truth, predicted, scores } = input;
  const lastEnd = Math.max(1, input.duration_ms ?? 0, ...truth.map((r) => r.end_ms), ...predicted.map((r) => r.end_ms));
  const plotW = WIDTH - 2 * MARGIN - 80;
  const x = (ms: number): number => MARGIN + 80 + (Math.min(Math.max(ms, 0), lastEnd) / lastEnd) * plotW;
  const matchedTruth = new Set(scores.matches.map((m) => m.truth_index));
  const matchedPred = new Set(scores.matches.map((m) => m.pred_index));
  const top = 34;
  const height = top + 2 * (LANE + 8) + 42;
  const lines: string[] = [];
  lines.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
  );
  lines.push(`<rect width="${WIDTH}" height="${height}" fill="#fff"/>`);
  const g = scores.greedy;
  lines.push(
    `<text x="${MARGIN}" y="16" font-size="13" font-weight="bold">${esc(input.filename)}</text>` +
      `<text x="${WIDTH - MARGIN}" y="16" text-anchor="end">TP ${g.tp} · FP ${g.fp} · FN ${g.fn} · F1 ${g.f1.toFixed(3)}</text>`,
  );
  const lane = (label: string, y: number, spans: readonly RallySpan[], color: (i: number) => string, kind: string): void => {
    lines.push(`<text x="${MARGIN}" y="${fx(y + LANE / 2 + 4)}">${label}</text>`);
    lines.push(`<rect x="${fx(x(0))}" y="${fx(y)}" width="${fx(plotW)}" height="${LANE}" fill="#f3f3f3"/>`);
    spans.forEach((r, i) => {
      const w = Math.max(1, x(r.end_ms) - x(r.start_ms));
      lines.push(
        `<rect x="${fx(x(r.start_ms))}" y="${fx(y)}" width="${fx(w)}" height="${LANE}" fill="${color(i)}"><title>${kind} ${i + 1}: ${clock(r.start_ms)}–${clock(r.end_ms)}</title></rect>`,
      );
    });
  };
  lane('truth', top, truth, (i) => (matchedTruth.has(i) ? COLORS.matched : COLORS.missed), 'rally');
  lane('predicted', top + LANE + 8, predicted, (i) => (matchedPred.has(i) ? COLORS.predicted : COLORS.falsePositive), 'prediction');
  const axisY = top + 2 * (LANE + 8);
  lines.push(`<line x1="${fx(x(0))}" y1="${axisY}" x2="${fx(x(lastEnd))}" y2="${axisY}" stroke="${COLORS.axis}"/>`);
  const legend: [string, string][] = [
    [COLORS.matched, 'matched rally'],
    [COLORS.missed, 'missed rally'],
    [COLORS.predicted, 'matched prediction'],
    [COLORS.falsePositive, 'false positive'],
  ];
  legend.forEach(([color, label], i) => {
    const lx = MARGIN + 80 + i * 150;
    lines.push(`<rect x="${lx}" y="${height - 10}" width="10" height="8" fill="${color}"/><text x="${lx + 14}" y="${height - 2}">${label}</text>`);
  });
  const stepMs = [10_000, 30_000, 60_000, 120_000, 300_000, 600_000].find((s) => lastEnd / s <= 12) ?? 1_200_000;
  for (let t = 0; t <= lastEnd; t += stepMs) {
    lines.push(
      `<line x1="${fx(x(t))}" y1="${axisY}" x2="${fx(x(t))}" y2="${axisY + 4}" stroke="${COLORS.axis}"/><text x="${fx(x(t))}" y="${axisY + 16}" text-anchor="middle">${clock(t)}</text>`,
    );
  }
  lines.push('</svg>');
  return lines.join('\n') + '\n';
}

/** A file name for a video id: anything outside [A-Za-z0-9._-] becomes '_'. */
export function timelineFileName(videoId: string): string {
  return `${videoId.replace(/[^A-Za-z0-9._-]/g, '_')}.svg`;
}
