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
  mean: [-5.99846, -5.27559, -3.08073, -2.49569, -6.66, -6.0422, 0.708384, 0.00301484, 0.0914577, 0.0281023, 0.0447764, -4.74179, -1.71037, 0.0765229, -6.62058, -6.61616, -6.61194, -6.61263, -5.83701, -5.58721, -5.58563, -5.77348, -6.19168, -5.99651, -6.01933, -6.13917, -6.39299, -5.68614, -5.68679, -6.2888, -5.89527, -5.88618, -5.88184, -5.87975, -4.54436, -4.24548, -4.24569, -4.48373, -5.15583, -4.87213, -4.91185, -5.12632, -5.53625, -4.31725, -4.31536, -5.3936],
  std: [0.315955, 0.230262, 0.527004, 0.430993, 0.143943, 0.426521, 0.0416927, 0.00246208, 0.00389367, 0.00637519, 0.0131502, 0.426041, 0.52068, 0.0298304, 0.162798, 0.158821, 0.166732, 0.161873, 0.357519, 0.409076, 0.406576, 0.369265, 0.33183, 0.477314, 0.468052, 0.365953, 0.300691, 0.5273, 0.518284, 0.436595, 0.478746, 0.478033, 0.480956, 0.482232, 0.580466, 0.647486, 0.657554, 0.599432, 0.516191, 0.695891, 0.677273, 0.523584, 0.565478, 0.745246, 0.805971, 0.758413],
  weights: [
    [0.0469498, 0.337171, -0.384121],
    [-0.0346216, -0.547176, 0.581798],
    [-2.18234, 3.27755, -1.09521],
    [-0.368753, 0.0570152, 0.311738],
    [0.989083, 0.0570446, -1.04613],
    [-0.313695, -0.0126165, 0.326311],
    [-0.569183, 0.44093, 0.128254],
    [-0.420803, 0.371942, 0.0488608],
    [0.498224, -0.609945, 0.111721],
    [-1.05827, 1.92708, -0.868806],
    [0.150868, 0.363483, -0.514351],
    [-0.37164, 0.336138, 0.035502],
    [0.191173, 0.269472, -0.460645],
    [0.309447, -0.654614, 0.345167],
    [-1.31628, -0.490923, 1.80721],
    [1.34393, 0.431202, -1.77513],
    [0.246192, 0.546784, -0.792976],
    [-0.152996, -0.248835, 0.40183],
    [1.06738, -0.758957, -0.308427],
    [0.85307, 0.443989, -1.29706],
    [-0.441182, 0.158758, 0.282424],
    [0.0428993, -0.809117, 0.766217],
    [1.63526, -0.983588, -0.651676],
    [-2.38926, -0.792441, 3.1817],
    [-0.94873, -0.758389, 1.70712],
    [1.4508, -0.379103, -1.0717],
    [-0.269385, 0.308091, -0.0387058],
    [-0.516911, 0.455266, 0.0616447],
    [0.424606, -0.372538, -0.0520679],
    [-0.216505, 0.303873, -0.087368],
    [0.403339, -0.85, 0.446661],
    [-0.637317, -0.0238769, 0.661194],
    [-0.519129, 0.291509, 0.227621],
    [0.687157, 0.453156, -1.14031],
    [-0.146338, -0.475667, 0.622005],
    [-0.202739, 0.65784, -0.4551],
    [0.403712, -0.550968, 0.147256],
    [-0.332928, 0.841267, -0.508339],
    [-0.480685, 0.0350264, 0.445659],
    [0.527997, 0.608176, -1.13617],
    [0.115903, 0.33358, -0.449482],
    [-0.159761, -0.0569456, 0.216707],
    [-0.459076, -0.157556, 0.616632],
    [0.0873535, -0.485196, 0.397842],
    [0.348082, -0.394061, 0.0459793],
    [0.40493, 0.293968, -0.698898],
  ],
  bias: [2.73116, 0.845076, -0.576234],
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
