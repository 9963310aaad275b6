// Remote faults: a push killed between the parts of a multipart upload, and push/pull with 8 transfers in
// flight while the S3 server itself is killed and restarted in place. After each fault the rerun completes,
// every object on the remote and every pulled file hashes to the manifest's sha256, and no partial object
// or file is ever visible under its final key or name.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../kit/dataset.js';
import { makeVideos, writeDataset, type Video } from '../kit/pushable.js';
import { freshBucket } from '../services/fresh.js';
import { Rig } from '../rig.js';
import { S3Remote } from '../../src/remote/s3.js';
import { PrivateS3rver, type KillAfter } from './private-s3rver.js';

function s3Env(endpoint: string, bucket: string): Record<string, string> {
  return {
    TRAINING_S3_BUCKET: bucket,
    TRAINING_S3_ENDPOINT: endpoint,
    TRAINING_S3_PREFIX: 'training',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  };
}

function client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** key → size of every video object on the remote. */
async function remoteVideos(s3: S3Client, bucket: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'training/videos/' }));
  for (const o of page.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
  return out;
}

async function remoteSha(s3: S3Client, bucket: string, key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return sha256(Buffer.from(await res.Body!.transformToByteArray()));
}

/** Every video object on the remote is complete: right size and right bytes for its content hash. */
async function expectRemoteWhole(s3: S3Client, bucket: string, videos: readonly Video[], all: boolean): Promise<void> {
  const listing = await remoteVideos(s3, bucket);
  if (all) expect(listing.size).toBe(videos.length);
  for (const [key, size] of listing) {
    const v = videos.find((x) => key === `training/videos/${x.sha}.mp4`);
    expect(v, `unexpected object ${key}`).toBeDefined();
    expect(size, `${key} is partial`).toBe(v!.bytes.length);
    expect(await remoteSha(s3, bucket, key), key).toBe(v!.sha);
  }
}

/** Each video under its final name locally holds the right bytes; with `all`, every video is there. */
async function expectLocalWhole(rig: Rig, name: string, videos: readonly Video[], all: boolean): Promise<void> {
  const dir = join(rig.dir, 'training_datasets', name, 'videos');
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.rallycut-tmp-'));
  if (all) expect(names.sort()).toEqual(videos.map((v) => v.filename).sort());
  for (const n of names) {
    const v = videos.find((x) => x.filename === n);
    expect(v, `unexpected file ${n}`).toBeDefined();
    expect(sha256(await fs.readFile(join(dir, n))), n).toBe(v!.sha);
  }
}

describe('push killed between multipart parts (remote.upload-part)', () => {
  it('a 40 MiB video killed at its 2nd part leaves no object under its key; the rerun uploads the exact bytes', async () => {
    const bucket = await freshBucket();
    const rig = new Rig('rallycut-part-');
    try {
      // 40 MiB = three 16 MiB-sized parts, so the 2nd part's completion is mid-upload.
      const videos = makeVideos(1, 40 * 1024 * 1024);
      await writeDataset(rig, 'big', videos, true);
      const crashed = await rig.spawn(['train', 'push', '--dataset', 'big'], { ...bucket.env, RALLYCUT_CRASH_AT: 'remote.upload-part:2' });
      expect(crashed.stderr, crashed.stdout + crashed.stderr).toContain("crash point 'remote.upload-part' hit 2");
      // The unfinished multipart upload is invisible: nothing under the video's final key, no dataset JSONs.
      expect(await remoteVideos(bucket.client, bucket.bucket)).toEqual(new Map());
      const jsons = await bucket.client.send(new ListObjectsV2Command({ Bucket: bucket.bucket, Prefix: 'training/datasets/' }));
      expect(jsons.Contents ?? []).toEqual([]);
      const again = await rig.run(['train', 'push', '--dataset', 'big', '--json'], bucket.env);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ uploaded: 1, uploadedBytes: 40 * 1024 * 1024 });
      await expectRemoteWhole(bucket.client, bucket.bucket, videos, true);
    } finally {
      await rig.cleanup();
    }
  });
});

describe('push and pull with 8 transfers in flight while s3rver is killed and restarted', () => {
  const storage = mkdtempSync(join(tmpdir(), 'rallycut-s3-restart-'));
  const bucket = 'restarts';
  const videos = makeVideos(16, 1024 * 1024);
  let server: PrivateS3rver;
  let s3: S3Client;

  beforeAll(async () => {
    server = await PrivateS3rver.create(storage);
    await server.start();
    s3 = client(server.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    await server?.stop();
    s3?.destroy();
    rmSync(storage, { recursive: true, force: true });
  });

  /** Arms the server to die a little after the 3rd matching request, and restarts it 300 ms after it dies. */
  async function armRestart(method: 'GET' | 'PUT'): Promise<{ restarted: Promise<void> }> {
    await server.stop();
    await server.start({ method, fragment: '/training/videos/', count: 3, delayMs: 15 });
    const restarted = server.waitForExit().then(async () => {
      await new Promise((r) => setTimeout(r, 300));
      await server.start();
    });
    return { restarted };
  }

  it('push: the transfers that meet the restart are retried and the run completes; every remote object hashes right', async () => {
    const rig = new Rig('rallycut-restart-push-');
    try {
      await writeDataset(rig, 'ds', videos, true);
      const env = { ...s3Env(server.endpoint, bucket), RALLYCUT_JOBS: '8' };
      const { restarted } = await armRestart('PUT');
      const first = await rig.run(['train', 'push', '--dataset', 'ds', '--jobs', '8'], env);
      await restarted; // the server really died during the push (the arming fired) and is back
      if (process.env.FAULT_PRINT) console.log(`push under restart: exit ${first.code}\n${first.stderr}`);
      // Each transfer retries transient failures (refused or dropped connections) for ~7.5 s with backoff.
      expect(first.code, first.stderr).toBe(0);
      await expectRemoteWhole(s3, bucket, videos, true);
      // s3rver (unlike S3) writes an object in place, so a death can leave a truncated object under the final
      // key; a rerun sees nothing left to do only because every object is whole (checked above).
      const again = await rig.run(['train', 'push', '--dataset', 'ds', '--jobs', '8', '--json'], env);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ uploaded: 0 });
      await expectRemoteWhole(s3, bucket, videos, true);
    } finally {
      await rig.cleanup();
    }
  });

  it('pull: the transfers that meet the restart are retried; no partial file under a final name; every hash right', async () => {
    const rig = new Rig('rallycut-restart-pull-');
    try {
      // The push test above may have been filtered out: make sure the remote holds the dataset.
      const pusher = new Rig('rallycut-restart-pusher-');
      await writeDataset(pusher, 'ds', videos, true);
      const pushed = await pusher.run(['train', 'push', '--dataset', 'ds'], s3Env(server.endpoint, bucket));
      await pusher.cleanup();
      expect(pushed.code, pushed.stderr).toBe(0);

      await rig.write({ 'pipeline.yaml': 'stages: {}\n' });
      const env = { ...s3Env(server.endpoint, bucket), RALLYCUT_JOBS: '8' };
      const { restarted } = await armRestart('GET');
      const first = await rig.run(['train', 'pull', '--dataset', 'ds'], env);
      await restarted;
      if (process.env.FAULT_PRINT) console.log(`pull under restart: exit ${first.code}\n${first.stderr}`);
      expect(first.code, first.stderr).toBe(0);
      await expectLocalWhole(rig, 'ds', videos, true);
      const again = await rig.run(['train', 'pull', '--dataset', 'ds', '--json'], env);
      expect(again.code, again.stderr).toBe(0);
      await expectLocalWhole(rig, 'ds', videos, true);
    } finally {
      await rig.cleanup();
    }
  });
});

describe('a transfer retried after the server died mid-way', () => {
  const storage = mkdtempSync(join(tmpdir(), 'rallycut-s3-progress-'));
  let server: PrivateS3rver;
  afterAll(async () => {
    await server?.stop();
    rmSync(storage, { recursive: true, force: true });
  });

  /** Byte reports never go back although the retry starts from 0, end at the size, and the bytes are right. */
  function expectSteady(reports: readonly number[], size: number): void {
    expect(reports.length).toBeGreaterThan(2);
    for (let i = 1; i < reports.length; i++) expect(reports[i]!, `report ${i} of ${reports.join(', ')}`).toBeGreaterThan(reports[i - 1]!);
    expect(reports[reports.length - 1]).toBe(size);
  }

  it('reports upload and download progress that never goes back', async () => {
    server = await PrivateS3rver.create(storage);
    await server.start();
    const s3 = client(server.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: 'progress' }));
    s3.destroy();
    // Parts one at a time, so the first attempt has reported two parts when the third one meets the death.
    const remote = new S3Remote({
      bucket: 'progress',
      prefix: 'training',
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      partSize: 5 * 1024 * 1024,
      queueSize: 1,
    });
    const bytes = randomBytes(18 * 1024 * 1024);
    const file = join(storage, 'source.bin');
    await fs.writeFile(file, bytes);
    /** Arms the server to die on `kill`; `restarted` settles once it died and is back. */
    const restartAfter = async (kill: KillAfter): Promise<{ restarted: Promise<void> }> => {
      await server.stop();
      await server.start(kill);
      const restarted = server.waitForExit().then(async () => {
        await new Promise((r) => setTimeout(r, 300));
        await server.start();
      });
      return { restarted };
    };

    let { restarted } = await restartAfter({ method: 'PUT', fragment: '/training/videos/', count: 3, delayMs: 5 });
    const up: number[] = [];
    await remote.putFile('videos/big.mp4', file, { onProgress: (b) => up.push(b) });
    await restarted; // the server really died during the upload
    expectSteady(up, bytes.length);

    ({ restarted } = await restartAfter({ method: 'GET', fragment: '/training/videos/', count: 1, delayMs: 5 }));
    const down: number[] = [];
    const dest = join(storage, 'back.bin');
    await remote.getFile('videos/big.mp4', dest, { onProgress: (b) => down.push(b) });
    await restarted;
    expectSteady(down, bytes.length);
    expect(sha256(await fs.readFile(dest))).toBe(sha256(bytes));
  });
});
