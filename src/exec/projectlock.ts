// One `repro` (or checkout, gc, push, pull) at a time per project: the lock file .cache/repro.lock (see
// src/lockfile.ts for how it is taken, waited for and taken over from a dead process).
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { acquireLockFile, type AcquireOptions, type FileLock, type LockOwner } from '../lockfile.js';
import { CACHE_DIR } from '../project.js';

export type { AcquireOptions, LockOwner };
export type ProjectLock = FileLock;

export function projectLockPath(root: string): string {
  return join(root, CACHE_DIR, 'repro.lock');
}

/** The line a waiting command prints (one wording for repro, checkout, gc, push and pull). */
export function waitingMessage(owner: LockOwner): string {
  const foreign = owner.host !== undefined && owner.host !== hostname();
  const who = `pid ${owner.pid}${foreign ? ` on host ${owner.host}` : ''}${owner.started ? `, started ${owner.started}` : ''}`;
  const hint = foreign ? ` (a lock from another host is never taken over: if that process is gone, delete ${CACHE_DIR}/repro.lock)` : '';
  return `waiting for another rallycut process (${who}) to finish…${hint}\n`;
}

export async function acquireProjectLock(root: string, opts: AcquireOptions = {}): Promise<ProjectLock> {
  const path = projectLockPath(root);
  await fs.mkdir(dirname(path), { recursive: true });
  return acquireLockFile(path, opts);
}
