// Atomic file writes: data goes to a temp file beside the target, is fsynced, then renamed into place,
// so no reader ever sees a partial file under its final name.
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, basename, join, relative, resolve, isAbsolute, sep } from 'node:path';
import { crashPoint, faultPoint } from './crash.js';
import { failure } from './diagnostics.js';

export const TMP_PREFIX = '.rallycut-tmp-';

export function tempPathFor(target: string): string {
  return join(dirname(target), `${TMP_PREFIX}${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}`);
}

/** `crashAt` names a crash point hit between the synced temp file and the rename (see src/crash.ts). */
export async function writeFileAtomic(target: string, data: string | Uint8Array, crashAt?: string): Promise<void> {
  await fs.mkdir(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      faultPoint('fs.write');
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    // A failed write (a full disk most often) must not leave its partial temp file taking space.
    await fs.rm(tmp, { force: true });
    throw diskFullError(err, target);
  }
  crashPoint('fs.atomic-rename');
  if (crashAt) crashPoint(crashAt);
  try {
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * A full disk or quota as one clear failure naming the file (Node's own ENOSPC names no path); any other
 * error is returned unchanged. `doing` says what was being written, e.g. "caching 'a.txt' into .cache".
 */
export function diskFullError(err: unknown, file: string, doing = `writing ${file}`): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
  return failure(`disk full: no space left on the device while ${doing}; nothing under that name was changed. Free some space and rerun`, {
    file,
    notes: [`code: ${code}`],
  });
}

/** Whether an error (raw or already made into a diagnostic by diskFullError) means the disk is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || (err instanceof Error && err.message.startsWith('disk full: '));
}

/**
 * Creates `target` holding `data`, only if no file has that name: written to a temp file, then linked into
 * place (link() fails when the name exists), so the file is never seen empty or half-written. False when it
 * exists.
 */
export async function createExclusive(target: string, data: string, mode = 0o666): Promise<boolean> {
  const tmp = tempPathFor(target);
  try {
    await fs.writeFile(tmp, data, { mode });
    await fs.link(tmp, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A filesystem without hard links (FAT, some network mounts): still exclusive, but briefly empty.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') return createExclusiveInPlace(target, data, mode);
    throw diskFullError(err, target);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

async function createExclusiveInPlace(target: string, data: string, mode: number): Promise<boolean> {
  let handle;
  try {
    handle = await fs.open(target, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
  return true;
}

/** Moves a finished temp file into place (same filesystem); the caller wrote and synced it. */
export async function commitTemp(tmp: string, target: string): Promise<void> {
  await fs.mkdir(dirname(target), { recursive: true });
  await fs.rename(tmp, target);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Hardlinks src to dest when possible, otherwise copies; never a symlink, so editing dest cannot corrupt src. */
export async function linkOrCopy(src: string, dest: string): Promise<'link' | 'copy'> {
  await fs.mkdir(dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  try {
    await fs.link(src, tmp);
    await fs.rename(tmp, dest);
    return 'link';
  } catch {
    await fs.rm(tmp, { force: true });
    await fs.copyFile(src, tmp);
    await fs.rename(tmp, dest);
    return 'copy';
  }
}

/** True when `child` (resolved against root) stays inside root. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(resolve(root), resolve(root, child));
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/**
 * `~` and `~/x` as the shell would expand them (HOME, else the account's home): a path set in a config file
 * or a quoted variable reaches us unexpanded. `~user` is left alone.
 */
export function expandHome(path: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  return join(env.HOME || homedir(), path.slice(1));
}

export function toPosix(path: string): string {
  return path.split(sep).join('/');
}
