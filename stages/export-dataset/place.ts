// Putting a located video file into the dataset's videos/ folder (hardlink, copy or symlink), keeping a
// hardlink in the content cache, and removing the files of videos no longer in the dataset.
import { promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { linkOrCopy, tempPathFor } from '../../src/handler.js';
import { isFile, type FoundVideo } from './locate.js';

export type LinkMode = 'link' | 'copy' | 'symlink';

async function sameInode(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fs.stat(a).catch(() => null), fs.stat(b).catch(() => null)]);
  return !!sa && !!sb && sa.dev === sb.dev && sa.ino === sb.ino;
}

/** The file at `dest`, as a hardlink (or a copy where links fail), a copy or a symlink; atomic. */
export async function placeVideo(found: FoundVideo, dest: string, mode: LinkMode): Promise<void> {
  if (await sameInode(found.path, dest)) return;
  if (mode === 'link') {
    await linkOrCopy(found.path, dest);
    return;
  }
  await fs.mkdir(dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  if (mode === 'copy') await fs.copyFile(found.path, tmp);
  else await fs.symlink(resolve(found.path), tmp);
  await fs.rename(tmp, dest);
}

/** A hardlink in the content cache, so later exports find a file from --videos-dir without it. */
export async function keepInContentCache(found: FoundVideo, cached: string): Promise<void> {
  if (found.source !== 'videos-dir' || (await isFile(cached))) return;
  await fs.mkdir(dirname(cached), { recursive: true });
  await fs.link(found.path, cached).catch(() => undefined);
}

/** Removes the files in videos/ not named in `keep` (they would otherwise be trained on by mistake); returns how many. */
export async function removeStaleVideos(videosDir: string, keep: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  const entries = await fs.readdir(videosDir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!keep.has(e.name) && (e.isFile() || e.isSymbolicLink())) {
      await fs.rm(join(videosDir, e.name), { force: true });
      removed++;
    }
  }
  return removed;
}
