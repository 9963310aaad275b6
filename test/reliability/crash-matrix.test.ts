// Crash matrix: SIGKILL the CLI at a named crash point (RALLYCUT_CRASH_AT, src/crash.ts), then prove that
// nothing is lost: the cache holds no corrupt object even right after the kill, the rerun completes,
// pipeline.lock matches the outs on disk, no partial file sits under its final name, and the database
// holds all of a dataset or none of it. The crashing run is a real child process (it must die); the
// checks and reruns run in-process, which is fast and never crashes (the env var is only in the child).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset } from '../../stages/export-dataset/export.js';
import { initSchema, insertLabelledVideos, openDatabase, queryGroundTruth, type Database } from '../../stages/lib/db/index.js';
import { freshBucket, freshDatabase, type TestDatabase, type TestS3 } from '../services/fresh.js';
import { expectCrashedAt, expectDoctorClean } from '../kit/checks.js';
import { makeProject, sha256, writeRandomVideo } from '../kit/dataset.js';
import { Rig } from '../rig.js';

// A file out, a folder out and a chain, so file objects, .dir manifests and checkouts are all exercised.
const PIPELINE = `stages:
  a:
    cmd: sort -u in.txt > a.txt
    deps: [in.txt]
    outs: [a.txt]
  tree:
    cmd: mkdir -p tree/sub && cp a.txt tree/one.txt && tr a-z A-Z < a.txt > tree/sub/two.txt
    deps: [a.txt]
    outs: [tree]
  c:
    cmd: cat a.txt tree/sub/two.txt > c.txt
    deps: [a.txt, tree]
    outs: [c.txt]
`;
const EXPECTED: Record<string, string> = {
  'a.txt': 'x\ny\n',
  'tree/one.txt': 'x\ny\n',
  'tree/sub/two.txt': 'X\nY\n',
  'c.txt': 'x\ny\nX\nY\n',
};

async function crashRun(rig: Rig, args: string[], point: string, extraEnv: Record<string, string> = {}) {
  const res = await rig.spawn(args, { ...extraEnv, RALLYCUT_CRASH_AT: point });
  expectCrashedAt(res, point);
  return res;
}

async function expectUpToDate(rig: Rig): Promise<void> {
  for (const [rel, text] of Object.entries(EXPECTED)) expect(rig.read(rel), rel).toBe(text);
  const status = await rig.run(['status']);
  expect(status.code, status.stderr).toBe(0);
  expect(status.stdout).toContain('Everything is up to date');
}

describe('crash matrix: repro and checkout (cmd stages)', () => {
  const repro: [point: string, note: string][] = [
    ['cache.insert:1', 'first object copied into the cache, not yet renamed'],
    ['cache.insert:3', 'a folder out half inserted'],
    ['cache.insert:4', 'last object of the run'],
    ['lock.write:1', 'first lock write'],
    ['lock.write:2', 'lock written once, second stage not recorded'],
    ['lock.write:3', 'last lock write'],
    ['runcache.save:1', 'run-cache record not yet renamed'],
    ['runcache.save:3', 'last run-cache record'],
    ['fs.atomic-rename:2', 'any atomic write, second one'],
    ['fs.atomic-rename:5', 'any atomic write, fifth one'],
  ];
  it.each(repro)('repro killed at %s (%s): rerun completes, cache and lock consistent', async (point) => {
    const rig = new Rig('rallycut-crash-');
    try {
      await rig.write({ 'pipeline.yaml': PIPELINE, 'in.txt': 'y\nx\ny\n' });
      await crashRun(rig, ['repro'], point);
      await expectDoctorClean(rig);
      const lockAfterCrash = rig.exists('pipeline.lock') ? rig.read('pipeline.lock') : '';
      // Whatever the lock says after the kill must not be ahead of the disk: status never errors.
      const st = await rig.run(['status']);
      expect(st.code, `${st.stderr}\n${lockAfterCrash}`).toBe(0);
      const rerun = await rig.run(['repro']);
      expect(rerun.code, rerun.stderr).toBe(0);
      await expectDoctorClean(rig);
      await expectUpToDate(rig);
    } finally {
      await rig.cleanup();
    }
  });

  // One finished project; each checkout case copies it and deletes the outs first.
  let base: Rig;
  beforeAll(async () => {
    base = new Rig('rallycut-crash-base-');
    await base.write({ 'pipeline.yaml': PIPELINE, 'in.txt': 'y\nx\ny\n' });
    const res = await base.run(['repro']);
    expect(res.code, res.stderr).toBe(0);
  });
  afterAll(async () => base?.cleanup());

  it.each(['checkout.file:1', 'checkout.file:2', 'checkout.dir:1', 'checkout.dir:2'])(
    'checkout killed at %s: no partial out, rerun restores all',
    async (point) => {
      const rig = new Rig('rallycut-crash-co-');
      try {
        await fs.cp(base.dir, rig.dir, { recursive: true });
        for (const out of ['a.txt', 'tree', 'c.txt']) await rig.remove(out);
        await crashRun(rig, ['checkout'], point);
        // Whatever exists under a final name after the kill is either complete or the old folder.
        for (const [rel, text] of Object.entries(EXPECTED)) if (rig.exists(rel)) expect(rig.read(rel), rel).toBe(text);
        await expectDoctorClean(rig);
        const again = await rig.run(['checkout']);
        expect(again.code, again.stderr).toBe(0);
        await expectUpToDate(rig);
      } finally {
        await rig.cleanup();
      }
    },
  );
});

describe('crash matrix: push, pull, restore (s3rver + PostgreSQL)', () => {
  let src: TestDatabase;
  let s3: TestS3;
  let db: Database;
  const project = makeProject('rallycut-crash-ds-');
  const hashes: string[] = [];
  const dsDir = (root: string): string => join(root, 'training_datasets', 'ds1');

  beforeAll(async () => {
    [src, s3] = await Promise.all([freshDatabase(), freshBucket()]);
    db = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: src.url } });
    await initSchema(db);
    const videosDir = join(project.root, 'originals');
    const videos = [];
    for (let i = 0; i < 4; i++) {
      const h = await writeRandomVideo(join(videosDir, `v${i}.mp4`), 20_000 + i * 1000);
      hashes.push(h);
      videos.push({ id: `id-${i}`, filename: `v${i}.mp4`, content_hash: h, duration_ms: 60_000, rallies: [{ start_ms: 1000 + i, end_ms: 9000 }] });
    }
    await insertLabelledVideos(db, videos);
    await exportDataset(project.ctx({ DATABASE_URL: src.url }), { name: 'ds1', videosDir });
    await fs.writeFile(join(project.root, 'pipeline.yaml'), 'stages: {}\n');
  });
  afterAll(async () => {
    await db?.close();
    await src?.drop();
  });

  /** A clone of the project (dataset folder only) in a fresh rig. */
  async function clone(withVideos: boolean): Promise<Rig> {
    const rig = new Rig('rallycut-crash-ds-');
    await rig.write({ 'pipeline.yaml': 'stages: {}\n' });
    const from = dsDir(project.root);
    await fs.mkdir(dsDir(rig.dir), { recursive: true });
    for (const f of ['manifest.json', 'ground_truth.json']) await fs.copyFile(join(from, f), join(dsDir(rig.dir), f));
    if (withVideos) await fs.cp(join(from, 'videos'), join(dsDir(rig.dir), 'videos'), { recursive: true });
    return rig;
  }

  async function videoHashes(root: string): Promise<string[]> {
    const dir = join(dsDir(root), 'videos');
    const names = (await fs.readdir(dir).catch(() => [])).filter((n) => !n.startsWith('.'));
    return Promise.all(names.map(async (n) => sha256(await fs.readFile(join(dir, n))))).then((h) => h.sort());
  }

  it.each(['remote.upload:1', 'remote.upload:3', 'remote.upload:5'])('push killed at %s, rerun, then a pull brings back every byte', async (point) => {
    const bucket = await freshBucket();
    const rig = await clone(true);
    const puller = await clone(false);
    try {
      await crashRun(rig, ['train', 'push', '--dataset', 'ds1'], point, bucket.env);
      const again = await rig.run(['train', 'push', '--dataset', 'ds1'], bucket.env);
      expect(again.code, again.stderr).toBe(0);
      const pulled = await puller.run(['train', 'pull', '--dataset', 'ds1'], bucket.env);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(await videoHashes(puller.dir)).toEqual([...hashes].sort());
    } finally {
      await Promise.all([rig.cleanup(), puller.cleanup()]);
    }
  });

  it.each(['pull.rename:1', 'pull.rename:3', 'remote.download-rename:2', 'fs.atomic-rename:1'])(
    'pull killed at %s: no partial video under its name, rerun completes',
    async (point) => {
      const pusher = await clone(true);
      const rig = await clone(false);
      try {
        const pushed = await pusher.run(['train', 'push', '--dataset', 'ds1'], s3.env);
        expect(pushed.code, pushed.stderr).toBe(0);
        await rig.remove('training_datasets/ds1/manifest.json');
        await rig.remove('training_datasets/ds1/ground_truth.json');
        await crashRun(rig, ['train', 'pull', '--dataset', 'ds1'], point, s3.env);
        // Every video already under its final name is complete and verified.
        for (const h of await videoHashes(rig.dir)) expect(hashes).toContain(h);
        const again = await rig.run(['train', 'pull', '--dataset', 'ds1'], s3.env);
        expect(again.code, again.stderr).toBe(0);
        expect(await videoHashes(rig.dir)).toEqual([...hashes].sort());
      } finally {
        await Promise.all([rig.cleanup(), pusher.cleanup()]);
      }
    },
  );

  it('restore killed before COMMIT leaves none of the dataset; rerun loads all of it', async () => {
    const dst = await freshDatabase();
    const rig = await clone(true);
    const env = { DATABASE_URL: dst.url };
    try {
      const init = await rig.run(['db', 'init'], env);
      expect(init.code, init.stderr).toBe(0);
      await crashRun(rig, ['train', 'restore', '--dataset', 'ds1'], 'restore.transaction:1', env);
      const after = await openDatabase({ cacheDir: join(rig.dir, '.cache'), env });
      try {
        expect(await queryGroundTruth(after)).toEqual([]);
        const again = await rig.run(['train', 'restore', '--dataset', 'ds1'], env);
        expect(again.code, again.stderr).toBe(0);
        const rows = await queryGroundTruth(after);
        expect(rows.map((r) => r.content_hash).sort()).toEqual([...hashes].sort());
      } finally {
        await after.close();
      }
    } finally {
      await rig.cleanup();
      await dst.drop();
    }
  });
});

describe('crash matrix: extract-features (tiny generated videos)', () => {
  const MODEL = join(process.cwd(), 'weights', 'videomae', 'indoor');
  let videos: Rig;
  beforeAll(async () => {
    videos = new Rig('rallycut-crash-vid-');
    const { execFileSync } = await import('node:child_process');
    for (const [name, src] of [
      ['v1.mp4', 'testsrc'],
      ['v2.mp4', 'testsrc2'],
    ]) {
      execFileSync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        `${src}=size=96x64:rate=30:duration=3`,
        '-pix_fmt',
        'yuv420p',
        join(videos.dir, name!),
      ]);
    }
  });
  afterAll(async () => videos?.cleanup());

  it.each(['features.write:1', 'features.write:2', 'features.write:3'])('killed at %s: rerun completes, every cached feature file is whole', async (point) => {
    const rig = new Rig('rallycut-crash-feat-');
    try {
      await rig.write({ 'pipeline.yaml': 'stages: {}\n' });
      for (const v of ['v1.mp4', 'v2.mp4']) await fs.copyFile(join(videos.dir, v), join(rig.dir, v));
      const args = ['train', 'extract-features', 'v1.mp4', 'v2.mp4', '--model', MODEL, '--json'];
      await crashRun(rig, args, point);
      const again = await rig.run(args);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).computed_windows).toBeGreaterThan(0);
      // Nothing left to compute, and each metadata file describes the array beside it.
      const third = await rig.run(args);
      expect(JSON.parse(third.stdout).computed_windows).toBe(0);
      const dir = join(rig.dir, '.cache', 'features');
      const metas = (await fs.readdir(dir)).filter((f) => f.endsWith('.json'));
      expect(metas.length).toBe(2);
      for (const m of metas) {
        const meta = JSON.parse(await fs.readFile(join(dir, m), 'utf8')) as { data: { bytes: number; sha256: string } };
        const data = await fs.readFile(join(dir, m.replace(/\.json$/, '.f32')));
        expect([data.length, sha256(data)]).toEqual([meta.data.bytes, meta.data.sha256]);
      }
    } finally {
      await rig.cleanup();
    }
  });
});
