// One `repro` at a time per project. The lock is a file created atomically (O_EXCL) holding the owner's
// pid, host and process start time. A second process waits for it, saying so, instead of failing; a lock
// whose process is gone (a killed run) is taken over, also when its pid was since reused by another process
// (told apart by the kernel's start time of the pid). A lock from another host is never judged: it waits.
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { failure } from '../diagnostics.js';
import { processAlive, processStartTime } from '../process.js';
import { sleep } from '../sleep.js';
import { CACHE_DIR } from '../project.js';

export interface LockOwner {
  pid: number;
  started: string;
  /** The owner's host name; absent in locks written by older versions. */
  host?: string;
  /** The kernel's start time of the owner's pid (Linux /proc), to detect a reused pid. */
  pidStart?: string;
}

export interface ProjectLock {
  readonly path: string;
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Called once when the lock is busy, before waiting. */
  onWait?(owner: LockOwner): void;
  /** Called when a stale lock is taken over. */
  onStale?(owner: LockOwner): void;
  signal?: AbortSignal;
  pollMs?: number;
}

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

/** Whether the lock's owner is certainly gone. Only judged on the same host. */
function ownerGone(owner: LockOwner): boolean {
  if (owner.host !== undefined && owner.host !== hostname()) return false;
  if (!processAlive(owner.pid)) return true;
  const now = owner.pidStart === undefined ? undefined : processStartTime(owner.pid);
  return now !== undefined && now !== owner.pidStart; // the pid belongs to a newer process
}

async function readOwner(path: string): Promise<{ owner: LockOwner | undefined; text: string } | undefined> {
  try {
    const text = await fs.readFile(path, 'utf8');
    try {
      const parsed = JSON.parse(text) as Partial<LockOwner>;
      const owner: LockOwner | undefined =
        typeof parsed.pid === 'number'
          ? {
              pid: parsed.pid,
              started: String(parsed.started ?? ''),
              ...(typeof parsed.host === 'string' ? { host: parsed.host } : {}),
              ...(typeof parsed.pidStart === 'string' ? { pidStart: parsed.pidStart } : {}),
            }
          : undefined;
      return { owner, text };
    } catch {
      return { owner: undefined, text };
    }
  } catch {
    return undefined; // released between our create attempt and the read
  }
}


export async function acquireProjectLock(root: string, opts: AcquireOptions = {}): Promise<ProjectLock> {
  const path = projectLockPath(root);
  await fs.mkdir(dirname(path), { recursive: true });
  const pidStart = processStartTime(process.pid);
  const me: LockOwner = { pid: process.pid, started: new Date().toISOString(), host: hostname(), ...(pidStart ? { pidStart } : {}) };
  const body = JSON.stringify(me) + '\n';
  let announced = false;
  let emptySince: number | undefined;
  for (;;) {
    if (opts.signal?.aborted) throw failure('interrupted while waiting for another rallycut process');
    try {
      const handle = await fs.open(path, 'wx');
      try {
        await handle.writeFile(body);
      } finally {
        await handle.close();
      }
      return {
        path,
        async release() {
          const current = await readOwner(path);
          if (current?.text === body) await fs.rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = await readOwner(path);
    if (!current) continue;
    const { owner } = current;
    // A lock without a readable owner is either being written right now or was left half-written by a
    // crash; give the writer a moment before treating it as stale.
    if (!owner) emptySince ??= Date.now();
    const stale = owner ? ownerGone(owner) : Date.now() - (emptySince ?? Date.now()) > 2000;
    if (stale) {
      const again = await readOwner(path);
      if (again?.text === current.text) {
        if (owner) opts.onStale?.(owner);
        await fs.rm(path, { force: true });
        emptySince = undefined;
        continue;
      }
    }
    if (owner && !announced) {
      announced = true;
      opts.onWait?.(owner);
    }
    await sleep(opts.pollMs ?? 100);
  }
}
