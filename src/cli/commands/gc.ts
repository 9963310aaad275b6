// `rallycut gc`: removes cache objects nothing refers to. Kept: every sha256 in pipeline.lock, and every
// sha256 mentioned in a file under <cacheDir>/runs/ (run-cache records) or <cacheDir>/exps/ (experiments),
// plus the files listed by any kept folder object. Scanning those records as text for 64-hex strings keeps
// gc independent of their exact formats (a stray match only keeps an object, never drops one). Objects a
// running repro elsewhere has stored but not yet locked are pinned (cache/pins.ts) and kept too.
import { existsSync, promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ObjectCache, type StoredObject } from '../../cache/objects.js';
import { findStaleTemps, STALE_TEMP_MS, type TempFolder } from '../../cache/temps.js';
import { otherWorkspaces } from '../../cache/workspaces.js';
import { livePins } from '../../cache/pins.js';
import { isInside } from '../../fsutil.js';
import { readLock } from '../../lock/lock.js';
import type { LockFile } from '../../lock/types.js';
import { acquireProjectLock, waitingMessage } from '../../exec/projectlock.js';
import { cacheDirFor, requireProjectRoot } from '../../project.js';
import { formatNumber } from '../../format/printer.js';
import { optBool, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';

const SHA_GLOBAL = /[0-9a-f]{64}/g;
const RECORD_MAX_BYTES = 64 * 1024 * 1024;

async function scanRecords(dir: string, into: Set<string>): Promise<number> {
  let files = 0;
  const visit = async (d: string): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.isFile()) {
        const st = await fs.stat(p);
        if (st.size > RECORD_MAX_BYTES) continue;
        files++;
        for (const m of (await fs.readFile(p, 'utf8')).matchAll(SHA_GLOBAL)) into.add(m[0]);
      }
    }
  };
  await visit(dir);
  return files;
}

export interface GcResult {
  kept: number;
  removed: { sha256: string; isDir: boolean; size: number }[];
  removedBytes: number;
  staleTemps: number;
  /** workspaces: other project roots sharing this cache whose pipeline.lock was honoured. */
  sources: { lockStages: number; runRecords: number; expRecords: number; workspaces: number };
}

export interface GcOptions {
  dry: boolean;
  /** Also delete the run-cache records, so objects only they kept are removed too. */
  dropRunCache?: boolean;
}

/** Where interrupted writes can leave temp files: the cache, and beside (or inside, for folders) each out. */
function tempFolders(root: string, lock: LockFile, cacheDir: string): TempFolder[] {
  // A cache outside the project (RALLYCUT_CACHE_DIR) may be shared with other hosts: judged by age only.
  const folders: TempFolder[] = [{ dir: cacheDir, deep: true, localWriters: isInside(root, resolve(cacheDir)) }];
  for (const entry of Object.values(lock.stages)) {
    for (const out of entry.outs) {
      const abs = resolve(root, out.path);
      if (!isInside(root, abs)) continue; // a hand-edited lock never sends gc outside the project
      folders.push({ dir: dirname(abs), deep: false, localWriters: true });
      if (out.nfiles !== undefined) folders.push({ dir: abs, deep: true, localWriters: true });
    }
  }
  return folders;
}

export async function collectGarbage(root: string, lock: LockFile, cacheDir: string, opts: GcOptions): Promise<GcResult> {
  const { dry } = opts;
  const objects = new ObjectCache(cacheDir);
  const referenced = new Set<string>();
  const keepLocked = (l: LockFile): void => {
    for (const entry of Object.values(l.stages)) for (const p of [...entry.outs, ...entry.deps]) referenced.add(p.sha256);
  };
  keepLocked(lock);
  // Order matters for runs elsewhere sharing the cache, which pin, store, lock, then unpin: listed objects
  // first, then pins (a run pins before it stores), then locks and records (a run locks before it unpins).
  const all = await objects.list();
  for (const h of await livePins(cacheDir, dry)) referenced.add(h);
  // Other workspaces sharing this cache: their locks are honoured; a workspace that is gone is forgotten.
  let workspaces = 0;
  for (const w of await otherWorkspaces(cacheDir, root)) {
    if (!w.present) {
      if (!dry && !existsSync(w.root)) await fs.rm(w.entry, { force: true });
      continue;
    }
    keepLocked(await readLock(w.root)); // a broken lock stops gc (positioned error) rather than dropping its objects
    workspaces++;
  }
  const runsDir = join(cacheDir, 'runs');
  const runRecords = opts.dropRunCache ? 0 : await scanRecords(runsDir, referenced);
  if (opts.dropRunCache && !dry) await fs.rm(runsDir, { recursive: true, force: true });
  const expRecords = await scanRecords(join(cacheDir, 'exps'), referenced);

  // A kept folder keeps its files (a damaged manifest keeps nothing extra; doctor reports it). Every
  // referenced hash is looked up, not only the folders listed above: a run elsewhere may have stored its
  // manifest after the listing, then locked it and released its pins, while its files were listed.
  for (const h of [...referenced]) {
    if (!existsSync(objects.dirObjectPath(h))) continue;
    try {
      for (const e of await objects.readManifest(h)) referenced.add(e.sha256);
    } catch {
      // reported by doctor
    }
  }
  let doomed: StoredObject[] = all.filter((o) => !referenced.has(o.sha256));
  const temps = await findStaleTemps(tempFolders(root, lock, cacheDir), STALE_TEMP_MS);
  if (!dry) {
    // Once more just before deleting: a run may have pinned an object it found present meanwhile.
    const late = await livePins(cacheDir, true);
    doomed = doomed.filter((o) => !late.has(o.sha256));
    for (const o of doomed) await objects.remove(o);
    for (const t of temps) await fs.rm(t, { force: true });
  }
  return {
    kept: all.length - doomed.length,
    removed: doomed.map((o) => ({ sha256: o.sha256, isDir: o.isDir, size: o.size })),
    removedBytes: doomed.reduce((s, o) => s + o.size, 0),
    staleTemps: temps.length,
    sources: { lockStages: Object.keys(lock.stages).length, runRecords, expRecords, workspaces },
  };
}

function mib(bytes: number): string {
  return `${formatNumber(Math.round((bytes / 1048576) * 10) / 10)} MiB`;
}

export function gcCommand(): CommandSpec {
  return {
    path: ['gc'],
    summary: 'Remove cache objects not referenced by pipeline.lock, the run-cache or experiments',
    description:
      'Keeps every object named in pipeline.lock, in records under the cache folder (runs/, exps/) and in the\n' +
      'pipeline.lock of every other workspace that ran repro with this cache (RALLYCUT_CACHE_DIR shared).\n' +
      'Also removes temp files left by interrupted writes (in the cache, and beside or inside outs).',
    options: [
      { name: 'dry', type: 'boolean', description: 'Only list what would be removed' },
      { name: 'drop-run-cache', type: 'boolean', description: 'Also delete run-cache records (stages then rerun instead of restoring old results)' },
      { name: 'json', type: 'boolean', description: 'Print a machine-readable result on stdout' },
    ],
    async run(args: ParsedArgs, io: CommandIO) {
      const root = requireProjectRoot(io.cwd);
      const dry = optBool(args, 'dry');
      // Wait for a running repro: objects it just stored are not yet in the lock.
      const projectLock = await acquireProjectLock(root, {
        signal: io.signal,
        onWait: (o) => io.err(waitingMessage(o)),
      });
      let result: GcResult;
      try {
        result = await collectGarbage(root, await readLock(root), cacheDirFor(root, io.env), { dry, dropRunCache: optBool(args, 'drop-run-cache') });
      } finally {
        await projectLock.release();
      }
      if (optBool(args, 'json')) {
        io.out(JSON.stringify({ dry, ...result }, null, 2) + '\n');
        return;
      }
      if (dry) for (const o of result.removed) io.out(`would remove ${o.sha256}${o.isDir ? '.dir' : ''} (${o.size} B)\n`);
      const verb = dry ? 'Would remove' : 'Removed';
      io.out(
        `${verb} ${result.removed.length} object(s), ${mib(result.removedBytes)}; kept ${result.kept}` +
          ` (referenced by ${result.sources.lockStages} locked stage(s), ${result.sources.runRecords} run record(s), ${result.sources.expRecords} experiment record(s)` +
          `${result.sources.workspaces ? `, the locks of ${result.sources.workspaces} other workspace(s) sharing this cache` : ''})` +
          `${result.staleTemps ? `; ${dry ? 'would remove' : 'removed'} ${result.staleTemps} stale temp file(s)` : ''}\n`,
      );
    },
  };
}
