// Disaster recovery through the web app's bucket: restore --upload-to-app-s3 --user-id puts the videos at
// their s3_key and owns them; a fresh machine then exports with the files fetched from that bucket.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { exportDataset } from '../../stages/export-dataset/export.js';
import { restoreDataset } from '../../stages/restore/restore.js';
import { initSchema, insertLabelledVideos, openDatabase } from '../../stages/lib/db/index.js';
import { freshBucket, freshDatabase, type TestDatabase, type TestS3 } from '../services/fresh.js';
import { makeOriginals, makeProject, sha256 } from '../kit/dataset.js';

describe("the app's bucket (APP_S3_*)", () => {
  let src: TestDatabase;
  let dst: TestDatabase;
  let app: TestS3;
  const project = makeProject();
  let appEnv: Record<string, string>;

  beforeAll(async () => {
    [src, dst, app] = await Promise.all([freshDatabase(), freshDatabase(), freshBucket('')]);
    appEnv = { APP_S3_BUCKET: app.bucket, APP_S3_ENDPOINT: app.endpoint, APP_S3_ACCESS_KEY_ID: 'S3RVER', APP_S3_SECRET_ACCESS_KEY: 'S3RVER' };
    const db = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: src.url } });
    await initSchema(db);
    const o = await makeOriginals(project, [3000, 4000, 5000]);
    await insertLabelledVideos(db, o.videos);
    await db.close();
    await exportDataset(project.ctx({ DATABASE_URL: src.url }), { name: 'ds', videosDir: o.videosDir });
  });
  afterAll(async () => {
    await Promise.all([src?.drop(), dst?.drop()]);
  });

  it('restore --upload-to-app-s3 --user-id uploads each video to its s3_key, then export fetches them back', async () => {
    const d = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: dst.url } });
    await initSchema(d);
    await d.query(`INSERT INTO users (id, email) VALUES ($1, $2)`, ['user-1', 'coach@example.org']);
    const env = { DATABASE_URL: dst.url, ...appEnv };
    await expect(restoreDataset(project.ctx({ DATABASE_URL: dst.url }), { name: 'ds', uploadToAppS3: true })).rejects.toThrow(
      /--upload-to-app-s3 needs APP_S3_BUCKET/,
    );
    await expect(restoreDataset(project.ctx(env), { name: 'ds', userId: 'ghost' })).rejects.toThrow(/no user with id 'ghost'/);
    const res = await restoreDataset(project.ctx(env), { name: 'ds', uploadToAppS3: true, userId: 'user-1' });
    expect(res).toMatchObject({ uploaded: 3, plan: { inserted_videos: 3 } });
    const rows = await d.query<{ id: string; s3_key: string; user_id: string; filename: string }>(
      `SELECT id, s3_key, user_id, filename FROM videos ORDER BY id`,
    );
    // Laid out as the app lays out its uploads, so its editor finds and plays them.
    expect(rows.every((r) => r.user_id === 'user-1' && r.s3_key === `videos/user-1/${r.id}/${r.filename}`)).toBe(true);
    const listed = await app.client.send(new ListObjectsV2Command({ Bucket: app.bucket }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(rows.map((r) => r.s3_key).sort());
    // Idempotent, uploads included.
    expect(await restoreDataset(project.ctx(env), { name: 'ds', uploadToAppS3: true, userId: 'user-1' })).toMatchObject({
      uploaded: 0,
      plan: { inserted_videos: 0, new_rallies: 0 },
    });
    await d.close();

    const fresh = makeProject();
    const out = await exportDataset(fresh.ctx(env), { name: 'ds' });
    expect(out.sources).toEqual({ 'videos-dir': 0, 'content-cache': 0, 'app-s3': 3 });
    const m = JSON.parse(await fs.readFile(join(fresh.root, 'training_datasets', 'ds', 'manifest.json'), 'utf8'));
    for (const v of m.videos) expect(sha256(await fs.readFile(join(fresh.root, 'training_datasets', 'ds', 'videos', v.filename)))).toBe(v.sha256);
    // The downloads stay in the content cache: the next export needs no network.
    expect((await exportDataset(fresh.ctx({ DATABASE_URL: dst.url }), { name: 'ds' })).sources['content-cache']).toBe(3);
  });
});
