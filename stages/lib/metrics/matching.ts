// Matching predicted rallies to ground truth by temporal IoU: the seed's greedy rule and an optimal
// (maximum-cardinality) bipartite matching at the same threshold.
import type { RallySpan } from '../contracts.js';

/** Intersection over union of two [start, end] intervals; 0 when the union is empty. */
export function intervalIou(a: RallySpan, b: RallySpan): number {
  const inter = Math.max(0, Math.min(a.end_ms, b.end_ms) - Math.max(a.start_ms, b.start_ms));
  const union = a.end_ms - a.start_ms + (b.end_ms - b.start_ms) - inter;
  return union > 0 ? inter / union : 0;
}

export interface RallyMatch {
  truth_index: number;
  pred_index: number;
  iou: number;
  /** predicted − truth, in ms (positive = late). */
  start_error_ms: number;
  end_error_ms: number;
}

export interface Matching {
  matches: RallyMatch[];
  unmatched_truth: number[];
  unmatched_pred: number[];
}

function toMatch(truth: readonly RallySpan[], pred: readonly RallySpan[], t: number, p: number): RallyMatch {
  return {
    truth_index: t,
    pred_index: p,
    iou: intervalIou(truth[t]!, pred[p]!),
    start_error_ms: pred[p]!.start_ms - truth[t]!.start_ms,
    end_error_ms: pred[p]!.end_ms - truth[t]!.end_ms,
  };
}

function finish(truth: readonly RallySpan[], pred: readonly RallySpan[], predOf: Int32Array): Matching {
  const used = new Uint8Array(pred.length);
  const matches: RallyMatch[] = [];
  const unmatched_truth: number[] = [];
  for (let t = 0; t < truth.length; t++) {
    const p = predOf[t]!;
    if (p < 0) unmatched_truth.push(t);
    else {
      used[p] = 1;
      matches.push(toMatch(truth, pred, t, p));
    }
  }
  const unmatched_pred: number[] = [];
  for (let p = 0; p < pred.length; p++) if (!used[p]) unmatched_pred.push(p);
  return { matches, unmatched_truth, unmatched_pred };
}

/**
 * The seed's rule: ground truth by start time (the seed loads it ORDER BY start_ms), each taking the unused
 * prediction with the highest IoU, provided IoU ≥ threshold (and > 0). Ties go to the earlier prediction.
 * Indices in the result refer to the arrays as given.
 */
export function greedyMatch(truth: readonly RallySpan[], pred: readonly RallySpan[], threshold: number): Matching {
  const used = new Uint8Array(pred.length);
  const predOf = new Int32Array(truth.length).fill(-1);
  const byStart = truth.map((_, i) => i).sort((a, b) => truth[a]!.start_ms - truth[b]!.start_ms);
  for (const t of byStart) {
    let best = -1;
    let bestIou = 0;
    for (let p = 0; p < pred.length; p++) {
      if (used[p]) continue;
      const iou = intervalIou(truth[t]!, pred[p]!);
      if (iou >= threshold && iou > bestIou) {
        bestIou = iou;
        best = p;
      }
    }
    if (best >= 0) {
      used[best] = 1;
      predOf[t] = best;
    }
  }
  return finish(truth, pred, predOf);
}

/**
 * Maximum-cardinality matching over pairs with IoU ≥ threshold (and > 0), by Hopcroft–Karp. Candidates are
 * tried in descending IoU order, so the result is deterministic.
 */
export function optimalMatch(truth: readonly RallySpan[], pred: readonly RallySpan[], threshold: number): Matching {
  const nT = truth.length;
  const nP = pred.length;
  const adj: number[][] = truth.map((t) => {
    const cands: { p: number; iou: number }[] = [];
    for (let p = 0; p < nP; p++) {
      const iou = intervalIou(t, pred[p]!);
      if (iou >= threshold && iou > 0) cands.push({ p, iou });
    }
    cands.sort((a, b) => b.iou - a.iou || a.p - b.p);
    return cands.map((c) => c.p);
  });
  const predOf = new Int32Array(nT).fill(-1);
  const truthOf = new Int32Array(nP).fill(-1);
  const dist = new Int32Array(nT);
  const INF = 0x3fffffff;

  const bfs = (): boolean => {
    const queue: number[] = [];
    let found = false;
    for (let t = 0; t < nT; t++) {
      if (predOf[t] === -1) {
        dist[t] = 0;
        queue.push(t);
      } else dist[t] = INF;
    }
    for (let head = 0; head < queue.length; head++) {
      const t = queue[head]!;
      for (const p of adj[t]!) {
        const next = truthOf[p]!;
        if (next === -1) found = true;
        else if (dist[next] === INF) {
          dist[next] = dist[t]! + 1;
          queue.push(next);
        }
      }
    }
    return found;
  };
  const dfs = (t: number): boolean => {
    for (const p of adj[t]!) {
      const next = truthOf[p]!;
      if (next === -1 || (dist[next] === dist[t]! + 1 && dfs(next))) {
        predOf[t] = p;
        truthOf[p] = t;
        return true;
      }
    }
    dist[t] = INF;
    return false;
  };
  while (bfs()) for (let t = 0; t < nT; t++) if (predOf[t] === -1) dfs(t);
  return finish(truth, pred, predOf);
}
