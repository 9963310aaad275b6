// The stat cache: (absolute path, inode, mtime, size) → sha256, persisted in <cacheDir>/stat-cache so an
// unchanged file is never read again. A compact line format (one entry per line, the path last) loads
// 10,000 entries in a few ms. Saving merges with what is on disk, so two processes sharing a cache only
// cost each other re-reads, never wrong hashes.
import { readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fsutil.js';

// Version 2 keys on mtimeMs (a double, sub-microsecond) instead of bigint nanoseconds: number stats are
// ~25% cheaper to take, on every no-op. A version-1 file is ignored (each file is read once more).
const HEADER = 'rallycut-stat-cache 2\n';
/** Entries beyond this many are dropped on save, the ones not used by this process first. */
const MAX_ENTRIES = 500_000;

/** What the cache keys a file on, taken from a stat at once: the Stats object itself is heavy garbage. */
export interface FileStat {
  size: number;
  mtimeMs: number;
  /** Any execute bit set (recorded for outs so checkout restores it; not part of the stat-cache key). */
  exec: boolean;
  /** "size mtimeMs ino " as stored in a stat-cache line after the sha256 */
  key: string;
}

export function fileStat(st: Stats): FileStat {
  return { size: st.size, mtimeMs: st.mtimeMs, exec: (st.mode & 0o111) !== 0, key: `${st.size} ${st.mtimeMs} ${st.ino} ` };
}

/**
 * A file whose mtime is this close to the moment it was read may still be written in the same clock tick
 * without its mtime changing ("racily clean", as git calls it). Such hashes are not remembered.
 * Whole-second mtimes (FAT, HFS+, some network filesystems) get a 2 s window.
 */
export function isRacy(mtimeMs: number, readStartMs: number): boolean {
  const window = mtimeMs % 1000 === 0 ? 2000 : 50;
  return readStartMs - mtimeMs < window;
}

/**
 * Indexes the lines of a stat-cache text: path → offset of its line. Lines are parsed no further until
 * looked up, so loading costs one slice and one map insert per entry.
 * Line: <sha256:64> <size> <mtimeMs> <ino> <path>
 */
function indexLines(text: string, into: Map<string, number>): void {
  if (!text.startsWith(HEADER)) return; // unknown or old format: start empty
  let pos = HEADER.length;
  const len = text.length;
  while (pos < len) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    const b = text.indexOf(' ', pos + 65);
    const c = b < 0 ? -1 : text.indexOf(' ', b + 1);
    const d = c < 0 ? -1 : text.indexOf(' ', c + 1);
    if (text.charCodeAt(pos + 64) === 32 && d > 0 && d < end) into.set(text.slice(d + 1, end), pos);
    pos = end + 1;
  }
}

export class StatCache {
  /** The text loaded from disk and its index; entries learned in this process live in `fresh`. */
  private text = '';
  private readonly index = new Map<string, number>();
  private readonly fresh = new Map<string, string>(); // path → full line without the newline
  private readonly dropped = new Set<string>();
  private dirty = false;

  private constructor(readonly file: string) {}

  static load(cacheDir: string): StatCache {
    const cache = new StatCache(join(cacheDir, 'stat-cache'));
    try {
      cache.text = readFileSync(cache.file, 'utf8');
      indexLines(cache.text, cache.index);
    } catch {
      // Missing or unreadable: an empty cache only costs re-reads.
    }
    return cache;
  }

  get size(): number {
    let n = this.fresh.size;
    for (const k of this.index.keys()) if (!this.fresh.has(k) && !this.dropped.has(k)) n++;
    return n;
  }

  /** The remembered sha256 when path's stat still matches, else undefined. */
  lookup(path: string, st: FileStat): string | undefined {
    const line = this.fresh.get(path);
    if (line !== undefined) return line.startsWith(st.key, 65) ? line.slice(0, 64) : undefined;
    if (this.dropped.has(path)) return undefined;
    const off = this.index.get(path);
    if (off === undefined || !this.text.startsWith(st.key, off + 65)) return undefined;
    return this.text.slice(off, off + 64);
  }

  /** Remembers a hash computed from a read that started at readStartMs (Date.now(); see isRacy). */
  record(path: string, st: FileStat, sha256: string, readStartMs: number): void {
    if (path.includes('\n') || isRacy(st.mtimeMs, readStartMs)) {
      this.forget(path);
      return;
    }
    this.fresh.set(path, `${sha256} ${st.key}${path}`);
    this.dirty = true;
  }

  forget(path: string): void {
    this.fresh.delete(path);
    if (this.index.has(path)) this.dropped.add(path);
    this.dirty = true;
  }

  /** Writes atomically, merged with entries another process saved meanwhile. No-op when nothing changed. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    let disk = '';
    const diskIndex = new Map<string, number>();
    try {
      disk = readFileSync(this.file, 'utf8');
      indexLines(disk, diskIndex);
    } catch {
      // Nothing on disk yet.
    }
    const parts: string[] = [HEADER];
    let count = 0;
    for (const line of this.fresh.values()) {
      parts.push(line, '\n');
      count++;
    }
    for (const [path, off] of diskIndex) {
      if (count >= MAX_ENTRIES) break;
      if (this.fresh.has(path) || this.dropped.has(path)) continue;
      const end = disk.indexOf('\n', off);
      parts.push(disk.slice(off, end < 0 ? disk.length : end), '\n');
      count++;
    }
    await writeFileAtomic(this.file, parts.join(''));
    this.dirty = false;
  }
}
