// Inference: per-window rally probabilities and decisions from a trained model, run as the seed runs it
// (temporal/inference.py run_inference): one pass up to 500 windows, else 500-window chunks overlapping by
// 50 whose probabilities and decisions are averaged. segments.ts turns the decisions into rally segments.
import { viterbi } from '../lib/nn/crf.js';
import { sigmoid } from '../lib/nn/ops.js';
import type { ParamSet } from '../lib/nn/params.js';
import { Tensor } from '../lib/nn/tensor.js';
import { CHUNK_OVERLAP, CHUNK_WINDOWS, normalise, type Normalisation } from './data.js';
import { crfParams, forward, type Architecture } from './models.js';

export interface ModelCore {
  arch: Architecture;
  params: ParamSet;
  norm: Normalisation;
}

export interface WindowPrediction {
  /** p(rally) per window: sigmoid of the logit (v1) or the softmax of the emissions (v2/v3), as in the seed. */
  prob: Float32Array;
  /** 1 for rally windows: p ≥ learned threshold (v1) or the Viterbi path (v2/v3). */
  rally: Uint8Array;
}

/** Emissions [T,2] (v2/v3) or logits [T] (v1) for already-normalised rows. */
export function rawOutput(model: ModelCore, xNorm: Float32Array): Tensor {
  const T = xNorm.length / model.arch.featureDim;
  return forward(model.arch, model.params, null, new Tensor(xNorm, [T, model.arch.featureDim]), false, null);
}

export function decode(model: ModelCore, out: Tensor): WindowPrediction {
  const T = out.rows;
  const prob = new Float32Array(T);
  if (model.arch.version === 'v1') {
    const threshold = model.params.get('threshold').data[0]!;
    const rally = new Uint8Array(T);
    for (let t = 0; t < T; t++) {
      prob[t] = sigmoid(out.data[t]!);
      rally[t] = prob[t]! >= threshold ? 1 : 0;
    }
    return { prob, rally };
  }
  // softmax over two states = sigmoid of their difference
  for (let t = 0; t < T; t++) prob[t] = sigmoid(out.data[t * 2 + 1]! - out.data[t * 2]!);
  return { prob, rally: viterbi(out.data, T, 2, crfParams(model.params)) };
}

/** The seed's inference chunks: [start, end) every 450 windows while start < n (the last may lie inside the one before). */
export function inferenceChunks(n: number): Array<[number, number]> {
  if (n <= CHUNK_WINDOWS) return [[0, n]];
  const out: Array<[number, number]> = [];
  for (let s = 0; s < n; s += CHUNK_WINDOWS - CHUNK_OVERLAP) out.push([s, Math.min(n, s + CHUNK_WINDOWS)]);
  return out;
}

/** Runs the model over raw (un-normalised) feature rows [N, dim]. */
/**
 * Runs the model over raw (un-normalised) feature rows [N, dim]. Windows covered by several chunks get
 * the mean probability, and are rally when the mean of the chunks' decisions is over 0.5.
 */
export function predictWindows(model: ModelCore, x: Float32Array): WindowPrediction {
  const D = model.arch.featureDim;
  const n = x.length / D;
  const xNorm = normalise(x, model.norm);
  const chunks = inferenceChunks(n);
  if (chunks.length === 1) return n === 0 ? { prob: new Float32Array(0), rally: new Uint8Array(0) } : decode(model, rawOutput(model, xNorm));
  const probSum = new Float64Array(n),
    rallySum = new Float64Array(n),
    count = new Float64Array(n);
  for (const [s, e] of chunks) {
    const part = decode(model, rawOutput(model, xNorm.slice(s * D, e * D)));
    for (let t = s; t < e; t++) {
      probSum[t]! += part.prob[t - s]!;
      rallySum[t]! += part.rally[t - s]!;
      count[t]! += 1;
    }
  }
  const prob = new Float32Array(n),
    rally = new Uint8Array(n);
  for (let t = 0; t < n; t++) {
    prob[t] = probSum[t]! / count[t]!;
    rally[t] = rallySum[t]! / count[t]! > 0.5 ? 1 : 0;
  }
  return { prob, rally };
}
