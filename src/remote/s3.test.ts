import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { freshBucket } from '../../test/services/fresh.js';
import { remoteSuite } from './remote.suite.js';
import { S3Remote } from './s3.js';
import { trainingRemote } from './config.js';

remoteSuite('S3 (s3rver)', async () => {
  const s3 = await freshBucket();
  // Small parts so the 21 MiB case really goes multipart, and small pages so listings really paginate.
  const remote = new S3Remote({
    bucket: s3.bucket,
    prefix: 'training',
    region: 'us-east-1',
    endpoint: s3.endpoint,
    credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID!, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY! },
    partSize: 5 * 1024 * 1024,
    pageSize: 100,
  });
  return { remote, cleanup: async () => undefined };
});

describe('S3 errors a user can fix', () => {
  it('names a missing bucket', async () => {
    const s3 = await freshBucket();
    const { remote } = trainingRemote({ ...s3.env, TRAINING_S3_BUCKET: 'no-such-bucket' }, '/c', '/proj');
    await expect(remote.putBytes('datasets/x/manifest.json', '{}')).rejects.toThrow(/bucket 'no-such-bucket' does not exist/);
    await expect(remote.list('videos/')[Symbol.asyncIterator]().next()).rejects.toThrow(/bucket 'no-such-bucket' does not exist/);
  });

  it('says the credentials were refused, without printing the secret', async () => {
    const s3 = await freshBucket();
    const { remote } = trainingRemote({ ...s3.env, AWS_ACCESS_KEY_ID: 'WRONGKEY', AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' }, '/c', '/proj');
    const err = (await remote.putBytes('datasets/x/manifest.json', '{}').catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/credentials refused by s3:\/\/b-[0-9a-f]+\/training/);
    expect(err.message).not.toContain('wrong-secret-value');
  });
});

// An unfinished multipart upload keeps its parts (and S3 bills them) until someone aborts it; no listing of
// objects shows it. The test s3rver implements ListMultipartUploads/AbortMultipartUpload for these checks.
describe('S3 multipart uploads that do not finish are aborted', () => {
  const MiB = 1024 * 1024;
  async function setup(): Promise<{ remote: S3Remote; leftover: () => Promise<string[]> }> {
    const s3 = await freshBucket();
    const remote = new S3Remote({
      bucket: s3.bucket,
      prefix: 'training',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID!, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY! },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    const leftover = async (): Promise<string[]> => {
      const res = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
      return (res.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
    };
    return { remote, leftover };
  }

  it('when the user aborts after the first part, before the call returns', async () => {
    const { remote, leftover } = await setup();
    const controller = new AbortController();
    const put = remote.putBytes('videos/big.mp4', new Uint8Array(21 * MiB), { signal: controller.signal, onProgress: () => controller.abort() });
    await expect(put).rejects.toThrow(/abort/i);
    expect(await leftover()).toEqual([]);
    expect(await remote.getBytes('videos/big.mp4')).toBeNull();
  });

  it('when the server refuses a part, with the refusal as the error', async () => {
    const { remote, leftover } = await setup();
    const put = remote.putBytes('videos/refuse-part-3.mp4', new Uint8Array(21 * MiB));
    await expect(put).rejects.toThrow(/BadDigest/);
    expect(await leftover()).toEqual([]);
  });

  it('the first listing aborts uploads a killed process left, once they are older than the limit', async () => {
    const s3 = await freshBucket();
    const config = {
      bucket: s3.bucket,
      prefix: 'training',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID!, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY! },
    };
    // What a killed upload leaves: created, never completed nor aborted. One outside the prefix is not ours.
    const start = async (Key: string): Promise<string> => (await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key }))).UploadId!;
    await start('training/videos/killed.mp4');
    const other = await start('elsewhere/video.mp4');
    const uploads = async (): Promise<string[]> =>
      ((await s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }))).Uploads ?? []).map((u) => u.Key!).sort();
    // Younger than the default day: perhaps another host uploading now; left alone.
    for await (const _ of new S3Remote(config).list('videos/')) void _;
    expect(await uploads()).toEqual(['elsewhere/video.mp4', 'training/videos/killed.mp4']);
    // A remote at the bucket's root (the web app's bucket) never sweeps: other programs upload there too.
    for await (const _ of new S3Remote({ ...config, prefix: '', staleUploadMs: 0 }).list('videos/')) void _;
    expect(await uploads()).toEqual(['elsewhere/video.mp4', 'training/videos/killed.mp4']);
    for await (const _ of new S3Remote({ ...config, staleUploadMs: 0 }).list('videos/')) void _;
    expect(await uploads()).toEqual(['elsewhere/video.mp4']);
    await s3.client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: 'elsewhere/video.mp4', UploadId: other }));
  });

  it('a finished upload leaves nothing behind either (the listing works)', async () => {
    const { remote, leftover } = await setup();
    await remote.putBytes('videos/ok.mp4', new Uint8Array(11 * MiB));
    expect(await leftover()).toEqual([]);
    expect((await remote.getBytes('videos/ok.mp4'))?.length).toBe(11 * MiB);
  });
});
