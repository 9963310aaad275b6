// export-dataset's stamp without opening the embedded database when nothing changed: opening PGlite costs
// about a second, on every no-op `repro`. The last stamp is remembered in <cacheDir>/export-dataset/ with a
// signature of the PGlite data folder (every file's path, size and mtime in ns), taken after PGlite closed
// and before its lock was released. Any write to the database changes some file there, so an unchanged
// signature means unchanged ground truth. With DATABASE_URL (a server) the query always runs.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { stableJson, writeFileAtomic } from '../../src/handler.js';

/** Bumped when the stamp's meaning changes (the ground-truth query, labelsStamp), to drop old records. */
const RECORD_VERSION = 1;

interface StampRecord {
  version: number;
  dataDir: string;
  signature: string;
  stamp: string;
}

/** sha256 over the sorted (path, size, mtimeNs) of every file under dir; null when dir does not exist. */
export function folderSignature(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const lines: string[] = [];
  const visit = (abs: string, rel: string): void => {
    for (const d of readdirSync(abs, { withFileTypes: true })) {
      const childAbs = join(abs, d.name);
      const childRel = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) visit(childAbs, childRel);
      else {
        const st = statSync(childAbs, { bigint: true, throwIfNoEntry: false });
        if (st) lines.push(`${childRel}\t${st.size}\t${st.mtimeNs}`);
      }
    }
  };
  visit(dir, '');
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex');
}

function readRecord(file: string): StampRecord | null {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as Partial<StampRecord>;
    return r.version === RECORD_VERSION && typeof r.signature === 'string' && typeof r.stamp === 'string' && typeof r.dataDir === 'string'
      ? (r as StampRecord)
      : null;
  } catch {
    return null;
  }
}

/**
 * The embedded database's stamp: the remembered one when the data folder is unchanged and no other process
 * holds it, else `compute`'s (which must call beforeUnlock on close, so the signature matches what it read).
 */
export async function embeddedStamp(cacheDir: string, compute: (beforeUnlock: (dataDir: string) => Promise<void>) => Promise<string>): Promise<string> {
  const dataDir = join(cacheDir, 'db');
  const recordFile = join(cacheDir, 'export-dataset', 'labels-stamp.json');
  // A lock means another process may be writing right now: its files are not a settled state to trust.
  const locked = existsSync(join(cacheDir, 'db.lock'));
  const record = locked ? null : readRecord(recordFile);
  if (record && record.dataDir === dataDir && record.signature === folderSignature(dataDir)) return record.stamp;
  let signature: string | null = null;
  const stamp = await compute(async (dir) => {
    signature = folderSignature(dir);
  });
  if (signature) await writeFileAtomic(recordFile, stableJson({ version: RECORD_VERSION, dataDir, signature, stamp } satisfies StampRecord));
  return stamp;
}
