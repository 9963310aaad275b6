// Temporal-action-segmentation metrics (as in MS-TCN): segmental F1@k and the edit score. Rallies are the one
// foreground label; background is excluded, as those papers do by default. Intervals are labelled at 1 ms
// resolution, so overlapping or touching intervals form one segment.
import type { RallySpan } from '../contracts.js';

/** Sorted union of intervals: what a per-millisecond rally/background labelling would contain. */
export function toLabelSegments(spans: readonly RallySpan[]): RallySpan[] {
  const sorted = spans
    .filter((s) => s.end_ms > s.start_ms)
    .map((s) => ({ ...s }))
    .sort((a, b) => a.start_ms - b.start_ms || a.end_ms - b.end_ms);
  const out: RallySpan[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start_ms <= last.end_ms) last.end_ms = Math.max(last.end_ms, s.end_ms);
    else out.push(s);
  }
  return out;
}

export interface SegmentalCounts {
  tp: number;
  fp: number;
  fn: number;
}

/**
 * MS-TCN's overlap F1 counting: each predicted segment, in order, takes its best-IoU truth segment; it is a hit
 * when IoU ≥ overlap and that truth segment is not hit yet, otherwise a false positive.
 */
export function segmentalCounts(truthSpans: readonly RallySpan[], predSpans: readonly RallySpan[], overlap: number): SegmentalCounts {
  const truth = toLabelSegments(truthSpans);
  const pred = toLabelSegments(predSpans);
  const hit = new Uint8Array(truth.length);
  let tp = 0;
  let fp = 0;
  for (const p of pred) {
    let best = -1;
    let bestIou = -Infinity;
    for (let t = 0; t < truth.length; t++) {
      const inter = Math.min(p.end_ms, truth[t]!.end_ms) - Math.max(p.start_ms, truth[t]!.start_ms);
      const hull = Math.max(p.end_ms, truth[t]!.end_ms) - Math.min(p.start_ms, truth[t]!.start_ms);
      const iou = inter / hull;
      if (iou > bestIou) {
        bestIou = iou;
        best = t;
      }
    }
    if (best >= 0 && bestIou >= overlap && !hit[best]) {
      tp++;
      hit[best] = 1;
    } else fp++;
  }
  return { tp, fp, fn: truth.length - tp };
}

/** Levenshtein distance between two label sequences. */
export function levenshtein(a: readonly string[], b: readonly string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** Edit score in [0, 100]: (1 − distance / max length) · 100 over the segment label sequences; 100 when both are empty. */
export function editScore(truthSpans: readonly RallySpan[], predSpans: readonly RallySpan[]): number {
  const truth = toLabelSegments(truthSpans).map(() => 'rally');
  const pred = toLabelSegments(predSpans).map(() => 'rally');
  const longest = Math.max(truth.length, pred.length);
  if (longest === 0) return 100;
  return (1 - levenshtein(truth, pred) / longest) * 100;
}
