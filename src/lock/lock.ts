// pipeline.lock: the git-tracked YAML record of what each stage last ran with and produced. Reading goes
// through the parse cache (an unchanged lock is not parsed again, and `yaml` is not loaded); the YAML form
// itself, writing included, is in lock-text.ts. Writes are atomic and stage by stage (see updateLock).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { dict } from '../dict.js';
import { writeFileAtomic } from '../fsutil.js';
import { LOCK_SCHEMA_VERSION, type LockEntry, type LockFile } from './types.js';
import { cachedParse, parseCacheEnabled, rememberParse } from '../parsed-cache.js';
import { cacheDirFor, LOCK_FILE } from '../project.js';

export { LOCK_SCHEMA_VERSION } from './types.js';
export type { LockEntry, LockFile, LockedOut, LockedPath } from './types.js';

export function lockPath(root: string): string {
  return join(root, LOCK_FILE);
}

export function emptyLock(): LockFile {
  return { schema: LOCK_SCHEMA_VERSION, stages: dict() };
}

async function readLockText(root: string): Promise<string | undefined> {
  try {
    return await fs.readFile(lockPath(root), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Reads and validates pipeline.lock; an empty lock when there is none. */
export async function readLock(root: string, cacheDir: string = cacheDirFor(root)): Promise<LockFile> {
  const text = await readLockText(root);
  if (text === undefined) return emptyLock();
  // The record is only ever a lock that validated, so a broken lock is always reported by the parser.
  return cachedParse<LockFile>({
    cacheDir,
    kind: 'lock',
    slot: [root],
    inputs: [text],
    parse: async () => ({ value: (await import('./text.js')).parseLock(text) }),
    revive: (record) => ({ ...(record as LockFile), stages: dict((record as LockFile).stages) }),
  });
}

// ---- updating ----

interface PendingUpdate {
  changes: Readonly<Record<string, LockEntry | null>>;
  resolve(): void;
  reject(err: unknown): void;
}
const pending = new Map<string, PendingUpdate[]>();

/**
 * Applies `changes` (stage → new entry, or null to remove) to pipeline.lock. Stages not named keep their
 * bytes. Calls for the same root are serialised, and updates queued while a write is in progress are
 * merged into the next write, so parallel stages neither lose each other's entries nor wait on one fsync each.
 */
export function updateLock(root: string, changes: Readonly<Record<string, LockEntry | null>>): Promise<void> {
  const file = lockPath(root);
  return new Promise<void>((resolve, reject) => {
    const queue = pending.get(file);
    if (queue) {
      queue.push({ changes, resolve, reject });
      return;
    }
    pending.set(file, [{ changes, resolve, reject }]);
    void drain(root, file);
  });
}

async function drain(root: string, file: string): Promise<void> {
  for (;;) {
    const batch = pending.get(file) ?? [];
    if (batch.length === 0) {
      pending.delete(file);
      return;
    }
    pending.set(file, []);
    const merged = dict<LockEntry | null>();
    for (const u of batch) Object.assign(merged, u.changes);
    try {
      await applyChanges(root, merged);
      for (const u of batch) u.resolve();
    } catch (err) {
      for (const u of batch) u.reject(err);
    }
  }
}

async function applyChanges(root: string, changes: Readonly<Record<string, LockEntry | null>>): Promise<void> {
  const text = await readLockText(root);
  const { nextLockText, parseLock } = await import('./text.js');
  const next = nextLockText(text, changes);
  if (next === text) return;
  await writeFileAtomic(lockPath(root), next, 'lock.write');
  // Record the new text now, while yaml is loaded: the next (no-op) run then reads it without parsing.
  // (Best effort: should the text not parse, the next read reports it, as it always did.)
  if (!parseCacheEnabled()) return;
  let lock: LockFile;
  try {
    lock = parseLock(next);
  } catch {
    return;
  }
  await rememberParse(cacheDirFor(root), 'lock', [root], [next], lock);
}
