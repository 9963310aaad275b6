import { promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/args.js';
import { RallycutError } from '../../src/handler.js';
import { loadVideoFeatures, readFeatureIndex } from '../lib/features/index.js';
import { loadTemporalModel, predictSegmentsMs } from './api.js';
import { chunkRanges, splitVideos, windowLabels } from './data.js';
import { writeSyntheticProject, type FixtureFiles } from './fixture.js';
import { runFolds } from './folds.js';
import stage from './index.js';
import { runTemporal, type RunEnv, type TemporalOptions } from './run.js';
import { synthVideos } from './synth.js';

const silentProgress = { tick() {}, skip() {}, update() {}, setTotal() {}, done() {} };
const env = (cacheDir: string, jobs = 1): RunEnv => ({ cacheDir, jobs, log() {}, progress: () => silentProgress });

let root: string;
let files: FixtureFiles;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rallycut-temporal-'));
  files = await writeSyntheticProject(root, { videos: 6, windows: 260, dim: 24, seed: 11 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function options(out: string, over: Partial<TemporalOptions> = {}): TemporalOptions {
  return {
    version: 'v1',
    epochs: 12,
    lr: 1e-2,
    weightDecay: 0.01,
    patience: 10,
    hiddenDim: 16,
    dropout: 0.2,
    seed: 42,
    cv: 'none',
    featuresPath: files.featuresPath,
    groundTruthPath: files.groundTruthPath,
    outDir: join(root, out),
    metricsPath: join(root, out, 'metrics.json'),
    iou: 0.5,
    ...over,
  };
}

describe('labels, chunks, split', () => {
  it('labels a window by its centre frame (start + 8) and chunks 500 windows with 50 overlapping', () => {
    // stride 48 at 30 fps: window 2 has centre frame 104 = 3466.7 ms; window 3 has 152 = 5066.7 ms.
    expect(Array.from(windowLabels(5, 48, 30, [{ start_ms: 3400, end_ms: 5000 }]))).toEqual([0, 0, 1, 0, 0]);
    expect(chunkRanges(1000)).toEqual([
      [0, 500],
      [450, 950],
      [900, 1000],
    ]);
    expect(chunkRanges(120)).toEqual([[0, 120]]);
  });
  it('splits 80/20 by video, independent of input order', () => {
    const ids = Array.from({ length: 10 }, (_, i) => ({ video_id: `v${i}` }));
    const a = splitVideos(ids, 42),
      b = splitVideos([...ids].reverse(), 42);
    expect(a.val.length).toBe(2);
    expect(a.val.map((v) => v.video_id)).toEqual(b.val.map((v) => v.video_id));
    expect(new Set([...a.train, ...a.val].map((v) => v.video_id)).size).toBe(10);
  });
});

describe('training', () => {
  it('v1 learns (validation F1 rises), checkpoints reload, and predictions become segments', async () => {
    const report = await runTemporal(env(files.cacheDir), options('v1a'));
    const f1s = report.epochs.map((e) => e.val_f1);
    expect(Math.max(...f1s)).toBeGreaterThan(f1s[0]! + 0.05);
    expect(report.validation!.windows.f1).toBeGreaterThan(0.85);
    const model = await loadTemporalModel(join(root, 'v1a'));
    expect(model.arch.version).toBe('v1');
    expect(model.params.trainableCount).toBe(24 * 2 + 2 + 2 * 5 + 2);
    const index = await readFeatureIndex(files.featuresPath);
    const gt = JSON.parse(await fs.readFile(files.groundTruthPath, 'utf8')) as Array<{ video_id: string; rallies: unknown[] }>;
    const entry = index.videos.find((v) => v.video_id === report.videos.val[0])!;
    const segs = predictSegmentsMs(model, await loadVideoFeatures(files.cacheDir, entry));
    expect(segs.length).toBeGreaterThan(0);
    expect(Math.abs(segs.length - gt.find((g) => g.video_id === entry.video_id)!.rallies.length)).toBeLessThanOrEqual(2);
    const metrics = JSON.parse(await fs.readFile(join(root, 'v1a', 'metrics.json'), 'utf8')) as { epochs: unknown[] };
    expect(metrics.epochs.length).toBe(report.epochs.length);
  });

  it('is deterministic: the same data and seed give byte-identical checkpoints (v1 and v3)', async () => {
    for (const [version, epochs] of [
      ['v1', 3],
      ['v3', 2],
    ] as const) {
      await runTemporal(env(files.cacheDir), options(`${version}-a`, { version, epochs }));
      await runTemporal(env(files.cacheDir), options(`${version}-b`, { version, epochs }));
      for (const f of ['model.json', 'weights.f32']) {
        const a = await fs.readFile(join(root, `${version}-a`, f));
        const b = await fs.readFile(join(root, `${version}-b`, f));
        expect(a.equals(b), `${version} ${f}`).toBe(true);
      }
    }
    await runTemporal(env(files.cacheDir), options('v1-seed7', { epochs: 3, seed: 7 }));
    const a = await fs.readFile(join(root, 'v1-a', 'weights.f32'));
    expect(a.equals(await fs.readFile(join(root, 'v1-seed7', 'weights.f32')))).toBe(false);
  });

  it('loading detects v2 from model.json; a damaged weights file is refused by name', async () => {
    await runTemporal(env(files.cacheDir), options('v2', { version: 'v2', epochs: 1 }));
    const model = await loadTemporalModel(join(root, 'v2'));
    expect(model.arch.version).toBe('v2');
    expect(model.meta.name).toBe('ConvCRF');
    const w = join(root, 'v2', 'weights.f32');
    const bytes = await fs.readFile(w);
    bytes[10] = bytes[10]! ^ 0xff;
    await fs.writeFile(w, bytes);
    await expect(loadTemporalModel(join(root, 'v2'))).rejects.toThrow(/weights\.f32 does not match model\.json/);
  });

  it('falls back to the 3 class probabilities when the classifier exports no features', async () => {
    const dir = join(root, 'probs-only');
    const f = await writeSyntheticProject(dir, { videos: 4, windows: 120, dim: 8, seed: 5, withFeatures: false });
    const report = await runTemporal(env(f.cacheDir), {
      ...options('x', { epochs: 2 }),
      featuresPath: f.featuresPath,
      groundTruthPath: f.groundTruthPath,
      outDir: join(dir, 'w'),
      metricsPath: join(dir, 'm.json'),
    });
    expect(report.feature_source).toBe('probs');
    expect((await loadTemporalModel(join(dir, 'w'))).meta.feature.dim).toBe(3);
  });
});

describe('a bad video', () => {
  it('is reported after the others were trained on, and the checkpoint is still written', async () => {
    const dir = join(root, 'one-bad');
    const f = await writeSyntheticProject(dir, { videos: 4, windows: 100, dim: 8, seed: 9 });
    const index = await readFeatureIndex(f.featuresPath);
    const bad = index.videos[1]!;
    await fs.writeFile(join(f.cacheDir, 'features', `${bad.key}.f32`), Buffer.alloc(12));
    const run = runTemporal(env(f.cacheDir), {
      ...options('x', { epochs: 1 }),
      featuresPath: f.featuresPath,
      groundTruthPath: f.groundTruthPath,
      outDir: join(dir, 'w'),
      metricsPath: join(dir, 'm.json'),
    });
    await expect(run).rejects.toThrow(/1 video\(s\) could not be loaded; the model was trained on the other 3/);
    const err = (await run.catch((e: unknown) => e)) as RallycutError;
    expect(err.diagnostics[0]!.notes!.join('\n')).toContain(bad.filename);
    expect((await loadTemporalModel(join(dir, 'w'))).meta.training.train_videos).not.toContain(bad.video_id);
  });
});

describe('leave-one-video-out', () => {
  it('gives the same folds on 1 and 2 worker threads', async () => {
    const videos = synthVideos({ videos: 4, windows: 120, dim: 8, seed: 2 });
    const o = {
      arch: { version: 'v1' as const, featureDim: 8, hiddenDim: 8, lstmHidden: 8, lstmLayers: 3, dropout: 0, kernel: 5, convLayers: 3 },
      epochs: 3,
      lr: 1e-2,
      weightDecay: 0.01,
      patience: 5,
      clip: 1,
      seed: 42,
    };
    const serial = await runFolds(videos, o, 1);
    const parallel = await runFolds(videos, o, 2);
    expect(parallel).toEqual(serial);
    expect(serial.map((f) => f.video_id)).toEqual(videos.map((v) => v.video_id));
  });
});

describe('rallycut train temporal', () => {
  const cmd = stage.commands!.find((c) => c.path.join(' ') === 'train temporal')!;
  const io = (cwd: string) => ({ cwd, env: {}, out() {}, err() {}, isTTY: false, signal: new AbortController().signal });
  it('rejects an unknown model version and a bad --cv with config errors', async () => {
    await expect(cmd.run(parseArgs(['--model', 'v9', '--ground-truth', files.groundTruthPath], cmd.options), io(root))).rejects.toThrow(
      /--model must be one of v1, v2, v3, got "v9"/,
    );
    await expect(cmd.run(parseArgs(['--cv', 'kfold', '--ground-truth', files.groundTruthPath], cmd.options), io(root))).rejects.toThrow(
      /--cv must be one of none, loo, got "kfold"/,
    );
  });
  it('names the missing feature index', async () => {
    const err = await cmd
      .run(parseArgs(['--features', 'nope/index.json', '--ground-truth', files.groundTruthPath], cmd.options), io(root))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RallycutError);
    expect(String((err as Error).message)).toMatch(/cannot read feature index .*nope\/index\.json/);
  });
});
