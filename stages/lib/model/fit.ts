// Fitting the baseline's last layer: standardisation + multinomial logistic regression (softmax) with
// class-balanced weights and L2, by full-batch gradient descent. Deterministic: no random init, fixed steps.
import type { BaselineFit } from './baseline.js';

export interface FitOptions {
  classes?: number;
  steps?: number;
  lr?: number;
  l2?: number;
}

/** x: n rows of d raw features; y: class per row. */
export function fitSoftmax(x: readonly (readonly number[])[], y: readonly number[], opts: FitOptions = {}): BaselineFit {
  const K = opts.classes ?? 3;
  const n = x.length;
  const d = x[0]?.length ?? 0;
  if (n === 0 || d === 0) throw new Error('fitSoftmax: no data');
  const mean = Array.from({ length: d }, (_, j) => x.reduce((s, r) => s + r[j]!, 0) / n);
  const std = Array.from({ length: d }, (_, j) => Math.sqrt(x.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / n) || 1);
  const z = x.map((r) => r.map((v, j) => (v - mean[j]!) / std[j]!));
  const counts = Array.from({ length: K }, (_, k) => y.filter((c) => c === k).length);
  const classWeight = counts.map((c) => (c > 0 ? n / (K * c) : 0));
  const W = Array.from({ length: d }, () => new Array<number>(K).fill(0));
  const b = new Array<number>(K).fill(0);
  const steps = opts.steps ?? 3000;
  const lr = opts.lr ?? 0.5;
  const l2 = opts.l2 ?? 1e-3;
  for (let step = 0; step < steps; step++) {
    const gW = Array.from({ length: d }, () => new Array<number>(K).fill(0));
    const gb = new Array<number>(K).fill(0);
    let wsum = 0;
    for (let i = 0; i < n; i++) {
      const logits = b.map((bk, k) => bk + z[i]!.reduce((s, v, j) => s + v * W[j]![k]!, 0));
      const m = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - m));
      const s = e.reduce((a, v) => a + v, 0);
      const w = classWeight[y[i]!]!;
      wsum += w;
      for (let k = 0; k < K; k++) {
        const g = w * (e[k]! / s - (y[i] === k ? 1 : 0));
        gb[k]! += g;
        for (let j = 0; j < d; j++) gW[j]![k]! += g * z[i]![j]!;
      }
    }
    for (let k = 0; k < K; k++) {
      b[k]! -= (lr * gb[k]!) / wsum;
      for (let j = 0; j < d; j++) W[j]![k]! -= lr * (gW[j]![k]! / wsum + l2 * W[j]![k]!);
    }
  }
  const round = (v: number): number => Number(v.toPrecision(6));
  return { mean: mean.map(round), std: std.map(round), weights: W.map((r) => r.map(round)), bias: b.map(round) };
}

/** Predicted class per row with a fitted model (same maths as the ONNX graph's last layers). */
export function predictSoftmax(fit: BaselineFit, x: readonly (readonly number[])[]): number[] {
  return x.map((r) => {
    const z = r.map((v, j) => (v - fit.mean[j]!) / fit.std[j]!);
    const logits = fit.bias.map((bk, k) => bk + z.reduce((s, v, j) => s + v * fit.weights[j]![k]!, 0));
    return logits.indexOf(Math.max(...logits));
  });
}

/** n×3 softmax probabilities of a fitted model, flat (the layout of the feature store). */
export function probsSoftmax(fit: BaselineFit, x: readonly (readonly number[])[]): Float32Array {
  const out = new Float32Array(x.length * 3);
  x.forEach((r, i) => {
    const z = r.map((v, j) => (v - fit.mean[j]!) / fit.std[j]!);
    const logits = fit.bias.map((bk, k) => bk + z.reduce((s, v, j) => s + v * fit.weights[j]![k]!, 0));
    const m = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - m));
    const s = e.reduce((a, v) => a + v, 0);
    e.forEach((v, k) => (out[i * 3 + k] = v / s));
  });
  return out;
}
