// The pipeline handlers: export-dataset's stamp follows the ground-truth query (so `repro` skips it when no
// label changed), and push's stamp follows what the remote holds.
import { join } from 'node:path';
import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageContext } from '../../src/handler.js';
import { initSchema, insertLabelledVideos, openDatabase, type Database } from '../lib/db/index.js';
import { freshDatabase, type TestDatabase } from '../../test/services/fresh.js';
import { makeOriginals, makeProject } from '../../test/kit/dataset.js';
import exportModule from './index.js';
import pushModule from '../push/index.js';

describe('export-dataset and push as pipeline handlers', () => {
  let tdb: TestDatabase;
  let db: Database;
  const project = makeProject();
  let ctx: StageContext;

  beforeAll(async () => {
    tdb = await freshDatabase();
    db = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: tdb.url } });
    await initSchema(db);
    const o = await makeOriginals(project, [1000, 1500]);
    await insertLabelledVideos(db, o.videos);
    const base = project.ctx({ DATABASE_URL: tdb.url, RALLYCUT_VIDEOS_DIR: o.videosDir, RALLYCUT_REMOTE_DIR: join(project.root, 'backup') });
    ctx = { ...base, stage: 'export', wdir: project.root, deps: [], outs: [], params: {} };
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('export-dataset: the stamp moves only when labels change; run writes the dataset', async () => {
    const h = exportModule.handlers!.find((x) => x.name === 'export-dataset')!;
    const s1 = await h.stamp!(ctx, { name: 'ds' });
    expect(await h.stamp!(ctx, { name: 'ds' })).toBe(s1);
    await h.run(ctx, { name: 'ds' });
    expect(JSON.parse(await fs.readFile(join(project.root, 'training_datasets', 'ds', 'manifest.json'), 'utf8')).videos).toHaveLength(2);
    // A model suggestion (confidence set) is not ground truth: no change.
    await db.query(`INSERT INTO rallies (id, video_id, start_ms, end_ms, confidence, updated_at) VALUES ('sugg', 'v0', 1, 2, 0.9, now())`);
    expect(await h.stamp!(ctx, { name: 'ds' })).toBe(s1);
    await db.query(`UPDATE rallies SET end_ms = end_ms + 1, updated_at = now() WHERE video_id = 'v1' AND confidence IS NULL`);
    expect(await h.stamp!(ctx, { name: 'ds' })).not.toBe(s1);
    // run exports the snapshot its stamp read, even if a label changes in between: stamp and files agree.
    await db.query(`DELETE FROM rallies WHERE video_id = 'v0'`);
    await h.run(ctx, { name: 'ds' });
    const gt = JSON.parse(await fs.readFile(join(project.root, 'training_datasets', 'ds', 'ground_truth.json'), 'utf8'));
    expect(gt.map((v: { video_id: string }) => v.video_id)).toEqual(['v0', 'v1']);
    await h.run(ctx, { name: 'ds' }); // no fresh stamp: reads the database again
    const gt2 = JSON.parse(await fs.readFile(join(project.root, 'training_datasets', 'ds', 'ground_truth.json'), 'utf8'));
    expect(gt2.map((v: { video_id: string }) => v.video_id)).toEqual(['v1']);
  });

  it('push: the stamp changes when the remote gains or loses the dataset', async () => {
    const h = pushModule.handlers!.find((x) => x.name === 'push')!;
    const before = await h.stamp!(ctx, { name: 'ds' });
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    await h.run(ctx, { name: 'ds' });
    const after = await h.stamp!(ctx, { name: 'ds' });
    expect(after).not.toBe(before);
    expect(await h.stamp!(ctx, { name: 'ds' })).toBe(after);
    const videos = await fs.readdir(join(project.root, 'backup', 'videos'));
    await fs.rm(join(project.root, 'backup', 'videos', videos[0]!));
    expect(await h.stamp!(ctx, { name: 'ds' })).not.toBe(after);
  });
});
