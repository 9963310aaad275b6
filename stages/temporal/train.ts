// The training loop of DESIGN §1: AdamW + cosine schedule, one video per optimiser step (its chunks'
// gradients summed), gradient clip 1.0, shift/crop augmentation, early stopping on validation window F1,
// best epoch kept. Every random choice comes from streams forked off one seed, so runs replay exactly.
import { crfNll } from '../lib/nn/crf.js';
import { bceWithLogits } from '../lib/nn/ops.js';
import { AdamW, clipGradNorm, cosineLr } from '../lib/nn/optim.js';
import { Rng } from '../lib/nn/rng.js';
import { Tape, Tensor } from '../lib/nn/tensor.js';
import {
  augmentRange,
  chunkRanges,
  countWindows,
  fitNormalisation,
  normalise,
  positiveWeight,
  windowF1,
  type Normalisation,
  type TemporalVideo,
} from './data.js';
import { crfParams, declareParams, forward, type Architecture } from './models.js';
import { decode, rawOutput, type ModelCore } from './predict.js';

export interface TrainOptions {
  arch: Architecture;
  epochs: number;
  lr: number;
  weightDecay: number;
  patience: number;
  clip: number;
  seed: number;
  /** Called after each epoch (progress bars). */
  onEpoch?(m: EpochMetrics): void;
}

export interface EpochMetrics {
  epoch: number;
  train_loss: number;
  val_f1: number;
  lr: number;
}

export interface TrainResult extends ModelCore {
  metrics: EpochMetrics[];
  bestEpoch: number;
  bestValF1: number;
  posWeight: number;
}

interface Prepared {
  video: TemporalVideo;
  x: Float32Array;
}

/** Window F1 pooled over videos (v1 at its current threshold, v2/v3 by Viterbi). */
export function pooledWindowF1(model: ModelCore, videos: readonly Prepared[]): number {
  const counts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const v of videos) countWindows(decode(model, rawOutput(model, v.x)).rally, v.video.labels, counts);
  return windowF1(counts).f1;
}

/** v1's learned threshold: the value on a 0.05 grid with the best window F1 on the training videos. */
function fitThreshold(model: ModelCore, videos: readonly Prepared[]): number {
  const probs = videos.map((v) => decodeProbs(model, v.x));
  let best = 0.5,
    bestF1 = -1;
  for (let k = 1; k <= 19; k++) {
    const th = k / 20;
    const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
    videos.forEach((v, i) =>
      countWindows(
        Array.from(probs[i]!, (p) => (p >= th ? 1 : 0)),
        v.video.labels,
        c,
      ),
    );
    const f1 = windowF1(c).f1;
    if (f1 > bestF1 + 1e-12 || (Math.abs(f1 - bestF1) <= 1e-12 && Math.abs(th - 0.5) < Math.abs(best - 0.5))) {
      best = th;
      bestF1 = f1;
    }
  }
  return best;
}

function decodeProbs(model: ModelCore, x: Float32Array): Float32Array {
  return decode(model, rawOutput(model, x)).prob;
}

export function trainModel(train: readonly TemporalVideo[], val: readonly TemporalVideo[], o: TrainOptions): TrainResult {
  const arch = o.arch;
  const norm: Normalisation = fitNormalisation(train);
  const prep = (v: TemporalVideo): Prepared => ({ video: v, x: normalise(v.x, norm) });
  const trainSet = train.map(prep);
  const valSet = val.length ? val.map(prep) : trainSet;
  const root = new Rng(o.seed);
  const params = declareParams(arch).build(root.fork(1));
  const augRng = root.fork(2),
    dropRng = root.fork(3),
    orderRng = root.fork(4);
  const model: ModelCore = { arch, params, norm };
  const opt = new AdamW(params, o.weightDecay);
  const posWeight = positiveWeight(train);
  const totalSteps = o.epochs * trainSet.length;
  const metrics: EpochMetrics[] = [];
  let step = 0,
    best = -1,
    bestEpoch = 0,
    since = 0;
  let bestValues = params.values.slice();
  const D = arch.featureDim;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const order = orderRng.shuffle(trainSet.map((_, i) => i));
    let lossSum = 0;
    const lr = cosineLr(o.lr, step, totalSteps);
    for (const vi of order) {
      const { video, x } = trainSet[vi]!;
      const n = video.labels.length;
      const ranges = chunkRanges(n);
      params.zeroGrad();
      for (const range of ranges) {
        const [s, e] = augmentRange(range, n, augRng);
        const tape = new Tape();
        const out = forward(arch, params, tape, new Tensor(x.subarray(s * D, e * D), [e - s, D]), true, dropRng);
        const labels = video.labels.subarray(s, e);
        lossSum +=
          arch.version === 'v1'
            ? bceWithLogits(out, labels, posWeight, 1 / ranges.length) / ranges.length
            : crfNll(out, crfParams(params), labels, 1 / ((e - s) * ranges.length));
        tape.backward();
      }
      clipGradNorm(params, o.clip);
      opt.update(cosineLr(o.lr, step, totalSteps));
      step++;
    }
    const f1 = pooledWindowF1(model, valSet);
    const m: EpochMetrics = { epoch, train_loss: lossSum / Math.max(1, trainSet.length), val_f1: f1, lr };
    metrics.push(m);
    o.onEpoch?.(m);
    if (f1 > best + 1e-9) {
      best = f1;
      bestEpoch = epoch;
      bestValues = params.values.slice();
      since = 0;
    } else if (++since >= o.patience) break;
  }
  params.values.set(bestValues);
  if (arch.version === 'v1') params.get('threshold').data[0] = fitThreshold(model, trainSet);
  return { ...model, metrics, bestEpoch, bestValF1: best, posWeight };
}
