// A video over 50 MiB whose content_hash follows the web app's partial scheme (first 10 MiB + last 10 MiB +
// `name|size|lastModified`) goes through export, push, pull and restore: keyed by content_hash everywhere,
// verified by its full sha256.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset } from '../../stages/export-dataset/export.js';
import { pullDataset } from '../../stages/pull/pull.js';
import { pushDataset } from '../../stages/push/push.js';
import { restoreDataset } from '../../stages/restore/restore.js';
import { appContentHash, sha256File } from '../../stages/lib/dataset/hashing.js';
import { initSchema, insertLabelledVideos, openDatabase, queryGroundTruth } from '../../stages/lib/db/index.js';
import { freshBucket, freshDatabase, type TestDatabase, type TestS3 } from '../services/fresh.js';
import { makeProject } from '../kit/dataset.js';

const MiB = 1024 * 1024;
const SIZE = 50 * MiB + 4099; // just over the app's 50 MiB full-hash limit
const LAST_MODIFIED = 1_767_225_600_000;

/** A sparse file just over 50 MiB: random head and tail, zeros between (fast to create, and the edges matter). */
async function sparseVideo(path: string): Promise<void> {
  await fs.mkdir(join(path, '..'), { recursive: true });
  const fd = await fs.open(path, 'w');
  await fd.write(randomBytes(MiB), 0, MiB, 0);
  await fd.write(randomBytes(MiB), 0, MiB, SIZE - MiB);
  await fd.close();
}

describe('a >50 MiB video under the app partial content_hash scheme', () => {
  let src: TestDatabase;
  let dst: TestDatabase;
  let s3: TestS3;
  const project = makeProject();
  const file = join(project.root, 'originals', 'match.MOV');
  let contentHash = '';
  let fullSha = '';

  beforeAll(async () => {
    [src, dst, s3] = await Promise.all([freshDatabase(), freshDatabase(), freshBucket()]);
    await sparseVideo(file);
    contentHash = await appContentHash(file, 'match.MOV', LAST_MODIFIED);
    fullSha = await sha256File(file);
  });
  afterAll(async () => {
    await Promise.all([src?.drop(), dst?.drop()]);
  });

  it('computes the app hash from the edges and the file identity, not the whole file', async () => {
    const bytes = await fs.readFile(file);
    const expected = createHash('sha256')
      .update(bytes.subarray(0, 10 * MiB))
      .update(bytes.subarray(SIZE - 10 * MiB))
      .update(`match.MOV|${SIZE}|${LAST_MODIFIED}`)
      .digest('hex');
    expect(contentHash).toBe(expected);
    expect(contentHash).not.toBe(fullSha);
    expect(await appContentHash(file, 'other.MOV', LAST_MODIFIED)).not.toBe(contentHash);
  });

  it('goes through export, push, pull and restore keyed by content_hash and verified by sha256', async () => {
    const db = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: src.url } });
    await initSchema(db);
    await insertLabelledVideos(db, [
      {
        id: 'big',
        filename: 'match.MOV',
        content_hash: contentHash,
        duration_ms: 1_200_000,
        file_size_bytes: SIZE,
        rallies: [{ start_ms: 10_000, end_ms: 19_500 }],
      },
    ]);
    await db.close();
    const env = { DATABASE_URL: src.url, ...s3.env };
    await exportDataset(project.ctx(env), { name: 'big', videosDir: join(project.root, 'originals') });
    const manifest = JSON.parse(await fs.readFile(join(project.root, 'training_datasets', 'big', 'manifest.json'), 'utf8'));
    expect(manifest.videos[0]).toMatchObject({ content_hash: contentHash, sha256: fullSha, size_bytes: SIZE });

    expect(await pushDataset(project.ctx(env), { name: 'big' })).toMatchObject({ uploaded: 1 });
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `training/videos/${contentHash}.mp4` }));
    expect(head.ContentLength).toBe(SIZE);

    const clone = makeProject();
    const e2 = { DATABASE_URL: dst.url, ...s3.env };
    expect(await pullDataset(clone.ctx(e2), { name: 'big' })).toMatchObject({ downloaded: 1 });
    expect(await sha256File(join(clone.root, 'training_datasets', 'big', 'videos', 'match.MOV'))).toBe(fullSha);

    const d2 = await openDatabase({ cacheDir: clone.cacheDir, env: e2 });
    await initSchema(d2);
    await restoreDataset(clone.ctx(e2), { name: 'big' });
    expect(await queryGroundTruth(d2)).toEqual([
      {
        id: 'big',
        name: 'match.MOV',
        filename: 'match.MOV',
        s3_key: `videos/unowned/big/match.MOV`,
        content_hash: contentHash,
        duration_ms: 1_200_000,
        file_size_bytes: SIZE,
        rallies: [{ start_ms: 10_000, end_ms: 19_500 }],
      },
    ]);
    await d2.close();

    // Same name and size, different bytes: the sha256 recorded by the previous export catches it.
    const fd = await fs.open(file, 'r+');
    await fd.write(Buffer.from('changed'), 0, 7, 30 * MiB);
    await fd.close();
    await expect(exportDataset(project.ctx(env), { name: 'big', videosDir: join(project.root, 'originals') })).rejects.toThrow(
      /match\.MOV.*differs from the [0-9a-f]{12}… recorded by the last export/s,
    );
  });

  it('pushes a seed-format manifest (no sha256) for it, computing the sha256 on first use and recording it', async () => {
    const seedProject = makeProject();
    const dir = join(seedProject.root, 'training_datasets', 'migrated');
    await sparseVideo(join(dir, 'videos', 'match.MOV'));
    // Written exactly as the Python tool writes it: no sha256, no size_bytes.
    const seedManifest = {
      name: 'migrated',
      description: 'from the Python tool',
      created: '2026-01-01T00:00:00',
      videos: [{ filename: 'match.MOV', video_id: 'big', content_hash: contentHash, duration_ms: 1_200_000, rally_count: 1 }],
      stats: { total_videos: 1, total_rallies: 1, total_duration_min: 20 },
    };
    await fs.writeFile(join(dir, 'manifest.json'), JSON.stringify(seedManifest, null, 2));
    await fs.writeFile(
      join(dir, 'ground_truth.json'),
      JSON.stringify([{ video_id: 'big', filename: 'match.MOV', rallies: [{ start_ms: 10_000, end_ms: 19_500 }] }]),
    );
    const fresh = await freshBucket();
    expect(await pushDataset(seedProject.ctx(fresh.env), { name: 'migrated' })).toMatchObject({ uploaded: 1 });
    const sha = await sha256File(join(dir, 'videos', 'match.MOV'));
    expect(seedProject.logs.join('\n')).toMatch(
      /1 video over 50 MiB had no sha256 in training_datasets\/migrated\/manifest\.json \(a seed-format manifest\): computed/,
    );
    const local = JSON.parse(await fs.readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(local.videos[0]).toMatchObject({ content_hash: contentHash, sha256: sha });
    expect(local.description).toBe('from the Python tool');
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const got = await fresh.client.send(new GetObjectCommand({ Bucket: fresh.bucket, Key: 'training/datasets/migrated/manifest.json' }));
    expect(JSON.parse(await got.Body!.transformToString()).videos[0].sha256).toBe(sha);
    // A second push has nothing to compute and says nothing about it.
    seedProject.logs.length = 0;
    expect(await pushDataset(seedProject.ctx(fresh.env), { name: 'migrated' })).toMatchObject({ uploaded: 0, alreadyThere: 1 });
    expect(seedProject.logs.join('\n')).not.toMatch(/had no sha256/);
  });
});
