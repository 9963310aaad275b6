import { describe, expect, it } from 'vitest';
import { conv1d, depthwiseConv1d } from './conv.js';
import { crfLogPartition, crfMarginals, crfNll, crfScore, viterbi, type CrfParams } from './crf.js';
import { gemmNT, gemmNTScalar, matmul, matmulNaive, matmulTN } from './gemm.js';
import { simdGemmNT } from './simd.js';
import { gradCheck, randomTensor } from './gradcheck.js';
import { biLstm } from './lstm.js';
import { batchNorm, bceWithLogits, columnDiff, dropout, layerNorm, linear, relu } from './ops.js';
import { AdamW, clipGradNorm, cosineLr } from './optim.js';
import { ParamBuilder, init } from './params.js';
import { Rng } from './rng.js';
import { Tensor } from './tensor.js';

const TOL = 2e-2;

describe('matrix kernels', () => {
  it('agree with the textbook triple loop on odd shapes', () => {
    const rng = new Rng(1);
    for (const [M, K, N] of [
      [7, 5, 3],
      [9, 13, 6],
      [1, 1, 1],
      [12, 8, 9],
    ] as const) {
      const A = randomTensor(rng, [M, K]).data,
        B = randomTensor(rng, [K, N]).data;
      const ref = new Float32Array(M * N),
        got = new Float32Array(M * N);
      matmulNaive(A, B, ref, M, K, N);
      matmul(A, B, got, M, K, N);
      for (let i = 0; i < ref.length; i++) expect(got[i]).toBeCloseTo(ref[i]!, 4);
      const At = new Float32Array(K * M);
      for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) At[k * M + i] = A[i * K + k]!;
      matmulTN(At, B, got, K, M, N);
      for (let i = 0; i < ref.length; i++) expect(got[i]).toBeCloseTo(ref[i]!, 4);
      const Bt = new Float32Array(N * K);
      for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j]!;
      gemmNT(A, Bt, got, M, K, N);
      for (let i = 0; i < ref.length; i++) expect(got[i]).toBeCloseTo(ref[i]!, 4);
    }
  });
  it('the wasm SIMD kernels (A·Bᵀ and Aᵀ·B) agree with the triple loop, padding ragged shapes and accumulating', () => {
    expect(simdGemmNT).not.toBeNull();
    const rng = new Rng(2);
    for (const [M, K, N] of [
      [64, 130, 33],
      [37, 67, 18],
      [128, 256, 64],
    ] as const) {
      const A = randomTensor(rng, [M, K]).data,
        B = randomTensor(rng, [K, N]).data;
      const ref = new Float32Array(M * N);
      matmulNaive(A, B, ref, M, K, N);
      const Bt = new Float32Array(N * K);
      for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j]!;
      const got = new Float32Array(M * N).fill(1);
      simdGemmNT!(A, Bt, got, M, K, N, true);
      for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i]! - 1 - ref[i]!)).toBeLessThan(1e-3 * (1 + Math.abs(ref[i]!)));
      const At = new Float32Array(K * M);
      for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) At[k * M + i] = A[i * K + k]!;
      const tn = new Float32Array(M * N);
      matmulTN(At, B, tn, K, M, N);
      for (let i = 0; i < ref.length; i++) expect(Math.abs(tn[i]! - ref[i]!)).toBeLessThan(1e-3 * (1 + Math.abs(ref[i]!)));
      const scalar = new Float32Array(M * N);
      gemmNTScalar(A, Bt, scalar, M, K, N);
      gemmNT(A, Bt, got, M, K, N);
      for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i]! - scalar[i]!)).toBeLessThan(1e-3 * (1 + Math.abs(ref[i]!)));
    }
  });
});

describe('gradients match finite differences', () => {
  const rng = new Rng(42);
  it('linear', () => {
    const x = randomTensor(rng, [6, 5]),
      W = randomTensor(rng, [3, 5]),
      b = randomTensor(rng, [3]);
    expect(gradCheck([x, W, b], (tp) => linear(tp, x, W, b))).toBeLessThan(TOL);
  });
  it('layerNorm', () => {
    const x = randomTensor(rng, [5, 6]),
      g = randomTensor(rng, [6]),
      b = randomTensor(rng, [6]);
    expect(gradCheck([x, g, b], (tp) => layerNorm(tp, x, g, b), { eps: 5e-3 })).toBeLessThan(TOL);
  });
  it('batchNorm in training and eval mode', () => {
    const x = randomTensor(rng, [7, 4]),
      g = randomTensor(rng, [4]),
      b = randomTensor(rng, [4]);
    const rm = new Float32Array(4),
      rv = new Float32Array(4).fill(1);
    expect(gradCheck([x, g, b], (tp) => batchNorm(tp, x, g, b, rm.slice(), rv.slice(), true), { eps: 5e-3 })).toBeLessThan(TOL);
    const rm2 = Float32Array.from([0.1, -0.2, 0.3, 0]),
      rv2 = Float32Array.from([1.5, 0.5, 2, 1]);
    expect(gradCheck([x, g, b], (tp) => batchNorm(tp, x, g, b, rm2, rv2, false))).toBeLessThan(TOL);
  });
  it('relu, dropout (fixed mask) and column difference', () => {
    const x = randomTensor(rng, [6, 3]);
    for (let i = 0; i < x.data.length; i++) if (Math.abs(x.data[i]!) < 0.1) x.data[i] = 0.5;
    expect(gradCheck([x], (tp) => columnDiff(tp, relu(tp, dropout(tp, x, 0.3, new Rng(3), true)), 0, 2))).toBeLessThan(TOL);
  });
  it('conv1d and depthwise conv1d (k=5, same padding)', () => {
    const x = randomTensor(rng, [8, 3]),
      W = randomTensor(rng, [4, 5, 3]),
      b = randomTensor(rng, [4]);
    expect(gradCheck([x, W, b], (tp) => conv1d(tp, x, W, b), { samples: 20 })).toBeLessThan(TOL);
    const Wd = randomTensor(rng, [3, 5]),
      bd = randomTensor(rng, [3]);
    expect(gradCheck([x, Wd, bd], (tp) => depthwiseConv1d(tp, x, Wd, bd), { samples: 20 })).toBeLessThan(TOL);
  });
  it('bidirectional LSTM', () => {
    const x = randomTensor(rng, [5, 3]);
    const dir = () => ({ wih: randomTensor(rng, [8, 3], 0.5), whh: randomTensor(rng, [8, 2], 0.5), b: randomTensor(rng, [8], 0.5) });
    const f = dir(),
      r = dir();
    expect(gradCheck([x, f.wih, f.whh, f.b, r.wih, r.whh, r.b], (tp) => biLstm(tp, x, f, r), { samples: 16, eps: 5e-3 })).toBeLessThan(TOL);
  });
  it('BCE with logits and pos_weight', () => {
    const z = randomTensor(rng, [10]);
    const y = [1, 0, 0, 1, 1, 0, 1, 0, 0, 0];
    expect(gradCheck([z], (tp) => (tp ? bceWithLogits(z, y, 2.5) : bceWithLogits(new Tensor(z.data, z.shape), y, 2.5)))).toBeLessThan(TOL);
  });
  it('CRF negative log-likelihood (emissions, transitions, start, end)', () => {
    const em = randomTensor(rng, [6, 2]);
    const p: CrfParams = { trans: randomTensor(rng, [2, 2]), start: randomTensor(rng, [2]), end: randomTensor(rng, [2]) };
    const y = [0, 1, 1, 0, 1, 1];
    const all = [em, p.trans, p.start, p.end];
    const plain = (t: Tensor) => new Tensor(t.data, t.shape);
    const check = gradCheck(all, (tp) =>
      tp ? crfNll(em, p, y, 0.5) : crfNll(plain(em), { trans: plain(p.trans), start: plain(p.start), end: plain(p.end) }, y, 0.5),
    );
    expect(check).toBeLessThan(TOL);
  });
});

function allLabellings(T: number): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < 1 << T; m++) out.push(Array.from({ length: T }, (_, t) => (m >> t) & 1));
  return out;
}

describe('CRF against brute force', () => {
  it('partition function, marginals and Viterbi equal exhaustive enumeration', () => {
    const rng = new Rng(9);
    for (let trial = 0; trial < 20; trial++) {
      const T = 1 + (trial % 7);
      const em = randomTensor(rng, [T, 2], 2);
      const p: CrfParams = { trans: randomTensor(rng, [2, 2], 2), start: randomTensor(rng, [2]), end: randomTensor(rng, [2]) };
      const labellings = allLabellings(T);
      const scores = labellings.map((y) => crfScore(em.data, 2, p, y));
      const m = Math.max(...scores);
      const logZ = m + Math.log(scores.reduce((s, v) => s + Math.exp(v - m), 0));
      expect(crfLogPartition(em.data, T, 2, p)).toBeCloseTo(logZ, 5);
      const best = labellings[scores.indexOf(m)]!;
      expect(Array.from(viterbi(em.data, T, 2, p))).toEqual(best);
      const marg = crfMarginals(em.data, T, 2, p);
      for (let t = 0; t < T; t++) {
        const p1 = labellings.reduce((s, y, i) => s + (y[t] === 1 ? Math.exp(scores[i]! - logZ) : 0), 0);
        expect(marg[t * 2 + 1]).toBeCloseTo(p1, 5);
      }
      expect(crfNll(new Tensor(em.data, em.shape), p, best)).toBeCloseTo(logZ - m, 4);
    }
  });
});

describe('optimiser', () => {
  it('AdamW with clipping and cosine schedule minimises a quadratic', () => {
    const params = new ParamBuilder().add('w', [3], init.const(5)).build(new Rng(1));
    const opt = new AdamW(params, 0);
    let clipped = 0;
    for (let s = 0; s < 400; s++) {
      params.zeroGrad();
      for (let i = 0; i < 3; i++) params.grads[i] = 2 * (params.values[i]! - i);
      const before = Array.from(params.grads.subarray(0, 3));
      const norm = Math.hypot(...before);
      // Returns the norm before clipping, and scales the gradient down to norm 1 only when it is above 1.
      expect(clipGradNorm(params, 1)).toBeCloseTo(norm, 9);
      const after = Array.from(params.grads.subarray(0, 3));
      if (norm > 1) {
        expect(Math.hypot(...after)).toBeCloseTo(1, 5);
        after.forEach((g, i) => expect(g * norm).toBeCloseTo(before[i]!, 5)); // same direction
        clipped++;
      } else {
        expect(after).toEqual(before);
      }
      opt.update(cosineLr(0.1, s, 400));
    }
    expect(clipped).toBeGreaterThan(0); // the start (gradient norm ~15) was clipped
    expect(Array.from(params.values).map((v) => Math.round(v * 10) / 10 + 0)).toEqual([0, 1, 2]);
    expect(cosineLr(1, 0, 10)).toBe(1);
    expect(cosineLr(1, 10, 10)).toBeCloseTo(0);
  });
});
