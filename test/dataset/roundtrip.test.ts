// export → push → list-remote → pull → restore on a real PostgreSQL and s3rver, as a user would run them.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset } from '../../stages/export-dataset/export.js';
import { listRemote } from '../../stages/list-remote/list.js';
import { pullDataset } from '../../stages/pull/pull.js';
import { pushDataset } from '../../stages/push/push.js';
import { restoreDataset } from '../../stages/restore/restore.js';
import { initSchema, insertLabelledVideos, openDatabase, queryGroundTruth, type Database } from '../../stages/lib/db/index.js';
import { freshBucket, freshDatabase, type TestDatabase, type TestS3 } from '../services/fresh.js';
import { makeProject, sha256, writeRandomVideo } from '../kit/dataset.js';

describe('dataset round trip (PostgreSQL + s3rver)', () => {
  let src: TestDatabase;
  let dst: TestDatabase;
  let s3: TestS3;
  let db: Database;
  const project = makeProject();
  const videosDir = join(project.root, 'originals');
  const hashes: Record<string, string> = {};
  const env = (): Record<string, string> => ({ DATABASE_URL: src.url, ...s3.env });

  beforeAll(async () => {
    [src, dst, s3] = await Promise.all([freshDatabase(), freshDatabase(), freshBucket()]);
    db = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: src.url } });
    await initSchema(db);
    hashes.a = await writeRandomVideo(join(videosDir, 'a.mp4'), 40_000);
    hashes.b = await writeRandomVideo(join(videosDir, 'tete.mp4'), 50_000);
    // A second, different 'tete.mp4' (real data has this): it sits only in the content cache.
    hashes.c = await writeRandomVideo(join(project.cacheDir, 'videos', 'placeholder'), 30_000);
    await fs.rename(join(project.cacheDir, 'videos', 'placeholder'), join(project.cacheDir, 'videos', hashes.c));
    await insertLabelledVideos(db, [
      {
        id: 'id-a',
        filename: 'a.mp4',
        content_hash: hashes.a,
        duration_ms: 60_000,
        rallies: [
          { start_ms: 1000, end_ms: 9000 },
          { start_ms: 20_000, end_ms: 31_000 },
        ],
      },
      { id: 'id-b', filename: 'tete.mp4', content_hash: hashes.b, duration_ms: 90_000, rallies: [{ start_ms: 5000, end_ms: 12_000 }] },
      { id: 'id-c', filename: 'tete.mp4', content_hash: hashes.c, duration_ms: 30_000, rallies: [{ start_ms: 2000, end_ms: 7000 }] },
    ]);
  });
  afterAll(async () => {
    await db?.close();
    await Promise.all([src?.drop(), dst?.drop()]);
  });

  it('exports deterministic JSONs with full sha256 and hardlinked videos', async () => {
    const res = await exportDataset(project.ctx(env()), { name: 'ds1', videosDir });
    expect(res).toMatchObject({ videos: 3, rallies: 4, sources: { 'videos-dir': 2, 'content-cache': 1, 'app-s3': 0 } });
    const dir = join(project.root, 'training_datasets', 'ds1');
    const manifest = JSON.parse(await fs.readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest)).toEqual(['name', 'description', 'created', 'videos', 'stats']);
    expect(manifest.videos.map((v: { video_id: string }) => v.video_id)).toEqual(['id-a', 'id-b', 'id-c']);
    expect(manifest.videos[0]).toEqual({
      filename: 'a.mp4',
      video_id: 'id-a',
      content_hash: hashes.a,
      duration_ms: 60000,
      rally_count: 2,
      sha256: hashes.a,
      size_bytes: 40000,
    });
    expect(manifest.stats).toEqual({ total_videos: 3, total_rallies: 4, total_duration_min: 3 });
    // The two 'tete.mp4' get distinct local names; a.mp4 is a hardlink of the original.
    const files = (await fs.readdir(join(dir, 'videos'))).sort();
    expect(files).toEqual(['a.mp4', `tete.${hashes.b!.slice(0, 12)}.mp4`, `tete.${hashes.c!.slice(0, 12)}.mp4`].sort());
    expect((await fs.stat(join(dir, 'videos', 'a.mp4'))).ino).toBe((await fs.stat(join(videosDir, 'a.mp4'))).ino);

    const before = [await fs.readFile(join(dir, 'manifest.json')), await fs.readFile(join(dir, 'ground_truth.json'))];
    await new Promise((r) => setTimeout(r, 5));
    const again = await exportDataset(project.ctx(env()), { name: 'ds1', videosDir });
    expect(again).toMatchObject({ manifestWritten: false, groundTruthWritten: false });
    expect(await fs.readFile(join(dir, 'manifest.json'))).toEqual(before[0]);
    expect(await fs.readFile(join(dir, 'ground_truth.json'))).toEqual(before[1]);

    // A new label changes the content, so `created` moves too.
    await db.query(`INSERT INTO rallies (id, video_id, start_ms, end_ms, updated_at) VALUES ($1, $2, $3, $4, now())`, ['r-new', 'id-a', 40_000, 48_000]);
    await exportDataset(project.ctx(env()), { name: 'ds1', videosDir });
    const after = JSON.parse(await fs.readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(after.created).not.toBe(manifest.created);
    expect(after.stats.total_rallies).toBe(5);

    // SOURCE_DATE_EPOCH pins `created` of a fresh export, so a rebuild from the same labels is byte-identical.
    const pinned = join(project.root, 'pinned-export');
    process.env.SOURCE_DATE_EPOCH = '1767225600';
    try {
      await exportDataset(project.ctx(env()), { name: 'ds1', videosDir, output: pinned });
    } finally {
      delete process.env.SOURCE_DATE_EPOCH;
    }
    const pinnedManifest = JSON.parse(await fs.readFile(join(pinned, 'manifest.json'), 'utf8'));
    expect(pinnedManifest.created).toBe('2026-01-01T00:00:00.000Z');
    await fs.rm(pinned, { recursive: true, force: true });
  });

  it('pushes only what is missing, and lists the dataset', async () => {
    const first = await pushDataset(project.ctx(env()), { name: 'ds1' });
    expect(first).toMatchObject({ uploaded: 3, alreadyThere: 0, jsonUploaded: true });
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `training/videos/${hashes.a}.mp4` }));
    expect(head.StorageClass).toBe('STANDARD_IA');
    expect(head.ContentLength).toBe(40_000);
    const second = await pushDataset(project.ctx(env()), { name: 'ds1' });
    expect(second).toMatchObject({ uploaded: 0, alreadyThere: 3, jsonUploaded: false });
    const { datasets } = await listRemote(project.ctx(env()));
    expect(datasets).toEqual([{ name: 'ds1', videos: 3, rallies: 5, size_bytes: 120_000, missing_videos: 0, created: expect.any(String) }]);
    expect(project.logs.some((l) => l.startsWith(`remote: s3://${s3.bucket}/training`))).toBe(true);
  });

  it('pulls into a fresh clone, restores into an empty database, and exports identical ground truth', async () => {
    const clone = makeProject('rallycut-clone-');
    const e = { DATABASE_URL: dst.url, ...s3.env };
    const pulled = await pullDataset(clone.ctx(e), { name: 'ds1' });
    expect(pulled).toMatchObject({ downloaded: 3, present: 0 });
    const dir = join(clone.root, 'training_datasets', 'ds1');
    expect(sha256(await fs.readFile(join(dir, 'videos', `tete.${hashes.c!.slice(0, 12)}.mp4`)))).toBe(hashes.c);
    expect(await pullDataset(clone.ctx(e), { name: 'ds1' })).toMatchObject({ downloaded: 0, present: 3 });

    const d2 = await openDatabase({ cacheDir: clone.cacheDir, env: e });
    await initSchema(d2);
    const dry = await restoreDataset(clone.ctx(e), { name: 'ds1', dryRun: true });
    expect(dry.plan).toMatchObject({ inserted_videos: 3, new_rallies: 5 });
    expect(await queryGroundTruth(d2)).toEqual([]);
    const restored = await restoreDataset(clone.ctx(e), { name: 'ds1' });
    expect(restored.plan).toMatchObject({ inserted_videos: 3, new_rallies: 5 });
    const twice = await restoreDataset(clone.ctx(e), { name: 'ds1' });
    expect(twice.plan).toMatchObject({ inserted_videos: 0, reused_videos: 3, new_rallies: 0 });
    const rows = await d2.query<{ status: string; confidence: number | null }>(`SELECT status::text AS status, confidence FROM rallies`);
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.status === 'CONFIRMED' && r.confidence === null)).toBe(true);
    await d2.close();

    await exportDataset(clone.ctx(e), { name: 'ds1', output: 'again' });
    expect(await fs.readFile(join(clone.root, 'again', 'ground_truth.json'), 'utf8')).toBe(
      await fs.readFile(join(project.root, 'training_datasets', 'ds1', 'ground_truth.json'), 'utf8'),
    );
  });
});
