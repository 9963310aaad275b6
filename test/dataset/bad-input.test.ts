// Bad input: each case fails with a message naming the item (as the CLI prints it), and nothing is lost.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RallycutError } from '../../src/handler.js';
import { formatDiagnostics } from '../../src/format/printer.js';
import { exportDataset } from '../../stages/export-dataset/export.js';
import { pullDataset } from '../../stages/pull/pull.js';
import { pushDataset } from '../../stages/push/push.js';
import { restoreDataset } from '../../stages/restore/restore.js';
import { parseGroundTruth, parseManifest } from '../../stages/lib/dataset/format.js';
import { initSchema, insertLabelledVideos, openDatabase, queryGroundTruth, type Database } from '../../stages/lib/db/index.js';
import { freshBucket, freshDatabase, type TestDatabase, type TestS3 } from '../services/fresh.js';
import { makeOriginals, makeProject, sha256, type TestProject } from '../kit/dataset.js';

/** What the user sees for an error: the printer's text. */
async function printed(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RallycutError);
  return formatDiagnostics((err as RallycutError).diagnostics);
}

const H = (c: string): string => c.repeat(64);
const manifestWith = (videos: unknown[]): string => JSON.stringify({ name: 'x', description: '', created: '2026-01-01T00:00:00Z', videos, stats: {} });
const video = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  filename: 'a.mp4',
  video_id: 'id-a',
  content_hash: H('a'),
  duration_ms: 1000,
  rally_count: 1,
  ...over,
});

describe('manifest and ground-truth validation names the file and the item', () => {
  it('a filename with ../', async () => {
    const text = await printed(
      Promise.resolve().then(() => parseManifest(manifestWith([video(), video({ video_id: 'id-b', filename: '../etc/passwd' })]), 'ds/manifest.json')),
    );
    expect(text).toContain("ds/manifest.json: error: [videos[1] ../etc/passwd] filename '../etc/passwd' must be a plain file name");
  });

  it('a content_hash that is not 64 hex characters', async () => {
    const text = await printed(Promise.resolve().then(() => parseManifest(manifestWith([video({ content_hash: 'abc123' })]), 'ds/manifest.json')));
    expect(text).toContain("[videos[0] a.mp4] content_hash 'abc123' is not 64 lowercase hex characters");
  });

  it('duplicate video ids, all problems at once', async () => {
    const text = await printed(
      Promise.resolve().then(() =>
        parseManifest(manifestWith([video(), video({ filename: 'b.mp4' }), video({ filename: 'c.mp4', content_hash: 'zz' })]), 'm.json'),
      ),
    );
    expect(text).toContain("[videos[1] b.mp4] duplicate video_id 'id-a' (also videos[0])");
    expect(text).toContain("[videos[2] c.mp4] duplicate video_id 'id-a' (also videos[0])");
    expect(text).toContain("[videos[2] c.mp4] content_hash 'zz'");
  });

  it('a rally with end ≤ start', async () => {
    const gt = JSON.stringify([
      {
        video_id: 'id-a',
        filename: 'a.mp4',
        rallies: [
          { start_ms: 10, end_ms: 20 },
          { start_ms: 500, end_ms: 500 },
        ],
      },
    ]);
    const text = await printed(Promise.resolve().then(() => parseGroundTruth(gt, 'ds/ground_truth.json')));
    expect(text).toContain('ds/ground_truth.json: error: [[0] a.mp4] rally 1: end_ms 500 ≤ start_ms 500');
  });
});

describe('bad input against real services: clear errors, nothing lost', () => {
  let tdb: TestDatabase;
  let db: Database;
  let s3: TestS3;
  let project: TestProject;
  let videosDir: string;
  const env = (): Record<string, string> => ({ DATABASE_URL: tdb.url, ...s3.env });
  const dsDir = (): string => join(project.root, 'training_datasets', 'ds');

  beforeAll(async () => {
    [tdb, s3] = await Promise.all([freshDatabase(), freshBucket()]);
    project = makeProject();
    db = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: tdb.url } });
    await initSchema(db);
    const o = await makeOriginals(project, [20_000, 30_000, 40_000]);
    videosDir = o.videosDir;
    await insertLabelledVideos(db, o.videos);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('database down or wrong password: named, password hidden, no files written', async () => {
    const fresh = makeProject();
    const down = await printed(exportDataset(fresh.ctx({ DATABASE_URL: 'postgresql://app:hunter2@127.0.0.1:1/labels' }), { name: 'ds', videosDir }));
    expect(down).toContain('cannot connect to the labels database postgresql://app:***@127.0.0.1:1/labels: connection refused');
    expect(down).not.toContain('hunter2');
    const wrong = new URL(tdb.url);
    wrong.password = 'not-the-password';
    if (process.env.RALLYCUT_TEST_PG_URL) {
      const text = await printed(exportDataset(fresh.ctx({ DATABASE_URL: wrong.toString() }), { name: 'ds', videosDir }));
      expect(text).toContain('password authentication failed');
      expect(text).not.toContain('not-the-password');
    }
    expect(await fs.readdir(fresh.root)).toEqual([]);
  });

  it('a missing video: the others are exported, the error names it', async () => {
    await fs.rename(join(videosDir, 'clip1.mp4'), join(videosDir, 'hidden.bin'));
    try {
      const text = await printed(exportDataset(project.ctx(env()), { name: 'ds', videosDir }));
      expect(text).toContain('export of ds: 1 video failed (clip1.mp4); the others are done');
      expect(text).toMatch(/\[clip1\.mp4\] no usable video file; tried .*originals\/clip1\.mp4: not found/);
      expect((await fs.readdir(join(dsDir(), 'videos'))).sort()).toEqual(['clip0.mp4', 'clip2.mp4']);
      const m = JSON.parse(await fs.readFile(join(dsDir(), 'manifest.json'), 'utf8'));
      expect(m.videos.map((v: { filename: string; sha256?: string }) => [v.filename, !!v.sha256])).toEqual([
        ['clip0.mp4', true],
        ['clip1.mp4', false],
        ['clip2.mp4', true],
      ]);
    } finally {
      await fs.rename(join(videosDir, 'hidden.bin'), join(videosDir, 'clip1.mp4'));
    }
    expect(await exportDataset(project.ctx(env()), { name: 'ds', videosDir })).toMatchObject({ videos: 3 });
  });

  it('bucket missing or credentials refused: named, local files untouched', async () => {
    const before = await fs.readFile(join(dsDir(), 'manifest.json'));
    const noBucket = await printed(pushDataset(project.ctx({ ...env(), TRAINING_S3_BUCKET: 'missing-bucket' }), { name: 'ds' }));
    expect(noBucket).toContain("bucket 'missing-bucket' does not exist");
    const refused = await printed(pushDataset(project.ctx({ ...env(), AWS_ACCESS_KEY_ID: 'NOPE', AWS_SECRET_ACCESS_KEY: 'bad-secret' }), { name: 'ds' }));
    expect(refused).toMatch(/credentials refused by s3:\/\/b-[0-9a-f]+\/training/);
    expect(refused).not.toContain('bad-secret');
    expect(await fs.readFile(join(dsDir(), 'manifest.json'))).toEqual(before);
    expect((await fs.readdir(join(dsDir(), 'videos'))).length).toBe(3);
  });

  it('a video whose bytes do not match its sha256 is refused by name; the others are uploaded, then a rerun finishes', async () => {
    const file = join(dsDir(), 'videos', 'clip2.mp4');
    const good = await fs.readFile(file);
    await fs.rm(file); // break the hardlink so the original stays intact
    await fs.writeFile(file, Buffer.concat([good.subarray(0, 100), Buffer.from('tampered'), good.subarray(108)]));
    const text = await printed(pushDataset(project.ctx(env()), { name: 'ds' }));
    expect(text).toContain('1 video failed (clip2.mp4)');
    expect(text).toMatch(/refusing to upload training_datasets\/ds\/videos\/clip2\.mp4: its sha256 [0-9a-f]{12}… does not match the manifest's/);
    const listed = await s3.client.send(new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'training/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
    expect(keys).toHaveLength(2); // the two good videos, and no dataset JSONs yet
    expect(keys.every((k) => k!.startsWith('training/videos/'))).toBe(true);
    await fs.writeFile(file, good);
    expect(await pushDataset(project.ctx(env()), { name: 'ds' })).toMatchObject({ uploaded: 1, alreadyThere: 2, jsonUploaded: true });
  });

  it('restore refuses a dataset with duplicate ids or a bad rally, leaving the database as it was', async () => {
    const bad = makeProject();
    const dir = join(bad.root, 'training_datasets', 'ds');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(join(dir, 'manifest.json'), manifestWith([video(), video({ filename: 'b.mp4', video_id: 'id-b', content_hash: H('b') })]));
    await fs.writeFile(
      join(dir, 'ground_truth.json'),
      JSON.stringify([
        { video_id: 'id-a', filename: 'a.mp4', rallies: [{ start_ms: 9000, end_ms: 3000 }] },
        { video_id: 'id-a', filename: 'a.mp4', rallies: [] },
      ]),
    );
    const gtBefore = await queryGroundTruth(db);
    const text = await printed(restoreDataset(bad.ctx(env()), { name: 'ds' }));
    expect(text).toContain('training_datasets/ds/ground_truth.json: error: [[0] a.mp4] rally 0: end_ms 3000 ≤ start_ms 9000');
    expect(text).toContain("[[1] a.mp4] duplicate video_id 'id-a' (also entry [0])");
    expect(await queryGroundTruth(db)).toEqual(gtBefore);
  });

  it('a same-named file of another size is not taken for the video (the database records its size)', async () => {
    const other = await freshDatabase();
    try {
      const p2 = makeProject();
      const o = await makeOriginals(p2, [5000]);
      const d = await openDatabase({ cacheDir: p2.cacheDir, env: { DATABASE_URL: other.url } });
      await initSchema(d);
      await insertLabelledVideos(d, [{ ...o.videos[0]!, content_hash: H('e'), file_size_bytes: 70 * 1024 * 1024 }]);
      await d.close();
      const text = await printed(exportDataset(p2.ctx({ DATABASE_URL: other.url }), { name: 'ds', videosDir: o.videosDir }));
      expect(text).toMatch(/\[clip0\.mp4\] no usable video file; tried .*originals\/clip0\.mp4: 5000 bytes, but the database records file_size_bytes 73400320/);
    } finally {
      await other.drop();
    }
  });

  it('pull refuses a remote manifest with ../ and leaves the local dataset intact', async () => {
    const evil = manifestWith([video({ filename: '../../outside.mp4' })]);
    await s3.client.send(
      new (await import('@aws-sdk/client-s3')).PutObjectCommand({ Bucket: s3.bucket, Key: 'training/datasets/evil/manifest.json', Body: evil }),
    );
    await s3.client.send(
      new (await import('@aws-sdk/client-s3')).PutObjectCommand({ Bucket: s3.bucket, Key: 'training/datasets/evil/ground_truth.json', Body: '[]' }),
    );
    const text = await printed(pullDataset(project.ctx(env()), { name: 'evil' }));
    expect(text).toContain("[videos[0] ../../outside.mp4] filename '../../outside.mp4' must be a plain file name");
    expect(await fs.readdir(join(project.root, 'training_datasets'))).toEqual(['ds']);
    // …and a pull whose downloaded bytes do not match the manifest keeps nothing.
    const m = JSON.parse(await fs.readFile(join(dsDir(), 'manifest.json'), 'utf8'));
    const v0 = m.videos[0];
    await s3.client.send(
      new (await import('@aws-sdk/client-s3')).PutObjectCommand({
        Bucket: s3.bucket,
        Key: `training/videos/${v0.content_hash}.mp4`,
        Body: Buffer.alloc(v0.size_bytes, 7),
      }),
    );
    const clone = makeProject();
    const pulled = await printed(pullDataset(clone.ctx(env()), { name: 'ds' }));
    expect(pulled).toContain('1 video failed (clip0.mp4)');
    expect(pulled).toMatch(/\[clip0\.mp4\] downloaded bytes have sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…; not kept/);
    const files = (await fs.readdir(join(clone.root, 'training_datasets', 'ds', 'videos'))).sort();
    expect(files).toEqual(['clip1.mp4', 'clip2.mp4']);
    expect(sha256(await fs.readFile(join(clone.root, 'training_datasets', 'ds', 'videos', 'clip1.mp4')))).toBe(m.videos[1].sha256);
  });
});
