// The report's data: the engine reads every metrics file by itself, but which files hold curves, per-video
// scores or timelines is said by the report sources stage modules contribute through the handler registry.
import { afterEach, describe, expect, it } from 'vitest';
import type { HandlerRegistry, ReportSource } from '../../src/handler.js';
import { loadPipeline } from '../../src/pipeline/load.js';
import { collectProjectData } from '../../src/report/data.js';
import { handlerRegistry } from '../../stages/index.js';
import { Rig } from '../rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.cleanup();
});

async function project(): Promise<Rig> {
  const rig = new Rig('rallycut-report-sources-');
  rigs.push(rig);
  await rig.write({
    'pipeline.yaml': [
      'stages:',
      '  train:',
      "    cmd: 'true'",
      '    outs: [weights/model]',
      '  score:',
      "    cmd: 'true'",
      '    deps: [data/ground_truth.json]',
      '    metrics:',
      '      - metrics/scores.yaml: { cache: false }',
      '',
    ].join('\n'),
    'data/ground_truth.json': JSON.stringify([{ video_id: 'id-1', filename: 'match.mp4', rallies: [{ start_ms: 0, end_ms: 5000 }] }]),
    'weights/model/model.json': JSON.stringify({ metrics: [{ epoch: 1, train_loss: 0.5, val_f1: 0.7 }] }),
    'metrics/scores.yaml':
      'videos:\n  - video_id: id-1\n    greedy: { precision: 1, recall: 0.5, f1: 0.667 }\n    predicted: [{ start_ms: 100, end_ms: 4000 }]\n',
  });
  return rig;
}

const bare: HandlerRegistry = { get: async () => undefined, names: async () => [] };

describe('report sources', () => {
  it('without sources the engine reads the metrics files and finds no domain charts', async () => {
    const rig = await project();
    const data = await collectProjectData(rig.dir, await loadPipeline(rig.dir, bare), bare);
    expect(data.metrics['metrics/scores.yaml']).toMatchObject({ videos: [{ video_id: 'id-1' }] });
    expect(data).toMatchObject({ curves: {}, videos: {}, timelines: {} });
  });

  it("the stage modules' sources find curves, per-video scores and timelines (truth and filename from ground_truth.json)", async () => {
    const rig = await project();
    const data = await collectProjectData(rig.dir, await loadPipeline(rig.dir, bare), handlerRegistry);
    expect(data.curves).toEqual({ 'weights/model/model.json': [{ epoch: 1, train_loss: 0.5, val_f1: 0.7 }] });
    expect(data.videos).toEqual({ 'metrics/scores.yaml': [{ video_id: 'id-1', precision: 1, recall: 0.5, f1: 0.667, predicted: 1 }] });
    expect(data.timelines).toEqual({
      'metrics/scores.yaml': [
        { video_id: 'id-1', filename: 'match.mp4', predicted: [{ start_ms: 100, end_ms: 4000 }], truth: [{ start_ms: 0, end_ms: 5000 }] },
      ],
    });
  });

  it("a registry's own source contributes its charts", async () => {
    const rig = await project();
    const flat: ReportSource = {
      name: 'flat curves',
      collect: async (stage, read) =>
        stage.name === 'score' ? { curves: { [`${stage.name}.yaml`]: [{ epoch: Object.keys(Object(await read('metrics/scores.yaml'))).length }] } } : {},
    };
    const data = await collectProjectData(rig.dir, await loadPipeline(rig.dir, bare), { ...bare, reportSources: async () => [flat] });
    expect(data.curves).toEqual({ 'score.yaml': [{ epoch: 1 }] });
  });
});
