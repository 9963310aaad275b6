// A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temp folder, pg_ctl on 127.0.0.1
// with a random port, fsync off. initdb refuses to run as root, so as root the cluster belongs to the
// `postgres` system user (runuser). Returns null when no PostgreSQL binaries are installed.
import { execFileSync, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);
const PASSWORD = 'app-test-pw';

export interface PostgresService {
  /** Superuser URL (user app, password app-test-pw) to the `postgres` database. */
  url: string;
  stop(): Promise<void>;
}

export function findPostgresBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')) && existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : null;
}

function hasPostgresUser(): boolean {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function startPostgres(): Promise<PostgresService | null> {
  const bin = findPostgresBin();
  if (!bin) return null;
  const asRoot = process.getuid?.() === 0;
  if (asRoot && !hasPostgresUser()) return null;
  const dir = mkdtempSync(join(tmpdir(), 'rallycut-pg-'));
  const dataDir = join(dir, 'data');
  const sockDir = join(dir, 'sock');
  execFileSync('mkdir', ['-p', dataDir, sockDir]);
  // TCP logins need a password (scram), so tests can check what a wrong one does; the socket trusts.
  const pwFile = join(dir, 'pw');
  writeFileSync(pwFile, `${PASSWORD}\n`);
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const as = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  const port = await freePort();
  const logFile = join(dir, 'server.log');
  await run(
    ...as(join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'app',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      `--pwfile=${pwFile}`,
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]),
  );
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${sockDir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  await run(...as(join(bin, 'pg_ctl'), ['-D', dataDir, '-w', '-l', logFile, '-o', opts, 'start']));
  return {
    url: `postgresql://app:${PASSWORD}@127.0.0.1:${port}/postgres`,
    async stop() {
      await run(...as(join(bin, 'pg_ctl'), ['-D', dataDir, '-w', '-m', 'immediate', 'stop'])).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
