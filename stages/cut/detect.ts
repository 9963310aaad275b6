// Rally detection for one video file: window probabilities (through the feature cache, so a second
// `cut` of the same video skips inference) → the shared heuristics → rally spans in ms with a confidence.
// Sources above 40 fps are classified on their 30 fps proxy, as the seed does, so a window spans 16/30 s
// whatever the source's rate.
import { join } from 'node:path';
import type { RallySpan, VideoWindows } from '../lib/contracts.js';
import { detectSegments, framesToMs, isHeuristicsModel, presetFor, type HeuristicsParams } from '../lib/heuristics/index.js';
import { loadVideoFeatures } from '../lib/features/store.js';
import { locateModel } from '../lib/model/registry.js';
import { loadClassifier } from '../lib/model/session.js';
import { extractFeatures } from '../extract-features/extract.js';
import { inputsFromFiles, type VideoInput } from '../extract-features/inputs.js';
import type { Progress } from '../../src/handler.js';
import { requireFfmpeg } from '../lib/ffmpeg-caps.js';
import { ensureProxy, MAX_NATIVE_FPS, PROXY_FEATURES } from '../prepare/proxy.js';
import { predictSegments, type TemporalModel } from '../temporal/api.js';
import { paddedFrames } from '../temporal/segments.js';

export interface DetectedRally extends RallySpan {
  start_frame: number;
  end_frame: number;
  /** Mean active probability (play + service) of the windows overlapping the rally. */
  confidence: number;
}

export interface Detection {
  file: string;
  /** Of the frames classified (the proxy's for sources above 40 fps); frame numbers below count these. */
  fps: number;
  /** Of the video file itself. */
  sourceFps: number;
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

/** The file to classify: the source, or for sources above 40 fps its cached 30 fps proxy. */
async function classifiedInput(source: VideoInput, opts: DetectOptions): Promise<VideoInput> {
  if (source.fps <= MAX_NATIVE_FPS) return source;
  const { info } = await ensureProxy({
    source: source.path,
    subject: source.filename,
    content_hash: source.content_hash,
    source_sha256: source.sha256 ?? source.content_hash,
    cacheDir: opts.cacheDir,
    caps: await requireFfmpeg('cut', PROXY_FEATURES, { cacheDir: opts.cacheDir }),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { ...source, path: join(opts.cacheDir, info.proxy_path), sha256: info.proxy_sha256, fps: info.fps, total_frames: info.frames };
}

export async function detectRallies(file: string, opts: DetectOptions): Promise<Detection> {
  const { inputs, errors } = await inputsFromFiles([file], opts.root, opts.signal);
  if (errors[0]) throw errors[0].error;
  const source = inputs[0]!;
  const input = await classifiedInput(source, opts);
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
  const heuristics = opts.heuristics ?? presetFor(preset);
  let frames: { start_frame: number; end_frame: number }[];
  let suggested = 0;
  if (opts.temporal) {
    // The cutter pads temporal segments like heuristic ones (−2 s / +3 s).
    const segs = predictSegments(opts.temporal, stored, input.filename);
    frames = paddedFrames(segs, windows.fps, windows.total_frames, heuristics.padding_seconds, heuristics.padding_end_seconds);
  } else {
    const found = detectSegments(windows, heuristics);
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
  return {
    file: source.path,
    fps: windows.fps,
    sourceFps: source.fps,
    totalFrames: windows.total_frames,
    windows,
    rallies,
    suggested,
    preset,
    fromCache: outcome.status === 'cached',
  };
}
