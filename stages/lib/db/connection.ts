// Opens the labels database. With DATABASE_URL it is that PostgreSQL; without it, an embedded PGlite whose
// data folder is <cacheDir>/db, served over the wire protocol on 127.0.0.1 so that every SQL statement goes
// through the same `pg` client either way (one code path to test).
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import type pg from 'pg';
import { acquireLockFile, crashPoint, failure, redactUrl } from '../../../src/handler.js';

export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface Database extends Queryable {
  /** Where the data lives, for messages: a redacted URL or the PGlite folder. Never a password. */
  readonly description: string;
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  cacheDir: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Told which database is used. */
  log?(message: string): void;
  /** Embedded only: called on close once PGlite has flushed and closed, while its folder is still locked. */
  beforeUnlock?(dataDir: string): Promise<void>;
}

/** postgres://user:secret@host/db?password=x → postgres://user:***@host/db?password=***; never throws. */
export function redactDatabaseUrl(url: string): string {
  return redactUrl(url, 'DATABASE_URL');
}

/** Turns pg's low-level connection errors into one sentence naming the database. */
export function describeConnectError(err: unknown, where: string): string {
  const e = err as { code?: string; message?: string };
  const why =
    e.code === 'ECONNREFUSED'
      ? 'connection refused (is the server running?)'
      : e.code === '28P01'
        ? 'password authentication failed'
        : e.code === '28000'
          ? 'authentication rejected'
          : e.code === '3D000'
            ? 'the database does not exist'
            : e.code === 'ENOTFOUND'
              ? 'host not found'
              : (e.message ?? String(err));
  return `cannot connect to the labels database ${where}: ${why}`;
}

function wrapClient(client: pg.Client, description: string, kind: Database['kind'], onClose: () => Promise<void>): Database {
  const query = async <R extends pg.QueryResultRow>(sql: string, params: readonly unknown[] = []): Promise<R[]> => {
    const res = await client.query<R>(sql, params as unknown[]);
    return res.rows;
  };
  let inTransaction = false;
  return {
    description,
    kind,
    query,
    async transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      if (inTransaction) throw new Error('nested transactions are not supported');
      inTransaction = true;
      try {
        await client.query('BEGIN');
        try {
          const result = await fn({ query });
          crashPoint('restore.transaction'); // all statements sent, none committed
          await client.query('COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      } finally {
        inTransaction = false;
      }
    },
    async close() {
      await client.end().catch(() => undefined);
      await onClose();
    },
  };
}

let pgModule: Promise<typeof pg> | undefined;
/** pg, loaded on first open: a CLI start that never touches the database should not pay for it. */
function loadPg(): Promise<typeof pg> {
  pgModule ??= import('pg').then(({ default: mod }) => {
    // pg returns bigint (int8) as a string to avoid precision loss; file sizes fit a double exactly.
    mod.types.setTypeParser(mod.types.builtins.INT8, (v) => Number(v));
    return mod;
  });
  return pgModule;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const url = opts.env.DATABASE_URL;
  if (url) {
    const description = redactDatabaseUrl(url);
    const pg = await loadPg();
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined); // a dropped connection surfaces on the next query instead
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw failure(describeConnectError(err, description), {
        subject: 'DATABASE_URL',
        notes: ['set DATABASE_URL to a reachable PostgreSQL, or unset it to use the embedded database'],
      });
    }
    opts.log?.(`database: ${description}`);
    return wrapClient(client, description, 'postgres', async () => undefined);
  }
  return openEmbedded(opts);
}

/**
 * PGlite is single-process: two processes opening one data folder would corrupt it. A lock file (the
 * engine's, so a dead owner's lock is taken over by exactly one of the processes waiting) serialises them.
 */
export async function lockEmbedded(lockFile: string, timeoutMs: number): Promise<() => Promise<void>> {
  let owner: number | undefined;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const lock = await acquireLockFile(lockFile, { signal, pollMs: 200, onWait: (o) => void (owner = o.pid) });
    return () => lock.release();
  } catch (err) {
    if (!signal.aborted) throw err;
    throw failure(`the embedded database ${dirname(lockFile)}/db is in use by process ${owner ?? 'unknown'}`, {
      notes: ['wait for it to finish, or set DATABASE_URL to use a PostgreSQL server'],
    });
  }
}

async function openEmbedded(opts: OpenDatabaseOptions): Promise<Database> {
  const dataDir = join(opts.cacheDir, 'db');
  await fs.mkdir(dataDir, { recursive: true });
  const unlock = await lockEmbedded(join(opts.cacheDir, 'db.lock'), 60_000);
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  let lite: InstanceType<typeof PGlite>;
  try {
    lite = await PGlite.create({ dataDir });
  } catch (err) {
    await unlock();
    throw failure(`cannot open the embedded database at ${dataDir}: ${(err as Error).message}`);
  }
  const server = new PGLiteSocketServer({ db: lite, port: 0, host: '127.0.0.1' });
  const stopAll = async (): Promise<void> => {
    await server.stop().catch(() => undefined);
    await lite.close().catch(() => undefined);
    try {
      await opts.beforeUnlock?.(dataDir);
    } finally {
      await unlock();
    }
  };
  try {
    await server.start();
    const [host, port] = server.getServerConn().split(':');
    const pg = await loadPg();
    const client = new pg.Client({ host, port: Number(port), user: 'postgres', database: 'postgres' });
    client.on('error', () => undefined);
    await client.connect();
    const description = `embedded PGlite at ${dataDir}`;
    opts.log?.(`database: ${description} (set DATABASE_URL to use PostgreSQL)`);
    return wrapClient(client, description, 'pglite', stopAll);
  } catch (err) {
    await stopAll();
    throw failure(describeConnectError(err, `embedded PGlite at ${dataDir}`));
  }
}
