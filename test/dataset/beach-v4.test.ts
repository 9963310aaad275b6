// Realistic scale: the real beach_v4 labels (51 videos, 576 rallies, two different videos both named
// 'tete.mp4') restored into an empty PostgreSQL and exported back give identical ground truth. The videos
// are not public, so each gets a small generated stand-in file whose hash the manifest records.
import { existsSync, promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../stages/lib/contracts.js';
import { exportDataset } from '../../stages/export-dataset/export.js';
import { restoreDataset } from '../../stages/restore/restore.js';
import { localVideoName } from '../../stages/lib/dataset/layout.js';
import { initSchema, openDatabase } from '../../stages/lib/db/index.js';
import { freshDatabase, type TestDatabase } from '../services/fresh.js';
import { makeProject, sha256, standInBytes } from '../kit/dataset.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BEACH_V4 = join(repoRoot, '..', 'shared', 'data', 'rallycut-annotations', 'beach_v4');
const present = existsSync(join(BEACH_V4, 'manifest.json'));

describe.skipIf(!present)(`beach_v4 at realistic scale${present ? '' : ' (skipped: ../shared/data/rallycut-annotations/beach_v4 is absent in this clone)'}`, () => {
  let tdb: TestDatabase;
  const project = makeProject();
  const dir = join(project.root, 'training_datasets', 'beach_v4');
  let original: Manifest;
  let originalGt: string;

  beforeAll(async () => {
    tdb = await freshDatabase();
    original = JSON.parse(await fs.readFile(join(BEACH_V4, 'manifest.json'), 'utf8')) as Manifest;
    originalGt = await fs.readFile(join(BEACH_V4, 'ground_truth.json'), 'utf8');
    // Stand-ins: 2 KiB of bytes derived from the video id; their sha256 becomes content_hash and sha256.
    const videos = original.videos.map((v) => {
      const bytes = standInBytes(v.video_id);
      const hash = sha256(bytes);
      return { v: { ...v, content_hash: hash, sha256: hash, size_bytes: bytes.length }, bytes };
    });
    const manifest = { ...original, videos: videos.map((x) => x.v) };
    await fs.mkdir(join(dir, 'videos'), { recursive: true });
    await fs.mkdir(join(project.cacheDir, 'videos'), { recursive: true });
    for (const { v, bytes } of videos) {
      await fs.writeFile(join(dir, 'videos', localVideoName(v, manifest.videos)), bytes);
      await fs.writeFile(join(project.cacheDir, 'videos', v.content_hash), bytes);
    }
    await fs.writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    await fs.writeFile(join(dir, 'ground_truth.json'), originalGt);
    const db = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: tdb.url } });
    await initSchema(db);
    await db.close();
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('restores 51 videos and 576 rallies, then exports the same ground truth', async () => {
    const env = { DATABASE_URL: tdb.url };
    const restored = await restoreDataset(project.ctx(env), { name: 'beach_v4' });
    expect(restored.plan).toMatchObject({ inserted_videos: 51, new_rallies: 576 });
    expect((await restoreDataset(project.ctx(env), { name: 'beach_v4' })).plan).toMatchObject({ inserted_videos: 0, new_rallies: 0 });

    const res = await exportDataset(project.ctx(env), { name: 'beach_v4', output: 'exported' });
    expect(res).toMatchObject({ videos: 51, rallies: 576, sources: { 'content-cache': 51 } });
    const exportedGt = await fs.readFile(join(project.root, 'exported', 'ground_truth.json'), 'utf8');
    expect(JSON.parse(exportedGt)).toEqual(JSON.parse(originalGt));
    expect(exportedGt).toBe(JSON.stringify(JSON.parse(originalGt), null, 2) + '\n');
    const exported = JSON.parse(await fs.readFile(join(project.root, 'exported', 'manifest.json'), 'utf8')) as Manifest;
    const pick = (m: Manifest) => m.videos.map((v) => [v.video_id, v.filename, v.duration_ms, v.rally_count]);
    expect(pick(exported)).toEqual(pick(original));
    expect(exported.stats).toEqual(original.stats);
    expect((await fs.readdir(join(project.root, 'exported', 'videos'))).length).toBe(51);
  });
});
