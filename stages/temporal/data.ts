// Training data for the temporal models: per-video feature rows with window-centre labels, feature
// normalisation, the 80/20 video split, 500-window chunks and the shift/crop augmentation.
import { createHash } from 'node:crypto';
import type { RallySpan } from '../lib/contracts.js';
import { PythonRandom } from '../lib/nn/python-random.js';
import type { Rng } from '../lib/nn/rng.js';

export const WINDOW_FRAMES = 16;
export const CHUNK_WINDOWS = 500;
export const CHUNK_OVERLAP = 50;

export interface TemporalVideo {
  video_id: string;
  filename: string;
  fps: number;
  stride: number;
  total_frames: number;
  /** [N, dim] row-major: classifier features, or the 3 class probabilities when the model exports none. */
  x: Float32Array;
  dim: number;
  /** 1 where the window centre lies inside a ground-truth rally. */
  labels: Uint8Array;
  rallies: RallySpan[];
  /** Identifies the feature arrays (the feature store key), for the training-data hash. */
  source: string;
}

/** A window is "rally" when its centre frame (start + 8) falls inside a labelled rally, both ends included
 * (the seed's generate_sequence_labels, centre mode). */
export function windowLabels(numWindows: number, stride: number, fps: number, rallies: readonly RallySpan[]): Uint8Array {
  const labels = new Uint8Array(numWindows);
  for (let i = 0; i < numWindows; i++) {
    const ms = ((i * stride + WINDOW_FRAMES / 2) / fps) * 1000;
    labels[i] = rallies.some((r) => ms >= r.start_ms && ms <= r.end_ms) ? 1 : 0;
  }
  return labels;
}

export interface Normalisation {
  mean: Float32Array;
  std: Float32Array;
}

/** Per-dimension mean and standard deviation over every window of the given videos (float64 sums). */
export function fitNormalisation(videos: readonly TemporalVideo[]): Normalisation {
  const dim = videos[0]?.dim ?? 0;
  const sum = new Float64Array(dim),
    sq = new Float64Array(dim);
  let n = 0;
  for (const v of videos) {
    const rows = v.x.length / dim;
    for (let t = 0; t < rows; t++)
      for (let d = 0; d < dim; d++) {
        const val = v.x[t * dim + d]!;
        sum[d]! += val;
        sq[d]! += val * val;
      }
    n += rows;
  }
  const mean = new Float32Array(dim),
    std = new Float32Array(dim);
  for (let d = 0; d < dim; d++) {
    const m = n ? sum[d]! / n : 0;
    mean[d] = m;
    std[d] = Math.max(1e-6, Math.sqrt(Math.max(0, (n ? sq[d]! / n : 0) - m * m)));
  }
  return { mean, std };
}

export function normalise(x: Float32Array, norm: Normalisation): Float32Array {
  const dim = norm.mean.length;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! - norm.mean[i % dim]!) / norm.std[i % dim]!;
  return out;
}

/**
 * The seed's video_level_split: videos by id (the seed loads them ORDER BY id), shuffled by Python's
 * random.Random(seed), the first int(0.8·n) for training and the rest for validation, so a dataset is split
 * as the seed splits it. A single video is trained on (the seed would train on none).
 */
export function splitVideos<T extends { video_id: string }>(videos: readonly T[], seed: number, trainFraction = 0.8): { train: T[]; val: T[] } {
  const sorted = [...videos].sort((a, b) => (a.video_id < b.video_id ? -1 : a.video_id > b.video_id ? 1 : 0));
  if (sorted.length < 2) return { train: sorted, val: [] };
  const shuffled = new PythonRandom(seed).shuffle(sorted);
  const cut = Math.trunc(shuffled.length * trainFraction);
  return { train: shuffled.slice(0, cut), val: shuffled.slice(cut) };
}

/** [start, end) window ranges of 500 with 50 overlapping; the last chunk ends at the video's end. */
export function chunkRanges(n: number, size = CHUNK_WINDOWS, overlap = CHUNK_OVERLAP): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = 0; ; s += size - overlap) {
    const e = Math.min(n, s + size);
    out.push([s, e]);
    if (e >= n) break;
  }
  return out;
}

/** With p=.5 shift the range by ±1–2 windows; with p=.5 crop it to a random 80–100% span. */
export function augmentRange(range: [number, number], n: number, rng: Rng): [number, number] {
  let [s, e] = range;
  if (rng.next() < 0.5) {
    const k = [-2, -1, 1, 2][rng.int(4)]!;
    const ns = Math.max(0, Math.min(n - 1, s + k)),
      ne = Math.max(ns + 1, Math.min(n, e + k));
    s = ns;
    e = ne;
  }
  if (rng.next() < 0.5) {
    const len = e - s;
    const keep = Math.max(1, Math.floor(len * (0.8 + 0.2 * rng.next())));
    const off = rng.int(len - keep + 1);
    s += off;
    e = s + keep;
  }
  return [s, e];
}

/** #neg / #pos over the training windows (1 when one class is absent). */
export function positiveWeight(videos: readonly TemporalVideo[]): number {
  let pos = 0,
    all = 0;
  for (const v of videos) {
    for (const l of v.labels) pos += l;
    all += v.labels.length;
  }
  return pos > 0 && pos < all ? (all - pos) / pos : 1;
}

/** A hash of what the model was trained on: feature sources, labels and dimensions, in video-id order. */
export function trainingDataHash(videos: readonly TemporalVideo[]): string {
  const h = createHash('sha256');
  for (const v of [...videos].sort((a, b) => (a.video_id < b.video_id ? -1 : 1))) {
    h.update(JSON.stringify([v.video_id, v.source, v.dim, v.fps, v.stride, v.rallies.map((r) => [r.start_ms, r.end_ms])]));
    h.update(Buffer.from(v.x.buffer, v.x.byteOffset, v.x.byteLength));
  }
  return h.digest('hex');
}

export interface WindowCounts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export function countWindows(pred: ArrayLike<number>, labels: ArrayLike<number>, acc: WindowCounts = { tp: 0, fp: 0, fn: 0, tn: 0 }): WindowCounts {
  for (let i = 0; i < labels.length; i++) {
    const p = pred[i]! > 0,
      y = labels[i]! > 0;
    if (p && y) acc.tp++;
    else if (p) acc.fp++;
    else if (y) acc.fn++;
    else acc.tn++;
  }
  return acc;
}

export function windowF1(c: WindowCounts): { precision: number; recall: number; f1: number } {
  const precision = c.tp + c.fp ? c.tp / (c.tp + c.fp) : 0;
  const recall = c.tp + c.fn ? c.tp / (c.tp + c.fn) : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}
