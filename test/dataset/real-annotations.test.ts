// Realistic scale: every real labelled dataset in ../shared/data (beach_v4 alone has 51 videos, 576
// rallies and two different videos both named 'tete.mp4') restored into an empty database, on the real
// PostgreSQL and on PGlite, exports the same ground truth; restoring that export into a second database and
// exporting again gives byte-identical files. The videos are not public, so each gets a small generated
// stand-in file whose hash the manifest records.
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../stages/lib/contracts.js';
import { exportDataset } from '../../stages/export-dataset/export.js';
import { restoreDataset } from '../../stages/restore/restore.js';
import { localVideoName } from '../../stages/lib/dataset/layout.js';
import { initSchema, openDatabase } from '../../stages/lib/db/index.js';
import { databaseKinds, freshDatabase, type TestDatabase } from '../services/fresh.js';
import { makeProject, sha256, standInBytes } from '../kit/dataset.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ANNOTATIONS = join(repoRoot, '..', 'shared', 'data', 'rallycut-annotations');
const present = existsSync(ANNOTATIONS);
const datasets = present
  ? readdirSync(ANNOTATIONS)
      .filter((d) => existsSync(join(ANNOTATIONS, d, 'manifest.json')))
      .sort()
  : [];
const cases = datasets.flatMap((name) => databaseKinds().map((kind) => ({ name, kind })));

/** A fresh export pinned in time, so two exports of the same labels can be compared byte for byte. */
async function pinnedExport(ctx: Parameters<typeof exportDataset>[0], name: string, output: string): Promise<Awaited<ReturnType<typeof exportDataset>>> {
  process.env.SOURCE_DATE_EPOCH = '1767225600';
  try {
    return await exportDataset(ctx, { name, output });
  } finally {
    delete process.env.SOURCE_DATE_EPOCH;
  }
}

describe.skipIf(!present)(`real annotations${present ? '' : ' (skipped: ../shared/data/rallycut-annotations is absent in this clone)'}`, () => {
  describe.each(cases)('$name on $kind', ({ name, kind }) => {
    let first: TestDatabase;
    let second: TestDatabase;
    const project = makeProject();
    const dir = join(project.root, 'training_datasets', name);
    let original: Manifest;
    let originalGt: string;

    beforeAll(async () => {
      [first, second] = await Promise.all([freshDatabase(kind), freshDatabase(kind)]);
      original = JSON.parse(await fs.readFile(join(ANNOTATIONS, name, 'manifest.json'), 'utf8')) as Manifest;
      originalGt = await fs.readFile(join(ANNOTATIONS, name, 'ground_truth.json'), 'utf8');
      // Stand-ins: 2 KiB of bytes derived from the video id; their sha256 becomes content_hash and sha256.
      const videos = original.videos.map((v) => {
        const bytes = standInBytes(v.video_id);
        const hash = sha256(bytes);
        return { v: { ...v, content_hash: hash, sha256: hash, size_bytes: bytes.length }, bytes };
      });
      const manifest = { ...original, videos: videos.map((x) => x.v) };
      await fs.mkdir(join(dir, 'videos'), { recursive: true });
      await fs.mkdir(join(project.cacheDir, 'videos'), { recursive: true });
      for (const { v, bytes } of videos) {
        await fs.writeFile(join(dir, 'videos', localVideoName(v, manifest.videos)), bytes);
        await fs.writeFile(join(project.cacheDir, 'videos', v.content_hash), bytes);
      }
      await fs.writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
      await fs.writeFile(join(dir, 'ground_truth.json'), originalGt);
      for (const t of [first, second]) {
        const db = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: t.url } });
        await initSchema(db);
        await db.close();
      }
    });
    afterAll(async () => {
      await Promise.all([first?.drop(), second?.drop()]);
    });

    it('restores every video and rally, exports the same ground truth, and a second round trip is byte-identical', async () => {
      const env = { DATABASE_URL: first.url };
      const rallies = original.stats.total_rallies;
      const restored = await restoreDataset(project.ctx(env), { name });
      expect(restored.plan).toMatchObject({ inserted_videos: original.videos.length, new_rallies: rallies });
      expect((await restoreDataset(project.ctx(env), { name })).plan).toMatchObject({ inserted_videos: 0, new_rallies: 0 });

      const res = await pinnedExport(project.ctx(env), name, 'exported');
      expect(res).toMatchObject({ videos: original.videos.length, rallies, sources: { 'content-cache': original.videos.length } });
      const exportedGt = await fs.readFile(join(project.root, 'exported', 'ground_truth.json'), 'utf8');
      expect(JSON.parse(exportedGt)).toEqual(JSON.parse(originalGt));
      expect(exportedGt).toBe(JSON.stringify(JSON.parse(originalGt), null, 2) + '\n');
      const exported = JSON.parse(await fs.readFile(join(project.root, 'exported', 'manifest.json'), 'utf8')) as Manifest;
      const pick = (m: Manifest) => m.videos.map((v) => [v.video_id, v.filename, v.duration_ms, v.rally_count]);
      expect(pick(exported)).toEqual(pick(original));
      const { total_duration_min: minutes, ...counts } = exported.stats;
      expect(counts).toEqual({ total_videos: original.stats.total_videos, total_rallies: original.stats.total_rallies });
      // beach_v1's own stats say 68.8 min where its videos' durations add up to 68.73: allow that rounding.
      expect(Math.abs(minutes - original.stats.total_duration_min)).toBeLessThanOrEqual(0.1);
      expect((await fs.readdir(join(project.root, 'exported', 'videos'))).length).toBe(original.videos.length);

      // The export restored into another database exports again to the same bytes.
      const env2 = { DATABASE_URL: second.url };
      expect((await restoreDataset(project.ctx(env2), { name, output: 'exported' })).plan).toMatchObject({
        inserted_videos: original.videos.length,
        new_rallies: rallies,
      });
      await pinnedExport(project.ctx(env2), name, 'again');
      for (const file of ['manifest.json', 'ground_truth.json']) {
        expect(await fs.readFile(join(project.root, 'again', file), 'utf8')).toBe(await fs.readFile(join(project.root, 'exported', file), 'utf8'));
      }
    });
  });
});
