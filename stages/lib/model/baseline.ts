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
] as const;

export const BASELINE_FEATURE_DIM = BASELINE_FEATURES.length;

/** Fitted constants (see `rallycut model fit-baseline`). Row-major weights [D,3]: no_play, play, service. */
export const BASELINE_FIT = {
  mean: [-3.5, -3.0, -1.5, -1.0, -5.0, -4.0, 0.4, 0.02, 0.2, 0.05, 0.1],
  std: [1, 1, 1, 1, 1, 1, 0.2, 0.05, 0.1, 0.1, 0.1],
  weights: [
    [-1, 1, 0],
    [-0.5, 0.5, 0],
    [-1, 1, 0],
    [-0.5, 0.5, 0],
    [0, -0.3, 0.3],
    [0, -0.5, 1],
    [0, 0, 0],
    [0, -0.5, 1],
    [0, 0, 0],
    [-1, 1, 0],
    [-0.5, 0.5, 0],
  ],
  bias: [0, -0.5, -2],
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
  ];
  const raw = g.op('Concat', columns, { axis: 1 }); // [B,D]
  const features = g.op('Div', [g.op('Sub', [raw, g.floatConst([...fit.mean], [D])]), g.floatConst([...fit.std], [D])], {}, 'features');
  const w = g.floatConst(fit.weights.flatMap((r) => [...r]), [D, 3]);
  g.op('Add', [g.op('MatMul', [features, w]), g.floatConst([...fit.bias], [3])], {}, 'logits');
  g.output('logits', ['batch', 3]);
  g.output('features', ['batch', D]);
  return g.encode('rallycut_baseline_motion', 'RallyCut baseline motion classifier (not VideoMAE). Generated by rallycut model build-baseline.');
}
