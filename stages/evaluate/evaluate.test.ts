import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CommandIO } from '../../src/handler.js';
import type { FeatureIndex } from '../lib/contracts.js';
import { featureKey, writeVideoFeatures } from '../lib/features/index.js';
import { detectSegments, framesToMs, presetFor } from '../lib/heuristics/index.js';
import { toVideoWindows } from '../lib/features/index.js';

async function cli(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIO = {
    cwd,
    env: { RALLYCUT_CACHE_DIR: join(cwd, '.cache') },
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    isTTY: false,
    signal: new AbortController().signal,
  };
  return { code: await main(argv, io), out, err };
}

const truth = [
  {
    video_id: 'v1',
    filename: 'match1.mp4',
    rallies: [
      { start_ms: 1000, end_ms: 11000 },
      { start_ms: 30000, end_ms: 40000 },
      { start_ms: 60000, end_ms: 70000 },
    ],
  },
  { video_id: 'v2', filename: 'match2.mp4', rallies: [{ start_ms: 5000, end_ms: 15000 }] },
];
const predictions = [
  {
    video_id: 'v1',
    filename: 'match1.mp4',
    rallies: [
      { start_ms: 500, end_ms: 11500 },
      { start_ms: 31000, end_ms: 72000 },
    ],
  },
  {
    video_id: 'v2',
    filename: 'match2.mp4',
    rallies: [
      { start_ms: 5200, end_ms: 14000 },
      { start_ms: 100000, end_ms: 170000 },
    ],
  },
  { video_id: 'elsewhere', filename: 'x.mp4', rallies: [] },
];

describe('rallycut evaluate --predictions --ground-truth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rc-eval-files-'));
  writeFileSync(join(dir, 'gt.json'), JSON.stringify(truth));
  writeFileSync(join(dir, 'pred.json'), JSON.stringify(predictions));

  it('scores any predictions file, writes the report and one timeline SVG per video, deterministically', async () => {
    const r = await cli(dir, 'evaluate', '--predictions', 'pred.json', '--ground-truth', 'gt.json', '--output', 'out/evaluate.json', '--plots', 'plots');
    expect(r.code).toBe(0);
    expect(r.err).toContain('ignoring predictions for 1 video(s) not in the ground truth: elsewhere');
    const report = JSON.parse(readFileSync(join(dir, 'out/evaluate.json'), 'utf8'));
    expect(report.source).toBe('predictions');
    expect(report.totals).toMatchObject({ videos: 2, truth_count: 4, predicted_count: 4, overmerge: 1, greedy: { tp: 2, fp: 2, fn: 2, f1: 0.5 } });
    expect(report.totals.segmental['0.10']).toMatchObject({ tp: 3, fp: 1, fn: 1 });
    expect(report.totals.boundaries.start).toEqual({ count: 2, mean_ms: -150, median_ms: -150, mae_ms: 350 });
    expect(report.videos.map((v: { video_id: string }) => v.video_id)).toEqual(['v1', 'v2']);
    expect(r.out).toMatch(/match1\.mp4\s+3\s+2\s+1\s+1\s+2\s+0\.4/);
    expect(r.out).toMatch(/greedy IoU≥0\.5\s+2\s+2\s+2\s+0\.5\s+0\.5\s+0\.5/);
    expect(readdirSync(join(dir, 'plots')).sort()).toEqual(['v1.svg', 'v2.svg']);
    const svg = readFileSync(join(dir, 'plots/v1.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('TP 1 · FP 1 · FN 2');
    expect((svg.match(/<title>rally /g) ?? []).length).toBe(3);
    expect((svg.match(/<title>prediction /g) ?? []).length).toBe(2);

    const first = readFileSync(join(dir, 'out/evaluate.json'));
    await cli(dir, 'evaluate', '--predictions', 'pred.json', '--ground-truth', 'gt.json', '--output', 'out/evaluate.json', '--plots', 'plots');
    expect(readFileSync(join(dir, 'out/evaluate.json')).equals(first)).toBe(true);
    expect(readFileSync(join(dir, 'plots/v1.svg'), 'utf8')).toBe(svg);
  });

  it('changes the result with --iou and prints JSON with --json', async () => {
    const r = await cli(dir, 'evaluate', '--predictions', 'pred.json', '--ground-truth', 'gt.json', '--iou', '0.2', '--json');
    const report = JSON.parse(r.out);
    expect(report.iou).toBe(0.2);
    expect(report.totals.greedy).toMatchObject({ tp: 3, fp: 1, fn: 1 }); // 31–72 s now matches 60–70 s (IoU 0.24)
  });

  it('names the file and key of bad input', async () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify([{ video_id: 'v1', filename: 'a', rallies: [{ start_ms: 5, end_ms: 'x' }] }]));
    const r = await cli(dir, 'evaluate', '--predictions', 'bad.json', '--ground-truth', 'gt.json');
    expect(r.code).toBe(2);
    expect(r.err).toContain("bad.json: error: [[0].rallies[0].end_ms] video 'v1': rally 0 end_ms must be a number");
    const clash = await cli(dir, 'evaluate', '--predictions', 'pred.json', '--temporal', 'w');
    expect(clash.code).toBe(2);
    expect(clash.err).toContain('--predictions cannot be combined');
  });
});

describe('evaluate in a project (heuristics over the feature store)', () => {
  const root = mkdtempSync(join(tmpdir(), 'rc-eval-project-'));
  writeFileSync(join(root, 'pipeline.yaml'), 'stages: {}\n');
  mkdirSync(join(root, 'params'));
  writeFileSync(
    join(root, 'params/default.yaml'),
    'dataset:\n  name: tiny\nmodel:\n  variant: beach\nevaluate:\n  iou: 0.5\nheuristics:\n  padding_seconds: 0\n',
  );
  const fps = 30;
  const stride = 48;
  // video v1: two rallies of 8 windows; video v2: no features at all (to check the per-video failure)
  const pattern = 'NNNPPPPPPPPNNNNNNNNNNPPPPPPPPNNNN';
  const probs = new Float32Array(pattern.length * 3);
  [...pattern].forEach((c, i) => probs.set(c === 'P' ? [0.1, 0.8, 0.1] : [0.9, 0.05, 0.05], i * 3));
  const total = pattern.length * stride;

  async function setup(withSecondVideo: boolean): Promise<void> {
    const key = featureKey({ content_hash: 'h1', decoded_sha256: 's1', stride, model_sha256: 'm' });
    await writeVideoFeatures(join(root, '.cache'), {
      key,
      content_hash: 'h1',
      source_sha256: 's1',
      fps,
      total_frames: total,
      stride,
      model: { variant: 'beach', sha256: 'm' },
      probs,
      features: null,
    });
    const index: FeatureIndex = {
      version: 1,
      model: { variant: 'beach', sha256: 'm', feature_dim: null },
      base_stride: 48,
      videos: [{ video_id: 'v1', filename: 'one.mp4', content_hash: 'h1', sha256: 's1', fps, total_frames: total, stride, num_windows: pattern.length, key }],
    };
    mkdirSync(join(root, 'features'), { recursive: true });
    writeFileSync(join(root, 'features/index.json'), JSON.stringify(index));
    mkdirSync(join(root, 'training_datasets/tiny'), { recursive: true });
    const gt = [
      {
        video_id: 'v1',
        filename: 'one.mp4',
        rallies: [
          { start_ms: 4800, end_ms: 17000 },
          { start_ms: 33600, end_ms: 46000 },
        ],
      },
    ];
    if (withSecondVideo) gt.push({ video_id: 'v2', filename: 'two.mp4', rallies: [] });
    writeFileSync(join(root, 'training_datasets/tiny/ground_truth.json'), JSON.stringify(gt));
  }

  it('runs the heuristics with the preset and params from params/default.yaml and scores them', async () => {
    await setup(false);
    const r = await cli(root, 'evaluate', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.source).toBe('heuristics');
    expect(report.config).toMatchObject({ model: 'beach', dataset: 'tiny', heuristics: { padding_seconds: 0, min_gap_seconds: 3 } });
    // which of the seed's two post-processings this is, so figures are compared with the right seed numbers
    expect(report.config.post_processing).toMatch(
      /the seed's cutter \(VideoCutter\._get_segments_from_results\), not its evaluate command's apply_post_processing_custom/,
    );
    expect((await cli(root, 'evaluate')).out).toMatch(/^post-processing: the seed's cutter/m);
    // the same segments the heuristics library gives for these windows
    const expected = detectSegments(toVideoWindows(probs, { fps, stride, total_frames: total }), { ...presetFor('beach'), padding_seconds: 0 }).segments;
    expect(report.videos[0].predicted).toEqual(expected.map((s) => ({ start_ms: framesToMs(s.start_frame, fps), end_ms: framesToMs(s.end_frame, fps) })));
    expect(report.totals.greedy).toMatchObject({ tp: 2, fp: 0, fn: 0 });
    // --set and --model override params
    const strict = JSON.parse((await cli(root, 'evaluate', '--json', '--model', 'indoor', '--set', 'padding_end_seconds=0')).out);
    expect(strict.config.model).toBe('indoor');
    expect(strict.config.heuristics.padding_end_seconds).toBe(0);
  });

  it('scores the videos it can, then fails naming the video without features and writes no report', async () => {
    await setup(true);
    const r = await cli(root, 'evaluate', '--output', 'metrics/evaluate.json');
    expect(r.code).toBe(1);
    expect(r.err).toContain("no features for video 'v2' (two.mp4)");
    expect(r.err).toContain('1 of 2 video(s) could not be evaluated; 1 scored, no report written');
    expect(readdirSync(root)).not.toContain('metrics');
  });
});
