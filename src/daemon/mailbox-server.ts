// The daemon's side of the mailbox (mailbox.ts has the client's): taking the folder, so that one daemon serves
// a project, and answering the request files that clients rename into it.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import { TMP_PREFIX } from '../fsutil.js';
import { tryLockFile } from '../lockfile.js';
import { PID_FILE, privateBase, REPLY, REQUEST } from './mailbox.js';

export interface Mailbox {
  close(): void;
}

/**
 * Makes this process the folder's owner: its pid file is a lock file (src/lockfile.ts), created exclusively,
 * and one a dead daemon left is taken over atomically, so of several daemons starting over a stale pid file
 * exactly one wins. Throws when a live daemon owns the folder.
 */
async function claim(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!privateBase(dir)) throw new Error(`${dirname(dir)} must be a folder of this user's that others cannot write (chmod 700 it, or set RALLYCUT_DAEMON_DIR)`);
  const got = await tryLockFile(join(dir, PID_FILE));
  if (!('release' in got)) throw new Error(`a daemon (pid ${got.pid}) already serves ${dir}`);
  // What a dead daemon left, but requests (one may already be for us: openMailbox serves them) and the files
  // of another daemon's attempt to take the folder (it will find it ours).
  for (const name of readdirSync(dir)) {
    if (name === PID_FILE || name.endsWith(REQUEST) || name.startsWith(`${PID_FILE}.`) || name.startsWith(TMP_PREFIX)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Serves `dir` until closed: each request file is read, removed and answered with `handle`'s result.
 * Throws when a live daemon owns the folder.
 */
export async function openMailbox(dir: string, handle: (request: unknown) => Promise<unknown>): Promise<Mailbox> {
  await claim(dir);
  const serve = (name: string): void => {
    if (!name.endsWith(REQUEST)) return;
    const file = join(dir, name);
    let request: unknown;
    try {
      request = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      unlinkSync(file);
    } catch {
      return; // withdrawn, or already served (a rename reports twice)
    }
    const id = name.slice(0, -REQUEST.length);
    const reply = (body: unknown): void => {
      try {
        const tmp = join(dir, id + '.reply-tmp');
        writeFileSync(tmp, JSON.stringify(body));
        renameSync(tmp, join(dir, id + REPLY));
      } catch {
        // the mailbox was closed meanwhile: the client falls back after its timeout
      }
    };
    handle(request).then(reply, (err: unknown) => reply({ kind: 'miss', reason: `the daemon failed: ${(err as Error).message}` }));
  };
  const watcher: FSWatcher = watch(dir, (_type, name) => {
    if (typeof name === 'string') serve(name);
  });
  for (const name of readdirSync(dir)) serve(name); // requests sent before the watch was set
  return {
    close() {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Removes replies nobody collected (their client timed out) older than maxAgeMs. */
export function sweepReplies(dir: string, maxAgeMs: number): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(REPLY)) continue;
    const st = statSync(join(dir, name), { throwIfNoEntry: false });
    if (st && now - st.mtimeMs > maxAgeMs) rmSync(join(dir, name), { force: true });
  }
}
