// A cache folder holds machine-local state (and sealed files only this user can vouch for, see seal.ts):
// `git add -A` must never commit it, so it ignores itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fsutil.js';

/** Writes `<cacheDir>/.gitignore` (`*`) when the folder exists without one; run after any command that may have created it. */
export async function ignoreCacheInGit(cacheDir: string): Promise<void> {
  const file = join(cacheDir, '.gitignore');
  if (!existsSync(cacheDir) || existsSync(file)) return;
  await writeFileAtomic(file, '# rallycut cache: local state, never committed\n*\n').catch(() => undefined);
}
