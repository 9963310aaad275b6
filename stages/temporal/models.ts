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
  dropout: number;
  kernel: number;
  convLayers: number;
}

export const MODEL_NAMES: Record<ModelVersion, string> = { v1: 'LearnedSmoothing', v2: 'ConvCRF', v3: 'BiLSTM-CRF' };

/** A normalised 1-D Gaussian (σ = 1) as the smoothing kernel's starting point. */
const gaussianKernel = (k: number): Init => (_r, n) => {
  const half = (k - 1) / 2;
  const taps = Array.from({ length: k }, (_, j) => Math.exp(-((j - half) ** 2) / 2));
  const sum = taps.reduce((a, b) => a + b, 0);
  return Float32Array.from({ length: n }, (_, i) => taps[i % k]! / sum);
};

/** CRF parameters start near zero, as pytorch-crf does (U(−0.1, 0.1)). */
const crfInit: Init = (r, n) => Float32Array.from({ length: n }, () => (r.next() * 2 - 1) * 0.1);

export function declareParams(a: Architecture): ParamBuilder {
  const p = new ParamBuilder();
  const D = a.featureDim, H = a.hiddenDim, k = a.kernel;
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
    for (const dir of ['fwd', 'bwd']) {
      p.add(`lstm.${dir}.wih`, [4 * L, H], init.uniformFanIn(L)).add(`lstm.${dir}.whh`, [4 * L, L], init.uniformFanIn(L));
      p.add(`lstm.${dir}.bias`, [4 * L], init.uniformFanIn(L));
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

export function lstmWeights(params: ParamSet, dir: 'fwd' | 'bwd'): LstmWeights {
  return { wih: params.get(`lstm.${dir}.wih`), whh: params.get(`lstm.${dir}.whh`), b: params.get(`lstm.${dir}.bias`) };
}

/** The projection shared by v2 and v3: Linear(D→H) + LayerNorm. */
function project(tape: Tape | null, params: ParamSet, x: Tensor): Tensor {
  const h = linear(tape, x, params.get('proj.weight'), params.get('proj.bias'));
  return layerNorm(tape, h, params.get('ln.weight'), params.get('ln.bias'));
}

/**
 * v1: rally logits [T]. v2/v3: CRF emissions [T, 2] (state 0 no-rally, 1 rally). `rng` drives dropout
 * and is only used when `train`.
 */
export function forward(a: Architecture, params: ParamSet, tape: Tape | null, x: Tensor, train: boolean, rng: Rng | null): Tensor {
  if (a.version === 'v1') {
    const s = linear(tape, x, params.get('proj.weight'), params.get('proj.bias'));
    const smooth = depthwiseConv1d(tape, s, params.get('smooth.weight'), params.get('smooth.bias'));
    return columnDiff(tape, smooth, 0, 1);
  }
  let h = project(tape, params, x);
  if (a.version === 'v2') {
    for (let l = 0; l < a.convLayers; l++) {
      h = conv1d(tape, h, params.get(`conv${l}.weight`), params.get(`conv${l}.bias`));
      const rm = params.get(`bn${l}.running_mean`).data, rv = params.get(`bn${l}.running_var`).data;
      h = batchNorm(tape, h, params.get(`bn${l}.weight`), params.get(`bn${l}.bias`), rm, rv, train);
      h = relu(tape, h);
      h = dropout(tape, h, a.dropout, rng, train);
    }
  } else {
    h = biLstm(tape, h, lstmWeights(params, 'fwd'), lstmWeights(params, 'bwd'));
    h = dropout(tape, h, a.dropout, rng, train);
  }
  return linear(tape, h, params.get('head.weight'), params.get('head.bias'));
}
