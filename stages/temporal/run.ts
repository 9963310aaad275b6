// `temporal` end to end: load features + ground truth, train (and optionally cross-validate), write the
// checkpoint to weights/temporal/ and the metrics to metrics/temporal.json. Shared by the pipeline
// handler and `rallycut train temporal`.
import { dirname } from 'node:path';
import { promises as fs } from 'node:fs';
import { failure, stableJson, writeFileAtomic, type Progress } from '../../src/handler.js';
import { poolScores, scoreVideo, type ScoreSet, type VideoScores } from '../lib/metrics/index.js';
import { saveCheckpoint } from './checkpoint.js';
import { countWindows, splitVideos, trainingDataHash, windowF1, type TemporalVideo } from './data.js';
import { loadDataset } from './dataset.js';
import { runFolds, type FoldResult } from './folds.js';
import { MODEL_NAMES, seedArchitecture, type ModelVersion } from './models.js';
import { predictWindows } from './predict.js';
import { segmentsMs } from './segments.js';
import { trainModel, type EpochMetrics } from './train.js';

export interface TemporalOptions {
  version: ModelVersion;
  epochs: number;
  lr: number;
  weightDecay: number;
  patience: number;
  hiddenDim: number;
  dropout: number;
  seed: number;
  cv: 'none' | 'loo';
  featuresPath: string;
  groundTruthPath: string;
  outDir: string;
  metricsPath: string;
  /** IoU for the segment scores reported alongside window F1. */
  iou: number;
}

export interface RunEnv {
  cacheDir: string;
  jobs: number;
  log(line: string): void;
  progress(label: string, total: number, unit?: string): Progress;
}

export interface CvReport {
  folds: Array<Omit<FoldResult, 'predicted'> & { segment_f1: number }>;
  pooled: { windows: { precision: number; recall: number; f1: number }; segments: ScoreSet };
}

export interface TemporalReport {
  model: ModelVersion;
  name: string;
  feature_source: 'features' | 'probs';
  feature_dim: number;
  videos: { train: string[]; val: string[] };
  best_epoch: number;
  epochs: EpochMetrics[];
  validation: { windows: { precision: number; recall: number; f1: number }; segments: ScoreSet } | null;
  cv: CvReport | null;
  checkpoint: string;
}

const fmt = (n: number): string => n.toFixed(3);

function scoreSegments(videos: readonly TemporalVideo[], predict: (v: TemporalVideo) => ReturnType<typeof segmentsMs>, iou: number): VideoScores[] {
  return videos.map((v) => scoreVideo(v.rallies, predict(v), { iou }));
}

export async function runTemporal(env: RunEnv, o: TemporalOptions): Promise<TemporalReport> {
  const index = JSON.parse(await fs.readFile(o.featuresPath, 'utf8').catch(() => '{"videos":[]}')) as { videos?: unknown[] };
  const loading = env.progress('load features', Array.isArray(index.videos) ? index.videos.length : 0, 'videos');
  const data = await loadDataset(o.featuresPath, o.groundTruthPath, env.cacheDir, () => loading.tick());
  loading.done();
  if (data.skipped.length) env.log(`${data.skipped.length} video(s) in the feature index have no ground truth and are skipped: ${data.skipped.join(', ')}`);
  if (data.source === 'probs') env.log('the classifier exports no features: training on the 3 window probabilities (D=3)');
  const videos = data.videos;
  if (videos.length === 0) {
    throw failure(`no trainable videos: ${o.featuresPath} and ${o.groundTruthPath} share no video_id with loadable features`, {
      file: o.featuresPath,
      notes: data.problems,
    });
  }
  const arch = seedArchitecture(o.version, videos[0]!.dim, o.hiddenDim, o.dropout);
  const base = { arch, epochs: o.epochs, lr: o.lr, weightDecay: o.weightDecay, patience: o.patience, clip: 1, seed: o.seed };

  let cv: CvReport | null = null;
  if (o.cv === 'loo') {
    if (videos.length < 3) throw failure(`--cv loo needs at least 3 videos, found ${videos.length}`);
    const bar = env.progress(`cv ${o.version} (leave one video out)`, videos.length, 'folds');
    const folds = await runFolds(videos, base, env.jobs, (r) => {
      bar.tick();
      env.log(`fold ${r.fold + 1}/${videos.length} ${r.video_id}: window F1 ${fmt(r.windows.f1)} (best epoch ${r.best_epoch})`);
    });
    bar.done();
    const perVideo = folds.map((f) => scoreVideo(videos[f.fold]!.rallies, f.predicted, { iou: o.iou }));
    const counts = { tp: 0, fp: 0, fn: 0, tn: 0 };
    for (const f of folds) for (const k of ['tp', 'fp', 'fn', 'tn'] as const) counts[k] += f.windows[k];
    cv = {
      folds: folds.map(({ predicted: _p, ...f }, i) => ({ ...f, segment_f1: perVideo[i]!.greedy.f1 })),
      pooled: { windows: windowF1(counts), segments: poolScores(perVideo) },
    };
  }

  const { train, val } = splitVideos(videos, o.seed);
  const bar = env.progress(`train ${o.version} ${MODEL_NAMES[o.version]}`, o.epochs, 'epochs');
  const result = trainModel(train, val, {
    ...base,
    onEpoch: (m) => {
      bar.tick();
      env.log(`epoch ${m.epoch}/${o.epochs} loss ${m.train_loss.toFixed(4)} val F1 ${fmt(m.val_f1)}`);
    },
  });
  bar.done(`best epoch ${result.bestEpoch}, val window F1 ${fmt(result.bestValF1)}`);

  let validation: TemporalReport['validation'] = null;
  if (val.length) {
    const counts = { tp: 0, fp: 0, fn: 0, tn: 0 };
    const perVideo = scoreSegments(
      val,
      (v) => {
        const p = predictWindows(result, v.x);
        countWindows(p.rally, v.labels, counts);
        return segmentsMs(p.rally, p.prob, v.stride, v.fps);
      },
      o.iou,
    );
    validation = { windows: windowF1(counts), segments: poolScores(perVideo) };
  }

  const hyperparameters = {
    model: o.version,
    epochs: o.epochs,
    lr: o.lr,
    weight_decay: o.weightDecay,
    patience: o.patience,
    hidden_dim: o.hiddenDim,
    dropout: o.dropout,
    seed: o.seed,
    grad_clip: 1,
    chunk_windows: 500,
    chunk_overlap: 50,
  };
  await saveCheckpoint(o.outDir, result, {
    featureSource: data.source,
    hyperparameters,
    base_stride: data.index.base_stride,
    window_frames: 16,
    training: {
      data_sha256: trainingDataHash(videos),
      train_videos: train.map((v) => v.video_id),
      val_videos: val.map((v) => v.video_id),
      pos_weight: result.posWeight,
      best_epoch: result.bestEpoch,
      best_val_f1: result.bestValF1,
      epochs_run: result.metrics.length,
    },
    metrics: result.metrics,
  });

  const report: TemporalReport = {
    model: o.version,
    name: MODEL_NAMES[o.version],
    feature_source: data.source,
    feature_dim: arch.featureDim,
    videos: { train: train.map((v) => v.video_id), val: val.map((v) => v.video_id) },
    best_epoch: result.bestEpoch,
    epochs: result.metrics,
    validation,
    cv,
    checkpoint: o.outDir,
  };
  await fs.mkdir(dirname(o.metricsPath), { recursive: true });
  await writeFileAtomic(o.metricsPath, stableJson({ ...report, checkpoint: undefined, hyperparameters }));
  if (data.problems.length) {
    throw failure(`${data.problems.length} video(s) could not be loaded; the model was trained on the other ${videos.length}`, { notes: data.problems });
  }
  return report;
}
