// The labels schema as the web app's Prisma schema defines it: same table, column, enum and constraint names,
// types and NOT NULLs. updated_at has no default (Prisma sets it in the app), so every insert sets it.
// Only the columns this tool touches plus the app's core ones are created; the app's extra columns are all
// nullable or defaulted, so their absence changes nothing for us.
import { configError } from '../../../src/handler.js';
import type { Database, Queryable } from './connection.js';

export const VIDEO_STATUSES = ['PENDING', 'UPLOADED', 'DETECTING', 'DETECTED', 'ERROR'] as const;
export const RALLY_STATUSES = ['CONFIRMED', 'SUGGESTED'] as const;
export const REJECTION_REASONS = ['INSUFFICIENT_WINDOWS', 'TOO_SHORT', 'SPARSE_DENSITY'] as const;

const enumList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

export const SCHEMA_SQL: readonly string[] = [
  `CREATE TYPE "VideoStatus" AS ENUM (${enumList(VIDEO_STATUSES)})`,
  `CREATE TYPE "RallyStatus" AS ENUM (${enumList(RALLY_STATUSES)})`,
  `CREATE TYPE "RejectionReason" AS ENUM (${enumList(REJECTION_REASONS)})`,
  `CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "email" TEXT,
    "name" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
  )`,
  `CREATE UNIQUE INDEX "users_email_key" ON "users"("email")`,
  `CREATE TABLE "videos" (
    "id" TEXT NOT NULL,
    "user_id" TEXT,
    "name" TEXT NOT NULL,
    "filename" TEXT NOT NULL,
    "s3_key" TEXT NOT NULL,
    "content_hash" TEXT NOT NULL,
    "status" "VideoStatus" NOT NULL DEFAULT 'PENDING',
    "duration_ms" INTEGER,
    "width" INTEGER,
    "height" INTEGER,
    "fps" DOUBLE PRECISION,
    "file_size_bytes" BIGINT,
    "deleted_at" TIMESTAMP(3),
    "proxy_s3_key" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "videos_pkey" PRIMARY KEY ("id")
  )`,
  `CREATE INDEX "videos_content_hash_idx" ON "videos"("content_hash")`,
  `CREATE INDEX "videos_user_id_idx" ON "videos"("user_id")`,
  `CREATE TABLE "rallies" (
    "id" TEXT NOT NULL,
    "video_id" TEXT NOT NULL,
    "start_ms" INTEGER NOT NULL,
    "end_ms" INTEGER NOT NULL,
    "confidence" DOUBLE PRECISION,
    "status" "RallyStatus" NOT NULL DEFAULT 'CONFIRMED',
    "rejection_reason" "RejectionReason",
    "score_a" INTEGER,
    "score_b" INTEGER,
    "serving_team" TEXT,
    "notes" TEXT,
    "order" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "rallies_pkey" PRIMARY KEY ("id")
  )`,
  `CREATE INDEX "rallies_video_id_idx" ON "rallies"("video_id")`,
  `ALTER TABLE "videos" ADD CONSTRAINT "videos_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE`,
  `ALTER TABLE "rallies" ADD CONSTRAINT "rallies_video_id_fkey" FOREIGN KEY ("video_id") REFERENCES "videos"("id") ON DELETE CASCADE ON UPDATE CASCADE`,
];

const TABLES = ['users', 'videos', 'rallies'] as const;

/** The columns our queries rely on; checked so a foreign schema fails with a clear message, not mid-export. */
const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  videos: ['id', 'user_id', 'name', 'filename', 's3_key', 'content_hash', 'status', 'duration_ms', 'file_size_bytes', 'deleted_at', 'created_at', 'updated_at'],
  rallies: ['id', 'video_id', 'start_ms', 'end_ms', 'confidence', 'status', 'order', 'created_at', 'updated_at'],
};

async function presentTables(q: Queryable): Promise<Set<string>> {
  const rows = await q.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [TABLES],
  );
  return new Set(rows.map((r) => r.table_name));
}

export type InitResult = 'created' | 'present';

/** Creates the schema in an empty database (one transaction); leaves a complete one alone. */
export async function initSchema(db: Database): Promise<InitResult> {
  const present = await presentTables(db);
  if (present.size === TABLES.length) {
    await checkSchema(db);
    return 'present';
  }
  if (present.size > 0) {
    throw configError(`the labels database ${db.description} has only some of the tables (${[...present].sort().join(', ')}); refusing to guess`, {
      notes: ['point DATABASE_URL at an empty database, or at the web app database with its full schema'],
    });
  }
  await db.transaction(async (q) => {
    for (const sql of SCHEMA_SQL) await q.query(sql);
  });
  return 'created';
}

/** Fails with a hint when the tables or the columns we use are missing. */
export async function checkSchema(db: Queryable & { description: string }): Promise<void> {
  const present = await presentTables(db);
  const missingTables = ['videos', 'rallies'].filter((t) => !present.has(t));
  if (missingTables.length) {
    throw configError(`the labels database ${db.description} has no ${missingTables.join(' or ')} table`, {
      notes: ["run 'rallycut db init' to create the schema in an empty database"],
    });
  }
  const rows = await db.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [Object.keys(REQUIRED_COLUMNS)],
  );
  const have = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
  const missing = Object.entries(REQUIRED_COLUMNS).flatMap(([t, cols]) => cols.filter((c) => !have.has(`${t}.${c}`)).map((c) => `${t}.${c}`));
  if (missing.length) throw configError(`the labels database ${db.description} lacks columns: ${missing.join(', ')}`);
}
