// Worker thread for cross-validation folds: receives the shared videos once, then fold indices.
import { parentPort, workerData } from 'node:worker_threads';
import type { TemporalVideo } from './data.js';
import { runFold, type FoldOptions } from './folds.js';

const { videos, options } = workerData as { videos: TemporalVideo[]; options: FoldOptions };
parentPort!.on('message', (fold: number) => {
  parentPort!.postMessage(runFold(videos, fold, options));
});
