import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RallySpan } from '../contracts.js';
import { editScore, greedyMatch, intervalIou, optimalMatch, poolScores, scoreVideo, segmentalCounts } from './index.js';

const s = (start_ms: number, end_ms: number): RallySpan => ({ start_ms, end_ms });

describe('IoU and greedy matching (the seed rule)', () => {
  it('computes interval IoU', () => {
    expect(intervalIou(s(0, 10), s(5, 15))).toBeCloseTo(1 / 3, 12);
    expect(intervalIou(s(0, 10), s(0, 10))).toBe(1);
    expect(intervalIou(s(0, 10), s(10, 20))).toBe(0);
  });
  it('goes through truth in order, so an early rally can take the prediction a later one needed', () => {
    const truth = [s(0, 100), s(20, 120)];
    const pred = [s(10, 110), s(0, 60)]; // P0: 0.818 with both; P1: 0.6 with T0, 0.33 with T1
    const g = greedyMatch(truth, pred, 0.5);
    expect(g.matches.map((m) => [m.truth_index, m.pred_index])).toEqual([[0, 0]]);
    expect(g.unmatched_truth).toEqual([1]);
    expect(g.unmatched_pred).toEqual([1]);
    const o = optimalMatch(truth, pred, 0.5);
    expect(o.matches.map((m) => [m.truth_index, m.pred_index])).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });
  it('breaks IoU ties toward the earlier prediction and accepts IoU equal to the threshold', () => {
    const g = greedyMatch([s(0, 100)], [s(50, 100), s(0, 50)], 0.5);
    expect(g.matches).toEqual([{ truth_index: 0, pred_index: 0, iou: 0.5, start_error_ms: 50, end_error_ms: 0 }]);
    expect(greedyMatch([s(0, 100)], [s(0, 49)], 0.5).matches).toEqual([]);
  });
  it('matches one of nested predictions and counts the other as a false positive', () => {
    const v = scoreVideo([s(0, 100)], [s(10, 90), s(0, 120)], { iou: 0.5 });
    expect(v.matches.map((m) => m.pred_index)).toEqual([1]); // 0.833 beats 0.8
    expect(v.greedy).toMatchObject({ tp: 1, fp: 1, fn: 0, precision: 0.5, recall: 1 });
    expect(v.greedy.f1).toBeCloseTo(2 / 3, 12);
    // as a labelling the nested pair is one segment [0,120]: a segmental hit with no false positive
    expect(v.segmental['0.50']).toMatchObject({ tp: 1, fp: 0, fn: 0, f1: 1 });
    expect(v.edit).toBe(100);
  });
  it('records signed errors pred − truth with mean, median (middle pair averaged) and MAE', () => {
    const truth = [s(1000, 5000), s(10_000, 15_000), s(20_000, 24_000), s(30_000, 36_000)];
    const pred = [s(1200, 4900), s(9_600, 15_300), s(20_100, 24_000), s(29_000, 36_800)];
    const v = scoreVideo(truth, pred, { iou: 0.5 });
    expect(v.matches.map((m) => m.start_error_ms)).toEqual([200, -400, 100, -1000]);
    expect(v.boundaries.start).toEqual({ count: 4, mean_ms: -275, median_ms: -150, mae_ms: 425 });
    expect(v.boundaries.end).toEqual({ count: 4, mean_ms: 250, median_ms: 150, mae_ms: 300 });
    expect(scoreVideo(truth, [], { iou: 0.5 }).boundaries.start).toEqual({ count: 0, mean_ms: null, median_ms: null, mae_ms: null });
  });
  it('counts predictions strictly longer than 60 s as overmerged', () => {
    expect(scoreVideo([], [s(0, 60_000), s(100_000, 160_001), s(200_000, 290_000)], { iou: 0.5 }).overmerge).toBe(2);
  });
});

describe('segmental F1 and edit score (MS-TCN)', () => {
  it('lets one long prediction hit one of two rallies at low overlap only', () => {
    const truth = [s(0, 100), s(200, 300)];
    const pred = [s(0, 300)]; // IoU 1/3 with each
    expect(segmentalCounts(truth, pred, 0.1)).toEqual({ tp: 1, fp: 0, fn: 1 });
    expect(segmentalCounts(truth, pred, 0.25)).toEqual({ tp: 1, fp: 0, fn: 1 });
    expect(segmentalCounts(truth, pred, 0.5)).toEqual({ tp: 0, fp: 1, fn: 2 });
  });
  it('counts a second prediction on an already-hit rally as a false positive', () => {
    expect(segmentalCounts([s(0, 100)], [s(0, 45), s(55, 100)], 0.1)).toEqual({ tp: 1, fp: 1, fn: 0 });
  });
  it('scores edits on the segment sequences', () => {
    expect(editScore([s(0, 10), s(20, 30), s(40, 50)], [s(0, 10), s(20, 50)])).toBeCloseTo(200 / 3, 10);
    expect(editScore([], [])).toBe(100);
    expect(editScore([s(0, 10), s(20, 30)], [])).toBe(0);
    expect(editScore([s(0, 10)], [s(0, 5), s(5, 10)])).toBe(100); // touching spans are one labelled segment
  });
});

describe('pooled totals', () => {
  it('sums counts over videos (micro), pools boundary errors and averages the edit score', () => {
    const a = scoreVideo([s(0, 100), s(200, 300)], [s(0, 100)], { iou: 0.5 });
    const b = scoreVideo([s(0, 100)], [s(10, 100), s(500, 600)], { iou: 0.5 });
    const t = poolScores([a, b]);
    expect(t.greedy).toMatchObject({ tp: 2, fp: 1, fn: 1 });
    expect(t.greedy.precision).toBeCloseTo(2 / 3, 12);
    expect(t.boundaries.start).toMatchObject({ count: 2, mean_ms: 5, median_ms: 5, mae_ms: 5 });
    expect(t.edit).toBeCloseTo((50 + 50) / 2, 12);
    expect(t.truth_count).toBe(3);
    expect(t.predicted_count).toBe(3);
  });
});

describe('matching properties', () => {
  const span = fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 300 })).map(([a, d]) => s(a, a + d));
  /** Largest matching by trying every assignment (small inputs only). */
  function bruteForce(truth: RallySpan[], pred: RallySpan[], thr: number, t = 0, used = new Set<number>()): number {
    if (t === truth.length) return 0;
    let best = bruteForce(truth, pred, thr, t + 1, used);
    for (let p = 0; p < pred.length; p++) {
      const iou = intervalIou(truth[t]!, pred[p]!);
      if (used.has(p) || iou < thr || iou <= 0) continue;
      used.add(p);
      best = Math.max(best, 1 + bruteForce(truth, pred, thr, t + 1, used));
      used.delete(p);
    }
    return best;
  }
  it('TP+FN = #truth and TP+FP = #pred for both matchings; optimal is maximum and never below greedy', () => {
    fc.assert(
      fc.property(fc.array(span, { maxLength: 7 }), fc.array(span, { maxLength: 7 }), fc.constantFrom(0.1, 0.3, 0.5, 0.7), (truth, pred, thr) => {
        const g = greedyMatch(truth, pred, thr);
        const o = optimalMatch(truth, pred, thr);
        for (const m of [g, o]) {
          expect(m.matches.length + m.unmatched_truth.length).toBe(truth.length);
          expect(m.matches.length + m.unmatched_pred.length).toBe(pred.length);
          expect(new Set(m.matches.map((x) => x.pred_index)).size).toBe(m.matches.length);
          for (const x of m.matches) expect(x.iou).toBeGreaterThanOrEqual(thr);
        }
        expect(o.matches.length).toBeGreaterThanOrEqual(g.matches.length);
        expect(o.matches.length).toBe(bruteForce(truth, pred, thr));
      }),
      { numRuns: 400, seed: 7 },
    );
  });
});
