// Training samples for the VideoMAE fine-tune, by the seed's rules (DESIGN §1; rally-cut training/sampler.py).
// Every sample is a 16-frame window of a proxy, at the proxy's frame rate, with times turned into frames by
// int(ms / 1000 · fps) as the seed does; videos without rallies give none:
// - per rally of at least 32 frames: one `service` window inside its first int(1.5·fps) frames, and three
//   `play` windows inside [start + int(0.5·fps) + int(1.0·fps), end − int(0.5·fps)];
// - per stretch without play longer than 2 s + 16 frames: up to three `no_play` windows, kept 1 s away from
//   the rallies on either side. The stretches are the gaps between rallies plus the footage before the first
//   and after the last rally.
// Windows of one rally or gap go to the same side of the seeded 90/10 split, so that near-identical
// neighbouring windows never sit on both sides of it.
import { createHash } from 'node:crypto';
import type { ClassLabel, RallySpan } from '../lib/contracts.js';
import { Rng } from '../lib/nn/rng.js';

export const WINDOW = 16;
export const MIN_RALLY_FRAMES = 32;
export const SERVICE_SECONDS = 1.5;
export const PLAY_END_MARGIN_SECONDS = 0.5;
/** Play windows start this long after the first PLAY_END_MARGIN_SECONDS of a rally (seed: 0.5 s + 1.0 s, each int()ed). */
export const PLAY_AFTER_MARGIN_SECONDS = 1.0;
export const GAP_MARGIN_SECONDS = 1;
export const PLAY_PER_RALLY = 3;
export const NO_PLAY_PER_GAP = 3;
export const VAL_FRACTION = 0.1;

export interface SampleVideo {
  video_id: string;
  fps: number;
  frames: number;
  rallies: readonly RallySpan[];
}

export interface Sample {
  video_id: string;
  label: ClassLabel;
  start_frame: number;
  end_frame: number; // start_frame + 15
  /** The rally or gap the window comes from, e.g. "rally3" or "gap0"; the unit of the split. */
  group: string;
  split: 'train' | 'val';
}

/** Up to `count` window starts in [lo, hi] (inclusive), one per equal stratum so they spread out. */
function spreadStarts(rng: Rng, lo: number, hi: number, count: number): number[] {
  if (hi < lo) return [];
  const n = Math.min(count, hi - lo + 1);
  const width = (hi - lo + 1) / n;
  const starts: number[] = [];
  for (let k = 0; k < n; k++) {
    const a = lo + Math.ceil(k * width);
    const b = Math.max(a, lo + Math.ceil((k + 1) * width) - 1);
    starts.push(a + rng.int(b - a + 1));
  }
  return starts;
}

/** A seed for one video that does not depend on the other videos in the dataset. */
function videoSeed(seed: number, videoId: string): number {
  return createHash('sha256').update(`${seed}|${videoId}`).digest().readUInt32LE(0);
}

type Unsplit = Omit<Sample, 'split'>;

export function videoWindows(v: SampleVideo, seed: number): Unsplit[] {
  if (v.rallies.length === 0) return []; // the seed skips videos without ground truth
  const rng = new Rng(videoSeed(seed, v.video_id));
  const fps = v.fps;
  const last = v.frames - 1;
  const toFrame = (ms: number): number => Math.trunc((ms / 1000) * fps);
  const secondsToFrames = (sec: number): number => Math.trunc(sec * fps);
  const out: Unsplit[] = [];
  const push = (label: ClassLabel, group: string, start: number): void => {
    out.push({ video_id: v.video_id, label, start_frame: start, end_frame: start + WINDOW - 1, group });
  };
  const rallies = [...v.rallies].sort((a, b) => a.start_ms - b.start_ms);
  // Frame spans, with the end exclusive and clamped to the video.
  const spans = rallies.map((r) => ({ start: Math.max(0, toFrame(r.start_ms)), end: Math.min(last + 1, toFrame(r.end_ms)) }));

  spans.forEach((s, i) => {
    if (s.end - s.start < MIN_RALLY_FRAMES) return;
    // The seed draws a start in [lo, hi] only when hi > lo.
    const serviceHi = Math.min(s.end, s.start + secondsToFrames(SERVICE_SECONDS)) - WINDOW;
    if (serviceHi > s.start) for (const st of spreadStarts(rng, s.start, serviceHi, 1)) push('service', `rally${i}`, st);
    const playLo = s.start + secondsToFrames(PLAY_END_MARGIN_SECONDS) + secondsToFrames(PLAY_AFTER_MARGIN_SECONDS);
    const playHi = s.end - secondsToFrames(PLAY_END_MARGIN_SECONDS) - WINDOW;
    if (playHi > playLo) for (const st of spreadStarts(rng, playLo, playHi, PLAY_PER_RALLY)) push('play', `rally${i}`, st);
  });

  const margin = secondsToFrames(GAP_MARGIN_SECONDS);
  const minGap = secondsToFrames(2) + WINDOW;
  const bounds = [0, ...spans.flatMap((s) => [s.start, s.end]), last + 1];
  for (let g = 0; g + 1 < bounds.length; g += 2) {
    const from = bounds[g]!;
    const to = bounds[g + 1]!;
    if (to - from <= minGap) continue;
    // The video's own edges need no margin: no rally is there to blur into.
    const lo = g === 0 ? from : from + margin;
    const hi = (g + 1 === bounds.length - 1 ? to : to - margin) - WINDOW;
    for (const st of spreadStarts(rng, lo, hi, NO_PLAY_PER_GAP)) push('no_play', `gap${g / 2}`, st);
  }
  return out.sort((a, b) => a.start_frame - b.start_frame || a.label.localeCompare(b.label));
}

/** All samples, with the rally/gap groups shuffled by `seed` and the first 10% (at least one) as val. */
export function buildSamples(videos: readonly SampleVideo[], seed: number): Sample[] {
  const sorted = [...videos].sort((a, b) => (a.video_id < b.video_id ? -1 : a.video_id > b.video_id ? 1 : 0));
  const windows = sorted.flatMap((v) => videoWindows(v, seed));
  const groups = [...new Set(windows.map((w) => `${w.video_id}/${w.group}`))].sort();
  new Rng(seed).shuffle(groups);
  const valCount = groups.length < 2 ? 0 : Math.max(1, Math.round(groups.length * VAL_FRACTION));
  const val = new Set(groups.slice(0, valCount));
  return windows.map((w) => ({ ...w, split: val.has(`${w.video_id}/${w.group}`) ? 'val' : 'train' }));
}

export type SampleCounts = Record<'train' | 'val', Record<ClassLabel, number>>;

export function countSamples(samples: readonly Sample[]): SampleCounts {
  const counts: SampleCounts = { train: { no_play: 0, play: 0, service: 0 }, val: { no_play: 0, play: 0, service: 0 } };
  for (const s of samples) counts[s.split][s.label]++;
  return counts;
}
