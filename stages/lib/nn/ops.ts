// Sequence layers on [T, C] tensors (time-major rows). Each op computes its output and, when a tape is
// recording, registers the backward step that accumulates into its inputs' gradients.
import { gemmNT, matmulTN, transpose } from './gemm.js';
import type { Rng } from './rng.js';
import { result, type Tape, type Tensor } from './tensor.js';

/** y[T,O] = x[T,I] · Wᵀ + b, with W stored [O, I] like PyTorch. */
export function linear(tape: Tape | null, x: Tensor, W: Tensor, b: Tensor | null): Tensor {
  const T = x.rows,
    I = x.cols,
    O = W.rows;
  if (W.cols !== I) throw new Error(`linear: input has ${I} features, weight expects ${W.cols}`);
  const y = new Float32Array(T * O);
  gemmNT(x.data, W.data, y, T, I, O);
  if (b) addRowBias(y, b.data, T, O);
  const out = result(tape, y, [T, O], x, W, ...(b ? [b] : []));
  if (tape && out.requiresGrad) {
    tape.record(() => {
      const dy = out.g();
      if (W.requiresGrad) {
        if (O <= 8) accumulateOuter(dy, x.data, W.g(), T, O, I);
        else matmulTN(dy, x.data, W.g(), T, O, I, true);
      }
      if (b?.requiresGrad) sumRows(dy, T, O, b.g());
      if (x.requiresGrad) gemmNT(dy, transpose(W.data, O, I), x.g(), T, O, I, true);
    });
  }
  return out;
}

/** dW[O,I] += dyᵀ·x by streaming x's rows once: cheaper than transposing x when O is tiny (v1's 2). */
function accumulateOuter(dy: Float32Array, x: Float32Array, dW: Float32Array, T: number, O: number, I: number): void {
  for (let o = 0; o < O; o++) {
    const w = o * I;
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      const g0 = dy[t * O + o]!,
        g1 = dy[(t + 1) * O + o]!,
        g2 = dy[(t + 2) * O + o]!,
        g3 = dy[(t + 3) * O + o]!;
      const x0 = t * I,
        x1 = x0 + I,
        x2 = x1 + I,
        x3 = x2 + I;
      for (let i = 0; i < I; i++) dW[w + i]! += g0 * x[x0 + i]! + g1 * x[x1 + i]! + g2 * x[x2 + i]! + g3 * x[x3 + i]!;
    }
    for (; t < T; t++) {
      const g = dy[t * O + o]!,
        xr = t * I;
      for (let i = 0; i < I; i++) dW[w + i]! += g * x[xr + i]!;
    }
  }
}

export function addRowBias(y: Float32Array, b: Float32Array, T: number, C: number): void {
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) y[t * C + c]! += b[c]!;
}

/** acc[c] += Σ_t x[t,c]. */
export function sumRows(x: Float32Array, T: number, C: number, acc: Float32Array): void {
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) acc[c]! += x[t * C + c]!;
}

/** LayerNorm over the channel axis of each row. */
export function layerNorm(tape: Tape | null, x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const T = x.rows,
    C = x.cols;
  const y = new Float32Array(T * C);
  const xhat = new Float32Array(T * C);
  const rstd = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const o = t * C;
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x.data[o + c]!;
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x.data[o + c]! - mean) ** 2;
    const r = 1 / Math.sqrt(v / C + eps);
    rstd[t] = r;
    for (let c = 0; c < C; c++) {
      const h = (x.data[o + c]! - mean) * r;
      xhat[o + c] = h;
      y[o + c] = h * gamma.data[c]! + beta.data[c]!;
    }
  }
  const out = result(tape, y, [T, C], x, gamma, beta);
  if (tape && out.requiresGrad) {
    tape.record(() => {
      const dy = out.g();
      if (gamma.requiresGrad) for (let i = 0; i < T * C; i++) gamma.g()[i % C]! += dy[i]! * xhat[i]!;
      if (beta.requiresGrad) sumRows(dy, T, C, beta.g());
      if (!x.requiresGrad) return;
      const dx = x.g();
      for (let t = 0; t < T; t++) {
        const o = t * C;
        let m1 = 0,
          m2 = 0;
        for (let c = 0; c < C; c++) {
          const g = dy[o + c]! * gamma.data[c]!;
          m1 += g;
          m2 += g * xhat[o + c]!;
        }
        m1 /= C;
        m2 /= C;
        for (let c = 0; c < C; c++) dx[o + c]! += rstd[t]! * (dy[o + c]! * gamma.data[c]! - m1 - xhat[o + c]! * m2);
      }
    });
  }
  return out;
}

/**
 * BatchNorm1d over time (the batch is one sequence, as PyTorch sees [1, C, T]). Training uses the
 * sequence's statistics and updates the running ones (momentum 0.1, unbiased variance); eval uses the
 * running ones.
 */
export function batchNorm(
  tape: Tape | null,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Float32Array,
  runVar: Float32Array,
  train: boolean,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  const T = x.rows,
    C = x.cols;
  const y = new Float32Array(T * C);
  if (!train) {
    for (let c = 0; c < C; c++) {
      const r = 1 / Math.sqrt(runVar[c]! + eps);
      for (let t = 0; t < T; t++) y[t * C + c] = (x.data[t * C + c]! - runMean[c]!) * r * gamma.data[c]! + beta.data[c]!;
    }
    const out = result(tape, y, [T, C], x, gamma, beta);
    if (tape && out.requiresGrad) {
      tape.record(() => {
        const dy = out.g();
        for (let c = 0; c < C; c++) {
          const r = 1 / Math.sqrt(runVar[c]! + eps);
          for (let t = 0; t < T; t++) {
            const i = t * C + c;
            if (gamma.requiresGrad) gamma.g()[c]! += dy[i]! * (x.data[i]! - runMean[c]!) * r;
            if (beta.requiresGrad) beta.g()[c]! += dy[i]!;
            if (x.requiresGrad) x.g()[i]! += dy[i]! * r * gamma.data[c]!;
          }
        }
      });
    }
    return out;
  }
  const xhat = new Float32Array(T * C);
  const rstd = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let mean = 0;
    for (let t = 0; t < T; t++) mean += x.data[t * C + c]!;
    mean /= T;
    let v = 0;
    for (let t = 0; t < T; t++) v += (x.data[t * C + c]! - mean) ** 2;
    const r = 1 / Math.sqrt(v / T + eps);
    rstd[c] = r;
    for (let t = 0; t < T; t++) {
      const i = t * C + c;
      xhat[i] = (x.data[i]! - mean) * r;
      y[i] = xhat[i]! * gamma.data[c]! + beta.data[c]!;
    }
    runMean[c] = (1 - momentum) * runMean[c]! + momentum * mean;
    runVar[c] = (1 - momentum) * runVar[c]! + momentum * (T > 1 ? v / (T - 1) : v);
  }
  const out = result(tape, y, [T, C], x, gamma, beta);
  if (tape && out.requiresGrad) {
    tape.record(() => {
      const dy = out.g();
      for (let c = 0; c < C; c++) {
        let sg = 0,
          sgx = 0;
        for (let t = 0; t < T; t++) {
          const i = t * C + c;
          sg += dy[i]!;
          sgx += dy[i]! * xhat[i]!;
        }
        if (gamma.requiresGrad) gamma.g()[c]! += sgx;
        if (beta.requiresGrad) beta.g()[c]! += sg;
        if (!x.requiresGrad) continue;
        const dx = x.g();
        const k = (gamma.data[c]! * rstd[c]!) / T;
        for (let t = 0; t < T; t++) {
          const i = t * C + c;
          dx[i]! += k * (T * dy[i]! - sg - xhat[i]! * sgx);
        }
      }
    });
  }
  return out;
}

export function relu(tape: Tape | null, x: Tensor): Tensor {
  const y = new Float32Array(x.data.length);
  for (let i = 0; i < y.length; i++) y[i] = Math.max(x.data[i]!, 0);
  const out = result(tape, y, x.shape, x);
  if (tape && out.requiresGrad) {
    tape.record(() => {
      const dy = out.g(),
        dx = x.g();
      for (let i = 0; i < y.length; i++) if (x.data[i]! > 0) dx[i]! += dy[i]!;
    });
  }
  return out;
}

/** Inverted dropout; the mask comes from the caller's seeded generator. Identity when not training. */
export function dropout(tape: Tape | null, x: Tensor, p: number, rng: Rng | null, train: boolean): Tensor {
  if (!train || p <= 0 || !rng) return x;
  const scale = 1 / (1 - p);
  const mask = new Float32Array(x.data.length);
  const y = new Float32Array(x.data.length);
  for (let i = 0; i < y.length; i++) {
    mask[i] = rng.next() >= p ? scale : 0;
    y[i] = x.data[i]! * mask[i]!;
  }
  const out = result(tape, y, x.shape, x);
  if (tape && out.requiresGrad) {
    tape.record(() => {
      const dy = out.g(),
        dx = x.g();
      for (let i = 0; i < y.length; i++) dx[i]! += dy[i]! * mask[i]!;
    });
  }
  return out;
}

/** y[t] = x[t, b] − x[t, a]: the rally logit s1 − s0 of the learned-smoothing model. */
export function columnDiff(tape: Tape | null, x: Tensor, a: number, b: number): Tensor {
  const T = x.rows,
    C = x.cols;
  const y = new Float32Array(T);
  for (let t = 0; t < T; t++) y[t] = x.data[t * C + b]! - x.data[t * C + a]!;
  const out = result(tape, y, [T], x);
  if (tape && out.requiresGrad) {
    tape.record(() => {
      const dy = out.g(),
        dx = x.g();
      for (let t = 0; t < T; t++) {
        dx[t * C + b]! += dy[t]!;
        dx[t * C + a]! -= dy[t]!;
      }
    });
  }
  return out;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + e^z) without overflow. */
export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * Mean binary cross-entropy with logits and PyTorch's pos_weight:
 * ℓ = −[w·y·log σ(z) + (1−y)·log(1−σ(z))]. Seeds the logits' gradient; returns the loss.
 */
export function bceWithLogits(logits: Tensor, labels: ArrayLike<number>, posWeight: number, scale = 1): number {
  const n = logits.data.length;
  let loss = 0;
  const g = logits.requiresGrad ? logits.g() : null;
  for (let i = 0; i < n; i++) {
    const z = logits.data[i]!,
      y = labels[i]!;
    loss += posWeight * y * softplus(-z) + (1 - y) * softplus(z);
    if (g) g[i]! += (scale * (-posWeight * y * (1 - sigmoid(z)) + (1 - y) * sigmoid(z))) / n;
  }
  return loss / n;
}
