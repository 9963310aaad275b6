// Per-test resources on the shared services: an empty database and an empty bucket with unique names.
// Without a PostgreSQL cluster (no binaries), a database is an in-memory PGlite served over the wire
// protocol from this process, so tests still talk to it through `pg`.
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export type DatabaseKind = 'postgres' | 'pglite';

/** The kinds this run can make: PGlite always, PostgreSQL when global setup started a cluster. */
export function databaseKinds(): DatabaseKind[] {
  return process.env.RALLYCUT_TEST_PG_URL ? ['postgres', 'pglite'] : ['pglite'];
}

/** A fresh database: on the test PostgreSQL when there is one (or PGlite when asked for by `kind`). */
export async function freshDatabase(kind?: DatabaseKind): Promise<TestDatabase> {
  const admin = process.env.RALLYCUT_TEST_PG_URL;
  if (admin && kind !== 'pglite') {
    const name = `t_${randomBytes(6).toString('hex')}`;
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    const url = new URL(admin);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async drop() {
        const c = new pg.Client({ connectionString: admin });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const lite = await PGlite.create();
  const server = new PGLiteSocketServer({ db: lite, port: 0, host: '127.0.0.1', maxConnections: 4 });
  await server.start();
  return {
    url: `postgresql://postgres@${server.getServerConn()}/postgres`,
    async drop() {
      await server.stop();
      await lite.close();
    },
  };
}

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** Env for the training remote (TRAINING_S3_*) with s3rver's credentials. */
  env: Record<string, string>;
  client: S3Client;
}

export function testS3Client(): S3Client {
  const endpoint = process.env.RALLYCUT_TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error('RALLYCUT_TEST_S3_ENDPOINT is not set: run tests through vitest (globalSetup starts s3rver)');
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.RALLYCUT_TEST_S3_KEY ?? 'S3RVER', secretAccessKey: process.env.RALLYCUT_TEST_S3_SECRET ?? 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function freshBucket(prefix = 'training'): Promise<TestS3> {
  const client = testS3Client();
  const bucket = `b-${randomBytes(6).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const endpoint = process.env.RALLYCUT_TEST_S3_ENDPOINT!;
  return {
    endpoint,
    bucket,
    client,
    env: {
      TRAINING_S3_BUCKET: bucket,
      TRAINING_S3_ENDPOINT: endpoint,
      TRAINING_S3_PREFIX: prefix,
      AWS_ACCESS_KEY_ID: process.env.RALLYCUT_TEST_S3_KEY ?? 'S3RVER',
      AWS_SECRET_ACCESS_KEY: process.env.RALLYCUT_TEST_S3_SECRET ?? 'S3RVER',
    },
  };
}
