// Window decisions → rally segments, as the seed's temporal inference does it (rally-cut analysis/,
// temporal/inference.py: extract_segments_from_predictions + apply_anti_overmerge_segments). Times are
// seconds computed with the seed's own float expressions, so `int()` truncations land on the same windows;
// only the final conversion to whole milliseconds is ours. docs/fidelity.md lists what differs and why.
import type { RallySpan } from '../lib/contracts.js';
import { WINDOW_FRAMES } from './data.js';

/** A segment in seconds. */
export interface TimedSegment {
  start: number;
  end: number;
}

/** Segments over this long are examined for low-probability windows. */
export const SPLIT_AFTER_S = 60;
/** Without a natural split point, segments over this long are cut every SPLIT_AFTER_S. */
export const FORCE_SPLIT_AFTER_S = SPLIT_AFTER_S * 1.5;
export const LOW_PROB = 0.4;
/** This many low windows in a row make one split point (the counter then restarts). */
export const LOW_RUN = 2;
/** A piece shorter than this (seconds) is not cut off; the split point is skipped. */
export const MIN_PIECE_S = 1;

/**
 * Runs of rally windows. A run [i0, i_last] starts at i0·stride/fps and ends at the first window after it,
 * (i_last+1)·stride/fps + 16/fps; a run reaching the last window ends at n·stride/fps.
 */
export function runsToSegments(rally: ArrayLike<number>, stride: number, fps: number): TimedSegment[] {
  const step = stride / fps;
  const out: TimedSegment[] = [];
  let start = -1;
  for (let i = 0; i < rally.length; i++) {
    if (rally[i] === 1 && start < 0) start = i;
    else if (rally[i] !== 1 && start >= 0) {
      out.push({ start: start * step, end: i * step + WINDOW_FRAMES / fps });
      start = -1;
    }
  }
  if (start >= 0) out.push({ start: start * step, end: rally.length * step });
  return out;
}

/** Split points (window indices) of one long segment: natural ones first, forced ones only without them. */
function splitPoints(seg: TimedSegment, prob: ArrayLike<number>, step: number, from: number, to: number): number[] {
  const points: number[] = [];
  let low = 0;
  for (let i = from; i < to; i++) {
    if (i < prob.length && prob[i]! < LOW_PROB) {
      low++;
      if (low >= LOW_RUN) {
        points.push(i - Math.floor(LOW_RUN / 2));
        low = 0;
      }
    } else low = 0;
  }
  if (points.length === 0 && seg.end - seg.start > FORCE_SPLIT_AFTER_S) {
    const every = Math.max(1, Math.trunc(SPLIT_AFTER_S / step));
    for (let i = from + every; i < to; i += every) points.push(i);
  }
  return [...new Set(points)].sort((a, b) => a - b);
}

/**
 * Anti-overmerge: a segment over 60 s is cut at points (the low windows stay inside the pieces); pieces
 * under 1 s are not made. Without a natural point, a segment over 90 s is cut every 60 s.
 */
export function splitOvermerged(segments: readonly TimedSegment[], prob: ArrayLike<number>, stride: number, fps: number): TimedSegment[] {
  const step = stride / fps;
  const out: TimedSegment[] = [];
  for (const seg of segments) {
    if (seg.end - seg.start <= SPLIT_AFTER_S) {
      out.push(seg);
      continue;
    }
    const from = Math.trunc(seg.start / step);
    const to = Math.min(Math.trunc(seg.end / step), prob.length);
    const points = splitPoints(seg, prob, step, from, to);
    if (points.length === 0) {
      out.push(seg);
      continue;
    }
    let pieceStart = seg.start;
    for (const p of points) {
      const at = p * step;
      if (at > pieceStart + MIN_PIECE_S) {
        out.push({ start: pieceStart, end: at });
        pieceStart = at;
      }
    }
    if (seg.end > pieceStart + MIN_PIECE_S) out.push({ start: pieceStart, end: seg.end });
  }
  return out;
}

/**
 * Temporal segments as frame ranges to cut (the seed's rally_segments_to_time_segments, with the cutter's
 * padding): pad in seconds (start floored at 0), to frames with int(), clamp both ends to the last frame,
 * keep non-empty ranges, then merge ranges that overlap or touch.
 */
export function paddedFrames(
  segs: readonly TimedSegment[],
  fps: number,
  totalFrames: number,
  padStartS: number,
  padEndS: number,
): Array<{ start_frame: number; end_frame: number }> {
  const last = totalFrames - 1;
  const frames = segs
    .map((s) => ({
      start_frame: Math.min(Math.trunc(Math.max(0, s.start - padStartS) * fps), last),
      end_frame: Math.min(Math.trunc((s.end + padEndS) * fps), last),
    }))
    .filter((f) => f.end_frame > f.start_frame)
    .sort((a, b) => a.start_frame - b.start_frame);
  const merged: Array<{ start_frame: number; end_frame: number }> = [];
  for (const f of frames) {
    const prev = merged[merged.length - 1];
    if (prev && f.start_frame <= prev.end_frame + 1) prev.end_frame = Math.max(prev.end_frame, f.end_frame);
    else merged.push({ ...f });
  }
  return merged;
}

export function toMs(seg: TimedSegment): RallySpan {
  return { start_ms: Math.round(seg.start * 1000), end_ms: Math.round(seg.end * 1000) };
}

/** The seed's rally segments of one video, in seconds. */
export function segmentsS(rally: ArrayLike<number>, prob: ArrayLike<number>, stride: number, fps: number): TimedSegment[] {
  return splitOvermerged(runsToSegments(rally, stride, fps), prob, stride, fps);
}

/** The seed's rally segments of one video, in whole milliseconds. */
export function segmentsMs(rally: ArrayLike<number>, prob: ArrayLike<number>, stride: number, fps: number): RallySpan[] {
  return segmentsS(rally, prob, stride, fps).map(toMs);
}
