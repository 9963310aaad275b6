// Content hashes of project paths: files by streamed sha256, folders by their sorted manifest (manifest.ts).
// Unchanged files are answered from the stat cache without being read; the rest are hashed together on a
// worker pool (file-hash.ts), with a progress bar when there is real work.
import { statSync, type Stats } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { failure } from '../diagnostics.js';
import { toPosix } from '../fsutil.js';
import { createProgress, type Progress } from '../format/progress.js';
import { Digester, type DigestResult } from './file-hash.js';
import { manifestText, rememberManifest, sha256Text, walkFiles, type ManifestEntry } from './manifest.js';
import { fileStat, StatCache, type FileStat } from './stat-cache.js';

export { hashCounters, digestFiles, digestFileSync, Digester } from './file-hash.js';
export type { DigestResult, FileDigest, HashJob } from './file-hash.js';
export { manifestText, parseManifest, recentManifest, sha256Text, type ManifestEntry } from './manifest.js';

export interface PathHash {
  path: string; // as asked for (posix, relative to the root)
  sha256: string;
  size: number; // bytes; the sum over files for a folder
  nfiles?: number; // folders only
  isDir: boolean;
  /** Files only: an execute bit is set. */
  isexec?: true;
}

/** Show a progress bar only when at least this much must actually be read. */
const PROGRESS_MIN_BYTES = 50 * 1024 * 1024;
const PROGRESS_AFTER_MS = 1000;

interface FileTask {
  abs: string;
  stat: FileStat;
  sha256: string | undefined; // known from the stat cache, or once read
}

interface PathPlan {
  rel: string;
  kind: 'missing' | 'file' | 'dir';
  files: { rel: string; task: FileTask }[];
}

/** A path under a file ('a.txt/x') is as missing as one that does not exist. */
function statOrMissing(abs: string): Stats | undefined {
  try {
    return statSync(abs, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

export class Hasher {
  private readonly planned = new Map<string, FileTask>();

  private constructor(
    readonly root: string,
    private readonly stats: StatCache,
  ) {}

  static async open(root: string, cacheDir: string): Promise<Hasher> {
    return new Hasher(resolve(root), StatCache.load(cacheDir));
  }

  async hashPath(relPath: string): Promise<PathHash | null> {
    return (await this.hashPaths([relPath])).get(relPath) ?? null;
  }

  /** Hashes all paths in one pass so their unread files share the worker pool. null = missing. */
  async hashPaths(relPaths: readonly string[], progressLabel = 'hashing'): Promise<Map<string, PathHash | null>> {
    const started = Date.now(); // before any read: see isRacy
    let progress: Progress | undefined;
    let done = 0;
    // Unread files go to the digester while walking; large work starts hashing before the walk ends.
    const digester = new Digester((n) => {
      done += n;
      // A bar for large work, and for small work that turns out slow (a network filesystem, a busy disk).
      if (!progress && (digester.totalBytes >= PROGRESS_MIN_BYTES || Date.now() - started > PROGRESS_AFTER_MS)) {
        progress = createProgress(progressLabel, digester.totalBytes, 'B');
      }
      progress?.update(done);
    });
    const tasks: FileTask[] = [];
    const plans: PathPlan[] = [];
    this.planned.clear();
    try {
      for (const rel of new Set(relPaths)) plans.push(this.plan(rel, digester, tasks));
    } finally {
      this.planned.clear();
    }
    if (tasks.length) {
      const digests = await digester.finish();
      progress?.done();
      this.absorb(digests, tasks, started);
    }

    const result = new Map<string, PathHash | null>();
    for (const plan of plans) {
      if (plan.kind === 'missing') {
        result.set(plan.rel, null);
      } else if (plan.kind === 'file') {
        const t = plan.files[0]!.task;
        result.set(plan.rel, { path: plan.rel, sha256: t.sha256!, size: t.stat.size, isDir: false, ...(t.stat.exec ? { isexec: true as const } : {}) });
      } else {
        const entries: ManifestEntry[] = plan.files.map((f) => ({
          path: f.rel,
          sha256: f.task.sha256!,
          size: f.task.stat.size,
          ...(f.task.stat.exec ? { isexec: true as const } : {}),
        }));
        const sha256 = sha256Text(manifestText(entries));
        rememberManifest(sha256, entries);
        const size = entries.reduce((s, e) => s + e.size, 0);
        result.set(plan.rel, { path: plan.rel, sha256, size, nfiles: entries.length, isDir: true });
      }
    }
    return result;
  }

  /** Persists the stat cache atomically (no-op when nothing new was learned). */
  async save(): Promise<void> {
    await this.stats.save();
  }

  private abs(rel: string): string {
    return isAbsolute(rel) ? rel : resolve(this.root, rel);
  }

  private task(abs: string, stat: FileStat, digester: Digester, tasks: FileTask[]): FileTask {
    // A file reached twice in one call (a folder and a file inside it) is read once.
    const seen = this.planned.get(abs);
    if (seen) return seen;
    const sha256 = this.stats.lookup(abs, stat);
    const task: FileTask = { abs, stat, sha256 };
    if (!sha256) tasks[digester.add({ path: abs, size: stat.size })] = task;
    this.planned.set(abs, task);
    return task;
  }

  private plan(rel: string, digester: Digester, tasks: FileTask[]): PathPlan {
    const abs = this.abs(rel);
    const st = statOrMissing(abs);
    if (!st) return { rel, kind: 'missing', files: [] };
    if (st.isDirectory()) {
      const files = walkFiles(abs, toPosix(rel)).map((f) => ({ rel: f.rel, task: this.task(f.abs, f.stat, digester, tasks) }));
      return { rel, kind: 'dir', files };
    }
    if (!st.isFile()) throw failure(`'${toPosix(rel)}' is neither a file nor a folder`, { file: toPosix(rel) });
    return { rel, kind: 'file', files: [{ rel: '', task: this.task(abs, fileStat(st), digester, tasks) }] };
  }

  /** Takes the digests in: hashes onto their tasks, the stat cache updated; unreadable files are an error. */
  private absorb(digests: readonly DigestResult[], tasks: readonly FileTask[], startedMs: number): void {
    const errors: string[] = [];
    digests.forEach((d, i) => {
      const task = tasks[i]!;
      if ('error' in d) {
        errors.push(`${toPosix(task.abs)}: ${d.error}`);
        return;
      }
      task.sha256 = d.sha256;
      // A size mismatch means the file changed while it was read: use the hash, but do not remember it.
      if (d.size === task.stat.size) this.stats.record(task.abs, task.stat, d.sha256, startedMs);
      else this.stats.forget(task.abs);
    });
    if (errors.length) {
      throw failure(`could not hash ${errors.length} file(s)`, { notes: errors.slice(0, 20) });
    }
  }
}
