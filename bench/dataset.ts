// Dataset layer benchmarks, each against a baseline measured in the same run:
//  1. no-op push of 1,000 small videos to s3rver (target ≤ 2 s), vs one bare paginated listing;
//  2. push throughput vs a bare loop of SDK Upload calls over the same files (target ≥ 0.9×);
//  3. restore + export of beach_v4 (51 videos, 576 rallies; target: seconds), vs a naive row-by-row insert.
// Sizes: RALLYCUT_BENCH_NOOP_VIDEOS (1000), RALLYCUT_BENCH_PUSH_FILES (8) × RALLYCUT_BENCH_PUSH_MIB (8).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import pg from 'pg';
import { createProgress } from '../src/handler.js';
import { s3ClientConfig } from '../src/remote/s3.js';
import type { Manifest } from '../stages/lib/contracts.js';
import type { DatasetContext } from '../stages/lib/dataset/context.js';
import { formatGroundTruth, formatManifest, manifestStats } from '../stages/lib/dataset/format.js';
import { localVideoName } from '../stages/lib/dataset/layout.js';
import { exportDataset } from '../stages/export-dataset/export.js';
import { pushDataset } from '../stages/push/push.js';
import { restoreDataset } from '../stages/restore/restore.js';
import { initSchema, openDatabase } from '../stages/lib/db/index.js';
import { startPostgres } from '../test/services/postgres.js';
import { startS3rver, type S3Service } from '../test/services/s3rver.js';
import type { Bench } from './run.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const secs = (t0: number): number => (performance.now() - t0) / 1000;

function ctxFor(root: string, env: Record<string, string>): DatasetContext {
  return {
    root,
    cacheDir: join(root, '.cache'),
    env: { ...env, RALLYCUT_PROGRESS: '0' },
    jobs: 4,
    signal: new AbortController().signal,
    log: () => undefined,
    progress: (label, total, unit) => createProgress(label, total, unit, { write: () => undefined, isTTY: false }),
  };
}

async function bucketEnv(s3: S3Service, client: S3Client, prefix: string): Promise<Record<string, string>> {
  const bucket = `bench-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    TRAINING_S3_BUCKET: bucket,
    TRAINING_S3_ENDPOINT: s3.endpoint,
    TRAINING_S3_PREFIX: prefix,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
}

/** A dataset folder of `count` random files of `size` bytes, with a manifest recording their hashes. */
async function writeDataset(root: string, name: string, count: number, size: number): Promise<string[]> {
  const dir = join(root, 'training_datasets', name);
  await fs.mkdir(join(dir, 'videos'), { recursive: true });
  const videos: Manifest['videos'] = [];
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const data = randomBytes(size);
    const h = sha(data);
    const filename = `v${String(i).padStart(5, '0')}.mp4`;
    await fs.writeFile(join(dir, 'videos', filename), data);
    files.push(join(dir, 'videos', filename));
    videos.push({ filename, video_id: `id-${i}`, content_hash: h, duration_ms: 1000, rally_count: 1, sha256: h, size_bytes: size });
  }
  await fs.writeFile(
    join(dir, 'manifest.json'),
    formatManifest({ name, description: 'bench', created: '2026-01-01T00:00:00.000Z', videos, stats: manifestStats(videos) }),
  );
  await fs.writeFile(
    join(dir, 'ground_truth.json'),
    formatGroundTruth(videos.map((v) => ({ video_id: v.video_id, filename: v.filename, rallies: [{ start_ms: 0, end_ms: 500 }] }))),
  );
  return files;
}

async function noopPush(s3: S3Service, client: S3Client): Promise<void> {
  const n = Number(process.env.RALLYCUT_BENCH_NOOP_VIDEOS ?? 1000);
  const root = mkdtempSync(join(tmpdir(), 'rallycut-bench-noop-'));
  await writeDataset(root, 'noop', n, 1024);
  const env = await bucketEnv(s3, client, 'training');
  let t0 = performance.now();
  await pushDataset(ctxFor(root, env), { name: 'noop', concurrency: 16 });
  const firstPush = secs(t0);
  // Median of three runs each, so one scheduling hiccup on a busy machine does not decide the figure.
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const noops: number[] = [];
  const listings: number[] = [];
  let listed = 0;
  for (let run = 0; run < 3; run++) {
    t0 = performance.now();
    const res = await pushDataset(ctxFor(root, env), { name: 'noop' });
    noops.push(secs(t0));
    if (res.uploaded !== 0) throw new Error(`no-op push uploaded ${res.uploaded} videos`);
    // Baseline: the least any correct no-op push must do, one paginated listing of the videos.
    t0 = performance.now();
    let token: string | undefined;
    listed = 0;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: env.TRAINING_S3_BUCKET, Prefix: 'training/videos/', ContinuationToken: token }));
      listed += page.KeyCount ?? 0;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    listings.push(secs(t0));
  }
  const noop = median(noops);
  const listing = median(listings);
  process.stdout.write(
    `no-op push of ${n} videos: ${noop.toFixed(3)} s (target ≤ 2 s: ${noop <= 2 ? 'met' : 'MISSED'}, ${(2 / noop).toFixed(1)}× headroom)\n` +
      `  baseline: bare paginated listing of ${listed} objects ${listing.toFixed(3)} s (medians of 3); first (uploading) push ${firstPush.toFixed(2)} s\n`,
  );
  await fs.rm(root, { recursive: true, force: true });
}

async function pushThroughput(s3: S3Service, client: S3Client): Promise<void> {
  const count = Number(process.env.RALLYCUT_BENCH_PUSH_FILES ?? 8);
  const size = Number(process.env.RALLYCUT_BENCH_PUSH_MIB ?? 8) * MiB;
  const root = mkdtempSync(join(tmpdir(), 'rallycut-bench-push-'));
  const files = await writeDataset(root, 'tp', count, size);
  const total = count * size;
  // Baseline: a plain loop of lib-storage Upload calls, same files, same client settings.
  const bareEnv = await bucketEnv(s3, client, 'bare');
  let t0 = performance.now();
  for (const f of files) {
    await new Upload({
      client,
      params: { Bucket: bareEnv.TRAINING_S3_BUCKET, Key: `bare/${f.slice(-10)}`, Body: createReadStream(f), StorageClass: 'STANDARD_IA' },
    }).done();
  }
  const bare = secs(t0);
  // A second, like-for-like baseline: the same Upload calls, four at a time (push's default parallelism).
  const parEnv = await bucketEnv(s3, client, 'par');
  t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < files.length) {
        const f = files[next++]!;
        await new Upload({
          client,
          params: { Bucket: parEnv.TRAINING_S3_BUCKET, Key: `par/${f.slice(-10)}`, Body: createReadStream(f), StorageClass: 'STANDARD_IA' },
        }).done();
      }
    }),
  );
  const bareParallel = secs(t0);
  const env = await bucketEnv(s3, client, 'training');
  t0 = performance.now();
  const res = await pushDataset(ctxFor(root, env), { name: 'tp' });
  const cold = secs(t0);
  if (res.uploaded !== count) throw new Error(`push uploaded ${res.uploaded}/${count}`);
  // The usual case: export-dataset already hashed these files (the sha256 cache is keyed by inode), so
  // push verifies from the cache and only uploads. Same files, a fresh bucket.
  const env2 = await bucketEnv(s3, client, 'training');
  t0 = performance.now();
  const res2 = await pushDataset(ctxFor(root, env2), { name: 'tp' });
  const ours = secs(t0);
  if (res2.uploaded !== count) throw new Error(`push uploaded ${res2.uploaded}/${count}`);
  const mbps = (s: number): string => (total / MiB / s).toFixed(1);
  const ratio = bare / ours;
  process.stdout.write(
    `push of ${count} × ${size / MiB} MiB: ${ours.toFixed(2)} s = ${mbps(ours)} MiB/s (sha256 from the export's cache); ${cold.toFixed(2)} s = ${mbps(cold)} MiB/s hashing every file first\n` +
      `  baseline: bare loop of SDK Upload calls ${bare.toFixed(2)} s = ${mbps(bare)} MiB/s; ratio ${ratio.toFixed(2)}× (target ≥ 0.9×: ${ratio >= 0.9 ? 'met' : 'MISSED'})\n` +
      `  like-for-like: the same Upload calls 4 at a time ${bareParallel.toFixed(2)} s = ${mbps(bareParallel)} MiB/s; ratio ${(bareParallel / ours).toFixed(2)}×\n`,
  );
  await fs.rm(root, { recursive: true, force: true });
}

/** Deterministic small stand-in bytes for a video id. */
function standIn(seed: string): Buffer {
  return Buffer.concat(Array.from({ length: 64 }, (_, i) => createHash('sha256').update(`${seed}:${i}`).digest()));
}

async function beachV4(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../../shared/data/rallycut-annotations/beach_v4'), resolve(here, '../../../shared/data/rallycut-annotations/beach_v4')];
  const src = candidates.find((p) => existsSync(join(p, 'manifest.json')));
  if (!src) {
    process.stdout.write('beach_v4 export+restore: skipped (../shared/data/rallycut-annotations/beach_v4 is absent)\n');
    return;
  }
  const server = await startPostgres();
  if (!server) {
    process.stdout.write('beach_v4 export+restore: skipped (no PostgreSQL binaries in /usr/lib/postgresql)\n');
    return;
  }
  try {
    const root = mkdtempSync(join(tmpdir(), 'rallycut-bench-beach-'));
    const original = JSON.parse(await fs.readFile(join(src, 'manifest.json'), 'utf8')) as Manifest;
    const dir = join(root, 'training_datasets', 'beach_v4');
    await fs.mkdir(join(dir, 'videos'), { recursive: true });
    await fs.mkdir(join(root, '.cache', 'videos'), { recursive: true });
    const videos = original.videos.map((v) => {
      const bytes = standIn(v.video_id);
      const h = sha(bytes);
      return { v: { ...v, content_hash: h, sha256: h, size_bytes: bytes.length }, bytes };
    });
    for (const { v, bytes } of videos) {
      await fs.writeFile(
        join(
          dir,
          'videos',
          localVideoName(
            v,
            videos.map((x) => x.v),
          ),
        ),
        bytes,
      );
      await fs.writeFile(join(root, '.cache', 'videos', v.content_hash), bytes);
    }
    await fs.writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...original, videos: videos.map((x) => x.v) }));
    await fs.copyFile(join(src, 'ground_truth.json'), join(dir, 'ground_truth.json'));
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE ours');
    await admin.query('CREATE DATABASE naive');
    await admin.end();
    const url = (db: string): string => Object.assign(new URL(server.url), { pathname: `/${db}` }).toString();
    for (const name of ['ours', 'naive']) {
      const db = await openDatabase({ cacheDir: join(root, '.cache'), env: { DATABASE_URL: url(name) } });
      await initSchema(db);
      await db.close();
    }
    const env = { DATABASE_URL: url('ours') };
    let t0 = performance.now();
    const r = await restoreDataset(ctxFor(root, env), { name: 'beach_v4' });
    const restore = secs(t0);
    t0 = performance.now();
    const e = await exportDataset(ctxFor(root, env), { name: 'beach_v4', output: 'exported' });
    const exp = secs(t0);
    // Baseline: the same rows inserted one statement per row, in one transaction.
    const gt = JSON.parse(await fs.readFile(join(dir, 'ground_truth.json'), 'utf8')) as { video_id: string; rallies: { start_ms: number; end_ms: number }[] }[];
    const c = new pg.Client({ connectionString: url('naive') });
    await c.connect();
    t0 = performance.now();
    await c.query('BEGIN');
    for (const { v } of videos) {
      await c.query(
        `INSERT INTO videos (id, name, filename, s3_key, content_hash, status, duration_ms, updated_at) VALUES ($1,$2,$2,$3,$4,'DETECTED',$5,now())`,
        [v.video_id, v.filename, `k/${v.content_hash}`, v.content_hash, v.duration_ms],
      );
    }
    let i = 0;
    for (const g of gt)
      for (const rl of g.rallies)
        await c.query(`INSERT INTO rallies (id, video_id, start_ms, end_ms, updated_at) VALUES ($1,$2,$3,$4,now())`, [
          `r${i++}`,
          g.video_id,
          rl.start_ms,
          rl.end_ms,
        ]);
    await c.query('COMMIT');
    const naive = secs(t0);
    await c.end();
    process.stdout.write(
      `beach_v4 restore (${r.plan.inserted_videos} videos, ${r.plan.new_rallies} rallies): ${restore.toFixed(2)} s; export (${e.videos} videos, files hashed and linked): ${exp.toFixed(2)} s` +
        ` (target: seconds, not minutes: ${restore + exp < 60 ? 'met' : 'MISSED'})\n` +
        `  baseline: naive row-by-row insert of the same rows ${naive.toFixed(2)} s (restore, incl. connect, schema check and plan, is ${(naive / restore).toFixed(1)}× that speed)\n`,
    );
    await fs.rm(root, { recursive: true, force: true });
  } finally {
    await server.stop();
  }
}

export const bench: Bench = {
  name: 'dataset',
  async run() {
    const s3 = await startS3rver();
    const client = new S3Client(
      s3ClientConfig({ region: 'us-east-1', endpoint: s3.endpoint, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }),
    );
    try {
      await noopPush(s3, client);
      await pushThroughput(s3, client);
    } finally {
      client.destroy();
      await s3.stop();
    }
    await beachV4();
  },
};
