// Inference: per-window rally probabilities and decisions from a trained model, and DESIGN §1's rules
// for turning runs of rally windows into segments (with the 60 s / 90 s anti-overmerge splits).
import type { RallySpan } from '../lib/contracts.js';
import { crfMarginals, viterbi } from '../lib/nn/crf.js';
import { sigmoid } from '../lib/nn/ops.js';
import type { ParamSet } from '../lib/nn/params.js';
import { Tensor } from '../lib/nn/tensor.js';
import { normalise, WINDOW_FRAMES, type Normalisation } from './data.js';
import { crfParams, forward, type Architecture } from './models.js';

export interface ModelCore {
  arch: Architecture;
  params: ParamSet;
  norm: Normalisation;
}

export interface WindowPrediction {
  /** p(rally) per window: sigmoid of the logit (v1) or the CRF posterior marginal (v2/v3). */
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
  const crf = crfParams(model.params);
  const marg = crfMarginals(out.data, T, 2, crf);
  for (let t = 0; t < T; t++) prob[t] = marg[t * 2 + 1]!;
  return { prob, rally: viterbi(out.data, T, 2, crf) };
}

/** Runs the model over raw (un-normalised) feature rows [N, dim]. */
export function predictWindows(model: ModelCore, x: Float32Array): WindowPrediction {
  if (x.length === 0) return { prob: new Float32Array(0), rally: new Uint8Array(0) };
  return decode(model, rawOutput(model, normalise(x, model.norm)));
}

export const SPLIT_AFTER_S = 60;
export const FORCE_SPLIT_AFTER_S = 90;
export const FORCE_SPLIT_EVERY_S = 60;
export const LOW_PROB = 0.4;

/** Window index ranges [i0, iEnd] (inclusive) of rally segments, after the anti-overmerge splits. */
export function rallyRuns(rally: ArrayLike<number>, prob: ArrayLike<number>, stride: number, fps: number): Array<[number, number]> {
  const spanS = (i0: number, i1: number): number => ((i1 - i0) * stride + WINDOW_FRAMES) / fps;
  const runs: Array<[number, number]> = [];
  for (let i = 0; i < rally.length; ) {
    if (!rally[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < rally.length && rally[j + 1]) j++;
    runs.push([i, j]);
    i = j + 1;
  }
  // Long runs: cut out every stretch of ≥ 2 consecutive low-probability windows.
  const split: Array<[number, number]> = [];
  for (const [a, b] of runs) {
    if (spanS(a, b) <= SPLIT_AFTER_S) {
      split.push([a, b]);
      continue;
    }
    let start = a;
    for (let i = a; i <= b; ) {
      if (prob[i]! < LOW_PROB && i + 1 <= b && prob[i + 1]! < LOW_PROB) {
        let j = i;
        while (j + 1 <= b && prob[j + 1]! < LOW_PROB) j++;
        if (i > start) split.push([start, i - 1]);
        start = j + 1;
        i = j + 1;
      } else i++;
    }
    if (start <= b) split.push([start, b]);
  }
  // Still too long: force a cut every 60 s.
  const out: Array<[number, number]> = [];
  const per = Math.max(1, Math.floor((FORCE_SPLIT_EVERY_S * fps) / stride));
  for (const [a, b] of split) {
    if (spanS(a, b) <= FORCE_SPLIT_AFTER_S) out.push([a, b]);
    else for (let s = a; s <= b; s += per) out.push([s, Math.min(b, s + per - 1)]);
  }
  return out;
}

/** DESIGN §1: start = i0·stride/fps, end = i_end·stride/fps + 16/fps, in whole milliseconds. */
export function segmentsMs(rally: ArrayLike<number>, prob: ArrayLike<number>, stride: number, fps: number): RallySpan[] {
  return rallyRuns(rally, prob, stride, fps).map(([a, b]) => ({
    start_ms: Math.round(((a * stride) / fps) * 1000),
    end_ms: Math.round(((b * stride + WINDOW_FRAMES) / fps) * 1000),
  }));
}
