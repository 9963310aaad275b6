import { describe, expect, it } from 'vitest';
import { freshBucket } from '../../test/services/fresh.js';
import { remoteSuite } from './remote.suite.js';
import { S3Remote } from './s3.js';
import { trainingRemote } from './config.js';

remoteSuite('S3 (s3rver)', async () => {
  const s3 = await freshBucket();
  // Small parts so the 21 MiB case really goes multipart, and small pages so listings really paginate.
  const remote = new S3Remote({ bucket: s3.bucket, prefix: 'training', region: 'us-east-1', endpoint: s3.endpoint, credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID!, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY! }, partSize: 5 * 1024 * 1024, pageSize: 100 });
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
