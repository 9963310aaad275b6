// Where predictions come from: a ground_truth.json-format file, the heuristics over stored window
// probabilities, or a trained temporal model over stored features.
import { join } from 'node:path';
import { failure, RallycutError, toDiagnostics, type Diagnostic, type Progress } from '../../src/handler.js';
import type { GroundTruth, RallySpan } from '../lib/contracts.js';
import { loadVideoFeatures, readFeatureIndex, type VideoFeatures } from '../lib/features/index.js';
import { detectSegments, framesToMs, type HeuristicsParams } from '../lib/heuristics/index.js';
import { readJsonFile } from '../lib/jsonio/index.js';
import { validateGroundTruth } from '../lib/metrics/index.js';
import { loadTemporalModel, predictSegmentsMs } from '../temporal/api.js';

export type PredictionSource =
  | { kind: 'file'; path: string; shown: string }
  | { kind: 'heuristics'; index: string; params: HeuristicsParams }
  | { kind: 'temporal'; index: string; modelDir: string };

export interface VideoPrediction {
  video_id: string;
  spans: RallySpan[];
  duration_ms?: number;
}

export interface Predictions {
  videos: Map<string, VideoPrediction>;
  /** Videos that could not be predicted (missing or corrupt features); the rest still get scored. */
  problems: Diagnostic[];
  /** For a trained model: the videos it trained on (from its model.json), so scores can be split. */
  trainedOn?: ReadonlySet<string>;
}

/** Heuristic segments of one video's stored window probabilities, in ms. */
export function heuristicSpans(vf: Pick<VideoFeatures, 'windows'>, params: HeuristicsParams): RallySpan[] {
  const { fps } = vf.windows;
  return detectSegments(vf.windows, params).segments.map((s) => ({ start_ms: framesToMs(s.start_frame, fps), end_ms: framesToMs(s.end_frame, fps) }));
}

export async function loadPredictions(
  source: PredictionSource,
  truth: GroundTruth,
  opts: { cacheDir: string; progress: (label: string, total: number) => Progress },
): Promise<Predictions> {
  const videos = new Map<string, VideoPrediction>();
  const problems: Diagnostic[] = [];
  if (source.kind === 'file') {
    for (const v of validateGroundTruth(await readJsonFile(source.path, source.shown), source.shown))
      videos.set(v.video_id, { video_id: v.video_id, spans: v.rallies });
    return { videos, problems };
  }
  const index = await readFeatureIndex(source.index);
  const entries = new Map(index.videos.map((e) => [e.video_id, e]));
  const model = source.kind === 'temporal' ? await loadTemporalModel(source.modelDir) : null;
  const bar = opts.progress(source.kind === 'temporal' ? 'temporal model' : 'heuristics', truth.length);
  for (const gt of truth) {
    const entry = entries.get(gt.video_id);
    try {
      if (!entry) {
        throw failure(`no features for video '${gt.video_id}' (${gt.filename}) in ${source.index}`, {
          subject: gt.video_id,
          notes: ["run 'rallycut repro extract-features' so every ground-truth video has features"],
        });
      }
      const vf = await loadVideoFeatures(opts.cacheDir, entry);
      const spans = model ? predictSegmentsMs(model, vf, gt.video_id) : heuristicSpans(vf, (source as { params: HeuristicsParams }).params);
      videos.set(gt.video_id, { video_id: gt.video_id, spans, duration_ms: framesToMs(entry.total_frames, entry.fps) });
    } catch (err) {
      if (!(err instanceof RallycutError)) throw err;
      problems.push(...toDiagnostics(err));
    }
    bar.tick();
  }
  bar.done();
  return { videos, problems, ...(model ? { trainedOn: new Set(model.meta.training.train_videos) } : {}) };
}

export function defaultPaths(root: string, dataset: string): { groundTruth: string; index: string; temporal: string } {
  return {
    groundTruth: join(root, 'training_datasets', dataset, 'ground_truth.json'),
    index: join(root, 'features', 'index.json'),
    temporal: join(root, 'weights', 'temporal'),
  };
}
