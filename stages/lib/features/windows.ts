// Window sampling shared by extract-features (which frames to decode) and every reader of window
// arrays (which frames a window covers). DESIGN §1: 16-frame windows every round(48·fps/30) frames,
// max(1, (frames-16)//stride + 1) windows.
import type { ClassLabel, VideoWindows, WindowProbs } from '../contracts.js';
import { CLASS_LABELS } from '../contracts.js';

export const WINDOW_FRAMES = 16;
export const BASE_STRIDE = 48;

/** Stride in frames at this fps, scaled from a stride given at 30 fps. */
export function strideFor(fps: number, baseStride = BASE_STRIDE): number {
  return Math.max(1, Math.round((baseStride * fps) / 30));
}

export function windowCount(totalFrames: number, stride: number): number {
  return Math.max(1, Math.floor((totalFrames - WINDOW_FRAMES) / stride) + 1);
}

/** First frame of each window. */
export function windowStarts(totalFrames: number, stride: number): number[] {
  const n = windowCount(totalFrames, stride);
  return Array.from({ length: n }, (_, i) => i * stride);
}

/**
 * The frame each window slot reads, in decode order. A video shorter than one window repeats its last
 * frame, so the single window is still 16 frames long.
 */
export function windowFrameIndices(start: number, totalFrames: number): number[] {
  const last = Math.max(0, totalFrames - 1);
  return Array.from({ length: WINDOW_FRAMES }, (_, k) => Math.min(start + k, last));
}

/** The distinct frames a whole video's windows need, ascending (windows overlap when stride < 16). */
export function neededFrames(totalFrames: number, stride: number): number[] {
  const set = new Set<number>();
  for (const s of windowStarts(totalFrames, stride)) for (const f of windowFrameIndices(s, totalFrames)) set.add(f);
  return [...set].sort((a, b) => a - b);
}

/** Builds the WINDOWS.json shape from a flat N×3 probability array (label order of CLASS_LABELS). */
export function toVideoWindows(probs: Float32Array, meta: { fps: number; stride: number; total_frames: number; base_stride?: number }): VideoWindows {
  const n = Math.floor(probs.length / CLASS_LABELS.length);
  const windows: WindowProbs[] = [];
  for (let i = 0; i < n; i++) {
    const start = i * meta.stride;
    const p = {} as Record<ClassLabel, number>;
    CLASS_LABELS.forEach((label, c) => (p[label] = probs[i * CLASS_LABELS.length + c]!));
    windows.push({ start_frame: start, end_frame: start + WINDOW_FRAMES - 1, probs: p });
  }
  return { fps: meta.fps, stride: meta.stride, base_stride: meta.base_stride ?? BASE_STRIDE, total_frames: meta.total_frames, windows };
}
