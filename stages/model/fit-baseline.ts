// Re-fitting the baseline's linear layer on freshly generated demo clips: render demo videos, run the
// baseline graph with an identity last layer to get raw features, label each window from the ground truth
// (service: centre in a rally's first 1.5 s; play: elsewhere in a rally; else no_play), fit, calibrate the
// no_play bias for the heuristics, and report accuracy and rally F1 on held-out clips (the last of each profile). The printed constants are pasted into stages/lib/model/baseline.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RallySpan } from '../lib/contracts.js';
import { generateDemo, isUpToDate } from '../demo/generate.js';
import type { VideoProfile } from '../demo/plan.js';
import { BASELINE_FEATURE_DIM, type BaselineFit } from '../lib/model/baseline.js';
import { writeBaseline } from '../lib/model/build.js';
import { fitSoftmax, predictSoftmax, probsSoftmax } from '../lib/model/fit.js';
import { detectSegments, framesToMs, presetFor } from '../lib/heuristics/index.js';
import { greedyMatch } from '../lib/metrics/matching.js';
import { locateModel } from '../lib/model/registry.js';
import { loadClassifier } from '../lib/model/session.js';
import { strideFor, toVideoWindows, windowStarts } from '../lib/features/windows.js';
import { probeVideo } from '../lib/media/probe.js';
import { runVideo } from '../extract-features/pipeline.js';

/** What the classifier sees: 30 fps only (prepare's 480p proxies; `cut` classifies sources above 40 fps on their 30 fps proxy). */
export const FIT_PROFILES: readonly VideoProfile[] = [
  { width: 854, height: 480, fps: 30, ext: 'mp4', rotate: false, vfr: false },
  { width: 480, height: 270, fps: 30, ext: 'mp4', rotate: false, vfr: false },
  { width: 640, height: 360, fps: 30, ext: 'mp4', rotate: false, vfr: false },
];

export function windowLabel(centreMs: number, rallies: readonly RallySpan[]): number {
  for (const r of rallies) {
    if (centreMs >= r.start_ms && centreMs <= r.end_ms) return centreMs < r.start_ms + 1500 ? 2 : 1;
  }
  return 0;
}

export interface FitReport {
  fit: BaselineFit;
  noPlayOffset: number;
  /** Rally F1 at IoU 0.5 after the heuristics, mean of the indoor and beach presets. */
  segmentF1: { train: number; holdout: number };
  train: { windows: number; accuracy: number };
  holdout: { windows: number; accuracy: number; activeRecall: number; activePrecision: number };
}

interface ClipMeta {
  video: number;
  fps: number;
  stride: number;
  totalFrames: number;
  rallies: RallySpan[];
}

function withOffset(fit: BaselineFit, offset: number): BaselineFit {
  return { ...fit, bias: fit.bias.map((b, k) => (k === 0 ? Number((b + offset).toPrecision(6)) : b)) };
}

/** Pooled rally F1 (greedy IoU ≥ 0.5) over clips, averaged over the indoor and beach presets. */
function segmentF1(fit: BaselineFit, rows: readonly { x: number[]; video: number }[], clips: readonly ClipMeta[]): number {
  let sum = 0;
  for (const preset of ['indoor', 'beach']) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const c of clips) {
      const probs = probsSoftmax(
        fit,
        rows.filter((r) => r.video === c.video).map((r) => r.x),
      );
      const windows = toVideoWindows(probs, { fps: c.fps, stride: c.stride, total_frames: c.totalFrames });
      const segs = detectSegments(windows, presetFor(preset)).segments.map((s) => ({
        start_ms: framesToMs(s.start_frame, c.fps),
        end_ms: framesToMs(s.end_frame, c.fps),
      }));
      const m = greedyMatch(c.rallies, segs, 0.5);
      tp += m.matches.length;
      fn += m.unmatched_truth.length;
      fp += m.unmatched_pred.length;
    }
    sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return sum / 2;
}

const IDENTITY: BaselineFit = {
  mean: new Array<number>(BASELINE_FEATURE_DIM).fill(0),
  std: new Array<number>(BASELINE_FEATURE_DIM).fill(1),
  weights: Array.from({ length: BASELINE_FEATURE_DIM }, () => [0, 0, 0]),
  bias: [0, 0, 0],
};

export async function fitBaseline(opts: {
  seed: number;
  videos: number;
  seconds: number;
  jobs: number;
  clipsDir?: string;
  log(m: string): void;
}): Promise<FitReport> {
  const dir = await mkdtemp(join(tmpdir(), 'rallycut-fit-'));
  try {
    // Rendering dominates the time: --clips keeps the clips in a folder and reuses them while the config matches.
    const clips = opts.clipsDir ?? dir;
    const config = {
      seed: opts.seed,
      videos: opts.videos,
      minSeconds: opts.seconds * 0.8,
      maxSeconds: opts.seconds * 1.2,
      timeScale: 1,
      gapScale: 0.6,
      profiles: FIT_PROFILES,
    };
    let demo = await isUpToDate(clips, config);
    if (!demo) {
      opts.log(`rendering ${opts.videos} demo clips of ~${opts.seconds}s (seed ${opts.seed})`);
      demo = await generateDemo({ dir: clips, config, jobs: opts.jobs });
    }
    await writeBaseline(join(dir, 'raw'), IDENTITY);
    const model = await loadClassifier(locateModel(dir, './raw'));
    const rows: { x: number[]; y: number; video: number }[] = [];
    const clipsMeta: ClipMeta[] = [];
    try {
      for (const [vi, v] of demo.videos.entries()) {
        const file = join(clips, v.path);
        const probed = await probeVideo(file, { countFrames: true });
        const probe = { fps: probed.avg_fps || probed.fps, totalFrames: probed.frames };
        const stride = strideFor(probe.fps);
        const out = await runVideo(file, probe.totalFrames, stride, model, { batch: 8 });
        const D = BASELINE_FEATURE_DIM;
        windowStarts(probe.totalFrames, stride).forEach((start, i) => {
          const centreMs = ((start + 8) / probe.fps) * 1000;
          rows.push({ x: Array.from(out.features!.subarray(i * D, (i + 1) * D)), y: windowLabel(centreMs, v.rallies), video: vi });
        });
        clipsMeta.push({ video: vi, fps: probe.fps, stride, totalFrames: probe.totalFrames, rallies: v.rallies });
        opts.log(`${v.filename}: ${out.numWindows} windows`);
      }
    } finally {
      await model.release();
    }
    // The last round of profiles is held out: one clip of each kind, never seen in fitting.
    const firstHeld = Math.max(1, demo.videos.length - FIT_PROFILES.length);
    const train = rows.filter((r) => r.video < firstHeld);
    const hold = rows.filter((r) => r.video >= firstHeld);
    const fitted = fitSoftmax(
      train.map((r) => r.x),
      train.map((r) => r.y),
    );
    // Calibrate for the heuristics: a single gap window mistaken for play bridges two rallies, so pick the
    // no_play logit offset that maximises segment F1 (IoU 0.5, mean of both presets) on the training clips.
    const trainClips = clipsMeta.filter((c) => c.video < firstHeld);
    const heldClips = clipsMeta.filter((c) => c.video >= firstHeld);
    let best = { offset: 0, f1: -1 };
    for (let offset = 0; offset <= 6; offset += 0.5) {
      const f1 = segmentF1(withOffset(fitted, offset), rows, trainClips);
      if (f1 > best.f1 + 1e-9) best = { offset, f1 };
    }
    const fit = withOffset(fitted, best.offset);
    opts.log(`no_play offset ${best.offset}: training segment F1 ${best.f1.toFixed(3)}, held-out ${segmentF1(fit, rows, heldClips).toFixed(3)}`);
    const acc = (set: typeof rows): number => {
      const p = predictSoftmax(
        fit,
        set.map((r) => r.x),
      );
      return set.length ? p.filter((c, i) => c === set[i]!.y).length / set.length : 0;
    };
    const hp = predictSoftmax(
      fit,
      hold.map((r) => r.x),
    );
    const tp = hp.filter((c, i) => c > 0 && hold[i]!.y > 0).length;
    return {
      fit,
      noPlayOffset: best.offset,
      segmentF1: { train: best.f1, holdout: segmentF1(fit, rows, heldClips) },
      train: { windows: train.length, accuracy: acc(train) },
      holdout: {
        windows: hold.length,
        accuracy: acc(hold),
        activeRecall: tp / Math.max(1, hold.filter((r) => r.y > 0).length),
        activePrecision: tp / Math.max(1, hp.filter((c) => c > 0).length),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
