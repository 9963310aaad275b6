// `db init` and the schema check run before every export and restore. The check compares the live
// database with what our queries need (app-schema.ts describes the app's tables) and names each column
// that differs in a way that would break us: missing, an enum column of another type or lacking a value we
// write, or (for restore) a NOT NULL column without a default that our inserts do not fill.
import { configError } from '../../../src/handler.js';
import { APP_ENUMS, APP_TABLES, appSchemaDdl } from './app-schema.js';
import type { Database, Queryable } from './connection.js';
import { upgradeEmbedded } from './upgrade.js';

export const SCHEMA_SQL: readonly string[] = appSchemaDdl();

export type SchemaUse = 'export' | 'restore';

/** The columns each use reads or writes, per table. Restore writes every column listed for it. */
const COLUMNS_USED: Readonly<Record<SchemaUse, Readonly<Record<string, readonly string[]>>>> = {
  export: {
    videos: ['id', 'name', 'filename', 's3_key', 'content_hash', 'status', 'duration_ms', 'file_size_bytes', 'deleted_at'],
    rallies: ['video_id', 'start_ms', 'end_ms', 'confidence'],
  },
  restore: {
    users: ['id', 'created_at'],
    videos: [
      'id',
      'user_id',
      'name',
      'filename',
      's3_key',
      'content_hash',
      'status',
      'duration_ms',
      'width',
      'height',
      'fps',
      'file_size_bytes',
      'processing_status',
      'deleted_at',
      'created_at',
      'updated_at',
    ],
    rallies: ['id', 'video_id', 'start_ms', 'end_ms', 'confidence', 'status', 'order', 'created_at', 'updated_at'],
    sessions: ['id', 'user_id', 'name', 'type', 'deleted_at', 'created_at', 'updated_at'],
    session_videos: ['id', 'session_id', 'video_id', 'order', 'added_at'],
  },
};

/** The tables restore inserts rows into (users is only read). */
const INSERTED_BY_RESTORE = ['videos', 'rallies', 'sessions', 'session_videos'];

/** Enum values our statements use: a database whose enum lacks one would fail mid-transaction. */
const ENUM_VALUES_USED: Readonly<Record<string, readonly string[]>> = {
  VideoStatus: ['DETECTED'],
  ProcessingStatus: ['SKIPPED'],
  RallyStatus: ['CONFIRMED'],
  SessionType: ['REGULAR'],
};

const ALL_TABLES = APP_TABLES.map((t) => t.name);

interface LiveColumn {
  table_name: string;
  column_name: string;
  udt_name: string;
  is_nullable: string;
  column_default: string | null;
}

async function presentTables(q: Queryable): Promise<Set<string>> {
  const rows = await q.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [ALL_TABLES],
  );
  return new Set(rows.map((r) => r.table_name));
}

/** Every way the live schema differs from what `use` needs, one sentence each, naming table.column. */
export async function schemaProblems(q: Queryable, use: SchemaUse): Promise<string[]> {
  const needed = COLUMNS_USED[use];
  const tables = Object.keys(needed);
  const present = await presentTables(q);
  const problems = tables.filter((t) => !present.has(t)).map((t) => `table ${t} is missing`);
  const live = await q.query<LiveColumn>(
    `SELECT table_name, column_name, udt_name, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [tables],
  );
  const labels = await q.query<{ typname: string; labels: string[] }>(
    `SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = current_schema() AND t.typname = ANY($1::text[]) GROUP BY t.typname`,
    [Object.keys(APP_ENUMS)],
  );
  const enumLabels = new Map(labels.map((r) => [r.typname, r.labels]));
  const byName = new Map(live.map((c) => [`${c.table_name}.${c.column_name}`, c]));
  for (const table of tables.filter((t) => present.has(t))) {
    const spec = APP_TABLES.find((t) => t.name === table)!;
    for (const column of needed[table]!) {
      const name = `${table}.${column}`;
      const have = byName.get(name);
      if (!have) {
        problems.push(`column ${name} is missing`);
        continue;
      }
      const type = spec.columns.find((c) => c.name === column)!.type;
      if (!(type in APP_ENUMS)) continue; // text, int4 vs int8 and the like all work with our parameters
      if (have.udt_name !== type) {
        problems.push(`column ${name} has type ${have.udt_name}, not the enum "${type}"`);
        continue;
      }
      const lacking = (ENUM_VALUES_USED[type] ?? []).filter((v) => !enumLabels.get(type)?.includes(v));
      if (lacking.length) problems.push(`column ${name}: enum "${type}" has no value ${lacking.map((v) => `'${v}'`).join(', ')}`);
    }
    if (use === 'restore' && INSERTED_BY_RESTORE.includes(table)) {
      for (const c of live.filter(
        (l) => l.table_name === table && l.is_nullable === 'NO' && l.column_default === null && !needed[table]!.includes(l.column_name),
      )) {
        problems.push(`column ${table}.${c.column_name} is NOT NULL without a default, and restore does not fill it`);
      }
    }
  }
  return problems;
}

/** Fails, naming every differing column, when the database cannot serve `use`. */
export async function checkSchema(db: Queryable & { description: string }, use: SchemaUse): Promise<void> {
  const problems = await schemaProblems(db, use);
  if (!problems.length) return;
  throw configError(`the labels database ${db.description} does not match the web app's schema: ${problems.join('; ')}`, {
    notes: ["point DATABASE_URL at the web app's database, or at an empty one and run 'rallycut db init'"],
  });
}

export type InitResult = 'created' | 'present' | 'upgraded';

/**
 * Creates the schema in an empty database (one transaction). An existing one is checked and left alone,
 * except an embedded database from an older `db init`, which gets what it lacks (upgrade.ts).
 */
export async function initSchema(db: Database): Promise<InitResult> {
  const present = await presentTables(db);
  if (present.size > 0) {
    const added = await upgradeEmbedded(db, present);
    await checkSchema(db, 'restore');
    return added.length ? 'upgraded' : 'present';
  }
  await db.transaction(async (q) => {
    for (const sql of SCHEMA_SQL) await q.query(sql);
  });
  return 'created';
}
