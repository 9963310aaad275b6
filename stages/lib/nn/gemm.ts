// Dense matrix kernels on row-major Float32Array. Every product the layers need is reduced to one
// kernel, C = A·Bᵀ, whose inner loop reads both operands contiguously. Large products go to the wasm
// SIMD kernel (simd.ts); small ones (and runtimes without wasm SIMD) to a scalar kernel that keeps a
// 4×2 tile of sums in registers. The choice depends only on the shapes and each kernel sums in a fixed
// order, so results are bit-reproducible.
import { simdGemmNT, simdGemmTN } from './simd.js';

/** Products at least this large (M·N·K, with N ≥ 8) use the SIMD kernel; copying operands in is then cheap. */
const SIMD_MIN_WORK = 1 << 16;

/** C[M,N] (+)= A[M,K] · B[N,K]ᵀ. */
export function gemmNT(A: Float32Array, B: Float32Array, C: Float32Array, M: number, K: number, N: number, accumulate = false): void {
  if (simdGemmNT && N >= 8 && M >= 4 && M * N * K >= SIMD_MIN_WORK) simdGemmNT(A, B, C, M, K, N, accumulate);
  else gemmNTScalar(A, B, C, M, K, N, accumulate);
}

/** The scalar kernel: C[M,N] (+)= A[M,K] · B[N,K]ᵀ with a 4×2 register tile. */
export function gemmNTScalar(A: Float32Array, B: Float32Array, C: Float32Array, M: number, K: number, N: number, accumulate = false): void {
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = i * K,
      a1 = a0 + K,
      a2 = a1 + K,
      a3 = a2 + K;
    const c0 = i * N,
      c1 = c0 + N,
      c2 = c1 + N,
      c3 = c2 + N;
    let j = 0;
    for (; j + 2 <= N; j += 2) {
      const b0 = j * K,
        b1 = b0 + K;
      let s00 = 0,
        s01 = 0,
        s10 = 0,
        s11 = 0,
        s20 = 0,
        s21 = 0,
        s30 = 0,
        s31 = 0;
      for (let k = 0; k < K; k++) {
        const y0 = B[b0 + k]!,
          y1 = B[b1 + k]!;
        const x0 = A[a0 + k]!,
          x1 = A[a1 + k]!,
          x2 = A[a2 + k]!,
          x3 = A[a3 + k]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s30 += x3 * y0;
        s31 += x3 * y1;
      }
      if (accumulate) {
        C[c0 + j]! += s00;
        C[c0 + j + 1]! += s01;
        C[c1 + j]! += s10;
        C[c1 + j + 1]! += s11;
        C[c2 + j]! += s20;
        C[c2 + j + 1]! += s21;
        C[c3 + j]! += s30;
        C[c3 + j + 1]! += s31;
      } else {
        C[c0 + j] = s00;
        C[c0 + j + 1] = s01;
        C[c1 + j] = s10;
        C[c1 + j + 1] = s11;
        C[c2 + j] = s20;
        C[c2 + j + 1] = s21;
        C[c3 + j] = s30;
        C[c3 + j + 1] = s31;
      }
    }
    for (; j < N; j++) for (let r = 0; r < 4; r++) dotInto(A, (i + r) * K, B, j * K, K, C, (i + r) * N + j, accumulate);
  }
  for (; i < M; i++) for (let j = 0; j < N; j++) dotInto(A, i * K, B, j * K, K, C, i * N + j, accumulate);
}

function dotInto(A: Float32Array, a: number, B: Float32Array, b: number, K: number, C: Float32Array, c: number, accumulate: boolean): void {
  let s = 0;
  for (let k = 0; k < K; k++) s += A[a + k]! * B[b + k]!;
  C[c] = accumulate ? C[c]! + s : s;
}

/** out[C,R] = x[R,C]ᵀ. */
export function transpose(x: Float32Array, R: number, Cn: number, out = new Float32Array(R * Cn)): Float32Array {
  for (let r = 0; r < R; r++) {
    const row = r * Cn;
    for (let c = 0; c < Cn; c++) out[c * R + r] = x[row + c]!;
  }
  return out;
}

/** C[M,N] (+)= A[M,K] · B[K,N] (packs B transposed, then runs the tiled kernel). */
export function matmul(A: Float32Array, B: Float32Array, C: Float32Array, M: number, K: number, N: number, accumulate = false): void {
  gemmNT(A, transpose(B, K, N), C, M, K, N, accumulate);
}

/** C[K,N] (+)= A[M,K]ᵀ · B[M,N]  (weight gradients: dYᵀ·X and friends). */
export function matmulTN(A: Float32Array, B: Float32Array, C: Float32Array, M: number, K: number, N: number, accumulate = false): void {
  if (simdGemmTN && N >= 8 && K >= 4 && M * N * K >= SIMD_MIN_WORK) simdGemmTN(A, B, C, K, M, N, accumulate);
  else gemmNTScalar(transpose(A, M, K), transpose(B, M, N), C, K, M, N, accumulate);
}

/** The textbook triple loop (i-j-k, strided B): the baseline the benchmark compares against. */
export function matmulNaive(A: Float32Array, B: Float32Array, C: Float32Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[i * K + k]! * B[k * N + j]!;
      C[i * N + j] = s;
    }
  }
}
