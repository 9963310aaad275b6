// Interrupted push, pull and restore, then a rerun: the rerun does only what is missing, and nothing is
// left half-done (no partial object, no half-written file, no half-restored dataset).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../src/handler.js';
import { exportDataset } from '../../stages/export-dataset/export.js';
import { pullDataset } from '../../stages/pull/pull.js';
import { pushDataset } from '../../stages/push/push.js';
import { restoreDataset } from '../../stages/restore/restore.js';
import type { DatasetContext } from '../../stages/lib/dataset/context.js';
import { initSchema, insertLabelledVideos, openDatabase, queryGroundTruth, type Database } from '../../stages/lib/db/index.js';
import { freshBucket, freshDatabase, type TestDatabase, type TestS3 } from '../services/fresh.js';
import { makeOriginals, makeProject, sha256, type TestProject } from '../kit/dataset.js';

/** A context whose byte progress aborts the operation once `fraction` of the bytes have moved. */
function abortingAt(base: DatasetContext, fraction: number): DatasetContext {
  const ac = new AbortController();
  return {
    ...base,
    signal: ac.signal,
    progress: (_label: string, total: number): Progress => ({
      tick() {},
      skip() {},
      update(done) {
        if (done >= total * fraction) ac.abort();
      },
      setTotal() {},
      done() {},
    }),
  };
}

const MiB = 1024 * 1024;

describe('interrupted transfers and restores, then a rerun', () => {
  let tdb: TestDatabase;
  let target: TestDatabase;
  let db: Database;
  let s3: TestS3;
  let project: TestProject;
  const N = 6;
  const env = (): Record<string, string> => ({ DATABASE_URL: tdb.url, ...s3.env });

  beforeAll(async () => {
    [tdb, target, s3] = await Promise.all([freshDatabase(), freshDatabase(), freshBucket()]);
    project = makeProject();
    db = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: tdb.url } });
    await initSchema(db);
    const o = await makeOriginals(
      project,
      Array.from({ length: N }, () => 2 * MiB),
    );
    await insertLabelledVideos(db, o.videos);
    await exportDataset(project.ctx(env()), { name: 'ds', videosDir: o.videosDir });
  });
  afterAll(async () => {
    await db?.close();
    await Promise.all([tdb?.drop(), target?.drop()]);
  });

  it('push: a killed run leaves whole objects only; the rerun uploads just the rest', async () => {
    await expect(pushDataset(abortingAt(project.ctx(env()), 0.5), { name: 'ds', concurrency: 1 })).rejects.toThrow();
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const listed = (await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'training/' }))).Contents ?? [];
    const done = listed.length;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(N);
    expect(listed.every((o) => o.Key!.startsWith('training/videos/') && o.Size === 2 * MiB)).toBe(true); // no dataset JSONs, no partial objects
    const rerun = await pushDataset(project.ctx(env()), { name: 'ds' });
    expect(rerun).toMatchObject({ uploaded: N - done, alreadyThere: done, jsonUploaded: true });
  });

  it('pull: a killed run keeps only verified files; the rerun downloads just the rest', async () => {
    const clone = makeProject();
    await expect(pullDataset(abortingAt(clone.ctx(env()), 0.5), { name: 'ds', concurrency: 1 })).rejects.toThrow();
    const dir = join(clone.root, 'training_datasets', 'ds', 'videos');
    const kept = await fs.readdir(dir).catch(() => [] as string[]);
    expect(kept.length).toBeLessThan(N);
    const manifest = JSON.parse(await fs.readFile(join(project.root, 'training_datasets', 'ds', 'manifest.json'), 'utf8'));
    const shaOf = new Map<string, string>(manifest.videos.map((v: { filename: string; sha256: string }) => [v.filename, v.sha256]));
    for (const f of kept) expect(sha256(await fs.readFile(join(dir, f)))).toBe(shaOf.get(f)); // nothing partial under a final name
    const rerun = await pullDataset(clone.ctx(env()), { name: 'ds' });
    expect(rerun).toMatchObject({ downloaded: N - kept.length, present: kept.length });
    expect((await fs.readdir(dir)).sort()).toEqual([...shaOf.keys()].sort());
  });

  it('restore: a failure mid-transaction changes nothing; the rerun restores everything once', async () => {
    const e = { ...env(), DATABASE_URL: target.url };
    const d = await openDatabase({ cacheDir: project.cacheDir, env: e });
    await initSchema(d);
    // Make the database refuse the last rally of the dataset, after the videos were inserted.
    await d.query(`CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated crash'; END $$ LANGUAGE plpgsql`);
    await d.query(`CREATE TRIGGER crash BEFORE INSERT ON rallies FOR EACH ROW WHEN (NEW.video_id = 'v${N - 1}') EXECUTE FUNCTION refuse()`);
    await expect(restoreDataset(project.ctx(e), { name: 'ds' })).rejects.toThrow(/simulated crash/);
    expect(await d.query(`SELECT id FROM videos`)).toEqual([]);
    await d.query(`DROP TRIGGER crash ON rallies`);
    const rerun = await restoreDataset(project.ctx(e), { name: 'ds' });
    expect(rerun.plan).toMatchObject({ inserted_videos: N, new_rallies: N });
    const gt = async (q: Database) =>
      (await queryGroundTruth(q)).map((v) => ({ id: v.id, filename: v.filename, content_hash: v.content_hash, rallies: v.rallies }));
    expect(await gt(d)).toEqual(await gt(db));
    await d.close();
  });
});
