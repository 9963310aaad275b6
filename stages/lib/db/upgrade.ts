// Brings an embedded database made by an older `db init` (before sessions, processing_status and the other
// app columns) up to the app's schema by adding what is missing, so the demo and restore keep working on
// an existing <cache>/db. Only for the embedded PGlite database: it is always ours, whereas a PostgreSQL
// database may be the app's, whose schema belongs to the app's migrations and is never altered here.
import { APP_ENUMS, APP_TABLES, columnDdl, enumDdl, foreignKeyDdl, indexDdl, indexName, tableDdl } from './app-schema.js';
import type { Database } from './connection.js';

/** Adds the missing enums, tables, columns and indexes in one transaction; returns what it added. */
export async function upgradeEmbedded(db: Database, presentTables: ReadonlySet<string>): Promise<string[]> {
  if (db.kind !== 'pglite') return [];
  return db.transaction(async (q) => {
    const types = new Set(
      (
        await q.query<{ typname: string }>(
          `SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = current_schema() AND t.typname = ANY($1::text[])`,
          [Object.keys(APP_ENUMS)],
        )
      ).map((r) => r.typname),
    );
    const columns = new Set(
      (
        await q.query<{ name: string }>(
          `SELECT table_name || '.' || column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
          [[...presentTables]],
        )
      ).map((r) => r.name),
    );
    const indexes = new Set(
      (await q.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`)).map((r) => r.indexname),
    );
    const added: string[] = [];
    const run = async (what: string, sql: string): Promise<void> => {
      await q.query(sql);
      added.push(what);
    };
    for (const name of Object.keys(APP_ENUMS).filter((n) => !types.has(n))) await run(`enum ${name}`, enumDdl(name));
    const newTables = APP_TABLES.filter((t) => !presentTables.has(t.name));
    for (const t of newTables) await run(`table ${t.name}`, tableDdl(t));
    for (const t of APP_TABLES.filter((x) => presentTables.has(x.name))) {
      for (const c of t.columns.filter((c) => !columns.has(`${t.name}.${c.name}`)))
        await run(`column ${t.name}.${c.name}`, `ALTER TABLE "${t.name}" ADD COLUMN ${columnDdl(c)}`);
    }
    for (const t of APP_TABLES) {
      for (const ix of t.indexes.filter((ix) => !indexes.has(indexName(t.name, ix)))) await run(`index ${indexName(t.name, ix)}`, indexDdl(t, ix));
    }
    for (const t of newTables) for (const fk of t.foreignKeys) await q.query(foreignKeyDdl(t, fk));
    return added;
  });
}
