// extract-features for a list of videos: cache lookup by (content_hash, decoded file's sha256, stride, model sha256), decode +
// inference for the misses, verified writes into the feature store, and the small features/index.json.
// One video's failure never costs the others: they are finished and cached, then a summary is thrown.
import { join } from 'node:path';
import { failure, stableJson, toDiagnostics, writeFileAtomic, type Progress } from '../../src/handler.js';
import type { FeatureIndex, FeatureIndexVideo } from '../lib/contracts.js';
import { featureKey, lookupVideoFeatures, writeVideoFeatures, type FeatureRecord } from '../lib/features/store.js';
import { BASE_STRIDE, strideFor, toVideoWindows, windowCount } from '../lib/features/windows.js';
import type { Classifier } from '../lib/model/session.js';
import { sha256OfFile, type VideoInput } from './inputs.js';
import { runVideo } from './pipeline.js';
import { DECODE_FEATURES } from './decode.js';
import { requireFfmpeg } from '../lib/ffmpeg-caps.js';

export interface ExtractOptions {
  cacheDir: string;
  model: Classifier;
  variant: string;
  /** Stride at 30 fps; scaled per video by its fps. */
  baseStride?: number;
  batch: number;
  force?: boolean;
  /** Also write <dir>/<video_id>.windows.json (the `rallycut segments` input). */
  windowsOut?: string;
  signal?: AbortSignal;
  log?(message: string): void;
  progress?(label: string, total: number, unit: string): Progress;
}

export type VideoOutcome =
  | { input: VideoInput; status: 'cached' | 'computed'; entry: FeatureIndexVideo }
  | { input: VideoInput; status: 'failed'; error: unknown };

export interface ExtractResult {
  index: FeatureIndex;
  outcomes: VideoOutcome[];
  /** Windows computed (not served from cache) and the seconds spent on them. */
  computedWindows: number;
  computeSeconds: number;
}

function entryFor(input: VideoInput, record: FeatureRecord): FeatureIndexVideo {
  return {
    video_id: input.video_id,
    filename: input.filename,
    content_hash: input.content_hash,
    sha256: record.source_sha256,
    fps: record.fps,
    total_frames: record.total_frames,
    stride: record.stride,
    num_windows: record.num_windows,
    key: record.key,
  };
}

export async function extractFeatures(inputs: readonly VideoInput[], opts: ExtractOptions): Promise<ExtractResult> {
  // Before any video: a build that cannot decode as planned is one clear error, not one per video.
  const caps = await requireFfmpeg('extract-features', DECODE_FEATURES, { cacheDir: opts.cacheDir, ...(opts.log ? { log: opts.log } : {}) });
  const baseStride = opts.baseStride ?? BASE_STRIDE;
  const plans = inputs.map((input) => {
    const stride = strideFor(input.fps, baseStride);
    return { input, stride, windows: windowCount(input.total_frames, stride) };
  });
  const total = plans.reduce((s, p) => s + p.windows, 0);
  const bar = opts.progress?.('extract-features', total, 'windows');
  const outcomes: VideoOutcome[] = [];
  let computedWindows = 0;
  let computeSeconds = 0;

  for (const plan of plans) {
    const { input, stride } = plan;
    try {
      // The decoded file's hash is part of the key (featureKey); prepare and `cut` know it up front.
      const sourceSha = input.sha256 ?? (await sha256OfFile(input.path));
      const key = featureKey({ content_hash: input.content_hash, decoded_sha256: sourceSha, stride, model_sha256: opts.model.sha256 });
      let record: FeatureRecord | null = null;
      let probs: Float32Array | null = null;
      if (!opts.force) {
        const found = await lookupVideoFeatures(opts.cacheDir, key);
        if (found.status === 'hit' && found.value.record.source_sha256 === sourceSha) {
          record = found.value.record;
          probs = found.value.probs;
        } else if (found.status === 'corrupt') {
          opts.log?.(`${input.filename}: cached features are corrupt (${found.reason}); recomputing`);
        } else if (found.status === 'hit') {
          opts.log?.(`${input.filename}: cached features record another decoded file than their key; recomputing`);
        }
      }
      const cached = record !== null;
      if (!record) {
        const started = performance.now();
        const out = await runVideo(input.path, input.total_frames, stride, opts.model, {
          batch: opts.batch,
          caps,
          ...(opts.signal ? { signal: opts.signal } : {}),
          onWindows: (n) => bar?.tick(n),
        });
        computeSeconds += (performance.now() - started) / 1000;
        computedWindows += out.numWindows;
        record = await writeVideoFeatures(opts.cacheDir, {
          key,
          content_hash: input.content_hash,
          source_sha256: sourceSha,
          fps: input.fps,
          total_frames: input.total_frames,
          stride,
          model: { variant: opts.variant, sha256: opts.model.sha256 },
          probs: out.probs,
          features: out.features,
        });
        probs = out.probs;
      } else {
        bar?.skip(plan.windows); // a cache hit: done, but no work (the rate counts only computed windows)
      }
      if (opts.windowsOut && probs) {
        const windows = toVideoWindows(probs, { fps: record.fps, stride: record.stride, total_frames: record.total_frames });
        await writeFileAtomic(join(opts.windowsOut, `${input.video_id}.windows.json`), stableJson(windows));
      }
      outcomes.push({ input, status: cached ? 'cached' : 'computed', entry: entryFor(input, record) });
    } catch (error) {
      if (opts.signal?.aborted) throw error;
      bar?.skip(plan.windows);
      outcomes.push({ input, status: 'failed', error });
    }
  }
  bar?.done();
  const ok = outcomes.filter((o): o is Extract<VideoOutcome, { entry: FeatureIndexVideo }> => o.status !== 'failed');
  const index: FeatureIndex = {
    version: 1,
    model: { variant: opts.variant, sha256: opts.model.sha256, feature_dim: opts.model.featureDim },
    base_stride: baseStride,
    videos: ok.map((o) => o.entry).sort((a, b) => a.video_id.localeCompare(b.video_id) || a.content_hash.localeCompare(b.content_hash)),
  };
  return { index, outcomes, computedWindows, computeSeconds };
}

/** The summary error for failed videos, one note per video. */
export function failureSummary(failed: readonly { name: string; error: unknown }[], okCount: number): Error {
  return failure(`${failed.length} video(s) failed in extract-features (${okCount} other(s) done and cached)`, {
    notes: failed.map(
      (f) =>
        `${f.name}: ${toDiagnostics(f.error)
          .map((d) => d.message)
          .join('; ')}`,
    ),
  });
}
