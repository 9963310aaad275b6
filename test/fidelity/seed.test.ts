// Differential tests against the seed (rally-cut analysis/ at commit 4bf9a106). The expected outputs are
// fixtures written by test/fidelity/seed_reference.py, a hand transcription of the seed's source (not of
// the issue text); each fixture file names its provenance. Our TypeScript must give the same answers.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RallySpan } from '../../stages/lib/contracts.js';
import { greedyMatch } from '../../stages/lib/metrics/matching.js';
import { videoWindows } from '../../stages/prepare/samples.js';
import { splitVideos, windowLabels } from '../../stages/temporal/data.js';
import { declareParams, seedArchitecture } from '../../stages/temporal/models.js';
import { inferenceChunks } from '../../stages/temporal/predict.js';
import { paddedFrames, runsToSegments, segmentsMs, splitOvermerged } from '../../stages/temporal/segments.js';

const FIXTURES = resolve(__dirname, '../fixtures/fidelity');

function fixture<T>(name: string): { provenance: string; cases: T[] } {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as { provenance: string; cases: T[] };
}

interface SegmentCase {
  fps: number;
  stride: number;
  rally: number[];
  prob: number[];
  seed_segments_s: Array<[number, number]>;
}

interface CutCase {
  fps: number;
  total_frames: number;
  segments_s: Array<[number, number]>;
  seed_frames: Array<[number, number]>;
}

interface SampleCase {
  fps: number;
  duration_ms: number;
  rallies: Array<[number, number]>;
  seed_ranges: { rallies: Array<{ service: [number, number] | null; play: [number, number] | null }>; gaps: Array<[number, number]> };
}

interface LabelCase {
  fps: number;
  stride: number;
  windows: number;
  rallies: Array<[number, number]>;
  seed_labels: number[];
}

interface SplitCase {
  seed: number;
  video_ids: string[];
  seed_split: { train: string[]; val: string[] };
}

interface MatchingCase {
  truth: Array<[number, number]>;
  pred: Array<[number, number]>;
  seed_pairs: Array<[number, number]>;
}

const spans = (xs: Array<[number, number]>): RallySpan[] => xs.map(([start_ms, end_ms]) => ({ start_ms, end_ms }));

describe('temporal segments = the seed (extract_segments_from_predictions + apply_anti_overmerge_segments)', () => {
  const { provenance, cases } = fixture<SegmentCase>('temporal-segments.json');
  it(`all ${cases.length} generated cases give the seed's segment times (${provenance.slice(0, 60)}…)`, () => {
    const differing: number[] = [];
    for (const [k, c] of cases.entries()) {
      const ours = splitOvermerged(runsToSegments(c.rally, c.stride, c.fps), c.prob, c.stride, c.fps).map((s) => [s.start, s.end]);
      if (JSON.stringify(ours) !== JSON.stringify(c.seed_segments_s)) differing.push(k);
    }
    expect(differing, `cases differing from the seed: ${differing.join(', ')}`).toEqual([]);
  });

  it('the fixtures exercise every rule: runs ending mid-video and at its end, natural and forced splits, skipped short pieces', () => {
    let atEnd = 0,
      natural = 0,
      forced = 0;
    for (const c of cases) {
      const step = c.stride / c.fps;
      const runs = runsToSegments(c.rally, c.stride, c.fps);
      if (runs.some((s) => s.end === c.rally.length * step)) atEnd++;
      for (const r of runs) {
        if (r.end - r.start <= 60) continue;
        const pieces = splitOvermerged([r], c.prob, c.stride, c.fps);
        if (pieces.length > 1 && pieces.some((p) => p.end - p.start > 60)) natural++;
        if (
          r.end - r.start > 90 &&
          pieces.length > 1 &&
          pieces.every((p, i) => i === pieces.length - 1 || Math.abs(p.end - p.start - Math.trunc(60 / step) * step) < 1e-9)
        )
          forced++;
      }
    }
    expect(atEnd).toBeGreaterThan(5);
    expect(natural).toBeGreaterThan(5);
    expect(forced).toBeGreaterThan(2);
  });

  it('a segment ends at the first window after its run: (i_last + 1)·stride/fps + 16/fps (1.6 s later than i_last at 30 fps)', () => {
    // windows 2–4 are rally at stride 48, 30 fps: start 3.2 s, end 5·1.6 + 16/30 = 8.533 s
    expect(segmentsMs([0, 0, 1, 1, 1, 0, 0], [0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1], 48, 30)).toEqual([{ start_ms: 3200, end_ms: 8533 }]);
    // a run reaching the last window ends at n·stride/fps
    expect(segmentsMs([0, 1, 1], [0.1, 0.9, 0.9], 48, 30)).toEqual([{ start_ms: 1600, end_ms: 4800 }]);
  });

  it('a long segment is split at a point and keeps its low windows; the low-window counter restarts after every 2', () => {
    const n = 50; // 80 s of rally windows at 1.6 s each
    const rally = new Array<number>(n).fill(1);
    const prob = new Array<number>(n).fill(0.9);
    for (const i of [20, 21, 22, 23]) prob[i] = 0.2; // 4 low windows: split points at 20 and 22
    expect(segmentsMs(rally, prob, 48, 30).map((s) => [s.start_ms, s.end_ms])).toEqual([
      [0, 32000],
      [32000, 35200],
      [35200, 80000],
    ]);
  });
});

describe('evaluate matching = the seed (ground truth ordered by start, then greedy)', () => {
  const { cases } = fixture<MatchingCase>('evaluate-matching.json');
  it(`all ${cases.length} generated cases with unsorted files give the seed's matches`, () => {
    const differing: number[] = [];
    for (const [k, c] of cases.entries()) {
      const m = greedyMatch(spans(c.truth), spans(c.pred), 0.5);
      const ours = m.matches.map((x) => [x.truth_index, x.pred_index]).sort((a, b) => a[0]! - b[0]!);
      if (JSON.stringify(ours) !== JSON.stringify(c.seed_pairs)) differing.push(k);
    }
    expect(differing, `cases differing from the seed: ${differing.join(', ')}`).toEqual([]);
  });
});

describe('v3 = the seed BiLSTM-CRF (models.py get_temporal_model("v3"))', () => {
  // Transcribed from the seed's source: get_temporal_model passes num_layers=3, hidden_dim=128, dropout=0.4 to
  // BiLSTMCRF, whose nn.LSTM(128, 128 // 2, num_layers=3, bidirectional) has, per layer l and direction,
  // weight_ih [256, 128] (layer 0: the 128-d projection; later layers: 2·64), weight_hh [256, 64] and two
  // [256] biases (ours keep their sum in one).
  const seedLstm = [0, 1, 2].flatMap((l) => ['', '_reverse'].map((dir) => ({ layer: l, dir, ih: [256, 128], hh: [256, 64] })));

  it('has 3 stacked bidirectional layers of 64 units per direction with the seed shapes', () => {
    const layout = declareParams(seedArchitecture('v3', 768, 128, 0.4)).layout();
    const shape = (name: string): readonly number[] | undefined => layout.find((e) => e.name === name)?.shape;
    const ours = [0, 1, 2].flatMap((l) =>
      ['fwd', 'bwd'].map((dir) => {
        const at = l === 0 ? `lstm.${dir}` : `lstm${l}.${dir}`;
        return { layer: l, dir: dir === 'fwd' ? '' : '_reverse', ih: shape(`${at}.wih`), hh: shape(`${at}.whh`) };
      }),
    );
    expect(ours).toEqual(seedLstm);
    expect(layout.some((e) => e.name.startsWith('lstm3'))).toBe(false);
    expect(shape('head.weight')).toEqual([2, 128]);
  });
});

describe('inference chunks = the seed (inference.py run_inference)', () => {
  // Transcribed: one pass up to 500 windows, else range(0, n, 500 - 50) with chunk end min(start + 500, n).
  const seedChunks = (n: number): Array<[number, number]> => {
    if (n <= 500) return [[0, n]];
    const out: Array<[number, number]> = [];
    for (let s = 0; s < n; s += 450) out.push([s, Math.min(s + 500, n)]);
    return out;
  };
  it('chunks 500 windows overlapping by 50, down to a last chunk inside the one before', () => {
    for (const n of [1, 499, 500, 501, 950, 951, 1000, 1351, 4000]) expect(inferenceChunks(n), `n=${n}`).toEqual(seedChunks(n));
    expect(inferenceChunks(950)).toEqual([
      [0, 500],
      [450, 950],
      [900, 950],
    ]);
  });
});

describe('cut --temporal frames = the seed (rally_segments_to_time_segments with −2 s / +3 s)', () => {
  const { cases } = fixture<CutCase>('cut-padding.json');
  it(`all ${cases.length} generated cases give the seed's padded, merged frame ranges`, () => {
    const differing: number[] = [];
    for (const [k, c] of cases.entries()) {
      const ours = paddedFrames(
        c.segments_s.map(([start, end]) => ({ start, end })),
        c.fps,
        c.total_frames,
        2,
        3,
      ).map((f) => [f.start_frame, f.end_frame]);
      if (JSON.stringify(ours) !== JSON.stringify(c.seed_frames)) differing.push(k);
    }
    expect(differing, `cases differing from the seed: ${differing.join(', ')}`).toEqual([]);
  });
});

describe('training samples = the seed (training/sampler.py)', () => {
  const { cases } = fixture<SampleCase>('training-samples.json');
  it(`all ${cases.length} generated videos: windows inside the seed's ranges, with its int() frames; none without rallies`, () => {
    let gapWindows = 0;
    for (const [k, c] of cases.entries()) {
      const frames = Math.trunc((c.duration_ms / 1000) * c.fps);
      const ours = videoWindows({ video_id: `v${k}`, fps: c.fps, frames, rallies: spans(c.rallies) }, 42);
      if (c.rallies.length === 0) {
        expect(ours, `case ${k}`).toEqual([]);
        continue;
      }
      const within = (start: number, r: [number, number]): boolean => start >= r[0] && start <= r[1];
      c.seed_ranges.rallies.forEach((r, i) => {
        const mine = ours.filter((w) => w.group === `rally${i}`);
        const service = mine.filter((w) => w.label === 'service');
        const play = mine.filter((w) => w.label === 'play');
        expect(service.length, `case ${k} rally ${i} service`).toBe(r.service ? 1 : 0);
        expect(play.length, `case ${k} rally ${i} play`).toBe(r.play ? Math.min(3, r.play[1] - r.play[0] + 1) : 0);
        for (const w of service) expect(within(w.start_frame, r.service!), `case ${k} rally ${i} service at ${w.start_frame}`).toBe(true);
        for (const w of play) expect(within(w.start_frame, r.play!), `case ${k} rally ${i} play at ${w.start_frame}`).toBe(true);
      });
      // no_play: inside the seed's gaps (ours also keeps 1 s from the rallies; docs/fidelity.md)
      for (const w of ours.filter((x) => x.label === 'no_play')) {
        expect(
          c.seed_ranges.gaps.some((g) => within(w.start_frame, g)),
          `case ${k} no_play at ${w.start_frame}`,
        ).toBe(true);
        gapWindows++;
      }
    }
    expect(gapWindows).toBeGreaterThan(100);
  });
});

describe('temporal labels and split = the seed', () => {
  it('labels windows by centre with both rally ends included (generate_sequence_labels)', () => {
    const { cases } = fixture<LabelCase>('temporal-labels.json');
    const differing = cases.flatMap((c, k) =>
      JSON.stringify(Array.from(windowLabels(c.windows, c.stride, c.fps, spans(c.rallies)))) === JSON.stringify(c.seed_labels) ? [] : [k],
    );
    expect(differing, `cases differing from the seed: ${differing.join(', ')}`).toEqual([]);
  });

  it("holds out the seed's videos: CPython's random.Random(seed).shuffle of the ids, first int(0.8·n) train", () => {
    const { cases } = fixture<SplitCase>('temporal-split.json');
    for (const [k, c] of cases.entries()) {
      const ours = splitVideos(
        [...c.video_ids].reverse().map((video_id) => ({ video_id })),
        c.seed,
      );
      expect({ train: ours.train.map((v) => v.video_id), val: ours.val.map((v) => v.video_id) }, `case ${k}`).toEqual(c.seed_split);
    }
  });
});
