// Temp files left by interrupted writes (`.rallycut-tmp-<name>.<pid>.<hex>`, see fsutil.tempPathFor). Never
// under a final name, but they take space: gc removes those over an hour old and, where only this host
// writes (the project folder, its own .cache), those whose writer pid is gone. A cache outside the project
// may be shared with other hosts, whose pids mean nothing here: there only the age counts.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../process.js';
import { TMP_PREFIX } from '../fsutil.js';

/** Interrupted writes leave temp files; ones untouched this long belong to no running process. */
export const STALE_TEMP_MS = 60 * 60 * 1000;
const WRITER_PID = /\.(\d+)\.[0-9a-f]{8}$/;
const SKIPPED_FOLDERS = new Set(['.git', 'node_modules']);

/** Whether a temp file's writer is certainly done with it (`localWriters`: only this host writes there). */
export function isStaleTemp(name: string, mtimeMs: number, maxAgeMs: number, localWriters: boolean, now = Date.now()): boolean {
  if (now - mtimeMs > maxAgeMs) return true;
  if (!localWriters) return false;
  const pid = WRITER_PID.exec(name)?.[1];
  return pid !== undefined && Number(pid) !== process.pid && !processAlive(Number(pid));
}

export interface TempFolder {
  dir: string;
  /** Also look in sub-folders. */
  deep: boolean;
  /** Only processes of this host write here, so a writer's pid can be checked. */
  localWriters: boolean;
}

/** Stale temp files under each folder, each path listed once. */
export async function findStaleTemps(folders: readonly TempFolder[], maxAgeMs: number): Promise<string[]> {
  const found = new Set<string>();
  const visited = new Set<string>();
  const visit = async (dir: string, deep: boolean, localWriters: boolean): Promise<void> => {
    const key = `${dir}\0${deep}`;
    if (visited.has(key)) return;
    visited.add(key);
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (deep && !SKIPPED_FOLDERS.has(e.name)) await visit(path, true, localWriters);
      } else if (e.isFile() && e.name.startsWith(TMP_PREFIX)) {
        const st = await fs.stat(path).catch(() => undefined);
        if (st && isStaleTemp(e.name, st.mtimeMs, maxAgeMs, localWriters)) found.add(path);
      }
    }
  };
  for (const f of folders) await visit(f.dir, f.deep, f.localWriters);
  return [...found].sort();
}
