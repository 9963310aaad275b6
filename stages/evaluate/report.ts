// The evaluation report: metrics/evaluate.json (stable keys, for experiments to diff) and its text tables.
import { formatTable } from '../../src/handler.js';
import type { RallySpan } from '../lib/contracts.js';
import { overlapKey, SEGMENTAL_OVERLAPS, type ScoreSet, type VideoScores } from '../lib/metrics/index.js';

export const REPORT_VERSION = 1;

type Cell = string | number | boolean | null | undefined;

export interface VideoReport extends VideoScores {
  video_id: string;
  filename: string;
  predicted: RallySpan[];
}

export interface EvaluateReport {
  version: number;
  /** 'heuristics', 'temporal' or 'predictions' (a file). */
  source: string;
  /** Heuristics preset and parameters, temporal model folder, or predictions file. */
  config: Record<string, unknown>;
  iou: number;
  totals: ScoreSet & { videos: number };
  /**
   * A trained model's scores on the videos it did not train on (its validation split), next to the totals
   * over every video: only these say how it does on footage it has not seen.
   */
  held_out?: ScoreSet & { videos: number; video_ids: string[] };
  videos: VideoReport[];
}

const r3 = (n: number | null): number | null => (n === null ? null : Number(n.toFixed(3)));

export function formatVideoTable(report: EvaluateReport): string {
  const rows: Cell[][] = report.videos.map((v) => [
    v.filename,
    v.truth_count,
    v.predicted_count,
    v.greedy.tp,
    v.greedy.fp,
    v.greedy.fn,
    r3(v.greedy.f1),
    r3(v.optimal.f1),
    r3(v.segmental[overlapKey(0.5)]!.f1),
    r3(v.edit),
    r3(v.boundaries.start.mae_ms),
    r3(v.boundaries.end.mae_ms),
    v.overmerge,
  ]);
  return formatTable(['video', 'truth', 'pred', 'TP', 'FP', 'FN', 'F1', 'F1_opt', 'F1@0.50', 'edit', 'start_MAE_ms', 'end_MAE_ms', 'overmerge'], rows);
}

export function formatTotalsTable(report: EvaluateReport): string {
  const t = report.totals;
  const row = (name: string, c: { tp: number; fp: number; fn: number; precision: number; recall: number; f1: number }): Cell[] => [
    name,
    c.tp,
    c.fp,
    c.fn,
    r3(c.precision),
    r3(c.recall),
    r3(c.f1),
  ];
  const counts = formatTable(
    ['matching', 'TP', 'FP', 'FN', 'precision', 'recall', 'F1'],
    [
      row(`greedy IoU≥${report.iou}`, t.greedy),
      row(`optimal IoU≥${report.iou}`, t.optimal),
      ...SEGMENTAL_OVERLAPS.map((k) => row(`segmental F1@${overlapKey(k)}`, t.segmental[overlapKey(k)]!)),
    ],
  );
  const b = t.boundaries;
  const errors = formatTable(
    ['boundary', 'matches', 'mean_ms', 'median_ms', 'MAE_ms'],
    [
      ['start (pred − truth)', b.start.count, r3(b.start.mean_ms), r3(b.start.median_ms), r3(b.start.mae_ms)],
      ['end (pred − truth)', b.end.count, r3(b.end.mean_ms), r3(b.end.median_ms), r3(b.end.mae_ms)],
    ],
  );
  const summary = `videos ${t.videos} · truth ${t.truth_count} · predicted ${t.predicted_count} · edit ${t.edit.toFixed(2)} · overmerge (>60 s) ${t.overmerge}\n`;
  return `${counts}\n${errors}\n${summary}${report.held_out ? heldOutLine(report) : ''}`;
}

function heldOutLine(report: EvaluateReport): string {
  const h = report.held_out!;
  const names = report.videos.filter((v) => h.video_ids.includes(v.video_id)).map((v) => v.filename);
  if (h.videos === 0) return 'held-out: none (the model trained on every video scored here; the totals above are training scores)\n';
  const f = (n: number): string => n.toFixed(3);
  return (
    `held-out (${h.videos} video${h.videos === 1 ? '' : 's'} the model did not train on: ${names.join(', ')}): ` +
    `F1 ${f(h.greedy.f1)} greedy IoU≥${report.iou} · ${f(h.optimal.f1)} optimal · ${f(h.segmental[overlapKey(0.5)]!.f1)} segmental@0.50\n`
  );
}
