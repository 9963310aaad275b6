// 1-D convolutions over time with "same" zero padding (odd kernel sizes). Conv1d lowers to one matrix
// product through im2col; its weight is stored [O, k, I] (tap-major), which the ONNX exporter permutes
// to ONNX's [O, I, k].
import { addRowBias, sumRows } from './ops.js';
import { gemmNT, matmulTN, transpose } from './gemm.js';
import { result, type Tape, type Tensor } from './tensor.js';

function im2col(x: Float32Array, T: number, I: number, k: number): Float32Array {
  const pad = (k - 1) >> 1;
  const col = new Float32Array(T * k * I);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < k; j++) {
      const src = t + j - pad;
      if (src < 0 || src >= T) continue;
      col.set(x.subarray(src * I, src * I + I), t * k * I + j * I);
    }
  }
  return col;
}

/** y[T,O] = conv(x[T,I], W[O,k,I]) + b. */
export function conv1d(tape: Tape | null, x: Tensor, W: Tensor, b: Tensor | null): Tensor {
  const T = x.rows,
    I = x.cols,
    O = W.shape[0]!,
    k = W.shape[1]!;
  if (W.shape[2] !== I) throw new Error(`conv1d: input has ${I} channels, weight expects ${W.shape[2]}`);
  const KI = k * I;
  const col = im2col(x.data, T, I, k);
  const y = new Float32Array(T * O);
  gemmNT(col, W.data, y, T, KI, O);
  if (b) addRowBias(y, b.data, T, O);
  const out = result(tape, y, [T, O], x, W, ...(b ? [b] : []));
  if (tape && out.requiresGrad) {
    tape.record(() => {
      const dy = out.g();
      if (W.requiresGrad) matmulTN(dy, col, W.g(), T, O, KI, true);
      if (b?.requiresGrad) sumRows(dy, T, O, b.g());
      if (!x.requiresGrad) return;
      const dcol = new Float32Array(T * KI);
      gemmNT(dy, transpose(W.data, O, KI), dcol, T, O, KI);
      const dx = x.g(),
        pad = (k - 1) >> 1;
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < k; j++) {
          const dst = t + j - pad;
          if (dst < 0 || dst >= T) continue;
          const s = t * KI + j * I,
            d = dst * I;
          for (let c = 0; c < I; c++) dx[d + c]! += dcol[s + c]!;
        }
      }
    });
  }
  return out;
}

/** Depthwise conv: y[t,c] = Σ_j W[c,j]·x[t+j−pad, c] + b[c]. */
export function depthwiseConv1d(tape: Tape | null, x: Tensor, W: Tensor, b: Tensor | null): Tensor {
  const T = x.rows,
    C = x.cols,
    k = W.cols,
    pad = (k - 1) >> 1;
  if (W.rows !== C) throw new Error(`depthwiseConv1d: input has ${C} channels, weight has ${W.rows}`);
  const y = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      let s = b ? b.data[c]! : 0;
      for (let j = 0; j < k; j++) {
        const src = t + j - pad;
        if (src >= 0 && src < T) s += W.data[c * k + j]! * x.data[src * C + c]!;
      }
      y[t * C + c] = s;
    }
  }
  const out = result(tape, y, [T, C], x, W, ...(b ? [b] : []));
  if (tape && out.requiresGrad) {
    tape.record(() => {
      const dy = out.g();
      const dW = W.requiresGrad ? W.g() : null;
      const dx = x.requiresGrad ? x.g() : null;
      if (b?.requiresGrad) sumRows(dy, T, C, b.g());
      for (let t = 0; t < T; t++) {
        for (let c = 0; c < C; c++) {
          const g = dy[t * C + c]!;
          for (let j = 0; j < k; j++) {
            const src = t + j - pad;
            if (src < 0 || src >= T) continue;
            if (dW) dW[c * k + j]! += g * x.data[src * C + c]!;
            if (dx) dx[src * C + c]! += g * W.data[c * k + j]!;
          }
        }
      }
    });
  }
  return out;
}
