import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalRemote } from './local.js';
import { remoteSuite } from './remote.suite.js';
import { trainingRemote, remoteFromUrl } from './config.js';

remoteSuite('local folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rallycut-local-remote-'));
  return { remote: new LocalRemote(dir), cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
});

describe('remote configuration', () => {
  it('uses a local folder and says so when no bucket is configured', () => {
    const r = trainingRemote({}, '/proj/.cache', '/proj');
    expect(r.kind).toBe('local');
    expect(r.notice).toContain('/proj/.cache/remote');
    expect(r.notice).toContain('TRAINING_S3_BUCKET is not set');
    expect(trainingRemote({ RALLYCUT_REMOTE_DIR: '/backup' }, '/x', '/proj').remote.description).toBe('folder /backup');
  });

  it('builds an S3 remote with prefix, endpoint and no secrets in its description', () => {
    const r = trainingRemote(
      { TRAINING_S3_BUCKET: 'bkt', TRAINING_S3_ENDPOINT: 'http://127.0.0.1:9000', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'topsecret' },
      '/c',
      '/proj',
    );
    expect(r.kind).toBe('s3');
    expect(r.remote.description).toBe('s3://bkt/training (endpoint http://127.0.0.1:9000)');
    expect(r.notice).not.toContain('topsecret');
    expect(remoteFromUrl('s3://b/p/q/', '/', {}).description).toBe('s3://b/p/q');
    expect(remoteFromUrl('backup', '/work', {}).description).toBe('folder /work/backup');
    expect(() => remoteFromUrl('gs://x', '/', {})).toThrow(/unsupported remote URL/);
  });
});
