// The three temporal architectures of DESIGN §1, as parameter layouts plus forward passes on the nn
// core. v1 emits one rally logit per window; v2 and v3 emit two CRF emission scores per window.
import { conv1d, depthwiseConv1d } from '../lib/nn/conv.js';
import type { CrfParams } from '../lib/nn/crf.js';
import { biLstm, type LstmWeights } from '../lib/nn/lstm.js';
import { batchNorm, columnDiff, dropout, layerNorm, linear, relu } from '../lib/nn/ops.js';
import { ParamBuilder, init, type Init, type ParamSet } from '../lib/nn/params.js';
import type { Rng } from '../lib/nn/rng.js';
import type { Tape, Tensor } from '../lib/nn/tensor.js';

export const MODEL_VERSIONS = ['v1', 'v2', 'v3'] as const;
export type ModelVersion = (typeof MODEL_VERSIONS)[number];

export interface Architecture {
  version: ModelVersion;
  featureDim: number;
  /** Projection width of v2/v3 (DESIGN: 128). */
  hiddenDim: number;
  /** Hidden units per LSTM direction (v3: 64). */
  lstmHidden: number;
  /** Stacked BiLSTM layers of v3 (the seed's get_temporal_model: 3); checkpoints written before it have 1. */
  lstmLayers: number;
  dropout: number;
  kernel: number;
  convLayers: number;
}

/** The seed's get_temporal_model: kernel 5, 3 conv layers (v2) or 3 BiLSTM layers of hidden/2 per direction (v3). */
export function seedArchitecture(version: ModelVersion, featureDim: number, hiddenDim: number, dropout: number): Architecture {
  return { version, featureDim, hiddenDim, lstmHidden: Math.floor(hiddenDim / 2), lstmLayers: 3, dropout, kernel: 5, convLayers: 3 };
}

export const MODEL_NAMES: Record<ModelVersion, string> = { v1: 'LearnedSmoothing', v2: 'ConvCRF', v3: 'BiLSTM-CRF' };

/** A normalised 1-D Gaussian with σ = k/4, as the seed starts its smoothing kernel. */
const gaussianKernel =
  (k: number): Init =>
  (_r, n) => {
    const half = (k - 1) / 2;
    const sigma = k / 4;
    const taps = Array.from({ length: k }, (_, j) => Math.exp(-((j - half) ** 2) / (2 * sigma * sigma)));
    const sum = taps.reduce((a, b) => a + b, 0);
    return Float32Array.from({ length: n }, (_, i) => taps[i % k]! / sum);
  };

/** CRF parameters start near zero, as pytorch-crf does (U(−0.1, 0.1)). */
const crfInit: Init = (r, n) => Float32Array.from({ length: n }, () => (r.next() * 2 - 1) * 0.1);

export function declareParams(a: Architecture): ParamBuilder {
  const p = new ParamBuilder();
  const D = a.featureDim,
    H = a.hiddenDim,
    k = a.kernel;
  if (a.version === 'v1') {
    p.add('proj.weight', [2, D], init.uniformFanIn(D)).add('proj.bias', [2], init.uniformFanIn(D));
    p.add('smooth.weight', [2, k], gaussianKernel(k)).add('smooth.bias', [2], init.zeros());
    // Fitted after training (window-F1-optimal on the training videos), so not a gradient parameter.
    p.add('threshold', [1], init.const(0.5), false);
    return p;
  }
  p.add('proj.weight', [H, D], init.uniformFanIn(D)).add('proj.bias', [H], init.uniformFanIn(D));
  p.add('ln.weight', [H], init.const(1)).add('ln.bias', [H], init.zeros());
  let headIn = H;
  if (a.version === 'v2') {
    for (let l = 0; l < a.convLayers; l++) {
      p.add(`conv${l}.weight`, [H, k, H], init.uniformFanIn(H * k)).add(`conv${l}.bias`, [H], init.uniformFanIn(H * k));
      p.add(`bn${l}.weight`, [H], init.const(1)).add(`bn${l}.bias`, [H], init.zeros());
      p.add(`bn${l}.running_mean`, [H], init.zeros(), false).add(`bn${l}.running_var`, [H], init.const(1), false);
    }
  } else {
    const L = a.lstmHidden;
    for (let l = 0; l < a.lstmLayers; l++) {
      const inputs = l === 0 ? H : 2 * L;
      for (const dir of ['fwd', 'bwd'] as const) {
        const at = lstmPrefix(l, dir);
        p.add(`${at}.wih`, [4 * L, inputs], init.uniformFanIn(L)).add(`${at}.whh`, [4 * L, L], init.uniformFanIn(L));
        p.add(`${at}.bias`, [4 * L], init.uniformFanIn(L));
      }
    }
    headIn = 2 * L;
  }
  p.add('head.weight', [2, headIn], init.uniformFanIn(headIn)).add('head.bias', [2], init.uniformFanIn(headIn));
  p.add('crf.trans', [2, 2], crfInit).add('crf.start', [2], crfInit).add('crf.end', [2], crfInit);
  return p;
}

export function crfParams(params: ParamSet): CrfParams {
  return { trans: params.get('crf.trans'), start: params.get('crf.start'), end: params.get('crf.end') };
}

/** Parameter name prefix of one LSTM layer and direction (layer 0 keeps the single-layer names). */
export function lstmPrefix(layer: number, dir: 'fwd' | 'bwd'): string {
  return layer === 0 ? `lstm.${dir}` : `lstm${layer}.${dir}`;
}

export function lstmWeights(params: ParamSet, layer: number, dir: 'fwd' | 'bwd'): LstmWeights {
  const at = lstmPrefix(layer, dir);
  return { wih: params.get(`${at}.wih`), whh: params.get(`${at}.whh`), b: params.get(`${at}.bias`) };
}

/** The projection shared by v2 and v3, as the seed's input_proj: Linear(D→H) + LayerNorm + Dropout. */
function project(a: Architecture, tape: Tape | null, params: ParamSet, x: Tensor, train: boolean, rng: Rng | null): Tensor {
  const h = linear(tape, x, params.get('proj.weight'), params.get('proj.bias'));
  return dropout(tape, layerNorm(tape, h, params.get('ln.weight'), params.get('ln.bias')), a.dropout, rng, train);
}

/**
 * v1: rally logits [T]. v2/v3: CRF emissions [T, 2] (state 0 no-rally, 1 rally). `rng` drives dropout
 * and is only used when `train`.
 */
export function forward(a: Architecture, params: ParamSet, tape: Tape | null, x: Tensor, train: boolean, rng: Rng | null): Tensor {
  if (a.version === 'v1') {
    const s = linear(tape, x, params.get('proj.weight'), params.get('proj.bias'));
    const smooth = depthwiseConv1d(tape, s, params.get('smooth.weight'), params.get('smooth.bias'));
    return columnDiff(tape, dropout(tape, smooth, a.dropout, rng, train), 0, 1);
  }
  let h = project(a, tape, params, x, train, rng);
  if (a.version === 'v2') {
    for (let l = 0; l < a.convLayers; l++) {
      h = conv1d(tape, h, params.get(`conv${l}.weight`), params.get(`conv${l}.bias`));
      const rm = params.get(`bn${l}.running_mean`).data,
        rv = params.get(`bn${l}.running_var`).data;
      h = batchNorm(tape, h, params.get(`bn${l}.weight`), params.get(`bn${l}.bias`), rm, rv, train);
      h = relu(tape, h);
      h = dropout(tape, h, a.dropout, rng, train);
    }
  } else {
    // PyTorch's LSTM dropout: between stacked layers only, none after the last
    for (let l = 0; l < a.lstmLayers; l++) {
      if (l > 0) h = dropout(tape, h, a.dropout, rng, train);
      h = biLstm(tape, h, lstmWeights(params, l, 'fwd'), lstmWeights(params, l, 'bwd'));
    }
  }
  return linear(tape, h, params.get('head.weight'), params.get('head.bias'));
}
