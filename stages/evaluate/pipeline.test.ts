// evaluate as a pipeline handler, and with a trained temporal model as the source.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createProgress, type CommandIO, type StageContext } from '../../src/handler.js';
import type { FeatureIndex, GroundTruth } from '../lib/contracts.js';
import { loadVideoFeatures } from '../lib/features/index.js';
import { writeSyntheticProject } from '../temporal/fixture.js';
import { loadTemporalModel, predictSegmentsMs } from '../temporal/api.js';
import evaluateModule from './index.js';

async function project(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'rc-eval-pipe-'));
  await writeSyntheticProject(root, { videos: 3, windows: 200, dim: 8, seed: 5 });
  writeFileSync(join(root, 'pipeline.yaml'), 'stages: {}\n');
  return root;
}

function context(root: string, params: StageContext['params']): StageContext {
  return {
    root,
    cacheDir: join(root, '.cache'),
    stage: 'evaluate',
    wdir: root,
    deps: [],
    outs: [],
    params,
    env: {},
    jobs: 1,
    signal: new AbortController().signal,
    log: () => {},
    progress: (label, total, unit) => createProgress(label, total, unit),
  };
}

describe('evaluate handler', () => {
  it('writes metrics/evaluate.json and plots/timelines/<video>.svg using tracked params', async () => {
    const root = await project();
    const handler = evaluateModule.handlers!.find((h) => h.name === 'evaluate')!;
    const params = {
      'params/default.yaml': {
        'dataset.name': 'synthetic',
        'model.variant': 'beach',
        'evaluate.iou': 0.3,
        heuristics: { min_gap_seconds: 4, padding_seconds: null },
      },
    };
    await handler.run(context(root, params), {});
    const report = JSON.parse(readFileSync(join(root, 'metrics/evaluate.json'), 'utf8'));
    expect(report).toMatchObject({
      version: 1,
      source: 'heuristics',
      iou: 0.3,
      config: { model: 'beach', dataset: 'synthetic', heuristics: { min_gap_seconds: 4, padding_seconds: 2 } },
    });
    const gt = JSON.parse(readFileSync(join(root, 'training_datasets/synthetic/ground_truth.json'), 'utf8')) as GroundTruth;
    expect(report.totals.truth_count).toBe(gt.reduce((n, v) => n + v.rallies.length, 0));
    expect(readdirSync(join(root, 'plots/timelines')).sort()).toEqual(gt.map((v) => `${v.video_id}.svg`).sort());
    // an unknown heuristics key in params is a config error naming the key
    await expect(handler.run(context(root, { 'params/default.yaml': { 'dataset.name': 'synthetic', heuristics: { min_gap: 4 } } }), {})).rejects.toThrow(
      /unknown heuristics parameter 'min_gap'/,
    );
  });
});

describe('evaluate --temporal', () => {
  it('scores the segments the temporal model predicts for each video', async () => {
    const root = await project();
    const io = (): CommandIO & { text: () => string } => {
      let out = '';
      return {
        cwd: root,
        env: { RALLYCUT_CACHE_DIR: join(root, '.cache') },
        out: (t) => void (out += t),
        err: () => {},
        isTTY: false,
        signal: new AbortController().signal,
        text: () => out,
      };
    };
    const trainIo = io();
    expect(await main(['train', 'temporal', '--model', 'v1', '--epochs', '2', '--dataset', 'synthetic'], trainIo)).toBe(0);
    const evalIo = io();
    expect(await main(['evaluate', '--temporal', 'weights/temporal', '--dataset', 'synthetic', '--json'], evalIo)).toBe(0);
    const report = JSON.parse(evalIo.text());
    expect(report.source).toBe('temporal');
    expect(report.config.temporal).toBe('weights/temporal');
    const model = await loadTemporalModel(join(root, 'weights/temporal'));
    const index = JSON.parse(readFileSync(join(root, 'features/index.json'), 'utf8')) as FeatureIndex;
    for (const entry of index.videos) {
      const vf = await loadVideoFeatures(join(root, '.cache'), entry);
      const video = report.videos.find((v: { video_id: string }) => v.video_id === entry.video_id);
      expect(video.predicted).toEqual(predictSegmentsMs(model, vf, entry.video_id));
    }
    // Held-out scores: exactly the videos the model did not train on (its validation split), pooled.
    const val = [...model.meta.training.val_videos].sort();
    expect(val.length).toBeGreaterThan(0);
    expect([...report.held_out.video_ids].sort()).toEqual(val);
    expect(report.held_out.videos).toBe(val.length);
    const unseen = report.videos.filter((v: { video_id: string }) => val.includes(v.video_id));
    const tp = unseen.reduce((n: number, v: { greedy: { tp: number } }) => n + v.greedy.tp, 0);
    expect(report.held_out.greedy.tp).toBe(tp);
    expect(report.totals.videos).toBe(index.videos.length);
    // The text report says which videos are held out, after the totals over all of them.
    const textIo = io();
    expect(await main(['evaluate', '--temporal', 'weights/temporal', '--dataset', 'synthetic'], textIo)).toBe(0);
    expect(textIo.text()).toMatch(new RegExp(`held-out \\(${val.length} videos? the model did not train on: .+\\): F1 \\d\\.\\d{3} greedy`));
  });
});
