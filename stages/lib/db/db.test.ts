import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, type TestDatabase } from '../../../test/services/fresh.js';
import { RallycutError } from '../../../src/handler.js';
import { initSchema, insertLabelledVideos, loadVideos, openDatabase, queryGroundTruth, redactDatabaseUrl, type Database } from './index.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'rallycut-db-'));

describe('labels database on a real PostgreSQL', () => {
  let tdb: TestDatabase;
  let db: Database;
  const logs: string[] = [];
  beforeAll(async () => {
    tdb = await freshDatabase();
    db = await openDatabase({ cacheDir, env: { DATABASE_URL: tdb.url }, log: (m) => logs.push(m) });
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('creates the schema once, mirroring the app (enums, NOT NULL, updated_at without default, cascade)', async () => {
    expect(await initSchema(db)).toBe('created');
    expect(await initSchema(db)).toBe('present');
    expect(logs[0]).toBe(`database: ${redactDatabaseUrl(tdb.url)}`);
    if (new URL(tdb.url).password) expect(logs[0]).not.toContain(new URL(tdb.url).password);
    const cols = await db.query<{ table_name: string; column_name: string; is_nullable: string; column_default: string | null; udt_name: string }>(
      `SELECT table_name, column_name, is_nullable, column_default, udt_name FROM information_schema.columns WHERE table_name IN ('videos','rallies')`,
    );
    const col = (t: string, c: string) => cols.find((r) => r.table_name === t && r.column_name === c)!;
    expect(col('videos', 'updated_at')).toMatchObject({ is_nullable: 'NO', column_default: null });
    expect(col('videos', 'status')).toMatchObject({ udt_name: 'VideoStatus', is_nullable: 'NO' });
    expect(col('videos', 'content_hash').is_nullable).toBe('NO');
    expect(col('rallies', 'rejection_reason').udt_name).toBe('RejectionReason');
    expect(col('rallies', 'confidence').is_nullable).toBe('YES');
    // updated_at has no default: an insert that omits it is refused, as in the app's database.
    await expect(db.query(`INSERT INTO videos (id, name, filename, s3_key, content_hash) VALUES ('x','n','f','k','h')`)).rejects.toThrow(/updated_at/);
  });

  it('loads labelled videos idempotently and reads them back as ground truth only', async () => {
    const videos = [
      {
        id: 'b-video',
        filename: 'b.mp4',
        content_hash: 'b'.repeat(64),
        duration_ms: 60000,
        rallies: [
          { start_ms: 5000, end_ms: 9000 },
          { start_ms: 1000, end_ms: 3000 },
        ],
      },
      { id: 'a-video', filename: 'a.mp4', content_hash: 'a'.repeat(64), duration_ms: 30000, rallies: [{ start_ms: 100, end_ms: 900 }] },
    ];
    const first = await insertLabelledVideos(db, videos);
    expect(first).toMatchObject({ inserted_videos: 2, new_rallies: 3 });
    const again = await insertLabelledVideos(db, videos);
    expect(again).toMatchObject({ inserted_videos: 0, reused_videos: 2, new_rallies: 0 });
    // A model suggestion (confidence set) and a deleted video are not ground truth.
    await db.query(`INSERT INTO rallies (id, video_id, start_ms, end_ms, confidence, updated_at) VALUES ('s1', 'a-video', 2000, 2500, 0.7, now())`);
    await insertLabelledVideos(db, [{ id: 'gone', filename: 'c.mp4', content_hash: 'c'.repeat(64), rallies: [{ start_ms: 1, end_ms: 2 }] }]);
    await db.query(`UPDATE videos SET deleted_at = now(), updated_at = now() WHERE id = $1`, ['gone']);
    const gt = await queryGroundTruth(db);
    expect(gt.map((v) => v.id)).toEqual(['a-video', 'b-video']);
    expect(gt[1]!.rallies).toEqual([
      { start_ms: 1000, end_ms: 3000 },
      { start_ms: 5000, end_ms: 9000 },
    ]);
    // Same content under another id is deduplicated onto the existing row.
    const dup = await loadVideos(db, [
      {
        id: 'other-id',
        filename: 'a.mp4',
        content_hash: 'a'.repeat(64),
        rallies: [
          { start_ms: 100, end_ms: 900 },
          { start_ms: 4000, end_ms: 6000 },
        ],
      },
    ]);
    expect(dup.videos[0]).toMatchObject({ action: 'reuse', target_id: 'a-video' });
    expect(dup.new_rallies).toBe(1);
    // Cascade: deleting a video removes its rallies.
    await db.query(`DELETE FROM videos WHERE id = $1`, ['b-video']);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM rallies WHERE video_id = $1`, ['b-video']))[0]!.n).toBe(0);
  });

  it('rolls the whole load back when one row fails', async () => {
    const before = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM rallies`))[0]!.n;
    await expect(
      loadVideos(db, [{ id: 'ok', filename: 'ok.mp4', content_hash: 'd'.repeat(64), rallies: [{ start_ms: 1, end_ms: 2 }] }], { userId: 'nobody' }),
    ).rejects.toThrow(/no user with id 'nobody'/);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM rallies`))[0]!.n).toBe(before);
    expect(await db.query(`SELECT 1 FROM videos WHERE id = 'ok'`)).toEqual([]);
  });
});

describe('connection errors', () => {
  it('names the database, hides the password, and says why', async () => {
    const admin = process.env.RALLYCUT_TEST_PG_URL;
    const url = new URL(admin ?? 'postgresql://app@127.0.0.1:1/postgres');
    url.password = 's3cret-pw';
    url.port = '1'; // nothing listens on port 1
    const err = await openDatabase({ cacheDir, env: { DATABASE_URL: url.toString() } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RallycutError);
    expect((err as Error).message).toContain('connection refused');
    expect((err as Error).message).toContain('***');
    expect((err as Error).message).not.toContain('s3cret-pw');
    expect(redactDatabaseUrl('postgres://u:pw@h/db')).toBe('postgres://u:***@h/db');
  });

  it('reports a wrong password without printing it', async () => {
    const admin = process.env.RALLYCUT_TEST_PG_URL;
    if (!admin) return; // PGlite accepts any password; only a real server can refuse one
    const url = new URL(admin);
    url.password = 'wrong-pw';
    const err = (await openDatabase({ cacheDir, env: { DATABASE_URL: url.toString() } }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/cannot connect to the labels database postgresql:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/postgres: password authentication failed/);
    expect(err.message).not.toContain('wrong-pw');
  });
});

describe('embedded database lock', () => {
  it('takes over a stale lock and refuses a live one by pid', async () => {
    const { lockEmbedded } = await import('./connection.js');
    const { promises: fs } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'rallycut-lock-'));
    const lock = join(dir, 'db.lock');
    await fs.writeFile(lock, '999999999'); // no such process
    const unlock = await lockEmbedded(lock, 1000);
    expect((JSON.parse(await fs.readFile(lock, 'utf8')) as { pid: number }).pid).toBe(process.pid);
    await expect(lockEmbedded(lock, 300)).rejects.toThrow(new RegExp(`in use by process ${process.pid}`));
    await unlock();
    await expect(fs.access(lock)).rejects.toThrow();
  });

  it("many openers racing over a dead process's lock: never two holders at once", async () => {
    const { lockEmbedded } = await import('./connection.js');
    const { promises: fs } = await import('node:fs');
    for (let round = 0; round < 6; round++) {
      const lock = join(mkdtempSync(join(tmpdir(), 'rallycut-lock-')), 'db.lock');
      await fs.writeFile(lock, '999999999'); // a lock of the older format, its process gone
      let holders = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          await new Promise((r) => setTimeout(r, i % 4)); // staggered, so their reads and removals interleave
          const unlock = await lockEmbedded(lock, 10_000);
          most = Math.max(most, ++holders);
          await new Promise((r) => setTimeout(r, 5));
          holders--;
          await unlock();
        }),
      );
      expect({ round, most }).toEqual({ round, most: 1 });
    }
  });
});
