// Restore into a database shaped like the live web app: rows the app can show (owner, DETECTED, processing
// SKIPPED, order, updated_at, the editor session), and a re-run that leaves the user's rows alone, including
// rows of other tables that cascade from rallies.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreDataset } from '../../stages/restore/restore.js';
import { initSchema, openDatabase, type Database } from '../../stages/lib/db/index.js';
import { databaseKinds, freshDatabase, type TestDatabase } from '../services/fresh.js';
import { makeProject, sha256, standInBytes } from '../kit/dataset.js';

type Span = { start_ms: number; end_ms: number };

async function writeDataset(root: string, videos: { id: string; filename: string; rallies: Span[] }[]): Promise<void> {
  const dir = join(root, 'training_datasets', 'ds');
  await fs.mkdir(join(dir, 'videos'), { recursive: true });
  const entries = [];
  for (const v of videos) {
    const bytes = standInBytes(v.id);
    await fs.writeFile(join(dir, 'videos', v.filename), bytes);
    const hash = sha256(bytes);
    entries.push({
      filename: v.filename,
      video_id: v.id,
      content_hash: hash,
      duration_ms: 60_000,
      rally_count: v.rallies.length,
      sha256: hash,
      size_bytes: bytes.length,
    });
  }
  const stats = { total_videos: videos.length, total_rallies: entries.reduce((a, v) => a + v.rally_count, 0), total_duration_min: videos.length };
  await fs.writeFile(
    join(dir, 'manifest.json'),
    JSON.stringify({ name: 'ds', description: 'test', created: '2026-01-01T00:00:00', videos: entries, stats }, null, 2),
  );
  await fs.writeFile(
    join(dir, 'ground_truth.json'),
    JSON.stringify(
      videos.map((v) => ({ video_id: v.id, filename: v.filename, rallies: v.rallies })),
      null,
      2,
    ),
  );
}

const VIDEO_A = '11111111-1111-4111-8111-111111111111';
const VIDEO_B = '22222222-2222-4222-8222-222222222222';
// Out of order on purpose: the app's "order" follows start time, not the file.
const RALLIES_A: Span[] = [
  { start_ms: 5000, end_ms: 9000 },
  { start_ms: 1000, end_ms: 3000 },
  { start_ms: 20_000, end_ms: 25_000 },
];

describe.each(databaseKinds())('restore into the web app, on %s', (kind) => {
  let tdb: TestDatabase;
  let db: Database;
  const project = makeProject();
  const env = (): Record<string, string> => ({ DATABASE_URL: tdb.url });
  const count = async (sql: string): Promise<number> => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`))[0]!.n;

  beforeAll(async () => {
    tdb = await freshDatabase(kind);
    db = await openDatabase({ cacheDir: project.cacheDir, env: env() });
    await initSchema(db);
    // Like the app's highlight_rallies / rally_camera_edits: user data that cascades away with its rally.
    await db.query(`CREATE TABLE highlight_rallies (id TEXT PRIMARY KEY, rally_id TEXT NOT NULL REFERENCES rallies(id) ON DELETE CASCADE ON UPDATE CASCADE)`);
    await db.query(`INSERT INTO users (id, email, created_at) VALUES ('newer', 'b@example.org', '2026-02-01'), ('oldest', 'a@example.org', '2025-01-01')`);
    await writeDataset(project.root, [
      { id: VIDEO_A, filename: 'match a.mp4', rallies: RALLIES_A },
      { id: VIDEO_B, filename: 'b.MOV', rallies: [{ start_ms: 2000, end_ms: 8000 }] },
    ]);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('writes rows the app shows: owner, DETECTED, processing SKIPPED, s3_key, order by start, updated_at, session', async () => {
    const res = await restoreDataset(project.ctx(env()), { name: 'ds' });
    expect(res.owner).toEqual({ id: 'oldest', how: 'oldest' });
    expect(res.session).toMatchObject({ name: 'Training: ds', created: true, added_videos: 2 });
    const videos = await db.query(
      `SELECT id, user_id, name, filename, s3_key, status::text, processing_status::text, updated_at IS NOT NULL AS updated FROM videos ORDER BY id`,
    );
    expect(videos).toEqual([
      {
        id: VIDEO_A,
        user_id: 'oldest',
        name: 'match a.mp4',
        filename: 'match a.mp4',
        s3_key: `videos/oldest/${VIDEO_A}/match a.mp4`,
        status: 'DETECTED',
        processing_status: 'SKIPPED',
        updated: true,
      },
      {
        id: VIDEO_B,
        user_id: 'oldest',
        name: 'b.MOV',
        filename: 'b.MOV',
        s3_key: `videos/oldest/${VIDEO_B}/b.MOV`,
        status: 'DETECTED',
        processing_status: 'SKIPPED',
        updated: true,
      },
    ]);
    const rallies = await db.query(
      `SELECT start_ms, "order", status::text, confidence, updated_at IS NOT NULL AS updated FROM rallies WHERE video_id = $1 ORDER BY start_ms`,
      [VIDEO_A],
    );
    expect(rallies).toEqual([0, 1, 2].map((order) => ({ start_ms: [1000, 5000, 20_000][order], order, status: 'CONFIRMED', confidence: null, updated: true })));
    const sessions = await db.query(
      `SELECT s.name, s.user_id, s.type::text, sv.video_id, sv."order" FROM sessions s JOIN session_videos sv ON sv.session_id = s.id ORDER BY sv."order"`,
    );
    expect(sessions).toEqual([
      { name: 'Training: ds', user_id: 'oldest', type: 'REGULAR', video_id: VIDEO_A, order: 0 },
      { name: 'Training: ds', user_id: 'oldest', type: 'REGULAR', video_id: VIDEO_B, order: 1 },
    ]);
  });

  it('a re-run matches the existing rallies and keeps them (and what cascades from them); it adds only the new rally', async () => {
    const before = await db.query<{ id: string }>(`SELECT id FROM rallies ORDER BY id`);
    await db.query(`INSERT INTO highlight_rallies (id, rally_id) SELECT 'h-' || id, id FROM rallies`);
    await db.query(`UPDATE rallies SET notes = 'ace', updated_at = now() WHERE start_ms = 1000`);
    // The dataset gains a rally after the others on video A.
    await writeDataset(project.root, [
      { id: VIDEO_A, filename: 'match a.mp4', rallies: [...RALLIES_A, { start_ms: 30_000, end_ms: 34_000 }] },
      { id: VIDEO_B, filename: 'b.MOV', rallies: [{ start_ms: 2000, end_ms: 8000 }] },
    ]);
    const res = await restoreDataset(project.ctx(env()), { name: 'ds' });
    expect(res.plan).toMatchObject({ inserted_videos: 0, reused_videos: 2, new_rallies: 1 });
    expect(res.session).toMatchObject({ name: 'Training: ds', created: false, added_videos: 0 });
    const after = await db.query<{ id: string }>(`SELECT id FROM rallies ORDER BY id`);
    expect(after.filter((r) => before.some((b) => b.id === r.id))).toEqual(before);
    expect(after).toHaveLength(before.length + 1);
    expect(await count(`highlight_rallies`)).toBe(before.length);
    expect(await db.query(`SELECT notes FROM rallies WHERE start_ms = 1000`)).toEqual([{ notes: 'ace' }]);
    expect(await db.query(`SELECT "order" FROM rallies WHERE start_ms = 30000`)).toEqual([{ order: 3 }]);
    expect([await count(`sessions`), await count(`session_videos`)]).toEqual([1, 2]);
    // Third time: nothing left to do.
    expect((await restoreDataset(project.ctx(env()), { name: 'ds' })).plan).toMatchObject({ inserted_videos: 0, new_rallies: 0 });
    expect(await count(`rallies`)).toBe(before.length + 1);
  });

  it('with --user-id, owns the videos it adds and keeps a session per owner; a dry run changes nothing', async () => {
    await writeDataset(project.root, [{ id: '33333333-3333-4333-8333-333333333333', filename: 'c.mp4', rallies: [{ start_ms: 100, end_ms: 4000 }] }]);
    const dry = await restoreDataset(project.ctx(env()), { name: 'ds', userId: 'newer', dryRun: true });
    expect(dry).toMatchObject({ owner: { id: 'newer', how: 'given' }, session: { created: true, added_videos: 1 }, plan: { inserted_videos: 1 } });
    expect(await count(`sessions`)).toBe(1);
    await restoreDataset(project.ctx(env()), { name: 'ds', userId: 'newer' });
    expect(await db.query(`SELECT user_id, s3_key FROM videos WHERE filename = 'c.mp4'`)).toEqual([
      { user_id: 'newer', s3_key: 'videos/newer/33333333-3333-4333-8333-333333333333/c.mp4' },
    ]);
    expect(await db.query(`SELECT user_id FROM sessions ORDER BY created_at, user_id`)).toEqual([{ user_id: 'oldest' }, { user_id: 'newer' }]);
  });
});

describe('restore into a database without users', () => {
  it('leaves the owner empty and says so', async () => {
    const tdb = await freshDatabase('pglite');
    const project = makeProject();
    try {
      const db = await openDatabase({ cacheDir: project.cacheDir, env: { DATABASE_URL: tdb.url } });
      await initSchema(db);
      await writeDataset(project.root, [{ id: VIDEO_A, filename: 'a.mp4', rallies: [{ start_ms: 1, end_ms: 2 }] }]);
      const res = await restoreDataset(project.ctx({ DATABASE_URL: tdb.url }), { name: 'ds' });
      expect(res.owner).toEqual({ id: null, how: 'none' });
      expect(project.logs.some((l) => l.includes('has no users'))).toBe(true);
      expect(await db.query(`SELECT user_id, s3_key FROM videos`)).toEqual([{ user_id: null, s3_key: `videos/unowned/${VIDEO_A}/a.mp4` }]);
      await db.close();
    } finally {
      await tdb.drop();
    }
  });
});
