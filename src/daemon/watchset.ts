// The project's folders, each watched for any change (fs.watch: one inotify watch per folder, which also
// reports writes to the files in it). The daemon only needs to know *that* something changed, never what:
// every event counts, nothing is debounced away or filtered by a stat (chokidar's job in watch mode).
import { readdirSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { sep } from 'node:path';

/** Folders never watched, by name: their contents are not project inputs (a dep inside one makes the daemon step aside). */
const SKIPPED_NAMES: ReadonlySet<string> = new Set(['.git', 'node_modules']);

export interface WatchSetOptions {
  readonly root: string;
  /** Absolute folders not watched either (the cache: it changes on every run). */
  readonly skippedFolders: readonly string[];
  readonly onChange: () => void;
  /** More folders than this and the daemon gives up (each is a kernel watch). */
  readonly maxFolders?: number;
}

interface FolderWatch {
  readonly watcher: FSWatcher;
  /** The folder watched: a watch follows its inode, so a folder renamed away and replaced must be re-watched. */
  readonly dev: number;
  readonly ino: number;
}

export class WatchSet {
  private readonly watchers = new Map<string, FolderWatch>();
  private readonly skippedFolders: ReadonlySet<string>;
  /** Symlinks found under the root (posix paths relative to it): what they point to is not watched. */
  symlinks: readonly string[] = [];
  /** Why watching failed; the daemon answers nothing while set. */
  broken: string | undefined;

  constructor(private readonly opts: WatchSetOptions) {
    this.skippedFolders = new Set(opts.skippedFolders);
  }

  get size(): number {
    return this.watchers.size;
  }

  /** Whether a path under the root lies in a watched folder (is not in a skipped one). */
  covers(abs: string): boolean {
    if (abs !== this.opts.root && !abs.startsWith(this.opts.root + sep)) return false;
    let dir = this.opts.root;
    for (const part of abs
      .slice(this.opts.root.length + 1)
      .split(sep)
      .filter(Boolean)) {
      dir = dir + sep + part;
      if (this.skipped(dir, part)) return false;
    }
    return true;
  }

  /**
   * Rescans the tree: watches folders created since the last scan and drops those gone. A folder's watch is
   * set before it is listed, so a file created while scanning is either listed or reported.
   */
  sync(): void {
    const found = new Set<string>();
    const symlinks: string[] = [];
    const visit = (abs: string, rel: string): void => {
      found.add(abs);
      const st = statSync(abs, { throwIfNoEntry: false });
      const known = this.watchers.get(abs);
      if (known && (!st || known.dev !== st.dev || known.ino !== st.ino)) this.drop(abs); // renamed away: this path is another folder now
      if (!this.watchers.has(abs) && !(st && this.add(abs, st))) {
        if (abs === this.opts.root) throw new Error(`cannot watch the project folder ${abs}`);
        return;
      }
      let entries;
      try {
        entries = readdirSync(abs, { withFileTypes: true });
      } catch (err) {
        if (abs === this.opts.root) throw err; // the project folder itself is gone
        return; // removed while scanning: its parent's watch has reported that
      }
      for (const e of entries) {
        const childAbs = abs + sep + e.name;
        const childRel = rel ? `${rel}/${e.name}` : e.name;
        if (e.isSymbolicLink()) symlinks.push(childRel);
        else if (e.isDirectory() && !this.skipped(childAbs, e.name)) visit(childAbs, childRel);
      }
    };
    visit(this.opts.root, '');
    for (const abs of [...this.watchers.keys()]) if (!found.has(abs)) this.drop(abs);
    this.symlinks = symlinks;
    const max = this.opts.maxFolders ?? 50_000;
    if (this.watchers.size > max) this.broken = `more than ${max} folders to watch`;
  }

  close(): void {
    for (const abs of [...this.watchers.keys()]) this.drop(abs);
  }

  private drop(abs: string): void {
    this.watchers.get(abs)?.watcher.close();
    this.watchers.delete(abs);
  }

  private skipped(abs: string, name: string): boolean {
    return SKIPPED_NAMES.has(name) || this.skippedFolders.has(abs);
  }

  private add(abs: string, st: Stats): boolean {
    try {
      const w = watch(abs, { persistent: true }, (_type, filename) => {
        // The root's own events about a skipped entry (the cache folder appearing) are not changes.
        if (typeof filename === 'string' && this.skipped(abs + sep + filename, filename)) return;
        this.opts.onChange();
      });
      w.on('error', () => {
        // The folder went away (or the watch broke): a change; the next sync forgets or re-adds it.
        if (this.watchers.get(abs)?.watcher === w) this.drop(abs);
        else w.close();
        this.opts.onChange();
      });
      this.watchers.set(abs, { watcher: w, dev: st.dev, ino: st.ino });
      return true;
    } catch (err) {
      // ENOENT/ENOTDIR: gone since it was listed, which its parent's watch has reported. Anything else
      // breaks the daemon for good (it answers nothing), so it is no change to re-check for.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC') this.broken = 'the kernel limit on watches is reached (raise fs.inotify.max_user_watches)';
      else if (code !== 'ENOENT' && code !== 'ENOTDIR') this.broken = `cannot watch ${abs}: ${(err as Error).message}`;
      return false;
    }
  }
}
