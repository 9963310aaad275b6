// Per-video and pooled scores: the seed's greedy P/R/F1, boundary errors and overmerge count, plus optimal
// matching F1, segmental F1@{0.10,0.25,0.50} and the edit score.
import type { RallySpan } from '../contracts.js';
import { greedyMatch, optimalMatch, type RallyMatch } from './matching.js';
import { editScore, segmentalCounts } from './segmental.js';

export const SEGMENTAL_OVERLAPS = [0.1, 0.25, 0.5] as const;
/** Predicted segments longer than this are counted as overmerged (the seed's 60 s, strictly longer). */
export const OVERMERGE_MS = 60_000;

export interface DetectionCounts {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface ErrorStats {
  count: number;
  mean_ms: number | null;
  median_ms: number | null;
  mae_ms: number | null;
}

export interface BoundaryStats {
  start: ErrorStats;
  end: ErrorStats;
}

export interface ScoreSet {
  truth_count: number;
  predicted_count: number;
  /** The seed's greedy matching at the IoU threshold. */
  greedy: DetectionCounts;
  /** Maximum-cardinality matching at the same threshold. */
  optimal: DetectionCounts;
  /** Keys "0.10", "0.25", "0.50". */
  segmental: Record<string, DetectionCounts>;
  /** Edit score in [0, 100]; for totals, the mean over videos. */
  edit: number;
  overmerge: number;
  /** Signed errors (pred − truth) of the greedy matches. */
  boundaries: BoundaryStats;
}

export interface VideoScores extends ScoreSet {
  matches: RallyMatch[];
}

export interface ScoreOptions {
  iou: number;
}

export function detectionCounts(tp: number, fp: number, fn: number): DetectionCounts {
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { tp, fp, fn, precision, recall, f1 };
}

function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function errorStats(errors: readonly number[]): ErrorStats {
  if (errors.length === 0) return { count: 0, mean_ms: null, median_ms: null, mae_ms: null };
  let sum = 0;
  let abs = 0;
  for (const e of errors) {
    sum += e;
    abs += Math.abs(e);
  }
  return { count: errors.length, mean_ms: sum / errors.length, median_ms: median([...errors].sort((a, b) => a - b)), mae_ms: abs / errors.length };
}

export function overlapKey(overlap: number): string {
  return overlap.toFixed(2);
}

export function scoreVideo(truth: readonly RallySpan[], pred: readonly RallySpan[], opts: ScoreOptions): VideoScores {
  const greedy = greedyMatch(truth, pred, opts.iou);
  const optimal = optimalMatch(truth, pred, opts.iou);
  const segmental: Record<string, DetectionCounts> = {};
  for (const k of SEGMENTAL_OVERLAPS) {
    const c = segmentalCounts(truth, pred, k);
    segmental[overlapKey(k)] = detectionCounts(c.tp, c.fp, c.fn);
  }
  return {
    truth_count: truth.length,
    predicted_count: pred.length,
    greedy: detectionCounts(greedy.matches.length, greedy.unmatched_pred.length, greedy.unmatched_truth.length),
    optimal: detectionCounts(optimal.matches.length, optimal.unmatched_pred.length, optimal.unmatched_truth.length),
    segmental,
    edit: editScore(truth, pred),
    overmerge: pred.filter((p) => p.end_ms - p.start_ms > OVERMERGE_MS).length,
    boundaries: {
      start: errorStats(greedy.matches.map((m) => m.start_error_ms)),
      end: errorStats(greedy.matches.map((m) => m.end_error_ms)),
    },
    matches: greedy.matches,
  };
}

/** Micro-averaged totals: counts summed over videos, boundary errors pooled, edit score averaged. */
export function poolScores(videos: readonly VideoScores[]): ScoreSet {
  const sum = (pick: (v: VideoScores) => DetectionCounts): DetectionCounts => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const v of videos) {
      const c = pick(v);
      tp += c.tp;
      fp += c.fp;
      fn += c.fn;
    }
    return detectionCounts(tp, fp, fn);
  };
  const segmental: Record<string, DetectionCounts> = {};
  for (const k of SEGMENTAL_OVERLAPS) segmental[overlapKey(k)] = sum((v) => v.segmental[overlapKey(k)]!);
  const matches = videos.flatMap((v) => v.matches);
  return {
    truth_count: videos.reduce((n, v) => n + v.truth_count, 0),
    predicted_count: videos.reduce((n, v) => n + v.predicted_count, 0),
    greedy: sum((v) => v.greedy),
    optimal: sum((v) => v.optimal),
    segmental,
    edit: videos.length ? videos.reduce((n, v) => n + v.edit, 0) / videos.length : 100,
    overmerge: videos.reduce((n, v) => n + v.overmerge, 0),
    boundaries: {
      start: errorStats(matches.map((m) => m.start_error_ms)),
      end: errorStats(matches.map((m) => m.end_error_ms)),
    },
  };
}
