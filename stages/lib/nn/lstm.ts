// Bidirectional LSTM over a [T, I] sequence → [T, 2H] (forward states, then backward states), with
// PyTorch's gate order i, f, g, o and one bias per direction. Input projections for all steps are one
// matrix product; only the H×4H recurrence is sequential.
import { gemmNT, matmulTN, transpose } from './gemm.js';
import { sigmoid, sumRows } from './ops.js';
import { result, type Tape, type Tensor } from './tensor.js';

export interface LstmWeights {
  /** [4H, I] */ wih: Tensor;
  /** [4H, H] */ whh: Tensor;
  /** [4H] */ b: Tensor;
}

interface DirectionState {
  h: Float32Array; // [T, H]
  backward(dh: Float32Array): void; // dh: [T, H]
}

/** out[o + r] += Σ_j W[r, j]·h[hp + j] for the 4H gate rows, four rows per pass over h. */
function recurrent(W: Float32Array, h: Float32Array, hp: number, out: Float32Array, o: number, R: number, H: number): void {
  for (let r = 0; r < R; r += 4) {
    const w0 = r * H,
      w1 = w0 + H,
      w2 = w1 + H,
      w3 = w2 + H;
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    for (let j = 0; j < H; j++) {
      const x = h[hp + j]!;
      s0 += W[w0 + j]! * x;
      s1 += W[w1 + j]! * x;
      s2 += W[w2 + j]! * x;
      s3 += W[w3 + j]! * x;
    }
    out[o + r]! += s0;
    out[o + r + 1]! += s1;
    out[o + r + 2]! += s2;
    out[o + r + 3]! += s3;
  }
}

/** dh[j] += Σ_r dA[o + r]·W[r, j], four rows per pass over dh. */
function recurrentBack(W: Float32Array, dA: Float32Array, o: number, dh: Float64Array, R: number, H: number): void {
  for (let r = 0; r < R; r += 4) {
    const d0 = dA[o + r]!,
      d1 = dA[o + r + 1]!,
      d2 = dA[o + r + 2]!,
      d3 = dA[o + r + 3]!;
    const w0 = r * H,
      w1 = w0 + H,
      w2 = w1 + H,
      w3 = w2 + H;
    for (let j = 0; j < H; j++) dh[j]! += d0 * W[w0 + j]! + d1 * W[w1 + j]! + d2 * W[w2 + j]! + d3 * W[w3 + j]!;
  }
}

function runDirection(x: Tensor, w: LstmWeights, reverse: boolean): DirectionState {
  const T = x.rows,
    I = x.cols,
    H4 = w.wih.rows,
    H = H4 / 4;
  const gates = new Float32Array(T * H4); // pre-activation, then activated in place
  gemmNT(x.data, w.wih.data, gates, T, I, H4);
  const h = new Float32Array(T * H),
    c = new Float32Array(T * H);
  const whh = w.whh.data,
    b = w.b.data;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const prev = s === 0 ? -1 : reverse ? t + 1 : t - 1;
    const g = t * H4;
    for (let r = 0; r < H4; r++) gates[g + r]! += b[r]!;
    if (prev >= 0) recurrent(whh, h, prev * H, gates, g, H4, H);
    for (let r = 0; r < H4; r++) gates[g + r] = r >= 2 * H && r < 3 * H ? Math.tanh(gates[g + r]!) : sigmoid(gates[g + r]!);
    for (let j = 0; j < H; j++) {
      const ig = gates[g + j]!,
        fg = gates[g + H + j]!,
        gg = gates[g + 2 * H + j]!,
        og = gates[g + 3 * H + j]!;
      const cp = prev >= 0 ? c[prev * H + j]! : 0;
      const cv = fg * cp + ig * gg;
      c[t * H + j] = cv;
      h[t * H + j] = og * Math.tanh(cv);
    }
  }
  const backward = (dhOut: Float32Array): void => {
    const dA = new Float32Array(T * H4);
    const hPrev = new Float32Array(T * H); // h of the previous step, aligned with t, for dWhh
    const dhNext = new Float64Array(H),
      dcNext = new Float64Array(H);
    for (let s = T - 1; s >= 0; s--) {
      const t = reverse ? T - 1 - s : s;
      const prev = s === 0 ? -1 : reverse ? t + 1 : t - 1;
      const g = t * H4;
      for (let j = 0; j < H; j++) {
        const ig = gates[g + j]!,
          fg = gates[g + H + j]!,
          gg = gates[g + 2 * H + j]!,
          og = gates[g + 3 * H + j]!;
        const tc = Math.tanh(c[t * H + j]!);
        const dh = dhOut[t * H + j]! + dhNext[j]!;
        const dc = dh * og * (1 - tc * tc) + dcNext[j]!;
        const cp = prev >= 0 ? c[prev * H + j]! : 0;
        dA[g + j] = dc * gg * ig * (1 - ig);
        dA[g + H + j] = dc * cp * fg * (1 - fg);
        dA[g + 2 * H + j] = dc * ig * (1 - gg * gg);
        dA[g + 3 * H + j] = dh * tc * og * (1 - og);
        dcNext[j] = dc * fg;
        if (prev >= 0) hPrev[t * H + j] = h[prev * H + j]!;
      }
      dhNext.fill(0);
      if (prev >= 0) recurrentBack(whh, dA, g, dhNext, H4, H);
    }
    if (w.whh.requiresGrad) matmulTN(dA, hPrev, w.whh.g(), T, H4, H, true);
    if (w.wih.requiresGrad) matmulTN(dA, x.data, w.wih.g(), T, H4, I, true);
    if (w.b.requiresGrad) sumRows(dA, T, H4, w.b.g());
    if (x.requiresGrad) gemmNT(dA, transpose(w.wih.data, H4, I), x.g(), T, H4, I, true);
  };
  return { h, backward };
}

export function biLstm(tape: Tape | null, x: Tensor, fwd: LstmWeights, bwd: LstmWeights): Tensor {
  const T = x.rows,
    H = fwd.whh.cols;
  const f = runDirection(x, fwd, false);
  const r = runDirection(x, bwd, true);
  const y = new Float32Array(T * 2 * H);
  for (let t = 0; t < T; t++) {
    y.set(f.h.subarray(t * H, t * H + H), t * 2 * H);
    y.set(r.h.subarray(t * H, t * H + H), t * 2 * H + H);
  }
  const out = result(tape, y, [T, 2 * H], x, fwd.wih, fwd.whh, fwd.b, bwd.wih, bwd.whh, bwd.b);
  if (tape && out.requiresGrad) {
    tape.record(() => {
      const dy = out.g();
      const df = new Float32Array(T * H),
        dr = new Float32Array(T * H);
      for (let t = 0; t < T; t++) {
        df.set(dy.subarray(t * 2 * H, t * 2 * H + H), t * H);
        dr.set(dy.subarray(t * 2 * H + H, t * 2 * H + 2 * H), t * H);
      }
      f.backward(df);
      r.backward(dr);
    });
  }
  return out;
}
