// Rally detection for one video file: window probabilities (through the feature cache, so a second
// `cut` of the same video skips inference) → the shared heuristics → rally spans in ms with a confidence.
import type { RallySpan, VideoWindows } from '../lib/contracts.js';
import { detectSegments, framesToMs, isHeuristicsModel, presetFor, type HeuristicsParams } from '../lib/heuristics/index.js';
import { loadVideoFeatures } from '../lib/features/store.js';
import { locateModel } from '../lib/model/registry.js';
import { loadClassifier } from '../lib/model/session.js';
import { extractFeatures } from '../extract-features/extract.js';
import { inputsFromFiles } from '../extract-features/inputs.js';
import type { Progress } from '../../src/handler.js';
import { predictSegmentsMs, type TemporalModel } from '../temporal/api.js';

export interface DetectedRally extends RallySpan {
  start_frame: number;
  end_frame: number;
  /** Mean active probability (play + service) of the windows overlapping the rally. */
  confidence: number;
}

export interface Detection {
  file: string;
  fps: number;
  totalFrames: number;
  windows: VideoWindows;
  rallies: DetectedRally[];
  suggested: number;
  preset: string;
  fromCache: boolean;
}

export interface DetectOptions {
  root: string;
  cacheDir: string;
  model: string;
  weightsDir: string;
  baseStride: number;
  batch: number;
  heuristics?: HeuristicsParams;
  /** A trained temporal model (weights/temporal): replaces the heuristics when given. */
  temporal?: TemporalModel;
  signal?: AbortSignal;
  progress?(label: string, total: number, unit: string): Progress;
}

export function rallyConfidence(windows: VideoWindows, start: number, end: number): number {
  const overlapping = windows.windows.filter((w) => w.end_frame >= start && w.start_frame <= end);
  if (!overlapping.length) return 0;
  return overlapping.reduce((s, w) => s + w.probs.play + w.probs.service, 0) / overlapping.length;
}

export async function detectRallies(file: string, opts: DetectOptions): Promise<Detection> {
  const { inputs, errors } = await inputsFromFiles([file], opts.root, opts.signal);
  if (errors[0]) throw errors[0].error;
  const input = inputs[0]!;
  const location = locateModel(opts.root, opts.model, opts.weightsDir);
  const classifier = await loadClassifier(location);
  let result;
  try {
    result = await extractFeatures([input], {
      cacheDir: opts.cacheDir,
      model: classifier,
      variant: location.variant,
      baseStride: opts.baseStride,
      batch: opts.batch,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.progress ? { progress: opts.progress } : {}),
    });
  } finally {
    await classifier.release();
  }
  const outcome = result.outcomes[0]!;
  if (outcome.status === 'failed') throw outcome.error;
  const stored = await loadVideoFeatures(opts.cacheDir, outcome.entry);
  const { windows } = stored;
  const preset = isHeuristicsModel(location.variant) ? location.variant : 'indoor';
  let frames: { start_frame: number; end_frame: number }[];
  let suggested = 0;
  if (opts.temporal) {
    const last = Math.max(0, windows.total_frames - 1);
    frames = predictSegmentsMs(opts.temporal, stored, input.filename).map((r) => ({
      start_frame: Math.min(last, Math.round((r.start_ms * windows.fps) / 1000)),
      end_frame: Math.min(last, Math.round((r.end_ms * windows.fps) / 1000)),
    }));
  } else {
    const found = detectSegments(windows, opts.heuristics ?? presetFor(preset));
    frames = found.segments;
    suggested = found.suggested.length;
  }
  const rallies = frames.map((s) => ({
    start_ms: framesToMs(s.start_frame, windows.fps),
    end_ms: framesToMs(s.end_frame, windows.fps),
    start_frame: s.start_frame,
    end_frame: s.end_frame,
    confidence: rallyConfidence(windows, s.start_frame, s.end_frame),
  }));
  return { file: input.path, fps: windows.fps, totalFrames: windows.total_frames, windows, rallies, suggested, preset, fromCache: outcome.status === 'cached' };
}
