// Temp files left by interrupted writes (`.rallycut-tmp-<name>.<pid>.<hex>`, see fsutil.tempPathFor). Never
// under a final name, but they take space: gc removes those whose writer is gone (or that are over an hour
// old, for temps written on another host or by an older version), in the cache and beside the lock's outs.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../exec/projectlock.js';
import { TMP_PREFIX } from '../fsutil.js';

const WRITER_PID = /\.(\d+)\.[0-9a-f]{8}$/;
const SKIPPED_FOLDERS = new Set(['.git', 'node_modules']);

/** Whether a temp file's writer is certainly done with it. */
export function isStaleTemp(name: string, mtimeMs: number, maxAgeMs: number, now = Date.now()): boolean {
  if (now - mtimeMs > maxAgeMs) return true;
  const pid = WRITER_PID.exec(name)?.[1];
  return pid !== undefined && Number(pid) !== process.pid && !processAlive(Number(pid));
}

/** Stale temp files under each folder (recursively when `deep`), each path listed once. */
export async function findStaleTemps(folders: readonly { dir: string; deep: boolean }[], maxAgeMs: number): Promise<string[]> {
  const found = new Set<string>();
  const visited = new Set<string>();
  const visit = async (dir: string, deep: boolean): Promise<void> => {
    const key = `${dir}\0${deep}`;
    if (visited.has(key)) return;
    visited.add(key);
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (deep && !SKIPPED_FOLDERS.has(e.name)) await visit(path, true);
      } else if (e.isFile() && e.name.startsWith(TMP_PREFIX)) {
        const st = await fs.stat(path).catch(() => undefined);
        if (st && isStaleTemp(e.name, st.mtimeMs, maxAgeMs)) found.add(path);
      }
    }
  };
  for (const f of folders) await visit(f.dir, f.deep);
  return [...found].sort();
}
