// Leave-one-video-out cross-validation. Each fold trains on the other videos (with the usual inner
// 80/20 split for early stopping) and scores the held-out one. Folds run on worker threads; results
// are stored by fold index, so the report does not depend on which worker finished first.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { installedPath, runningFromSource } from '../../src/handler.js';
import type { RallySpan } from '../lib/contracts.js';
import { countWindows, splitVideos, windowF1, type TemporalVideo, type WindowCounts } from './data.js';
import { predictWindows } from './predict.js';
import { segmentsMs } from './segments.js';
import { trainModel, type TrainOptions } from './train.js';

export type FoldOptions = Omit<TrainOptions, 'onEpoch'>;

export interface FoldResult {
  fold: number;
  video_id: string;
  windows: WindowCounts & { f1: number };
  best_epoch: number;
  epochs_run: number;
  predicted: RallySpan[];
}

export function runFold(videos: readonly TemporalVideo[], fold: number, o: FoldOptions): FoldResult {
  const held = videos[fold]!;
  const rest = videos.filter((_, i) => i !== fold);
  const { train, val } = splitVideos(rest, o.seed);
  const r = trainModel(train, val, o);
  const pred = predictWindows(r, held.x);
  const counts = countWindows(pred.rally, held.labels);
  return {
    fold,
    video_id: held.video_id,
    windows: { ...counts, f1: windowF1(counts).f1 },
    best_epoch: r.bestEpoch,
    epochs_run: r.metrics.length,
    predicted: segmentsMs(pred.rally, pred.prob, held.stride, held.fps),
  };
}

/** Copies feature rows into shared memory so every worker reads the same bytes without a copy. */
function shareVideos(videos: readonly TemporalVideo[]): TemporalVideo[] {
  return videos.map((v) => {
    const x = new Float32Array(new SharedArrayBuffer(v.x.byteLength));
    x.set(v.x);
    return { ...v, x };
  });
}

/**
 * The worker: the compiled fold-worker.js next to this file, or (source checkout: tests,
 * RALLYCUT_FROM_SOURCE) a bootstrap that registers tsx's loader inside the worker, then imports the .ts.
 */
function startWorker(workerData: unknown): Worker {
  // Compiled code (dist/stages/temporal/ or the bundle in dist/cli/) runs the compiled worker module.
  if (!runningFromSource()) return new Worker(installedPath('dist', 'stages', 'temporal', 'fold-worker.js'), { workerData });
  const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const ts = new URL('./fold-worker.ts', import.meta.url).href;
  const boot = `(async () => { const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(ts)}); })().catch((e) => { throw e; });`;
  return new Worker(boot, { eval: true, workerData });
}

export async function runFolds(videos: readonly TemporalVideo[], o: FoldOptions, jobs: number, onFold?: (r: FoldResult) => void): Promise<FoldResult[]> {
  const results: FoldResult[] = new Array(videos.length);
  const workers = Math.max(1, Math.min(jobs, videos.length));
  if (workers === 1) {
    for (let f = 0; f < videos.length; f++) {
      results[f] = runFold(videos, f, o);
      onFold?.(results[f]!);
    }
    return results;
  }
  const shared = shareVideos(videos);
  let next = 0;
  const pool = Array.from({ length: workers }, () => startWorker({ videos: shared, options: o }));
  try {
    await Promise.all(
      pool.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const dispatch = (): void => {
              if (next >= videos.length) {
                resolve();
                return;
              }
              w.postMessage(next++);
            };
            w.on('message', (r: FoldResult) => {
              results[r.fold] = r;
              onFold?.(r);
              dispatch();
            });
            w.on('error', reject);
            w.on('exit', (code) => (code !== 0 ? reject(new Error(`fold worker exited with code ${code}`)) : undefined));
            dispatch();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return results;
}
