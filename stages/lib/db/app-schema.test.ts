// `db init` against the web app's schema, read back from information_schema and pg_catalog, on the real
// PostgreSQL and on PGlite. The expectations are written out here from the app's Prisma schema, not derived
// from app-schema.ts, so a slip in either shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseKinds, freshDatabase, type DatabaseKind, type TestDatabase } from '../../../test/services/fresh.js';
import { checkSchema, initSchema, openDatabase, type Database } from './index.js';

type Row = [column: string, type: string, nullable: 'YES' | 'NO', defaultValue: string | null];
const T = 'timestamp';
const EXPECTED: Record<string, Row[]> = {
  users: [
    ['id', 'text', 'NO', null],
    ['email', 'text', 'YES', null],
    ['name', 'text', 'YES', null],
    ['avatar_url', 'text', 'YES', null],
    ['email_verified', T, 'YES', null],
    ['password_hash', 'text', 'YES', null],
    ['tier', 'UserTier', 'NO', 'FREE'],
    ['tier_expires_at', T, 'YES', null],
    ['created_at', T, 'NO', 'now'],
    ['converted_at', T, 'YES', null],
    ['last_active_at', T, 'YES', null],
  ],
  videos: [
    ['id', 'text', 'NO', null],
    ['user_id', 'text', 'YES', null],
    ['name', 'text', 'NO', null],
    ['filename', 'text', 'NO', null],
    ['s3_key', 'text', 'NO', null],
    ['content_hash', 'text', 'NO', null],
    ['status', 'VideoStatus', 'NO', 'PENDING'],
    ['duration_ms', 'int4', 'YES', null],
    ['width', 'int4', 'YES', null],
    ['height', 'int4', 'YES', null],
    ['fps', 'float8', 'YES', null],
    ['file_size_bytes', 'int8', 'YES', null],
    ['expires_at', T, 'YES', null],
    ['deleted_at', T, 'YES', null],
    ['created_at', T, 'NO', 'now'],
    ['updated_at', T, 'NO', null],
    ['processing_status', 'ProcessingStatus', 'NO', 'PENDING'],
    ['processing_attempts', 'int4', 'NO', '0'],
    ['processed_s3_key', 'text', 'YES', null],
    ['original_s3_key', 'text', 'YES', null],
    ['processed_at', T, 'YES', null],
    ['processing_error', 'text', 'YES', null],
    ['original_file_size_bytes', 'int8', 'YES', null],
    ['poster_s3_key', 'text', 'YES', null],
    ['proxy_s3_key', 'text', 'YES', null],
    ['proxy_file_size_bytes', 'int8', 'YES', null],
    ['proxy_generated_at', T, 'YES', null],
    ['proxy_last_accessed_at', T, 'YES', null],
    ['quality_downgraded_at', T, 'YES', null],
  ],
  rallies: [
    ['id', 'text', 'NO', null],
    ['video_id', 'text', 'NO', null],
    ['start_ms', 'int4', 'NO', null],
    ['end_ms', 'int4', 'NO', null],
    ['confidence', 'float8', 'YES', null],
    ['status', 'RallyStatus', 'NO', 'CONFIRMED'],
    ['rejection_reason', 'RejectionReason', 'YES', null],
    ['score_a', 'int4', 'YES', null],
    ['score_b', 'int4', 'YES', null],
    ['serving_team', 'ServingTeam', 'YES', null],
    ['notes', 'text', 'YES', null],
    ['order', 'int4', 'NO', '0'],
    ['created_at', T, 'NO', 'now'],
    ['updated_at', T, 'NO', null],
  ],
  sessions: [
    ['id', 'text', 'NO', null],
    ['user_id', 'text', 'YES', null],
    ['name', 'text', 'NO', null],
    ['type', 'SessionType', 'NO', 'REGULAR'],
    ['expires_at', T, 'YES', null],
    ['deleted_at', T, 'YES', null],
    ['created_at', T, 'NO', 'now'],
    ['updated_at', T, 'NO', null],
  ],
  session_videos: [
    ['id', 'text', 'NO', null],
    ['session_id', 'text', 'NO', null],
    ['video_id', 'text', 'NO', null],
    ['order', 'int4', 'NO', '0'],
    ['added_at', T, 'NO', 'now'],
  ],
};
const ENUMS = {
  UserTier: ['FREE', 'PRO', 'ELITE'],
  VideoStatus: ['PENDING', 'UPLOADED', 'DETECTING', 'DETECTED', 'ERROR'],
  ProcessingStatus: ['PENDING', 'QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'SKIPPED'],
  ServingTeam: ['A', 'B'],
  RallyStatus: ['CONFIRMED', 'SUGGESTED'],
  RejectionReason: ['INSUFFICIENT_WINDOWS', 'TOO_SHORT', 'SPARSE_DENSITY'],
  SessionType: ['REGULAR', 'ALL_VIDEOS'],
};
const INDEXES = [
  'rallies_pkey',
  'rallies_video_id_idx',
  'rallies_video_id_start_ms_idx',
  'rallies_video_id_status_idx',
  'session_videos_pkey',
  'session_videos_session_id_idx',
  'session_videos_session_id_video_id_key',
  'session_videos_video_id_idx',
  'sessions_deleted_at_idx',
  'sessions_expires_at_idx',
  'sessions_pkey',
  'sessions_user_id_deleted_at_idx',
  'sessions_user_id_idx',
  'users_email_key',
  'users_pkey',
  'users_tier_idx',
  'videos_content_hash_idx',
  'videos_deleted_at_idx',
  'videos_expires_at_idx',
  'videos_pkey',
  'videos_processing_status_idx',
  'videos_status_idx',
  'videos_user_id_deleted_at_idx',
  'videos_user_id_idx',
];
// table.column → referenced table, on delete (c cascade, n set null)
const FOREIGN_KEYS = {
  'rallies.video_id': 'videos c',
  'session_videos.session_id': 'sessions c',
  'session_videos.video_id': 'videos c',
  'sessions.user_id': 'users n',
  'videos.user_id': 'users n',
};

/** 'PENDING'::"VideoStatus" → PENDING; CURRENT_TIMESTAMP / now() → now. */
function normalDefault(d: string | null): string | null {
  if (d === null) return null;
  if (/^(CURRENT_TIMESTAMP|now\(\))/i.test(d)) return 'now';
  return d.replace(/::.*$/, '').replace(/^'(.*)'$/, '$1');
}

const cacheDir = mkdtempSync(join(tmpdir(), 'rallycut-schema-'));

/** A fresh database of that kind with `db init` run on it, for the describe block that calls this. */
function initialisedDatabase(kind: DatabaseKind): () => Database {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    tdb = await freshDatabase(kind);
    db = await openDatabase({ cacheDir, env: { DATABASE_URL: tdb.url } });
    expect(await initSchema(db)).toBe('created');
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });
  return () => db;
}

describe.each(databaseKinds())('db init on %s', (kind) => {
  const database = initialisedDatabase(kind);

  it("creates the app's five tables column by column: types, nullability, defaults, timestamp(3)", async () => {
    const db = database();
    const rows = await db.query<{
      table_name: string;
      column_name: string;
      udt_name: string;
      is_nullable: 'YES' | 'NO';
      column_default: string | null;
      datetime_precision: number | null;
    }>(
      `SELECT table_name, column_name, udt_name, is_nullable, column_default, datetime_precision FROM information_schema.columns
        WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
    );
    const live: Record<string, Row[]> = {};
    for (const r of rows) (live[r.table_name] ??= []).push([r.column_name, r.udt_name, r.is_nullable, normalDefault(r.column_default)]);
    expect(live).toEqual(EXPECTED);
    expect(rows.filter((r) => r.udt_name === 'timestamp').every((r) => r.datetime_precision === 3)).toBe(true);
  });

  it('creates the enums, indexes and foreign keys', async () => {
    const db = database();
    const enums = await db.query<{ typname: string; labels: string[] }>(
      `SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`,
    );
    expect(Object.fromEntries(enums.map((e) => [e.typname, e.labels]))).toEqual(ENUMS);
    const indexes = await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`);
    expect(indexes.map((i) => i.indexname)).toEqual(INDEXES);
    const fks = await db.query<{ col: string; target: string }>(
      `SELECT c.conrelid::regclass::text || '.' || a.attname AS col, c.confrelid::regclass::text || ' ' || c.confdeltype::text AS target
         FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE c.contype = 'f'`,
    );
    expect(Object.fromEntries(fks.map((f) => [f.col, f.target]))).toEqual(FOREIGN_KEYS);
  });
});

describe.each(databaseKinds())('a database that differs from the app schema, on %s', (kind) => {
  const database = initialisedDatabase(kind);
  const fails = (use: 'export' | 'restore') =>
    checkSchema(database(), use).then(
      () => 'passed',
      (e: Error) => e.message,
    );

  it('names a missing column, a wrong enum, an enum without a value we write, and a NOT NULL column restore does not fill', async () => {
    const db = database();
    expect(await fails('restore')).toBe('passed');
    await db.query(`ALTER TABLE rallies DROP COLUMN "order"`);
    await db.query(`ALTER TABLE videos ALTER COLUMN status DROP DEFAULT, ALTER COLUMN status TYPE text`);
    await db.query(`ALTER TABLE videos ALTER COLUMN processing_status DROP DEFAULT, ALTER COLUMN processing_status TYPE text`);
    await db.query(`DROP TYPE "ProcessingStatus"`);
    await db.query(`CREATE TYPE "ProcessingStatus" AS ENUM ('PENDING', 'COMPLETED')`);
    await db.query(`ALTER TABLE videos ALTER COLUMN processing_status TYPE "ProcessingStatus" USING processing_status::"ProcessingStatus"`);
    await db.query(`ALTER TABLE videos ADD COLUMN team_id text NOT NULL`);
    const restore = await fails('restore');
    expect(restore).toContain(`does not match the web app's schema`);
    expect(restore).toContain('column rallies.order is missing');
    expect(restore).toContain('column videos.status has type text, not the enum "VideoStatus"');
    expect(restore).toContain(`column videos.processing_status: enum "ProcessingStatus" has no value 'SKIPPED'`);
    expect(restore).toContain('column videos.team_id is NOT NULL without a default, and restore does not fill it');
    // Export reads fewer columns: only the wrong status type matters to it.
    const exp = await fails('export');
    expect(exp).toContain('videos.status');
    expect(exp).not.toMatch(/rallies\.order|processing_status|team_id/);
    // db init on such a database refuses too, naming the same columns: a PostgreSQL database may be the
    // app's, so it is never altered.
    await expect(initSchema(db)).rejects.toThrow(/rallies\.order is missing/);
    expect(await db.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'rallies' AND column_name = 'order'`)).toEqual([]);
  });
});

// What `db init` created before the app's full schema was mirrored (three tables, three enums).
const OLD_SCHEMA = [
  `CREATE TYPE "VideoStatus" AS ENUM ('PENDING', 'UPLOADED', 'DETECTING', 'DETECTED', 'ERROR')`,
  `CREATE TYPE "RallyStatus" AS ENUM ('CONFIRMED', 'SUGGESTED')`,
  `CREATE TYPE "RejectionReason" AS ENUM ('INSUFFICIENT_WINDOWS', 'TOO_SHORT', 'SPARSE_DENSITY')`,
  `CREATE TABLE "users" ("id" TEXT NOT NULL, "email" TEXT, "name" TEXT, "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "updated_at" TIMESTAMP(3) NOT NULL, CONSTRAINT "users_pkey" PRIMARY KEY ("id"))`,
  `CREATE TABLE "videos" ("id" TEXT NOT NULL, "user_id" TEXT REFERENCES users(id), "name" TEXT NOT NULL, "filename" TEXT NOT NULL, "s3_key" TEXT NOT NULL, "content_hash" TEXT NOT NULL,
     "status" "VideoStatus" NOT NULL DEFAULT 'PENDING', "duration_ms" INTEGER, "width" INTEGER, "height" INTEGER, "fps" DOUBLE PRECISION, "file_size_bytes" BIGINT,
     "deleted_at" TIMESTAMP(3), "proxy_s3_key" TEXT, "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "updated_at" TIMESTAMP(3) NOT NULL, CONSTRAINT "videos_pkey" PRIMARY KEY ("id"))`,
  `CREATE TABLE "rallies" ("id" TEXT NOT NULL, "video_id" TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE, "start_ms" INTEGER NOT NULL, "end_ms" INTEGER NOT NULL, "confidence" DOUBLE PRECISION,
     "status" "RallyStatus" NOT NULL DEFAULT 'CONFIRMED', "rejection_reason" "RejectionReason", "score_a" INTEGER, "score_b" INTEGER, "serving_team" TEXT, "notes" TEXT,
     "order" INTEGER NOT NULL DEFAULT 0, "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "updated_at" TIMESTAMP(3) NOT NULL, CONSTRAINT "rallies_pkey" PRIMARY KEY ("id"))`,
  `INSERT INTO videos (id, name, filename, s3_key, content_hash, status, updated_at) VALUES ('old', 'old.mp4', 'old.mp4', 'k', 'h', 'DETECTED', now())`,
  `INSERT INTO rallies (id, video_id, start_ms, end_ms, updated_at) VALUES ('r1', 'old', 1000, 2000, now())`,
];

describe('an embedded database from an older db init', () => {
  it('gets the missing enums, tables, columns and indexes, keeps its rows, and then serves restore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rallycut-old-db-'));
    const db = await openDatabase({ cacheDir: dir, env: {} });
    try {
      for (const sql of OLD_SCHEMA) await db.query(sql);
      await expect(checkSchema(db, 'restore')).rejects.toThrow(/table sessions is missing.*column videos\.processing_status is missing/);
      expect(await initSchema(db)).toBe('upgraded');
      expect(await initSchema(db)).toBe('present');
      const { loadVideos, queryGroundTruth } = await import('./index.js');
      await loadVideos(db, [{ id: 'new', filename: 'new.mp4', content_hash: 'n', rallies: [{ start_ms: 5, end_ms: 9 }] }]);
      expect((await queryGroundTruth(db)).map((v) => [v.id, v.rallies])).toEqual([
        ['new', [{ start_ms: 5, end_ms: 9 }]],
        ['old', [{ start_ms: 1000, end_ms: 2000 }]],
      ]);
      expect(await db.query(`SELECT id, processing_status::text FROM videos ORDER BY id`)).toEqual([
        { id: 'new', processing_status: 'SKIPPED' },
        { id: 'old', processing_status: 'PENDING' },
      ]);
      const indexes = await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`);
      expect(INDEXES.filter((i) => !indexes.some((x) => x.indexname === i))).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
