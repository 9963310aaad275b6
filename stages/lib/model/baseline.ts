// The baseline classifier: a small, hand-designed motion model with the VideoMAE contract
// (pixel_values [B,16,3,224,224] → logits [B,3], features [B,D]). It is NOT VideoMAE; it exists so a
// fresh clone can run the whole pipeline without downloadable weights.
//
// Graph: undo the ImageNet normalisation into luma and average 8×8 blocks in one strided Conv (28×28 grid
// per frame) → frame differences → remove each difference's spatial mean (cancels lighting drift and
// flashes from the motion measure, and keeps them as their own features) → temporal statistics →
// standardised features → linear layer to 3 logits. The standardisation and linear coefficients were
// fitted on demo windows with `rallycut model fit-baseline` and are baked in below, so builds are
// byte-identical.
import { GraphBuilder } from './onnx-graph.js';
import { IMAGENET_MEAN, IMAGENET_STD } from './registry.js';

export const BASELINE_FEATURES = [
  'log_motion_mean',
  'log_motion_max',
  'log_peak_mean',
  'log_peak_max',
  'log_flicker_mean',
  'log_flicker_max',
  'brightness_mean',
  'brightness_range',
  'contrast_mean',
  'active_cells_mean',
  'active_cells_max',
  'log_span_motion',
  'log_span_peak',
  'span_active_cells',
] as const;

export const BASELINE_FEATURE_DIM = BASELINE_FEATURES.length;

/** Fitted constants (see `rallycut model fit-baseline`). Row-major weights [D,3]: no_play, play, service. */
export const BASELINE_FIT = {
  mean: [-6.04914, -5.22481, -3.42248, -2.70753, -6.66482, -6.08254, 0.698349, 0.00338405, 0.0918264, 0.0270573, 0.0488691, -4.70622, -1.92871, 0.0817727],
  std: [0.327661, 0.299173, 0.622665, 0.558946, 0.158237, 0.413033, 0.0332715, 0.00323788, 0.00352641, 0.00714364, 0.0192003, 0.514525, 0.646527, 0.0416145],
  weights: [
    [1.14657, -1.55613, 0.409558],
    [1.9151, -0.797381, -1.11771],
    [-3.93029, 5.88541, -1.95512],
    [0.657899, -2.31132, 1.65342],
    [1.47846, -0.16412, -1.31434],
    [-0.758681, 0.137985, 0.620696],
    [-0.210869, -0.132064, 0.342933],
    [-0.0369338, -0.23708, 0.274014],
    [0.00784756, -0.28648, 0.278632],
    [-1.35594, 0.1839, 1.17204],
    [-0.236229, 0.671756, -0.435527],
    [-1.49776, -0.300522, 1.79828],
    [-1.99946, 2.14878, -0.149315],
    [0.034048, 0.083724, -0.117772],
  ],
  bias: [3.63452, -3.5622, -0.0723177],
};

const LUMA = [0.299, 0.587, 0.114];
const GRID = 28; // 224 / 8
const CELLS = GRID * GRID;
const FRAMES = 16;
const LOG_EPS = 1e-3;
/** A 28×28 cell counts as moving when its centred luma change exceeds this (0..1 scale). */
const ACTIVE_THRESHOLD = 0.04;
const ACTIVE_SHARPNESS = 100;

export interface BaselineFit {
  mean: readonly number[];
  std: readonly number[];
  weights: readonly (readonly number[])[];
  bias: readonly number[];
}

/** Builds the baseline ONNX bytes from the fitted constants (or others, for fitting experiments). */
export function buildBaselineOnnx(fit: BaselineFit = BASELINE_FIT): Uint8Array {
  const D = BASELINE_FEATURE_DIM;
  if (fit.mean.length !== D || fit.std.length !== D || fit.weights.length !== D || fit.bias.length !== 3) {
    throw new Error(`baseline fit must have ${D} features and 3 classes`);
  }
  const g = new GraphBuilder();
  const x = g.input('pixel_values', ['batch', FRAMES, 3, 224, 224]);
  const frames = g.op('Reshape', [x, g.intConst([-1, 3, 224, 224])]);
  // luma(rgb) with rgb = x·std + mean, averaged over 8×8 blocks: one Conv with stride 8.
  const kernel: number[] = [];
  for (let c = 0; c < 3; c++) for (let k = 0; k < 64; k++) kernel.push((LUMA[c]! * IMAGENET_STD[c]!) / 64);
  const lumaBias = LUMA.reduce((s, w, c) => s + w * IMAGENET_MEAN[c]!, 0);
  const pooled = g.op('Conv', [frames, g.floatConst(kernel, [1, 3, 8, 8]), g.floatConst([lumaBias], [1])], { kernel_shape: [8, 8], strides: [8, 8] });
  const grid = g.op('Reshape', [pooled, g.intConst([-1, FRAMES, CELLS])]); // [B,16,784]

  const axis1 = g.intConst([1]);
  const later = g.op('Slice', [grid, g.intConst([1]), g.intConst([FRAMES]), axis1]);
  const earlier = g.op('Slice', [grid, g.intConst([0]), g.intConst([FRAMES - 1]), axis1]);
  const diff = g.op('Sub', [later, earlier]); // [B,15,784]
  const globalChange = g.op('ReduceMean', [diff], { axes: [2], keepdims: 1 }); // [B,15,1]
  const motion = g.op('Abs', [g.op('Sub', [diff, globalChange])]);
  const energy = g.op('ReduceMean', [motion], { axes: [2], keepdims: 0 }); // [B,15]
  const peak = g.op('ReduceMax', [motion], { axes: [2], keepdims: 0 });
  const flicker = g.op('Abs', [g.op('Squeeze', [globalChange, g.intConst([2])])]);
  // Displacement over the whole window: camera shake oscillates and cancels out, play accumulates.
  const first = g.op('Slice', [grid, g.intConst([0]), g.intConst([1]), axis1]);
  const last = g.op('Slice', [grid, g.intConst([FRAMES - 1]), g.intConst([FRAMES]), axis1]);
  const span = g.op('Sub', [last, first]); // [B,1,784]
  const spanMotion = g.op('Abs', [g.op('Sub', [span, g.op('ReduceMean', [span], { axes: [2], keepdims: 1 })])]);
  const spanFlat = g.op('Squeeze', [spanMotion, axis1]); // [B,784]

  const eps = g.floatConst([LOG_EPS], [1]);
  const logOf = (t: string): string => g.op('Log', [g.op('Add', [t, eps])]);
  const tMean = (t: string): string => g.op('ReduceMean', [t], { axes: [1], keepdims: 1 }); // [B,1]
  const tMax = (t: string): string => g.op('ReduceMax', [t], { axes: [1], keepdims: 1 });
  const tMin = (t: string): string => g.op('ReduceMin', [t], { axes: [1], keepdims: 1 });

  const brightness = g.op('ReduceMean', [grid], { axes: [2], keepdims: 0 }); // [B,16]
  const sq = g.op('ReduceMean', [g.op('Mul', [grid, grid])], { axes: [2], keepdims: 0 });
  const variance = g.op('Relu', [g.op('Sub', [sq, g.op('Mul', [brightness, brightness])])]);
  const contrast = g.op('Sqrt', [variance]);
  const activeScaled = g.op('Mul', [g.op('Sub', [motion, g.floatConst([ACTIVE_THRESHOLD], [1])]), g.floatConst([ACTIVE_SHARPNESS], [1])]);
  const active = g.op('ReduceMean', [g.op('Sigmoid', [activeScaled])], { axes: [2], keepdims: 0 }); // [B,15]
  const spanScaled = g.op('Mul', [g.op('Sub', [spanFlat, g.floatConst([ACTIVE_THRESHOLD], [1])]), g.floatConst([ACTIVE_SHARPNESS], [1])]);

  const columns = [
    logOf(tMean(energy)),
    logOf(tMax(energy)),
    logOf(tMean(peak)),
    logOf(tMax(peak)),
    logOf(tMean(flicker)),
    logOf(tMax(flicker)),
    tMean(brightness),
    g.op('Sub', [tMax(brightness), tMin(brightness)]),
    tMean(contrast),
    tMean(active),
    tMax(active),
    logOf(tMean(spanFlat)),
    logOf(tMax(spanFlat)),
    tMean(g.op('Sigmoid', [spanScaled])),
  ];
  const raw = g.op('Concat', columns, { axis: 1 }); // [B,D]
  const features = g.op('Div', [g.op('Sub', [raw, g.floatConst([...fit.mean], [D])]), g.floatConst([...fit.std], [D])], {}, 'features');
  const w = g.floatConst(fit.weights.flatMap((r) => [...r]), [D, 3]);
  g.op('Add', [g.op('MatMul', [features, w]), g.floatConst([...fit.bias], [3])], {}, 'logits');
  g.output('logits', ['batch', 3]);
  g.output('features', ['batch', D]);
  return g.encode('rallycut_baseline_motion', 'RallyCut baseline motion classifier (not VideoMAE). Generated by rallycut model build-baseline.');
}
