// Security: param values never reach a shell unquoted, paths never escape the project, SQL is
// parameterized, and secrets (DATABASE_URL password, AWS keys, Modal tokens) never appear in output or in
// any file the tool writes. Path-escape cases for pipeline.yaml, the lock and manifest.json are in the
// bad-input corpus (test/fixtures/bad: yaml-out-*, yaml-wdir-escapes, lock-out-escapes, manifest-filename-escapes).
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryGroundTruth } from '../../stages/lib/db/index.js';
import { freshBucket, freshDatabase, type TestDatabase, type TestS3 } from '../services/fresh.js';
import { listFiles } from '../kit/checks.js';
import { Rig } from '../rig.js';

const EVIL = '$(touch pwned1); `touch pwned2`; touch pwned3 && touch pwned4 | touch pwned5';
const PWNED = ['pwned1', 'pwned2', 'pwned3', 'pwned4', 'pwned5', 'pwned6'];

describe('shell metacharacters in params and -S never execute', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = new Rig('rallycut-sec-');
    await rig.write({
      'params/default.yaml': `train:\n  evil: ${JSON.stringify(EVIL)}\n`,
      'pipeline.yaml': 'stages:\n  a:\n    cmd: echo ${train.evil} > a.txt\n    params: [train.evil]\n    outs: [a.txt]\n',
    });
  });
  afterAll(async () => rig.cleanup());

  it('a params value is passed as one literal word', async () => {
    const res = await rig.run(['repro']);
    expect(res.code, res.stderr).toBe(0);
    expect(rig.read('a.txt')).toBe(`${EVIL}\n`);
    for (const p of PWNED) expect(existsSync(join(rig.dir, p)), p).toBe(false);
  });

  it('an -S value in exp run is passed as one literal word', async () => {
    const value = "x'; touch pwned6; echo '";
    const res = await rig.run(['exp', 'run', '-S', `train.evil=${value}`]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    for (const p of PWNED) expect(existsSync(join(rig.dir, p)), p).toBe(false);
    const written = await listFiles(rig.dir);
    expect(written.filter((f) => PWNED.some((p) => f.endsWith(p)))).toEqual([]);
  });
});

describe('outs that are symlinks pointing out of the project are refused', () => {
  it.each([
    ['a file link', 'ln -s /etc/hostname a.txt', 'a.txt'],
    ['a folder link', 'ln -s /etc d', 'd'],
    ['a link inside a folder out', 'mkdir d && ln -s /etc/hostname d/h', 'd'],
  ])('%s', async (_label, cmd, out) => {
    const rig = new Rig('rallycut-sec-link-');
    try {
      await rig.write({ 'pipeline.yaml': `stages:\n  a:\n    cmd: ${cmd}\n    outs: [${out}]\n` });
      const res = await rig.run(['repro']);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/out '[^']+' is a symlink pointing outside the project/);
      expect(rig.exists('pipeline.lock') && rig.read('pipeline.lock').includes('path:')).toBe(false);
    } finally {
      await rig.cleanup();
    }
  });
});

describe('SQL is parameterized', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => db?.drop());

  it("a filename containing '; DROP TABLE is stored as text", async () => {
    const rig = new Rig('rallycut-sec-sql-');
    const evil = "x'); DROP TABLE videos; --.mp4";
    const hash = 'b'.repeat(64);
    try {
      await rig.write({
        'pipeline.yaml': 'stages: {}\n',
        'training_datasets/ds/manifest.json': JSON.stringify({
          name: 'ds',
          description: '',
          created: '2026-01-01T00:00:00Z',
          videos: [{ filename: evil, video_id: 'id-x', content_hash: hash, duration_ms: 5000, rally_count: 1 }],
          stats: { total_videos: 1, total_rallies: 1, total_duration_min: 0 },
        }),
        'training_datasets/ds/ground_truth.json': JSON.stringify([{ video_id: 'id-x', filename: evil, rallies: [{ start_ms: 100, end_ms: 900 }] }]),
      });
      const env = { DATABASE_URL: db.url };
      expect((await rig.run(['db', 'init'], env)).code).toBe(0);
      const res = await rig.run(['train', 'restore', '--dataset', 'ds'], env);
      expect(res.code, res.stderr).toBe(0);
      const conn = await openDatabase({ cacheDir: join(rig.dir, '.cache'), env });
      try {
        const rows = await queryGroundTruth(conn);
        expect(rows.map((r) => [r.filename, r.content_hash])).toEqual([[evil, hash]]);
      } finally {
        await conn.close();
      }
    } finally {
      await rig.cleanup();
    }
  });
});

describe('secrets never leak into output or written files', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await freshBucket();
  });
  const CANARIES = ['CanaryPgPass7731', 'CanaryAwsSecret5521xyz', 'CanaryModalSecret9913', 'CanaryModalId4410'];

  it('DATABASE_URL password, AWS secret and Modal tokens appear nowhere', async () => {
    const rig = new Rig('rallycut-sec-canary-');
    try {
      await rig.write({
        'params/default.yaml': 'train:\n  lr: 0.1\n',
        'pipeline.yaml': 'stages:\n  a:\n    cmd: echo ${train.lr} > a.txt\n    params: [train.lr]\n    outs: [a.txt]\n',
        'training_datasets/ds/manifest.json': JSON.stringify({
          name: 'ds',
          description: '',
          created: '2026-01-01T00:00:00Z',
          videos: [],
          stats: { total_videos: 0, total_rallies: 0, total_duration_min: 0 },
        }),
        'training_datasets/ds/ground_truth.json': '[]',
      });
      const secrets = {
        DATABASE_URL: `postgresql://canary:${CANARIES[0]}@127.0.0.1:9/labels`,
        AWS_SECRET_ACCESS_KEY: CANARIES[1]!,
        MODAL_TOKEN_SECRET: CANARIES[2]!,
        MODAL_TOKEN_ID: CANARIES[3]!,
      };
      const s3Refused = { ...s3.env, AWS_ACCESS_KEY_ID: 'WRONGKEY', AWS_SECRET_ACCESS_KEY: CANARIES[1]! };
      const s3Closed = { ...s3.env, TRAINING_S3_ENDPOINT: 'http://127.0.0.1:9', AWS_SECRET_ACCESS_KEY: CANARIES[1]! };
      const runs = [
        await rig.run(['repro'], secrets),
        await rig.run(['status', '--json'], secrets),
        await rig.run(['exp', 'run', '-S', 'train.lr=0.2'], secrets),
        await rig.run(['exp', 'show', '--json'], secrets),
        await rig.run(['db', 'init'], secrets),
        await rig.run(['train', 'restore', '--dataset', 'ds'], secrets),
        await rig.run(['train', 'push', '--dataset', 'ds'], { ...secrets, ...s3Refused }),
        await rig.run(['train', 'list-remote'], { ...secrets, ...s3Closed }),
        await rig.run(['train', 'pull', '--dataset', 'nothere'], { ...secrets, ...s3Refused }),
      ];
      // The failing ones really failed where a secret is in reach (not before reading it).
      expect(runs[4]!.code).not.toBe(0);
      expect(runs[4]!.stderr).toContain('DATABASE_URL');
      expect(runs[6]!.code).not.toBe(0);
      for (const [i, r] of runs.entries()) for (const c of CANARIES) expect(r.stdout + r.stderr, `run ${i}`).not.toContain(c);
      for (const f of await listFiles(rig.dir)) {
        const text = await fs.readFile(join(rig.dir, f), 'latin1');
        for (const c of CANARIES) expect(text.includes(c), `${f} holds a secret`).toBe(false);
      }
    } finally {
      await rig.cleanup();
    }
  });
});
