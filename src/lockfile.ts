// A lock file owned by one process: written whole and linked into place (link() fails when the name exists,
// so it is created exclusively and never seen empty), holding the owner's pid, host, process start time and a
// nonce. A second process waits for it instead of failing; a lock whose process is gone (a killed run) is
// taken over, also when its pid was since reused by another process (told apart by the kernel's start time
// of the pid). A lock from another host is never judged: it waits.
//
// Taking over is atomic: of all the processes that find the same stale lock, only the one that creates its
// takeover token (exclusively, named after the stale content) removes it, after checking that it is still
// there. Since every lock's text is unique, a token created late finds that text gone and removes nothing.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { failure } from './diagnostics.js';
import { pausePoint } from './crash.js';
import { createExclusive } from './fsutil.js';
import { currentOwner, ownerGone, parseProcessOwner } from './process.js';
import { sleep } from './sleep.js';

export interface LockOwner {
  pid: number;
  started: string;
  /** The owner's host name; absent in locks written by older versions. */
  host?: string;
  /** The kernel's start time of the owner's pid (Linux /proc), to detect a reused pid. */
  pidStart?: string;
}

export interface FileLock {
  readonly path: string;
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Called once when the lock is busy, before waiting. */
  onWait?(owner: LockOwner): void;
  /** Called after every check that found the lock held (by a live owner or a half-written one), before the pause. */
  onBusy?(): void;
  /** Called when a stale lock is taken over. */
  onStale?(owner: LockOwner): void;
  signal?: AbortSignal;
  pollMs?: number;
}

async function readOwner(path: string): Promise<{ owner: LockOwner | undefined; text: string } | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch {
    return undefined; // released between our create attempt and the read
  }
  return { owner: parseOwner(text), text };
}

/** The owner a lock names; a bare pid is the format of older embedded-database locks. */
function parseOwner(text: string): LockOwner | undefined {
  if (/^\d+$/.test(text.trim())) return Number(text) > 0 ? { pid: Number(text), started: '' } : undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const owner = parseProcessOwner(parsed);
  return owner && { ...owner, started: String((parsed as { started?: unknown }).started ?? '') };
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
    // Tokens are written whole, so one naming no owner is damage, not a writer at work: passed over too.
    if (holder.owner && !ownerGone(holder.owner)) return false; // a live process is taking it over
  }
}

/** Takes the lock file at `path` (its folder must exist): waits while a live process holds it, takes over a dead one's. */
export function acquireLockFile(path: string, opts: AcquireOptions = {}): Promise<FileLock> {
  return takeLockFile(path, opts, false);
}

/**
 * Takes the lock file at `path` as acquireLockFile does (a dead owner's is taken over, atomically), but
 * instead of waiting while a live process holds it, returns that owner.
 */
export function tryLockFile(path: string, opts: Pick<AcquireOptions, 'onStale' | 'signal'> = {}): Promise<FileLock | LockOwner> {
  return takeLockFile(path, opts, true);
}

function takeLockFile(path: string, opts: AcquireOptions, giveUp: false): Promise<FileLock>;
function takeLockFile(path: string, opts: AcquireOptions, giveUp: true): Promise<FileLock | LockOwner>;
async function takeLockFile(path: string, opts: AcquireOptions, giveUp: boolean): Promise<FileLock | LockOwner> {
  const me: LockOwner & { nonce: string } = { ...currentOwner(), started: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
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
      await pausePoint('lockfile.stale'); // tests: another process takes the same stale lock over meanwhile
      if (await takeOver(path, current.text, body)) {
        if (owner) opts.onStale?.(owner);
        emptySince = undefined;
      } else {
        await sleep(Math.min(opts.pollMs ?? 100, 10)); // another process is taking it over
      }
      continue;
    }
    if (owner && giveUp) return owner;
    if (owner && !announced) {
      announced = true;
      opts.onWait?.(owner);
    }
    opts.onBusy?.();
    await sleep(opts.pollMs ?? 100);
  }
}
