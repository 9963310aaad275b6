// Atomic file writes: data goes to a temp file beside the target, is fsynced, then renamed into place,
// so no reader ever sees a partial file under its final name.
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import { dirname, basename, join, relative, resolve, isAbsolute, sep } from 'node:path';
import { crashPoint } from './crash.js';

export const TMP_PREFIX = '.rallycut-tmp-';

export function tempPathFor(target: string): string {
  return join(dirname(target), `${TMP_PREFIX}${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}`);
}

/** `crashAt` names a crash point hit between the synced temp file and the rename (see src/crash.ts). */
export async function writeFileAtomic(target: string, data: string | Uint8Array, crashAt?: string): Promise<void> {
  await fs.mkdir(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
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

export function toPosix(path: string): string {
  return path.split(sep).join('/');
}
