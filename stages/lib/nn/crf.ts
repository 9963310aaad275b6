// Linear-chain CRF over S states (2 here: no-rally, rally). Scores: start[y0] + Σ emissions[t, y_t] +
// Σ trans[y_{t−1}, y_t] + end[y_{T−1}]. The partition function uses the forward algorithm in log space
// (float64); its gradient is the forward–backward marginals, which inference also reuses as per-window
// rally probabilities.
import type { Tensor } from './tensor.js';

export interface CrfParams {
  /** [S, S], trans[a, b] scores a → b */ trans: Tensor;
  /** [S] */ start: Tensor;
  /** [S] */ end: Tensor;
}

function logSumExp(values: Float64Array | number[]): number {
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  if (m === -Infinity) return m;
  let s = 0;
  for (const v of values) s += Math.exp(v - m);
  return m + Math.log(s);
}

interface ForwardBackward {
  logZ: number;
  alpha: Float64Array; // [T, S]
  beta: Float64Array; // [T, S]
}

function forwardBackward(em: Float32Array, T: number, S: number, p: CrfParams): ForwardBackward {
  const tr = p.trans.data,
    st = p.start.data,
    en = p.end.data;
  const alpha = new Float64Array(T * S),
    beta = new Float64Array(T * S);
  const tmp = new Float64Array(S);
  for (let s = 0; s < S; s++) alpha[s] = st[s]! + em[s]!;
  for (let t = 1; t < T; t++) {
    for (let b = 0; b < S; b++) {
      for (let a = 0; a < S; a++) tmp[a] = alpha[(t - 1) * S + a]! + tr[a * S + b]!;
      alpha[t * S + b] = logSumExp(tmp) + em[t * S + b]!;
    }
  }
  for (let s = 0; s < S; s++) beta[(T - 1) * S + s] = en[s]!;
  for (let t = T - 2; t >= 0; t--) {
    for (let a = 0; a < S; a++) {
      for (let b = 0; b < S; b++) tmp[b] = tr[a * S + b]! + em[(t + 1) * S + b]! + beta[(t + 1) * S + b]!;
      beta[t * S + a] = logSumExp(tmp);
    }
  }
  for (let s = 0; s < S; s++) tmp[s] = alpha[(T - 1) * S + s]! + en[s]!;
  return { logZ: logSumExp(tmp), alpha, beta };
}

/** Score of one labelling (for tests and the NLL). */
export function crfScore(em: Float32Array, S: number, p: CrfParams, labels: ArrayLike<number>): number {
  const T = labels.length;
  let s = p.start.data[labels[0]!]! + p.end.data[labels[T - 1]!]!;
  for (let t = 0; t < T; t++) s += em[t * S + labels[t]!]!;
  for (let t = 1; t < T; t++) s += p.trans.data[labels[t - 1]! * S + labels[t]!]!;
  return s;
}

export function crfLogPartition(em: Float32Array, T: number, S: number, p: CrfParams): number {
  return forwardBackward(em, T, S, p).logZ;
}

/**
 * Negative log-likelihood of `labels`, times `scale` (e.g. 1/T for a per-window mean). Seeds the
 * gradients of the emissions and the CRF parameters; returns the scaled loss.
 */
export function crfNll(emissions: Tensor, p: CrfParams, labels: ArrayLike<number>, scale = 1): number {
  const T = emissions.rows,
    S = emissions.cols;
  const em = emissions.data;
  const { logZ, alpha, beta } = forwardBackward(em, T, S, p);
  const loss = logZ - crfScore(em, S, p, labels);
  const tr = p.trans.data;
  if (emissions.requiresGrad) {
    const g = emissions.g();
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < S; s++) g[t * S + s]! += scale * (Math.exp(alpha[t * S + s]! + beta[t * S + s]! - logZ) - (labels[t] === s ? 1 : 0));
    }
  }
  if (p.start.requiresGrad) {
    const g = p.start.g();
    for (let s = 0; s < S; s++) g[s]! += scale * (Math.exp(alpha[s]! + beta[s]! - logZ) - (labels[0] === s ? 1 : 0));
  }
  if (p.end.requiresGrad) {
    const g = p.end.g();
    for (let s = 0; s < S; s++) g[s]! += scale * (Math.exp(alpha[(T - 1) * S + s]! + p.end.data[s]! - logZ) - (labels[T - 1] === s ? 1 : 0));
  }
  if (p.trans.requiresGrad) {
    const g = p.trans.g();
    for (let t = 1; t < T; t++) {
      for (let a = 0; a < S; a++) {
        for (let b = 0; b < S; b++) {
          const pair = Math.exp(alpha[(t - 1) * S + a]! + tr[a * S + b]! + em[t * S + b]! + beta[t * S + b]! - logZ);
          g[a * S + b]! += scale * (pair - (labels[t - 1] === a && labels[t] === b ? 1 : 0));
        }
      }
    }
  }
  return scale * loss;
}

/** Posterior marginals p(y_t = s) as [T, S]. */
export function crfMarginals(em: Float32Array, T: number, S: number, p: CrfParams): Float32Array {
  const { logZ, alpha, beta } = forwardBackward(em, T, S, p);
  const out = new Float32Array(T * S);
  for (let i = 0; i < T * S; i++) out[i] = Math.exp(alpha[i]! + beta[i]! - logZ);
  return out;
}

/** Most likely labelling (ties go to the lower state index). */
export function viterbi(em: Float32Array, T: number, S: number, p: CrfParams): Uint8Array {
  const tr = p.trans.data;
  const path = new Uint8Array(T);
  if (T === 0) return path;
  let score = new Float64Array(S);
  const back = new Uint8Array(T * S);
  for (let s = 0; s < S; s++) score[s] = p.start.data[s]! + em[s]!;
  for (let t = 1; t < T; t++) {
    const next = new Float64Array(S);
    for (let b = 0; b < S; b++) {
      let best = -Infinity,
        arg = 0;
      for (let a = 0; a < S; a++) {
        const v = score[a]! + tr[a * S + b]!;
        if (v > best) {
          best = v;
          arg = a;
        }
      }
      next[b] = best + em[t * S + b]!;
      back[t * S + b] = arg;
    }
    score = next;
  }
  let best = -Infinity;
  for (let s = 0; s < S; s++) {
    const v = score[s]! + p.end.data[s]!;
    if (v > best) {
      best = v;
      path[T - 1] = s;
    }
  }
  for (let t = T - 1; t > 0; t--) path[t - 1] = back[t * S + path[t]!]!;
  return path;
}
