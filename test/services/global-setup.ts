// vitest globalSetup: starts one PostgreSQL cluster (when the binaries exist) and one s3rver for the whole
// run, and hands their addresses to test files through env vars. Test files make their own databases and
// buckets from these (test/services/fresh.ts), so parallel files never share state.
import { startPostgres, type PostgresService } from './postgres.js';
import { startS3rver, type S3Service } from './s3rver.js';

let pg: PostgresService | null = null;
let s3: S3Service | null = null;

export async function setup(): Promise<void> {
  // RALLYCUT_TEST_NO_POSTGRES=1 exercises the PGlite fallback on a machine that has PostgreSQL.
  const wantPostgres = process.env.RALLYCUT_TEST_NO_POSTGRES !== '1';
  [pg, s3] = await Promise.all([wantPostgres ? startPostgres() : Promise.resolve(null), startS3rver()]);
  if (pg) process.env.RALLYCUT_TEST_PG_URL = pg.url;
  else process.stderr.write('[test services] no PostgreSQL binaries found: tests use PGlite over the wire protocol instead\n');
  process.env.RALLYCUT_TEST_S3_ENDPOINT = s3.endpoint;
  process.env.RALLYCUT_TEST_S3_KEY = s3.accessKeyId;
  process.env.RALLYCUT_TEST_S3_SECRET = s3.secretAccessKey;
}

export async function teardown(): Promise<void> {
  await Promise.all([pg?.stop(), s3?.stop()]);
}
