// Window probabilities → rally segments: the seed's heuristics, step by step as DESIGN §1 "Heuristics" states
// them, quirks included (int() truncation of frame limits, base stride 48 in the density rule, the *original*
// window states in the filters). Works on typed arrays so 100k windows take a few milliseconds.
import type { FrameSegment, RejectionReason, SuggestedSegment, VideoWindows } from '../contracts.js';
import type { HeuristicsParams } from './params.js';

export const NO_PLAY = 0;
export const PLAY = 1;
export const SERVICE = 2;

/** Base stride (at 30 fps) the density rule divides by when the input does not say otherwise. */
export const DEFAULT_BASE_STRIDE = 48;

export interface DetectResult {
  segments: FrameSegment[];
  suggested: SuggestedSegment[];
}

/** Per-window columns: original argmax state, its confidence, and the active probability (play + service). */
export interface WindowColumns {
  starts: Float64Array;
  ends: Float64Array;
  states: Uint8Array;
  confidences: Float64Array;
  activeProbs: Float64Array;
}

export function toColumns(input: VideoWindows): WindowColumns {
  const n = input.windows.length;
  const cols: WindowColumns = {
    starts: new Float64Array(n),
    ends: new Float64Array(n),
    states: new Uint8Array(n),
    confidences: new Float64Array(n),
    activeProbs: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const w = input.windows[i]!;
    const { no_play: pn, play: pp, service: ps } = w.probs;
    // argmax in label order: ties go to the earlier label, as numpy's argmax does
    let state = NO_PLAY;
    let best = pn;
    if (pp > best) (state = PLAY), (best = pp);
    if (ps > best) (state = SERVICE), (best = ps);
    cols.starts[i] = w.start_frame;
    cols.ends[i] = w.end_frame;
    cols.states[i] = state;
    cols.confidences[i] = best;
    cols.activeProbs[i] = pp + ps;
  }
  return cols;
}

/** Step 1: a no_play window next to active ones becomes play when its active probability is high enough. */
export function extendBoundaries(original: Uint8Array, activeProbs: Float64Array, boundaryThreshold: number): Uint8Array {
  const n = original.length;
  const states = original.slice();
  if (n < 3) return states;
  for (let i = 0; i < n; i++) {
    if (original[i] !== NO_PLAY) continue;
    const prevActive = i > 0 && original[i - 1] !== NO_PLAY;
    const nextActive = i < n - 1 && original[i + 1] !== NO_PLAY;
    const a = activeProbs[i]!;
    const extend = prevActive && nextActive ? a > 0.25 : (prevActive || nextActive) && a > boundaryThreshold;
    if (extend) states[i] = PLAY;
  }
  return states;
}

/** Step 2 (in place): no_play windows inside a rally turn to play unless the no_play streak reaches the limit. */
export function continueRallies(states: Uint8Array, starts: Float64Array, ends: Float64Array, continuationSeconds: number, fps: number): void {
  if (continuationSeconds <= 0) return;
  const limit = Math.trunc(continuationSeconds * fps);
  let inRally = false;
  let streakStart: number | null = null;
  let pendingFrom = -1; // pending windows are always the contiguous index range [pendingFrom, i)
  for (let i = 0; i < states.length; i++) {
    if (states[i] !== NO_PLAY) {
      if (inRally && pendingFrom >= 0) states.fill(PLAY, pendingFrom, i);
      inRally = true;
      streakStart = null;
      pendingFrom = -1;
    } else if (inRally) {
      if (streakStart === null) streakStart = starts[i]!;
      if (ends[i]! - streakStart >= limit) {
        inRally = false;
        streakStart = null;
        pendingFrom = -1;
      } else if (pendingFrom < 0) {
        pendingFrom = i;
      }
    }
  }
}

export interface Runs {
  starts: number[];
  ends: number[];
  states: number[];
}

/** Step 3: consecutive windows with the same state; a run spans first start → last end. */
export function toRuns(states: Uint8Array, starts: Float64Array, ends: Float64Array): Runs {
  const runs: Runs = { starts: [], ends: [], states: [] };
  for (let i = 0; i < states.length; i++) {
    const last = runs.states.length - 1;
    if (last >= 0 && runs.states[last] === states[i]) runs.ends[last] = ends[i]!;
    else {
      runs.starts.push(starts[i]!);
      runs.ends.push(ends[i]!);
      runs.states.push(states[i]!);
    }
  }
  return runs;
}

/** Step 4: active runs extended through following active runs and short no_play gaps. */
export function bridgeGaps(runs: Runs, fps: number, minGapSeconds: number): FrameSegment[] {
  const gap = Math.trunc(minGapSeconds * fps);
  const bridge = Math.trunc(1.0 * fps);
  const inner = Math.trunc(1.5 * fps);
  const count = runs.states.length;
  const len = (k: number): number => runs.ends[k]! - runs.starts[k]! + 1;
  const active = (k: number): boolean => runs.states[k] !== NO_PLAY;
  const out: FrameSegment[] = [];
  let i = 0;
  while (i < count) {
    if (!active(i)) {
      i++;
      continue;
    }
    let mergedEnd = runs.ends[i]!;
    let j = i + 1;
    while (j < count) {
      if (active(j)) {
        mergedEnd = runs.ends[j]!;
        j++;
        continue;
      }
      if (len(j) < gap && j + 1 < count && active(j + 1)) {
        if (len(j + 1) >= bridge) {
          mergedEnd = runs.ends[j + 1]!;
          j += 2;
          continue;
        }
        // A short active run: accumulate nearby active runs, stopping at a long no_play run.
        let accumulated = len(j + 1);
        let lastActive = j + 1;
        for (let k = j + 2; k < Math.min(j + 10, count); k++) {
          if (active(k)) {
            accumulated += len(k);
            lastActive = k;
          } else if (len(k) >= gap || len(k) >= inner) {
            break;
          }
        }
        if (accumulated >= bridge) {
          mergedEnd = runs.ends[lastActive]!;
          j = lastActive + 1;
          continue;
        }
      }
      break;
    }
    out.push({ start_frame: runs.starts[i]!, end_frame: mergedEnd });
    i = j;
  }
  return out;
}

export interface FilterVerdict {
  reason: RejectionReason | null;
  activeCount: number;
  meanConfidence: number;
}

/** Step 5 for one segment, given the count and mean confidence of the original active windows overlapping it. */
export function judgeSegment(
  seg: FrameSegment,
  activeCount: number,
  meanConfidence: number,
  params: HeuristicsParams,
  fps: number,
  baseStride: number,
): FilterVerdict {
  const length = seg.end_frame - seg.start_frame + 1;
  let reason: RejectionReason | null = null;
  if (activeCount < 1) reason = 'INSUFFICIENT_WINDOWS';
  else if (activeCount > 1 && length < Math.trunc(params.min_play_duration * fps)) reason = 'TOO_SHORT';
  else if (activeCount > 1 && activeCount / Math.max(1, length / baseStride) < params.min_active_density) reason = 'SPARSE_DENSITY';
  return { reason, activeCount, meanConfidence };
}

/** Original active windows overlapping [s, e] (w.end ≥ s and w.start ≤ e): count and mean confidence. */
function activeOverlap(cols: WindowColumns, endsSorted: boolean, s: number, e: number): { count: number; mean: number } {
  const { starts, ends, states, confidences } = cols;
  const hi = upperBound(starts, e) - 1; // last window starting at or before e
  const lo = endsSorted ? lowerBound(ends, s) : 0;
  let count = 0;
  let total = 0;
  for (let k = lo; k <= hi; k++) {
    if (states[k] === NO_PLAY || ends[k]! < s) continue;
    count++;
    total += confidences[k]!;
  }
  return { count, mean: count > 0 ? total / count : 0 };
}

/** First index whose value is ≥ x (values non-decreasing). */
function lowerBound(values: Float64Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > x (values non-decreasing). */
function upperBound(values: Float64Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Step 6: pad, clamp to the last frame, drop empty, sort and merge touching segments. */
export function padAndMerge(kept: readonly FrameSegment[], params: HeuristicsParams, fps: number, totalFrames: number): FrameSegment[] {
  const padStart = Math.trunc(params.padding_seconds * fps);
  const padEnd = Math.trunc(params.padding_end_seconds * fps);
  const last = totalFrames - 1;
  const padded: FrameSegment[] = [];
  for (const seg of kept) {
    const start = Math.min(Math.max(0, seg.start_frame - padStart), last);
    const end = Math.min(seg.end_frame + padEnd, last);
    if (start >= end) continue;
    padded.push({ start_frame: start, end_frame: end });
  }
  padded.sort((a, b) => a.start_frame - b.start_frame); // stable, like Python's sorted
  const merged: FrameSegment[] = [];
  for (const seg of padded) {
    const prev = merged[merged.length - 1];
    if (prev && seg.start_frame <= prev.end_frame + 1) prev.end_frame = Math.max(prev.end_frame, seg.end_frame);
    else merged.push({ ...seg });
  }
  return merged;
}

function isNonDecreasing(values: Float64Array): boolean {
  for (let i = 1; i < values.length; i++) if (values[i]! < values[i - 1]!) return false;
  return true;
}

/**
 * The whole window→segment algorithm. Expects windows in start order (validateWindows checks it).
 * `segments` are padded, merged frame ranges; `suggested` are rejected, unpadded ranges with their reason.
 */
export function detectSegments(input: VideoWindows, params: HeuristicsParams): DetectResult {
  if (input.windows.length === 0) return { segments: [], suggested: [] };
  const { fps } = input;
  const baseStride = input.base_stride > 0 ? input.base_stride : DEFAULT_BASE_STRIDE;
  const cols = toColumns(input);
  const states = extendBoundaries(cols.states, cols.activeProbs, params.boundary_confidence_threshold);
  continueRallies(states, cols.starts, cols.ends, params.rally_continuation_seconds, fps);
  const candidates = bridgeGaps(toRuns(states, cols.starts, cols.ends), fps, params.min_gap_seconds);

  const endsSorted = isNonDecreasing(cols.ends);
  const kept: FrameSegment[] = [];
  const suggested: SuggestedSegment[] = [];
  for (const seg of candidates) {
    const { count, mean } = activeOverlap(cols, endsSorted, seg.start_frame, seg.end_frame);
    const verdict = judgeSegment(seg, count, mean, params, fps, baseStride);
    if (verdict.reason === null) kept.push(seg);
    else if (mean >= params.min_suggestion_confidence) suggested.push({ ...seg, reason: verdict.reason, mean_confidence: mean });
  }
  return { segments: padAndMerge(kept, params, fps, input.total_frames), suggested };
}
