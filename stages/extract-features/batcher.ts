// Turns decoded frames into normalised window batches: rgb24 interleaved bytes → planar float32
// [16,3,224,224] per window, (v/255 − mean)/std through a lookup table. A frame shared by overlapping
// windows (stride < 16) is copied into each. Windows are emitted in order as soon as they are complete.
import { WINDOW_FRAMES, windowFrameIndices, windowStarts } from '../lib/features/windows.js';
import { FRAME_BYTES, INPUT_SIZE } from './decode.js';

const PLANE = INPUT_SIZE * INPUT_SIZE;
export const WINDOW_FLOATS = WINDOW_FRAMES * 3 * PLANE;

export function normalisationTable(mean: readonly number[], std: readonly number[]): Float32Array {
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]!) / std[c]!;
  return lut;
}

/** Writes one rgb24 frame, normalised and planar, at `offset` (floats) in `out`. */
export function writeFrame(rgb: Uint8Array, lut: Float32Array, out: Float32Array, offset: number): void {
  for (let p = 0, i = 0; p < PLANE; p++, i += 3) {
    out[offset + p] = lut[rgb[i]!]!;
    out[offset + PLANE + p] = lut[256 + rgb[i + 1]!]!;
    out[offset + 2 * PLANE + p] = lut[512 + rgb[i + 2]!]!;
  }
}

export interface WindowSlot {
  window: number;
  slot: number;
}

/** For each source frame, the (window, slot) places it fills. */
export function frameSlots(totalFrames: number, stride: number): Map<number, WindowSlot[]> {
  const map = new Map<number, WindowSlot[]>();
  windowStarts(totalFrames, stride).forEach((start, w) => {
    windowFrameIndices(start, totalFrames).forEach((f, slot) => {
      const list = map.get(f) ?? [];
      list.push({ window: w, slot });
      map.set(f, list);
    });
  });
  return map;
}

export { FRAME_BYTES };
