// The workspaces using one cache folder. With RALLYCUT_CACHE_DIR, several project checkouts can share a
// cache; each repro registers its project root here, so `gc` in one of them keeps the objects the others'
// pipeline.lock files still name instead of deleting them. Experiment workspaces are covered separately
// (their records live under <cache>/exps/).
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../fsutil.js';
import { LOCK_FILE } from '../project.js';

const FOLDER = 'workspaces';

function entryPath(cacheDir: string, root: string): string {
  return join(cacheDir, FOLDER, `${createHash('sha256').update(resolve(root)).digest('hex').slice(0, 16)}.json`);
}

/** Records root as a user of cacheDir (one small file, written once). */
export async function registerWorkspace(cacheDir: string, root: string): Promise<void> {
  const file = entryPath(cacheDir, root);
  if (existsSync(file)) return;
  await writeFileAtomic(file, JSON.stringify({ root: resolve(root) }) + '\n');
}

export interface Workspace {
  root: string;
  /** The registration file, to drop once the workspace is gone. */
  entry: string;
  /** Whether the workspace still has a pipeline.lock to honour. */
  present: boolean;
}

/** Every workspace registered in cacheDir, except `self`. */
export async function otherWorkspaces(cacheDir: string, self: string): Promise<Workspace[]> {
  const dir = join(cacheDir, FOLDER);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: Workspace[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const entry = join(dir, name);
    let root: unknown;
    try {
      root = (JSON.parse(await fs.readFile(entry, 'utf8')) as { root?: unknown }).root;
    } catch {
      continue; // unreadable: ignored, never trusted
    }
    if (typeof root !== 'string' || resolve(root) === resolve(self)) continue;
    out.push({ root, entry, present: existsSync(join(root, LOCK_FILE)) });
  }
  return out;
}
