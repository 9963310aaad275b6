import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VideoWindows, WindowProbs } from '../contracts.js';
import { bridgeGaps, continueRallies, detectSegments, extendBoundaries, judgeSegment, NO_PLAY, padAndMerge, PLAY, SERVICE, type Runs } from './detect.js';
import { presetFor, type HeuristicsParams } from './params.js';
import { framesToMs } from './time.js';

const indoor = presetFor('indoor');
const P = { no_play: 0.1, play: 0.8, service: 0.1 };
const _S = { no_play: 0.1, play: 0.2, service: 0.7 };
const N = { no_play: 0.9, play: 0.05, service: 0.05 };
/** A no_play window whose active probability (play + service) is `a`. */
const weakN = (a: number): WindowProbs['probs'] => ({ no_play: 1 - a, play: a, service: 0 });

function video(probs: WindowProbs['probs'][], opts: { fps?: number; stride?: number; total?: number } = {}): VideoWindows {
  const fps = opts.fps ?? 30;
  const stride = opts.stride ?? 48;
  const windows = probs.map((p, i) => ({ start_frame: i * stride, end_frame: i * stride + 15, probs: p }));
  return { fps, stride, base_stride: 48, total_frames: opts.total ?? probs.length * stride + 1000, windows };
}

const states = (...s: number[]): Uint8Array => Uint8Array.from(s);
const noContinuation: HeuristicsParams = { ...indoor, rally_continuation_seconds: 0 };
const noPadding: HeuristicsParams = { ...indoor, padding_seconds: 0, padding_end_seconds: 0 };

describe('step 1: boundary extension', () => {
  const probs = (a: number) => Float64Array.of(0.8, a, 0.8);
  it('turns a no_play window between two active ones into play when its active probability is above 0.25', () => {
    expect([...extendBoundaries(states(PLAY, NO_PLAY, SERVICE), probs(0.3), 0.35)]).toEqual([PLAY, PLAY, SERVICE]);
    expect([...extendBoundaries(states(PLAY, NO_PLAY, PLAY), probs(0.25), 0.35)]).toEqual([PLAY, NO_PLAY, PLAY]);
  });
  it('needs the boundary threshold when only one neighbour is active (first and last windows have one neighbour)', () => {
    const a = Float64Array.of(0.3, 0.8, 0.36);
    expect([...extendBoundaries(states(NO_PLAY, PLAY, NO_PLAY), a, 0.35)]).toEqual([NO_PLAY, PLAY, PLAY]);
    expect([...extendBoundaries(states(NO_PLAY, PLAY, NO_PLAY), a, 0.4)]).toEqual([NO_PLAY, PLAY, NO_PLAY]);
  });
  it('judges neighbours on the original states, so extension does not chain', () => {
    const a = Float64Array.of(0.9, 0.9, 0.9, 0.8);
    expect([...extendBoundaries(states(NO_PLAY, NO_PLAY, NO_PLAY, PLAY), a, 0.35)]).toEqual([NO_PLAY, NO_PLAY, PLAY, PLAY]);
  });
  it('does nothing with fewer than 3 windows', () => {
    expect([...extendBoundaries(states(NO_PLAY, PLAY), Float64Array.of(0.9, 0.9), 0.35)]).toEqual([NO_PLAY, PLAY]);
  });
});

describe('step 2: rally continuation', () => {
  // stride 16: window k spans 16k..16k+15; at 30 fps indoor the limit is int(2.0·30) = 60 frames
  const cols = (n: number) => ({ starts: Float64Array.from({ length: n }, (_, k) => 16 * k), ends: Float64Array.from({ length: n }, (_, k) => 16 * k + 15) });
  it('fills no_play windows between active ones while the streak stays under the limit', () => {
    const s = states(PLAY, NO_PLAY, NO_PLAY, NO_PLAY, PLAY); // streak 16..63: 47 frames < 60
    const { starts, ends } = cols(5);
    continueRallies(s, starts, ends, 2.0, 30);
    expect([...s]).toEqual([PLAY, PLAY, PLAY, PLAY, PLAY]);
  });
  it('ends the rally and drops the pending windows once end − streak start reaches the limit', () => {
    const s = states(PLAY, NO_PLAY, NO_PLAY, NO_PLAY, NO_PLAY, PLAY); // 4th no_play: 79 − 16 = 63 ≥ 60
    const { starts, ends } = cols(6);
    continueRallies(s, starts, ends, 2.0, 30);
    expect([...s]).toEqual([PLAY, NO_PLAY, NO_PLAY, NO_PLAY, NO_PLAY, PLAY]);
  });
  it('never fills no_play windows before the first active window, and is off at 0 seconds', () => {
    const s = states(NO_PLAY, NO_PLAY, PLAY, NO_PLAY, PLAY);
    const { starts, ends } = cols(5);
    continueRallies(s, starts, ends, 0, 30);
    expect([...s]).toEqual([NO_PLAY, NO_PLAY, PLAY, NO_PLAY, PLAY]);
    continueRallies(s, starts, ends, 2.0, 30);
    expect([...s]).toEqual([NO_PLAY, NO_PLAY, PLAY, PLAY, PLAY]);
  });
  it('truncates the limit at 59.94 fps: int(2.0·59.94) = 119 frames', () => {
    // no_play streak from frame 16; window k ends at 16k+15 → 16k − 1 ≥ 119 first at k = 8
    const under = states(PLAY, ...Array<number>(7).fill(NO_PLAY), PLAY); // last no_play k=7: 111 < 119
    continueRallies(under, cols(9).starts, cols(9).ends, 2.0, 59.94);
    expect([...under].every((v) => v === PLAY)).toBe(true);
    const at = states(PLAY, ...Array<number>(8).fill(NO_PLAY), PLAY); // k=8: 127 ≥ 119
    continueRallies(at, cols(10).starts, cols(10).ends, 2.0, 59.94);
    expect(at.filter((v) => v === NO_PLAY).length).toBe(8);
    // at 60 fps the same sequence would also end (limit 120), but 119.88 must not round up to 120:
    const edge = states(PLAY, NO_PLAY, PLAY);
    continueRallies(edge, Float64Array.of(0, 10, 200), Float64Array.of(5, 129, 210), 2.0, 59.94); // 129 − 10 = 119
    expect([...edge]).toEqual([PLAY, NO_PLAY, PLAY]);
  });
});

describe('step 4: gap bridging (30 fps indoor: gap 150, bridge 30, inner 45 frames)', () => {
  const runs = (...spec: [number, number, number][]): Runs => ({
    starts: spec.map((r) => r[0]),
    ends: spec.map((r) => r[1]),
    states: spec.map((r) => r[2]),
  });
  it('merges consecutive active runs (play and service) into one segment', () => {
    expect(bridgeGaps(runs([0, 99, SERVICE], [100, 199, PLAY]), 30, 5)).toEqual([{ start_frame: 0, end_frame: 199 }]);
  });
  it('bridges a short no_play run when the following active run is at least 1 s long', () => {
    expect(bridgeGaps(runs([0, 99, PLAY], [100, 248, NO_PLAY], [249, 278, PLAY]), 30, 5)).toEqual([{ start_frame: 0, end_frame: 278 }]);
  });
  it('does not bridge a no_play run of min_gap or more', () => {
    expect(bridgeGaps(runs([0, 99, PLAY], [100, 249, NO_PLAY], [250, 299, PLAY]), 30, 5)).toEqual([
      { start_frame: 0, end_frame: 99 },
      { start_frame: 250, end_frame: 299 },
    ]);
  });
  it('bridges through short active runs when their look-ahead sum reaches 1 s', () => {
    const r = runs([0, 99, PLAY], [100, 139, NO_PLAY], [140, 155, PLAY], [156, 175, NO_PLAY], [176, 191, SERVICE], [192, 500, NO_PLAY]);
    expect(bridgeGaps(r, 30, 5)).toEqual([{ start_frame: 0, end_frame: 191 }]); // 16 + 16 = 32 ≥ 30
  });
  it('stops the look-ahead at a no_play run of 1.5 s or more, and ends the segment when the sum stays short', () => {
    const r = runs([0, 99, PLAY], [100, 139, NO_PLAY], [140, 155, PLAY], [156, 201, NO_PLAY], [202, 217, PLAY]);
    // 16 frames after the first gap, then a 46-frame no_play run (≥ 45) stops the sum: no bridge anywhere
    expect(bridgeGaps(r, 30, 5)).toEqual([
      { start_frame: 0, end_frame: 99 },
      { start_frame: 140, end_frame: 155 },
      { start_frame: 202, end_frame: 217 },
    ]);
  });
  it('looks ahead over runs j+2 … j+9 only', () => {
    // after the first short gap (run j): tiny active runs at j+1, j+3, …, separated by 4-frame no_play runs
    const chain = (sizes: number[]): Runs => {
      const spec: [number, number, number][] = [
        [0, 99, PLAY],
        [100, 109, NO_PLAY],
      ];
      let f = 110;
      for (const [k, size] of sizes.entries()) {
        if (k > 0) spec.push([f, f + 3, NO_PLAY]), (f += 4);
        spec.push([f, f + size - 1, PLAY]);
        f += size;
      }
      return runs(...spec);
    };
    // j+1 … j+9 hold 5 active runs of 6 frames: 30 ≥ 30 → merged through the run at j+9
    const within = chain([6, 6, 6, 6, 6]);
    expect(bridgeGaps(within, 30, 5)[0]).toEqual({ start_frame: 0, end_frame: within.ends[10]! });
    // 5 frames each: 25 within reach; the 6th run (j+11) is out of reach, so the first segment ends at run 0
    const beyond = chain([5, 5, 5, 5, 5, 5]);
    expect(bridgeGaps(beyond, 30, 5)[0]).toEqual({ start_frame: 0, end_frame: 99 });
  });
});

describe('step 5: filters on the original windows', () => {
  it('rejects segments without active windows as INSUFFICIENT_WINDOWS (mean confidence 0, so never suggested)', () => {
    expect(judgeSegment({ start_frame: 0, end_frame: 100 }, 0, 0, indoor, 30, 48).reason).toBe('INSUFFICIENT_WINDOWS');
  });
  it('rejects short multi-window segments as TOO_SHORT and suggests them when mean confidence ≥ 0.3', () => {
    // stride 8: two overlapping play windows → segment 0..23, 24 frames < 30
    const r = detectSegments(video([P, P], { stride: 8 }), indoor);
    expect(r.segments).toEqual([]);
    expect(r.suggested).toEqual([{ start_frame: 0, end_frame: 23, reason: 'TOO_SHORT', mean_confidence: 0.8 }]);
  });
  it('keeps a single confident window regardless of length', () => {
    const r = detectSegments(video([N, N, P, N, N]), noPadding);
    expect(r.segments).toEqual([{ start_frame: 96, end_frame: 111 }]);
  });
  it('drops a rejected segment silently when its mean confidence is below 0.3', () => {
    const weak = { no_play: 0.28, play: 0.29, service: 0.28 };
    const r = detectSegments(video([weak, weak], { stride: 8 }), indoor);
    expect(r).toEqual({ segments: [], suggested: [] });
  });
  it('rejects sparse segments as SPARSE_DENSITY (count / max(1, length/48))', () => {
    // P N N N P P at stride 48, no continuation: the 112-frame gap is bridged → 0..271 (272 frames), 3 active windows
    const v = video([P, N, N, N, P, P]);
    const keep = detectSegments(v, noContinuation);
    expect(keep.segments).toEqual([{ start_frame: 0, end_frame: 255 + 90 }]);
    const sparse = detectSegments(v, { ...noContinuation, min_active_density: 0.6 }); // 3 / 5.67 = 0.53
    expect(sparse.segments).toEqual([]);
    expect(sparse.suggested).toEqual([{ start_frame: 0, end_frame: 255, reason: 'SPARSE_DENSITY', mean_confidence: expect.closeTo(0.8, 12) }]);
  });
  it('averages only originally active windows: extended windows add neither count nor confidence', () => {
    // stride 4: P(0.9) weakN(0.3) P(0.7) → one 24-frame segment; the middle window was extended, not original
    const r = detectSegments(
      video([{ ...P, no_play: 0.05, play: 0.9, service: 0.05 }, weakN(0.3), { no_play: 0.2, play: 0.7, service: 0.1 }], { stride: 4 }),
      indoor,
    );
    expect(r.suggested).toHaveLength(1);
    expect(r.suggested[0]!.reason).toBe('TOO_SHORT');
    expect(r.suggested[0]!.mean_confidence).toBeCloseTo(0.8, 12);
  });
});

describe('step 6: padding, clamping and merging', () => {
  it('pads by int(2·fps) before and int(3·fps) after, floored at 0 and clamped to the last frame', () => {
    expect(padAndMerge([{ start_frame: 10, end_frame: 40 }], indoor, 30, 1000)).toEqual([{ start_frame: 0, end_frame: 130 }]);
    expect(padAndMerge([{ start_frame: 500, end_frame: 990 }], indoor, 30, 1000)).toEqual([{ start_frame: 440, end_frame: 999 }]);
    expect(padAndMerge([{ start_frame: 500, end_frame: 600 }], indoor, 59.94, 10_000)).toEqual([{ start_frame: 381, end_frame: 779 }]);
  });
  it('drops a segment that starts at or past the last frame', () => {
    expect(padAndMerge([{ start_frame: 2000, end_frame: 2015 }], noPadding, 30, 1000)).toEqual([]);
  });
  it('merges segments that overlap or touch (start ≤ previous end + 1), not ones with a gap', () => {
    const segs = [
      { start_frame: 30, end_frame: 40 },
      { start_frame: 0, end_frame: 10 },
      { start_frame: 11, end_frame: 20 },
    ];
    expect(padAndMerge(segs, noPadding, 30, 1000)).toEqual([
      { start_frame: 0, end_frame: 20 },
      { start_frame: 30, end_frame: 40 },
    ]);
    expect(
      padAndMerge(
        [
          { start_frame: 0, end_frame: 100 },
          { start_frame: 200, end_frame: 300 },
        ],
        indoor,
        30,
        1000,
      ),
    ).toEqual([{ start_frame: 0, end_frame: 390 }]);
  });
});

describe('60 fps quirks', () => {
  it('truncates min_play_duration to int(59.94) = 59 frames', () => {
    // two overlapping windows: start 0, ends 58 / 57 → lengths 59 (kept) and 58 (TOO_SHORT)
    const make = (end: number): VideoWindows => ({
      fps: 59.94,
      stride: 96,
      base_stride: 48,
      total_frames: 10_000,
      windows: [
        { start_frame: 0, end_frame: 15, probs: P },
        { start_frame: 10, end_frame: end, probs: P },
      ],
    });
    expect(detectSegments(make(58), noPadding).segments).toEqual([{ start_frame: 0, end_frame: 58 }]);
    expect(detectSegments(make(57), noPadding).suggested[0]?.reason).toBe('TOO_SHORT');
  });
  it('divides by the base stride 48 in the density rule even when windows are 96 frames apart', () => {
    // P N P P P at stride 96, no continuation: one segment 0..399 (400 frames) with 4 active windows
    const v = video([P, N, P, P, P], { fps: 59.94, stride: 96 });
    expect(detectSegments(v, noContinuation).segments).toHaveLength(1);
    // 4 / (400/48) = 0.48 < 0.5 → sparse, although 4 / (400/96) = 0.96 would pass
    const strict = detectSegments(v, { ...noContinuation, min_active_density: 0.5 });
    expect(strict.segments).toEqual([]);
    expect(strict.suggested).toEqual([{ start_frame: 0, end_frame: 399, reason: 'SPARSE_DENSITY', mean_confidence: 0.8 }]);
  });
  it('reports times as round(frame·1000/fps)', () => {
    expect(framesToMs(420, 59.94)).toBe(7007);
    expect(framesToMs(0, 59.94)).toBe(0);
    expect(framesToMs(45, 30)).toBe(1500);
  });
});

describe('properties', () => {
  it('segments are sorted, non-overlapping and within [0, total_frames − 1]', () => {
    const probs = fc.tuple(fc.float({ min: 0, max: 1, noNaN: true }), fc.float({ min: 0, max: 1, noNaN: true }), fc.float({ min: 0, max: 1, noNaN: true }));
    fc.assert(
      fc.property(
        fc.array(probs, { maxLength: 120 }),
        fc.constantFrom(24, 30, 59.94, 60),
        fc.integer({ min: 4, max: 100 }),
        fc.integer({ min: 1, max: 8000 }),
        fc.constantFrom<'indoor' | 'beach'>('indoor', 'beach'),
        (ps, fps, stride, total, model) => {
          const v: VideoWindows = {
            fps,
            stride,
            base_stride: 48,
            total_frames: total,
            windows: ps.map(([a, b, c], i) => ({ start_frame: i * stride, end_frame: i * stride + 15, probs: { no_play: a, play: b, service: c } })),
          };
          const { segments, suggested } = detectSegments(v, presetFor(model));
          let prevEnd = -2;
          for (const s of segments) {
            expect(s.start_frame).toBeGreaterThan(prevEnd + 1);
            expect(s.start_frame).toBeGreaterThanOrEqual(0);
            expect(s.end_frame).toBeGreaterThan(s.start_frame);
            expect(s.end_frame).toBeLessThanOrEqual(total - 1);
            prevEnd = s.end_frame;
          }
          for (const s of suggested) expect(s.mean_confidence).toBeGreaterThanOrEqual(0.3);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});
