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
  mean: [-5.85132, -5.20324, -2.91354, -2.36592, -6.59331, -5.93493, 0.708331, 0.00391798, 0.0915599, 0.0302381, 0.0477, -4.70801, -1.65854, 0.0751656, -6.52965, -6.52416, -6.51993, -6.52504, -5.67617, -5.40524, -5.40724, -5.60919, -6.05651, -5.85208, -5.86591, -5.99986, -6.25264, -5.52821, -5.53521, -6.17368, -5.76357, -5.75711, -5.74268, -5.76107, -4.57272, -4.24709, -4.26308, -4.51417, -5.13244, -4.78787, -4.81306, -5.10861, -5.42529, -4.27612, -4.26761, -5.3729],
  std: [0.278308, 0.204695, 0.518637, 0.471289, 0.14957, 0.444077, 0.0418046, 0.00274517, 0.00387311, 0.00678186, 0.0139891, 0.396873, 0.486103, 0.0281004, 0.176853, 0.1784, 0.177997, 0.17082, 0.300907, 0.342488, 0.333943, 0.312661, 0.305052, 0.453437, 0.447761, 0.337012, 0.330259, 0.50628, 0.490043, 0.448181, 0.473112, 0.467522, 0.464594, 0.465989, 0.528538, 0.589349, 0.618944, 0.558312, 0.50407, 0.659981, 0.677038, 0.5186, 0.620247, 0.738312, 0.795058, 0.760356],
  weights: [
    [0.387339, 0.588642, -0.975981],
    [-0.508407, -0.614177, 1.12258],
    [-2.28514, 3.70436, -1.41922],
    [-0.986398, -0.248124, 1.23452],
    [0.533585, -0.466472, -0.067113],
    [-0.871298, 0.61516, 0.256138],
    [-0.487238, 0.390632, 0.0966056],
    [0.552179, -0.279362, -0.272817],
    [0.454206, -0.545344, 0.0911382],
    [-1.27807, 1.86165, -0.583573],
    [0.879876, -0.496448, -0.383428],
    [-0.367643, -0.0348864, 0.40253],
    [0.254425, 0.592752, -0.847177],
    [0.863901, -0.265664, -0.598238],
    [-0.489373, -1.17286, 1.66223],
    [1.45464, 1.65979, -3.11444],
    [-0.33687, 0.24652, 0.0903503],
    [-0.423478, -0.170016, 0.593494],
    [1.85659, -0.754501, -1.10209],
    [0.176581, 0.265482, -0.442063],
    [0.208855, -0.0762072, -0.132647],
    [-0.829727, -0.231301, 1.06103],
    [0.34142, -0.600582, 0.259162],
    [-2.36878, 0.451454, 1.91732],
    [-1.12978, 0.0291266, 1.10066],
    [1.98829, -0.396756, -1.59154],
    [0.408612, -0.690599, 0.281987],
    [-1.27469, 0.707133, 0.567559],
    [0.437168, -0.222413, -0.214755],
    [-0.051587, -0.930703, 0.98229],
    [0.147409, -0.39812, 0.250711],
    [-0.631347, -0.188848, 0.820195],
    [-1.0081, 0.650901, 0.357196],
    [1.60593, 0.00832139, -1.61426],
    [-0.85073, -0.202429, 1.05316],
    [-0.290123, 0.589742, -0.299619],
    [0.622428, -1.00769, 0.38526],
    [0.0319946, 0.50818, -0.540174],
    [0.216722, -0.0346129, -0.182109],
    [0.552962, 0.0340824, -0.587044],
    [-0.287676, 0.452723, -0.165047],
    [-0.413858, 0.335776, 0.078082],
    [-0.670565, 0.969204, -0.298639],
    [0.769837, -0.90943, 0.139593],
    [0.00784078, -0.687603, 0.679762],
    [-0.180316, 0.525293, -0.344977],
  ],
  bias: [2.99598, 0.666797, -0.162777],
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
