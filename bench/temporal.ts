// Temporal-model training throughput on the issue's reference size: 51 videos × 500 windows × 768
// features. v1 runs its 50 epochs; v2/v3 run BENCH_EPOCHS (default 2) and are extrapolated to 50
// unless BENCH_FULL=1. The GEMM kernel is measured against the textbook triple loop in the same run.
import type { Bench } from './run.js';
import { gemmNTScalar, matmulNaive, transpose } from '../stages/lib/nn/gemm.js';
import { simdGemmNT } from '../stages/lib/nn/simd.js';
import { Rng } from '../stages/lib/nn/rng.js';
import { splitVideos } from '../stages/temporal/data.js';
import type { ModelVersion } from '../stages/temporal/models.js';
import { synthVideos } from '../stages/temporal/synth.js';
import { trainModel } from '../stages/temporal/train.js';

const TARGET_S: Record<ModelVersion, number> = { v1: 10, v2: 180, v3: 180 };

function gflops(M: number, K: number, N: number, ms: number): number {
  return (2 * M * K * N) / (ms * 1e6);
}

function timeIt(fn: () => void, minMs = 300): number {
  fn();
  let reps = 0;
  const start = performance.now();
  while (performance.now() - start < minMs || reps < 2) {
    fn();
    reps++;
  }
  return (performance.now() - start) / reps;
}

function benchGemm(): void {
  const M = 500,
    K = 768,
    N = 128; // v2/v3 projection: one chunk × 768 → 128
  const rng = new Rng(1);
  const A = Float32Array.from({ length: M * K }, () => rng.normal());
  const B = Float32Array.from({ length: K * N }, () => rng.normal());
  const C = new Float32Array(M * N);
  const Bt = transpose(B, K, N);
  const naive = timeIt(() => matmulNaive(A, B, C, M, K, N));
  const tiled = timeIt(() => gemmNTScalar(A, Bt, C, M, K, N));
  const simd = simdGemmNT ? timeIt(() => simdGemmNT!(A, Bt, C, M, K, N, false)) : null;
  const line = (name: string, ms: number): string =>
    `${name} ${gflops(M, K, N, ms).toFixed(2)} GFLOP/s (${ms.toFixed(1)} ms, ${(naive / ms).toFixed(1)}× the triple loop)`;
  console.log(
    `gemm ${M}×${K}×${N}: triple loop ${gflops(M, K, N, naive).toFixed(2)} GFLOP/s (${naive.toFixed(1)} ms); ${line('scalar 4×2 tile', tiled)}; ${simd === null ? 'wasm SIMD unavailable' : line('wasm SIMD', simd)}`,
  );
}

export const bench: Bench = {
  name: 'temporal',
  async run() {
    benchGemm();
    const full = process.env.BENCH_FULL === '1';
    const videosN = Number(process.env.BENCH_VIDEOS ?? 51),
      windows = Number(process.env.BENCH_WINDOWS ?? 500),
      dim = Number(process.env.BENCH_DIM ?? 768);
    const t0 = performance.now();
    const videos = synthVideos({ videos: videosN, windows, dim, seed: 1 });
    const { train, val } = splitVideos(videos, 42);
    console.log(
      `data: ${videosN} videos × ${windows} windows × ${dim} features (${train.length} train / ${val.length} val), generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const only = (process.env.BENCH_MODELS ?? 'v1,v2,v3').split(',') as ModelVersion[];
    for (const version of only) {
      const epochs = version === 'v1' || full ? 50 : Number(process.env.BENCH_EPOCHS ?? 2);
      const start = performance.now();
      const r = trainModel(train, val, {
        arch: { version, featureDim: dim, hiddenDim: 128, lstmHidden: 64, lstmLayers: 3, dropout: 0.4, kernel: 5, convLayers: 3 },
        epochs,
        lr: 1e-4,
        weightDecay: 0.01,
        patience: 1e9,
        clip: 1,
        seed: 42,
      });
      const s = (performance.now() - start) / 1000;
      const for50 = (s * 50) / epochs;
      const last = r.metrics[r.metrics.length - 1]!;
      console.log(
        `${version}: ${epochs} epochs in ${s.toFixed(1)} s${epochs === 50 ? '' : ` → ${for50.toFixed(0)} s for 50 (extrapolated)`}; target ≤ ${TARGET_S[version]} s: ${(for50 / TARGET_S[version]).toFixed(2)}× of target` +
          `${version === 'v1' ? `; ${(300 / for50).toFixed(0)}× faster than the seed's ~300 s on CPU` : ''} (val F1 ${last.val_f1.toFixed(3)})`,
      );
    }
  },
};
