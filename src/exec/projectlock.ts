// One `repro` at a time per project. The lock is a file written whole and linked into place (link() fails
// when the name exists, so it is created exclusively and never seen empty), holding the owner's pid, host,
// process start time and a nonce. A second process waits for it, saying so, instead of failing; a lock
// whose process is gone (a killed run) is taken over, also when its pid was since reused by another process
// (told apart by the kernel's start time of the pid). A lock from another host is never judged: it waits.
//
// Taking over is atomic: of all the processes that find the same stale lock, only the one that creates its
// takeover token (exclusively, named after the stale content) removes it, after checking that it is still
// there. Since every lock's text is unique, a token created late finds that text gone and removes nothing.
import { promises as fs } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { failure } from '../diagnostics.js';
import { createExclusive } from '../fsutil.js';
import { processAlive, processStartTime } from '../process.js';
import { sleep } from '../sleep.js';
import { CACHE_DIR } from '../project.js';
import { ownerGone } from '../process.js';

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


/**
 * Removes the stale lock whose text is `stale`, unless another process is already doing so. True when this
 * call removed it. Tokens are numbered: one left by a takeover that crashed (its holder gone) is passed over.
 */
async function takeOver(path: string, stale: string, body: string): Promise<boolean> {
  const id = createHash('sha256').update(stale).digest('hex').slice(0, 16);
  for (let n = 0; ; n++) {
    const token = `${path}.takeover-${id}-${n}`;
    if (await createExclusive(token, body)) {
      try {
        const now = await readOwner(path);
        if (now?.text !== stale) return false; // already taken over (and maybe re-acquired) by another
        await fs.rm(path, { force: true });
        return true;
      } finally {
        for (let k = 0; k <= n; k++) await fs.rm(`${path}.takeover-${id}-${k}`, { force: true });
      }
    }
    const holder = await readOwner(token);
    if (!holder) return false; // that takeover just finished
    if (!holder.owner || !ownerGone(holder.owner)) return false; // a live process is taking it over
  }
}

export async function acquireProjectLock(root: string, opts: AcquireOptions = {}): Promise<ProjectLock> {
  const path = projectLockPath(root);
  await fs.mkdir(dirname(path), { recursive: true });
  const pidStart = processStartTime(process.pid);
  const me: LockOwner & { nonce: string } = {
    pid: process.pid,
    started: new Date().toISOString(),
    host: hostname(),
    ...(pidStart ? { pidStart } : {}),
    nonce: randomBytes(8).toString('hex'),
  };
  const body = JSON.stringify(me) + '\n';
  let announced = false;
  let emptySince: number | undefined;
  for (;;) {
    if (opts.signal?.aborted) throw failure('interrupted while waiting for another rallycut process');
    if (await createExclusive(path, body)) {
      return {
        path,
        async release() {
          const current = await readOwner(path);
          if (current?.text === body) await fs.rm(path, { force: true });
        },
      };
    }
    const current = await readOwner(path);
    if (!current) continue;
    const { owner } = current;
    // A lock without a readable owner was left half-written by an older version's crash (this one never
    // writes one); give a possible writer a moment before treating it as stale.
    if (!owner) emptySince ??= Date.now();
    const stale = owner ? ownerGone(owner) : Date.now() - (emptySince ?? Date.now()) > 2000;
    if (stale) {
      if (await takeOver(path, current.text, body)) {
        if (owner) opts.onStale?.(owner);
        emptySince = undefined;
      } else {
        await sleep(Math.min(opts.pollMs ?? 100, 10)); // another process is taking it over
      }
      continue;
    }
    if (owner && !announced) {
      announced = true;
      opts.onWait?.(owner);
    }
    await sleep(opts.pollMs ?? 100);
  }
}
