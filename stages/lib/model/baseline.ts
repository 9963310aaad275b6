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
  // Where the motion is: a 4×4 grid of regions (row-major), frame-to-frame then whole-window.
  ...Array.from({ length: 16 }, (_, i) => `log_region_motion_${i}`),
  ...Array.from({ length: 16 }, (_, i) => `log_region_span_${i}`),
] as const;

export const BASELINE_FEATURE_DIM: number = BASELINE_FEATURES.length;

/** Fitted constants (see `rallycut model fit-baseline`). Row-major weights [D,3]: no_play, play, service. */
export const BASELINE_FIT = {
  mean: [-6.07217, -5.2947, -3.25414, -2.60883, -6.61471, -5.8809, 0.698963, 0.00446356, 0.0914318, 0.0255238, 0.0383057, -4.80672, -1.81097, 0.0675435, -6.56303, -6.55643, -6.55979, -6.56445, -5.91533, -5.64869, -5.6901, -5.84413, -6.23457, -6.08653, -6.15847, -6.24483, -6.39541, -5.81684, -5.79747, -6.39893, -5.71732, -5.71172, -5.71647, -5.73287, -4.65001, -4.2407, -4.29737, -4.52586, -5.24113, -4.87531, -5.04185, -5.27618, -5.49021, -4.48887, -4.47311, -5.50668],
  std: [0.272128, 0.259931, 0.558291, 0.48428, 0.20263, 0.629112, 0.0463994, 0.00455715, 0.00367222, 0.00489541, 0.00806549, 0.37051, 0.482841, 0.0226131, 0.200377, 0.21144, 0.203604, 0.203035, 0.334613, 0.399267, 0.375662, 0.332153, 0.27271, 0.383738, 0.351102, 0.2754, 0.289577, 0.467117, 0.479357, 0.379051, 0.515504, 0.519272, 0.524605, 0.531963, 0.550465, 0.586514, 0.603716, 0.534277, 0.487293, 0.579037, 0.560966, 0.524269, 0.595932, 0.727407, 0.764837, 0.691748],
  weights: [
    [0.0300256, 0.393963, -0.423989],
    [0.15586, 1.17813, -1.33399],
    [-2.82683, 3.24246, -0.415634],
    [-1.02915, 0.226502, 0.802653],
    [-1.65677, 0.264876, 1.39189],
    [1.3141, -0.837039, -0.477057],
    [0.122676, -0.0625633, -0.0601123],
    [-0.459339, 1.08648, -0.627144],
    [0.378134, 0.250575, -0.628709],
    [0.364253, 0.781216, -1.14547],
    [-0.760437, -0.48585, 1.24629],
    [-0.585917, 1.14312, -0.557199],
    [0.318192, 0.378741, -0.696933],
    [0.552528, -0.566283, 0.0137549],
    [1.51853, -0.404031, -1.1145],
    [-0.625467, -0.0861206, 0.711588],
    [0.964658, 0.068242, -1.0329],
    [0.204243, -0.107652, -0.0965907],
    [0.382319, -1.36367, 0.981348],
    [-1.00624, 0.176857, 0.829382],
    [-0.26089, 0.598353, -0.337463],
    [1.41292, -0.498257, -0.914666],
    [-1.29166, 0.464965, 0.826698],
    [-0.536134, 0.236808, 0.299326],
    [0.770334, 0.0103043, -0.780638],
    [1.38567, -0.79433, -0.591337],
    [1.40468, -0.628018, -0.776664],
    [-0.213042, -0.192845, 0.405887],
    [0.125717, -1.1925, 1.06679],
    [-1.27147, 0.76285, 0.508617],
    [0.326406, 0.887065, -1.21347],
    [-1.04542, -0.136135, 1.18156],
    [0.700666, -1.43628, 0.735619],
    [-0.678787, -0.504371, 1.18316],
    [0.042264, 0.562286, -0.60455],
    [-0.364011, 1.15022, -0.786208],
    [0.555921, -0.506835, -0.0490854],
    [-0.455037, -0.292407, 0.747444],
    [0.192587, -0.615578, 0.422991],
    [0.0364732, -0.579188, 0.542715],
    [-1.03458, 0.579817, 0.454767],
    [-0.0315808, 0.473019, -0.441438],
    [-0.628223, 0.59625, 0.0319729],
    [0.647482, -0.617562, -0.02992],
    [-0.169343, 0.389573, -0.22023],
    [0.670613, 0.686635, -1.35725],
  ],
  bias: [5.2279, -0.050243, -0.677653],
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

  // Regional means: [.., 28, 28] viewed as [.., 4, 7, 4, 7] and averaged inside each 7×7 block.
  const regionsOf = (t: string, frames: number): string => {
    const blocks = g.op('Reshape', [t, g.intConst([-1, frames, 4, 7, 4, 7])]);
    const mean = g.op('ReduceMean', [blocks], { axes: [1, 3, 5], keepdims: 0 }); // [B,4,4]
    return logOf(g.op('Reshape', [mean, g.intConst([-1, 16])]));
  };
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
    regionsOf(motion, FRAMES - 1),
    regionsOf(spanMotion, 1),
  ];
  const raw = g.op('Concat', columns, { axis: 1 }); // [B,D]
  const features = g.op('Div', [g.op('Sub', [raw, g.floatConst([...fit.mean], [D])]), g.floatConst([...fit.std], [D])], {}, 'features');
  const w = g.floatConst(fit.weights.flatMap((r) => [...r]), [D, 3]);
  g.op('Add', [g.op('MatMul', [features, w]), g.floatConst([...fit.bias], [3])], {}, 'logits');
  g.output('logits', ['batch', 3]);
  g.output('features', ['batch', D]);
  return g.encode('rallycut_baseline_motion', 'RallyCut baseline motion classifier (not VideoMAE). Generated by rallycut model build-baseline.');
}
