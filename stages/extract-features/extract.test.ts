import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIO } from '../../src/handler.js';
import { main } from '../../src/cli/main.js';
import type { FeatureIndex, VideoWindows } from '../lib/contracts.js';
import { featurePaths, loadVideoFeatures } from '../lib/features/store.js';
import { locateModel } from '../lib/model/registry.js';
import { loadClassifier, type Classifier } from '../lib/model/session.js';
import { extractFeatures } from './extract.js';
import { inputsFromFiles } from './inputs.js';
import { makeFrameNumberVideo, makeSolidVideo } from './testvideo.js';
import { runVideo } from './pipeline.js';
import { GraphBuilder } from '../lib/model/onnx-graph.js';
import { BASELINE_FEATURE_DIM } from '../lib/model/baseline.js';
import { videoMaeSpec } from '../lib/model/registry.js';
import { createProgress, stableJson, type StageContext } from '../../src/handler.js';
import extractModule from './index.js';

const ROOT = resolve(__dirname, '../..');
let dir: string;
let video: string;
let model: Classifier;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-extract-'));
  video = join(dir, 'clip.mkv');
  await makeFrameNumberVideo(video, 200, 30);
  model = await loadClassifier(locateModel(ROOT, 'indoor'));
});
afterAll(async () => {
  await model?.release();
});

function io(cwd: string): CommandIO & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '' };
  return Object.assign(o, {
    cwd,
    env: { ...process.env, RALLYCUT_CACHE_DIR: join(dir, 'cli-cache') },
    out: (t: string) => void (o.stdout += t),
    err: (t: string) => void (o.stderr += t),
    isTTY: false,
    signal: new AbortController().signal,
  });
}

describe('extract-features', () => {
  it('caches per (content, stride, model), reuses the cache, recomputes with force or when corrupt', async () => {
    const cacheDir = join(dir, 'cache');
    const { inputs } = await inputsFromFiles([video], dir);
    const logs: string[] = [];
    const opts = { cacheDir, model, variant: 'indoor', batch: 4, log: (m: string) => logs.push(m) };
    const first = await extractFeatures(inputs, opts);
    expect(first.outcomes[0]!.status).toBe('computed');
    expect(first.computedWindows).toBe(4); // (200-16)//48 + 1
    const entry = first.index.videos[0]!;
    const stored = await loadVideoFeatures(cacheDir, entry);
    let shown = '';
    const sink = { write: (t: string) => void (shown += t), isTTY: false, env: {} };
    const second = await extractFeatures(inputs, { ...opts, progress: (l, t, u) => createProgress(l, t, u, sink) });
    // Cache hits move the bar but are no work: no rate is made up from them.
    expect(shown).toMatch(/^extract-features: 4 windows \(all cached\) in \d+\.\d s\n$/);
    expect(second.outcomes[0]!.status).toBe('cached');
    expect(second.computedWindows).toBe(0);
    expect(second.index).toEqual(first.index);
    const other = await extractFeatures(inputs, { ...opts, baseStride: 24 });
    expect(other.outcomes[0]!.status).toBe('computed');
    expect(other.index.videos[0]!.key).not.toBe(entry.key);
    expect((await extractFeatures(inputs, { ...opts, force: true })).outcomes[0]!.status).toBe('computed');

    const { data } = featurePaths(cacheDir, entry.key);
    const bytes = await fs.readFile(data);
    bytes[0] = bytes[0]! ^ 0x55;
    await fs.writeFile(data, bytes);
    const healed = await extractFeatures(inputs, opts);
    expect(healed.outcomes[0]!.status).toBe('computed');
    expect(logs.join('\n')).toMatch(/clip\.mkv: cached features are corrupt .*recomputing/);
    expect(Array.from((await loadVideoFeatures(cacheDir, entry)).probs)).toEqual(Array.from(stored.probs));
  });

  it('keeps one entry per decoded file: the original (cut) and the proxy (the pipeline) of a video stay cached side by side', async () => {
    const cacheDir = join(dir, 'cache-two-files');
    const proxy = join(dir, 'proxy.mkv');
    await makeSolidVideo(proxy, '40a040', 200);
    const original = (await inputsFromFiles([video], dir)).inputs[0]!;
    const fromProxy = { ...(await inputsFromFiles([proxy], dir)).inputs[0]!, video_id: original.video_id, content_hash: original.content_hash };
    const logs: string[] = [];
    const opts = { cacheDir, model, variant: 'indoor', batch: 4, log: (m: string) => logs.push(m) };
    expect((await extractFeatures([original], opts)).outcomes[0]!.status).toBe('computed');
    expect((await extractFeatures([fromProxy], opts)).outcomes[0]!.status).toBe('computed');
    expect((await extractFeatures([original], opts)).outcomes[0]!.status).toBe('cached');
    expect((await extractFeatures([fromProxy], opts)).outcomes[0]!.status).toBe('cached');
    expect(logs.filter((l) => l.includes('recomputing'))).toEqual([]);
  });

  it('normalises RGB exactly as the contract says (channel order, 1/255, ImageNet mean/std)', async () => {
    const g = new GraphBuilder();
    const x = g.input('pixel_values', ['batch', 16, 3, 224, 224]);
    // The last frame's centre pixel, per channel (a float32 mean over 800k pixels would add rounding error).
    const pixel = g.op('Slice', [x, g.intConst([15, 0, 112, 112]), g.intConst([16, 3, 113, 113]), g.intConst([1, 2, 3, 4])]);
    const rgb = g.op('Reshape', [pixel, g.intConst([-1, 3])], {}, 'features');
    g.op('Identity', [rgb], {}, 'logits');
    g.output('logits', ['batch', 3]);
    g.output('features', ['batch', 3]);
    const mdir = join(dir, 'means');
    await fs.mkdir(mdir, { recursive: true });
    await fs.writeFile(join(mdir, 'model.onnx'), g.encode('means', 'channel means'));
    await fs.writeFile(join(mdir, 'model.json'), stableJson(videoMaeSpec(3)));
    const solid = join(dir, 'solid.mkv');
    await makeSolidVideo(solid, 'c86432', 40); // R=200 G=100 B=50
    const c = await loadClassifier(locateModel(dir, mdir));
    try {
      const out = await runVideo(solid, 40, 48, c, { batch: 8 });
      const expected = [200, 100, 50].map((v, ch) => (v / 255 - [0.485, 0.456, 0.406][ch]!) / [0.229, 0.224, 0.225][ch]!);
      expect(Array.from(out.features!)).toEqual(expected.map((v) => expect.closeTo(v, 5)));
    } finally {
      await c.release();
    }
  });

  it('CLI: a corrupt video fails only itself; the good one is cached and its windows file written', async () => {
    const bad = join(dir, 'broken.mp4');
    await fs.writeFile(bad, 'this is not a video');
    const t = io(dir);
    const code = await main(
      ['train', 'extract-features', video, bad, '--model', join(ROOT, 'weights/videomae/indoor'), '--windows-out', 'win', '--index', 'idx.json'],
      t,
    );
    expect(code).toBe(1);
    expect(t.stderr).toMatch(/1 video\(s\) failed in extract-features \(1 other\(s\) done and cached\)/);
    expect(t.stderr).toMatch(/broken\.mp4/);
    const windows = JSON.parse(await fs.readFile(join(dir, 'win', 'clip.mkv.windows.json'), 'utf8')) as VideoWindows;
    expect(windows).toMatchObject({ fps: 30, stride: 48, base_stride: 48, total_frames: 200 });
    expect(windows.windows.map((w) => [w.start_frame, w.end_frame])).toEqual([
      [0, 15],
      [48, 63],
      [96, 111],
      [144, 159],
    ]);

    const ok = io(dir);
    expect(await main(['train', 'extract-features', video, '--model', join(ROOT, 'weights/videomae/indoor'), '--index', 'idx.json', '--json'], ok)).toBe(0);
    const report = JSON.parse(ok.stdout) as { computed_windows: number; index: FeatureIndex };
    expect(report.computed_windows).toBe(0); // served from the cache filled by the failed run
    const index = JSON.parse(await fs.readFile(join(dir, 'idx.json'), 'utf8')) as FeatureIndex;
    expect(index).toMatchObject({ version: 1, base_stride: 48, model: { variant: 'indoor', feature_dim: BASELINE_FEATURE_DIM } });
    expect(index.videos[0]).toMatchObject({ filename: 'clip.mkv', fps: 30, stride: 48, num_windows: 4, total_frames: 200 });
  });

  it("pipeline handler: reads prepare's proxies.json, takes model/stride from tracked params, writes the index out", async () => {
    const root = join(dir, 'project');
    const cacheDir = join(root, '.cache');
    await fs.mkdir(join(cacheDir, 'proxies'), { recursive: true });
    await fs.copyFile(video, join(cacheDir, 'proxies', 'abc.mp4'));
    await fs.mkdir(join(root, 'training_data'), { recursive: true });
    const entry = {
      video_id: 'v1',
      filename: 'match.MOV',
      content_hash: 'abc',
      proxy_path: 'proxies/abc.mp4',
      proxy_sha256: 'p',
      source_sha256: 's',
      fps: 30,
      frames: 200,
    };
    await fs.writeFile(join(root, 'training_data', 'proxies.json'), JSON.stringify({ version: 1, dataset: 'demo', videos: [entry] }));
    const handler = extractModule.handlers!.find((h) => h.name === 'extract-features')!;
    const logs: string[] = [];
    const ctx: StageContext = {
      root,
      cacheDir,
      stage: 'extract-features',
      wdir: root,
      deps: [],
      outs: [join(root, 'features/index.json')],
      params: { 'params/default.yaml': { 'model.variant': join(ROOT, 'weights/videomae/beach'), features: { stride: 24, batch: 2 } } },
      env: {},
      jobs: 2,
      signal: new AbortController().signal,
      log: (m) => logs.push(m),
      progress: () => ({ tick() {}, skip() {}, update() {}, setTotal() {}, done() {} }),
    };
    await handler.run(ctx, { stride: '48' });
    const index = JSON.parse(await fs.readFile(join(root, 'features/index.json'), 'utf8')) as FeatureIndex;
    expect(index.model.variant).toBe('beach');
    expect(index.videos[0]).toMatchObject({ video_id: 'v1', content_hash: 'abc', sha256: 'p', stride: 48, num_windows: 4 });
    expect(logs.join('\n')).toMatch(/1 videos: 1 computed, 0 from cache/);
  });
});
