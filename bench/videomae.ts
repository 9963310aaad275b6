// VideoMAE-base inference cost on this CPU: a VideoMAE-shaped ViT (stages/lib/model/vit.ts: 12 layers, hidden
// 768, 12 heads, MLP 3072, 1568 tokens) with generated weights, written to a temp folder (never committed),
// run through the same loader and worker thread as extract-features. Baseline in the same run: onnxruntime's
// own GEMM throughput on the ViT's biggest matrix product (1568×768 · 768×3072), measured before and after;
// the ratio is the share of that GEMM speed the whole model reaches. Also prints what the beach_v4-sized
// run (51 videos, 281.7 min of 30 fps proxy) would take here at this rate.
// RALLYCUT_BENCH_VIDEOMAE_WINDOWS (default 3) windows are timed after one warm-up window, at batch 1.
import { promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench } from './run.js';
import { stableJson } from '../src/format/printer.js';
import { GraphBuilder } from '../stages/lib/model/onnx-graph.js';
import { importOnnxRuntime } from '../stages/lib/model/onnxruntime.js';
import { locateModel, videoMaeSpec } from '../stages/lib/model/registry.js';
import { loadClassifier } from '../stages/lib/model/session.js';
import { buildVitOnnx, tokens, VIDEOMAE_BASE, vitMacs, vitParameters } from '../stages/lib/model/vit.js';
import { windowCount } from '../stages/lib/features/windows.js';

const WINDOWS = Number(process.env.RALLYCUT_BENCH_VIDEOMAE_WINDOWS ?? 3);
/** beach_v4: 51 videos, 281.7 min in total (its manifest's stats); windows at stride 48 on the 30 fps proxy. */
const BEACH_V4_MINUTES = 281.7;

async function gemmGflops(seconds = 2): Promise<number> {
  const c = VIDEOMAE_BASE;
  const n = tokens(c);
  const g = new GraphBuilder();
  const a = g.input('a', [n, c.hidden]);
  const w = new Float32Array(c.hidden * c.mlp).map((_, i) => ((i % 97) - 48) / 4800);
  g.op('MatMul', [a, g.floatConst(w, [c.hidden, c.mlp])], {}, 'y');
  g.output('y', [n, c.mlp]);
  const ort = await importOnnxRuntime();
  const session = await ort.InferenceSession.create(g.encode('gemm', 'baseline'), { graphOptimizationLevel: 'all', executionMode: 'sequential' });
  try {
    const input = new ort.Tensor(
      'float32',
      new Float32Array(n * c.hidden).map((_, i) => ((i % 89) - 44) / 440),
      [n, c.hidden],
    );
    await session.run({ a: input }); // warm-up
    let runs = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await session.run({ a: input });
      runs++;
    }
    const s = (performance.now() - t0) / 1000;
    return (runs * 2 * n * c.hidden * c.mlp) / s / 1e9;
  } finally {
    await session.release();
  }
}

export const bench: Bench = {
  name: 'videomae',
  async run() {
    const c = VIDEOMAE_BASE;
    const dir = await mkdtemp(join(tmpdir(), 'rallycut-bench-vit-'));
    try {
      let t0 = performance.now();
      const bytes = buildVitOnnx(c);
      await fs.writeFile(join(dir, 'model.onnx'), bytes);
      await fs.writeFile(join(dir, 'model.json'), stableJson(videoMaeSpec(c.hidden)));
      const buildS = (performance.now() - t0) / 1000;
      const gemmBefore = await gemmGflops();
      t0 = performance.now();
      const model = await loadClassifier(locateModel(dir, dir));
      const loadS = (performance.now() - t0) / 1000;
      let perWindow: number;
      try {
        let data = new Float32Array(model.windowSize);
        for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 500 - 1;
        data = new Float32Array((await model.run(data, 1)).buffer); // warm-up
        t0 = performance.now();
        for (let k = 0; k < WINDOWS; k++) data = new Float32Array((await model.run(data, 1)).buffer);
        perWindow = (performance.now() - t0) / 1000 / WINDOWS;
      } finally {
        await model.release();
      }
      const gemmAfter = await gemmGflops();
      const gemm = (gemmBefore + gemmAfter) / 2;
      const macs = vitMacs(c);
      const achieved = (2 * macs) / perWindow / 1e9;
      const frames = Math.round(BEACH_V4_MINUTES * 60 * 30);
      const beachWindows = windowCount(frames, 48); // one long video is within 51 of the per-video sum
      const f = (x: number, d = 2): string => x.toFixed(d);
      process.stdout.write(
        `graph: ${c.layers} layers, hidden ${c.hidden}, ${c.heads} heads, MLP ${c.mlp}, ${tokens(c)} tokens; ${f(vitParameters(c) / 1e6, 1)} M parameters (random), ${f(bytes.length / 1e6, 0)} MB ONNX built in ${f(buildS, 1)} s; session load ${f(loadS, 1)} s\n`,
      );
      process.stdout.write(`cost: ${f(macs / 1e9, 1)} G multiply-adds = ${f((2 * macs) / 1e9, 1)} GFLOP per window\n`);
      process.stdout.write(
        `baseline: onnxruntime GEMM ${tokens(c)}×${c.hidden}·${c.hidden}×${c.mlp}: ${f(gemmBefore, 1)} GFLOP/s before, ${f(gemmAfter, 1)} after\n`,
      );
      process.stdout.write(
        `VideoMAE-shaped inference, batch 1, ${WINDOWS} windows: ${f(perWindow)} s/window = ${f(1 / perWindow, 3)} windows/s = ${f(achieved, 1)} GFLOP/s\n`,
      );
      process.stdout.write(
        `ratio model GFLOP/s / GEMM GFLOP/s = ${f(achieved / gemm)}× (load average ${loadavg()
          .map((l) => f(l, 1))
          .join(' ')})\n`,
      );
      process.stdout.write(
        `beach_v4-sized run (${BEACH_V4_MINUTES} min at 30 fps, stride 48 ≈ ${beachWindows} windows) at this rate: ${f((beachWindows * perWindow) / 3600, 1)} h of inference\n`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
