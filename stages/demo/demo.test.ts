import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgress } from '../../src/handler.js';
import type { Manifest } from '../lib/contracts.js';
import type { DatasetContext } from '../lib/dataset/context.js';
import { Rng } from '../lib/nn/rng.js';
import { exportDataset } from '../export-dataset/export.js';
import { insertLabelledVideos, openDatabase, queryGroundTruth } from '../lib/db/index.js';
import { freshDatabase, type TestDatabase } from '../../test/services/fresh.js';
import { generateDemo } from './generate.js';
import { demoInit } from './index.js';
import { DEFAULT_CONFIG, planDemo, type DemoConfig, type PlannedVideo } from './plan.js';
import { drawTimeline, GAP_SECONDS, RALLY_SECONDS } from './timeline.js';

const tiny: DemoConfig = {
  seed: 11,
  videos: 2,
  minSeconds: 5,
  maxSeconds: 6,
  timeScale: 0.25,
  gapScale: 1,
  profiles: [
    { width: 320, height: 180, fps: 30, ext: 'mp4', rotate: false, vfr: false },
    { width: 320, height: 180, fps: 60, ext: 'MOV', rotate: true, vfr: false },
  ],
};

let work: string;
let tdb: TestDatabase | undefined;
beforeAll(async () => {
  work = await fs.mkdtemp(join(tmpdir(), 'rallycut-demo-'));
});
afterAll(async () => {
  await tdb?.drop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('demo timelines', () => {
  it('draw rallies and gaps from the real distributions', () => {
    const rallies: number[] = [];
    const gaps: number[] = [];
    for (let s = 0; s < 300; s++) {
      const t = drawTimeline(new Rng(s), 600);
      t.rallies.forEach((r, i) => {
        rallies.push((r.end_ms - r.start_ms) / 1000);
        const next = t.rallies[i + 1];
        if (next) gaps.push((next.start_ms - r.end_ms) / 1000);
        expect(r.end_ms).toBeLessThanOrEqual(t.duration_ms);
      });
    }
    expect(Math.min(...rallies)).toBeGreaterThanOrEqual(RALLY_SECONDS.min - 0.001);
    expect(Math.max(...rallies)).toBeLessThanOrEqual(RALLY_SECONDS.max + 0.001);
    expect(median(rallies)).toBeGreaterThan(8.5);
    expect(median(rallies)).toBeLessThan(10.5);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(GAP_SECONDS.min - 0.001);
    expect(median(gaps)).toBeGreaterThan(14.5);
    expect(median(gaps)).toBeLessThan(17.5);
  });

  it('the default plan mixes sizes, rates, containers, a rotated and a VFR video, and is fixed by the seed', () => {
    const a = planDemo(DEFAULT_CONFIG);
    expect(a).toHaveLength(6);
    expect(new Set(a.map((v) => v.profile.fps))).toEqual(new Set([30, 60]));
    expect(new Set(a.map((v) => v.profile.height))).toEqual(new Set([720, 1080]));
    expect(new Set(a.map((v) => v.filename.split('.').pop()))).toEqual(new Set(['mp4', 'MOV']));
    expect(a.some((v) => v.profile.rotate) && a.some((v) => v.profile.vfr)).toBe(true);
    for (const v of a) expect(v.rallies.length).toBeGreaterThanOrEqual(2);
    const again = planDemo(DEFAULT_CONFIG);
    const pictures = (plan: PlannedVideo[]): unknown[] =>
      plan.map((v) => {
        const frame = Buffer.alloc(v.scene.frameBytes);
        return [
          v.video_id,
          v.rallies,
          v.scene.filters,
          ...[0, 99, v.scene.frames - 1].map((n) => (v.scene.render(n, frame), createHash('sha256').update(frame).digest('hex'))),
        ];
      });
    expect(pictures(again)).toEqual(pictures(a));
    const other = planDemo({ ...DEFAULT_CONFIG, seed: DEFAULT_CONFIG.seed + 1 });
    expect(other.map((v) => v.rallies)).not.toEqual(a.map((v) => v.rallies));
  });
});

describe('demo generation', () => {
  it('gives the same bytes for the same seed', async () => {
    const [one, two] = await Promise.all([
      generateDemo({ dir: join(work, 'a'), config: tiny, jobs: 1 }),
      generateDemo({ dir: join(work, 'b'), config: tiny, jobs: 1 }),
    ]);
    expect(one.videos.map((v) => v.sha256)).toEqual(two.videos.map((v) => v.sha256));
    expect(await fs.readFile(join(work, 'a', 'demo.json'), 'utf8')).toBe(await fs.readFile(join(work, 'b', 'demo.json'), 'utf8'));
    expect(one.videos.map((v) => [v.width, v.height, v.fps, v.rotation])).toEqual([
      [320, 180, 30, 0],
      [320, 180, 60, 90],
    ]);
    expect(one.videos.every((v) => v.rallies.length > 0)).toBe(true);
  });

  it('demo init loads the labels into the database, and export-dataset then finds the videos by content hash', async () => {
    const root = join(work, 'project');
    const logs: string[] = [];
    tdb = await freshDatabase();
    const ctx: DatasetContext = {
      root,
      cacheDir: join(root, '.cache'),
      env: { DATABASE_URL: tdb.url },
      jobs: 2,
      signal: new AbortController().signal,
      log: (m) => logs.push(m),
      progress: (label, total, unit) => createProgress(label, total, unit),
    };
    const first = await demoInit(ctx, tiny, { jobs: 2 });
    expect(first.generated).toBe(true);
    expect(first.labels.inserted_videos).toBe(2);
    const again = await demoInit(ctx, tiny, { jobs: 2 });
    expect([again.generated, again.labels.inserted_videos, again.labels.new_rallies]).toEqual([false, 0, 0]);

    const result = await exportDataset(ctx, { name: 'demo' });
    expect(result.sources['content-cache']).toBe(2);
    const manifest = JSON.parse(await fs.readFile(join(root, 'training_datasets', 'demo', 'manifest.json'), 'utf8')) as Manifest;
    const byId = new Map(first.dataset.videos.map((v) => [v.video_id, v]));
    expect(manifest.videos.map((v) => [v.filename, v.sha256, v.rally_count])).toEqual(
      manifest.videos.map((v) => [byId.get(v.video_id)!.filename, byId.get(v.video_id)!.sha256, byId.get(v.video_id)!.rallies.length]),
    );
    const gt = JSON.parse(await fs.readFile(join(root, 'training_datasets', 'demo', 'ground_truth.json'), 'utf8')) as {
      video_id: string;
      rallies: unknown[];
    }[];
    for (const g of gt) expect(g.rallies).toEqual(byId.get(g.video_id)!.rallies);

    // Another seed replaces the demo's videos (not adds to them); a user's own video is left alone.
    const db = await openDatabase({ cacheDir: ctx.cacheDir, env: ctx.env });
    try {
      await insertLabelledVideos(db, [{ id: 'mine', filename: 'mine.mp4', content_hash: 'f'.repeat(64), rallies: [{ start_ms: 1000, end_ms: 5000 }] }]);
    } finally {
      await db.close();
    }
    const other = await demoInit(ctx, { ...tiny, seed: 21 }, { jobs: 2 }); // seed 21: both videos hold a rally
    expect(other.labels.removed_videos.sort()).toEqual(first.dataset.videos.map((v) => v.filename).sort());
    const after = await openDatabase({ cacheDir: ctx.cacheDir, env: ctx.env });
    try {
      const ids = (await queryGroundTruth(after)).map((v) => v.id).sort();
      const labelled = other.dataset.videos.filter((v) => v.rallies.length > 0); // ground truth = videos with rallies
      expect(labelled.length).toBeGreaterThan(0);
      expect(ids).toEqual([...labelled.map((v) => v.video_id), 'mine'].sort());
    } finally {
      await after.close();
    }
  });
});
