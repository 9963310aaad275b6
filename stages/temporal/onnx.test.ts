import { promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTemporalModel } from './checkpoint.js';
import { normalise } from './data.js';
import { exportOnnx, runOnnx } from './onnx.js';
import { rawOutput } from './predict.js';
import { synthVideos } from './synth.js';
import { trainModel } from './train.js';
import { saveCheckpoint } from './checkpoint.js';

describe('ONNX export', () => {
  const videos = synthVideos({ videos: 4, windows: 130, dim: 12, seed: 1 });
  for (const version of ['v1', 'v2', 'v3'] as const) {
    it(`${version}: onnxruntime-node output equals the TypeScript forward pass within 1e-4`, async () => {
      const model = trainModel(videos.slice(0, 3), videos.slice(3), {
        arch: { version, featureDim: 12, hiddenDim: 16, lstmHidden: 8, lstmLayers: 3, dropout: 0.1, kernel: 5, convLayers: 3 },
        epochs: 2,
        lr: 1e-2,
        weightDecay: 0.01,
        patience: 5,
        clip: 1,
        seed: 3,
      });
      const x = videos[3]!.x;
      const want = rawOutput(model, normalise(x, model.norm)).data;
      const got = await runOnnx(exportOnnx(model), x, 12);
      expect(got.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst).toBeLessThan(1e-4);
      expect(Buffer.from(exportOnnx(model)).equals(Buffer.from(exportOnnx(model)))).toBe(true);
      if (version === 'v3') {
        const dir = await mkdtemp(join(tmpdir(), 'rallycut-onnx-'));
        try {
          const meta = await saveCheckpoint(dir, model, {
            featureSource: 'features',
            hyperparameters: {},
            base_stride: 48,
            window_frames: 16,
            training: { data_sha256: 'x', train_videos: [], val_videos: [], pos_weight: 1, best_epoch: 1, best_val_f1: 0, epochs_run: 1 },
            metrics: [],
          });
          const loaded = await loadTemporalModel(dir);
          const onDisk = await fs.readFile(join(dir, meta.onnx!.file));
          const again = await runOnnx(onDisk, x, 12);
          const fromLoaded = rawOutput(loaded, normalise(x, loaded.norm)).data;
          for (let i = 0; i < want.length; i++) expect(Math.abs(again[i]! - fromLoaded[i]!)).toBeLessThan(1e-4);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    });
  }
});
