// extract-features throughput: end-to-end (decode → normalise → inference, overlapped) against the sum of
// decode-only and inference-only on the same video in the same run (target ≤ 1.2×), plus windows/s with
// the baseline model and a bare ffmpeg decode for scale.
// RALLYCUT_BENCH_SECONDS (default 60) sets the clip length; RALLYCUT_BENCH_BATCH (default 8) the batch.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './run.js';
import { findFfmpeg, runTool } from '../stages/lib/ffmpeg.js';
import { strideFor, windowCount } from '../stages/lib/features/windows.js';
import { bundledWeightsDir, locateModel } from '../stages/lib/model/registry.js';
import { loadClassifier } from '../stages/lib/model/session.js';
import { WINDOW_FLOATS, frameSlots, normalisationTable, writeFrame } from '../stages/extract-features/batcher.js';
import { decodeFrames, planDecode } from '../stages/extract-features/decode.js';
import { runVideo } from '../stages/extract-features/pipeline.js';

const seconds = Number(process.env.RALLYCUT_BENCH_SECONDS ?? 60);
const batch = Number(process.env.RALLYCUT_BENCH_BATCH ?? 8);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, (performance.now() - t0) / 1000];
}

export const bench: Bench = {
  name: 'inference',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'rallycut-bench-inf-'));
    try {
      const { ffmpeg } = findFfmpeg();
      const video = join(dir, 'proxy.mp4');
      // A 480p/30 fps clip like prepare's proxies.
      await runTool(ffmpeg, [
        '-nostdin',
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        `testsrc2=s=854x480:r=30:d=${seconds}`,
        '-vf',
        'noise=c0s=8:c0f=t',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-crf',
        '24',
        '-g',
        '30',
        video,
      ]);
      const fps = 30;
      const frames = seconds * fps;
      const stride = strideFor(fps);
      const n = windowCount(frames, stride);
      const root = resolve(fileURLToPath(import.meta.url), '../..');
      const model = await loadClassifier(locateModel(root, join(bundledWeightsDir() ?? 'weights/videomae', 'indoor')));
      try {
        // Warm-up (session init, page cache).
        await runVideo(video, Math.min(frames, 200), stride, model, { batch });

        const [, bare] = await timed(() => runTool(ffmpeg, ['-nostdin', '-v', 'error', '-i', video, '-f', 'null', '-']));

        const lut = normalisationTable(model.spec.mean, model.spec.std);
        const slots = frameSlots(frames, stride);
        const [, decodeOnly] = await timed(async () => {
          const buf = new Float32Array(batch * WINDOW_FLOATS);
          for await (const f of decodeFrames(video, planDecode(frames, stride))) {
            for (const { window, slot } of slots.get(f.index) ?? []) writeFrame(f.rgb, lut, buf, ((window % batch) * 16 + slot) * (WINDOW_FLOATS / 16));
          }
        });

        let data = new Float32Array(batch * WINDOW_FLOATS);
        for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 500 - 1;
        const [, inferenceOnly] = await timed(async () => {
          for (let done = 0; done < n; done += batch) {
            const out = await model.run(data, Math.min(batch, n - done));
            data = new Float32Array(out.buffer);
          }
        });

        const [, endToEnd] = await timed(() => runVideo(video, frames, stride, model, { batch }));
        const sum = decodeOnly + inferenceOnly;
        const ratio = endToEnd / sum;
        const f = (x: number): string => x.toFixed(2);
        process.stdout.write(`video: ${seconds}s 854x480@30, ${n} windows of 16 frames (stride ${stride}), batch ${batch}, model baseline\n`);
        process.stdout.write(`baseline: bare ffmpeg full decode (-f null): ${f(bare)} s\n`);
        process.stdout.write(`decode-only (select+scale+rgb24 → normalised float32): ${f(decodeOnly)} s\n`);
        process.stdout.write(`inference-only (${n} windows): ${f(inferenceOnly)} s\n`);
        process.stdout.write(`end-to-end extract: ${f(endToEnd)} s = ${(n / endToEnd).toFixed(1)} windows/s\n`);
        process.stdout.write(`ratio end-to-end / (decode + inference) = ${ratio.toFixed(2)}× (target ≤ 1.2×: ${ratio <= 1.2 ? 'met' : 'NOT met'})\n`);
      } finally {
        await model.release();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
