// The stat cache: (absolute path, inode, mtime ns, size) → sha256, persisted in <cacheDir>/stat-cache so an
// unchanged file is never read again. A compact line format (one entry per line, the path last) loads
// 10,000 entries in a few ms. Saving merges with what is on disk, so two processes sharing a cache only
// cost each other re-reads, never wrong hashes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fsutil.js';

const HEADER = 'rallycut-stat-cache 1\n';
/** Entries beyond this many are dropped on save, the ones not used by this process first. */
const MAX_ENTRIES = 500_000;

export interface StatKey {
  ino: bigint;
  mtimeNs: bigint;
  size: bigint;
}

interface Entry {
  sha256: string;
  size: string;
  mtimeNs: string;
  ino: string;
}

/**
 * A file whose mtime is this close to the moment it was read may still be written in the same clock tick
 * without its mtime changing ("racily clean", as git calls it). Such hashes are not remembered.
 * Whole-second mtimes (FAT, HFS+, some network filesystems) get a 2 s window.
 */
export function isRacy(mtimeNs: bigint, readStartNs: bigint): boolean {
  const window = mtimeNs % 1_000_000_000n === 0n ? 2_000_000_000n : 50_000_000n;
  return readStartNs - mtimeNs < window;
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

function parse(text: string, into: Map<string, Entry>): void {
  if (!text.startsWith(HEADER)) return; // unknown or old format: start empty
  let pos = HEADER.length;
  const len = text.length;
  while (pos < len) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    // <sha256:64> <size> <mtimeNs> <ino> <path>
    const a = pos + 65;
    const b = text.indexOf(' ', a);
    const c = text.indexOf(' ', b + 1);
    const d = text.indexOf(' ', c + 1);
    if (text.charCodeAt(pos + 64) === 32 && b > 0 && c > b && d > c && d < end) {
      into.set(text.slice(d + 1, end), {
        sha256: text.slice(pos, pos + 64),
        size: text.slice(a, b),
        mtimeNs: text.slice(b + 1, c),
        ino: text.slice(c + 1, d),
      });
    }
    pos = end + 1;
  }
}

export class StatCache {
  private readonly entries = new Map<string, Entry>();
  private readonly touched = new Set<string>();
  private dirty = false;

  private constructor(readonly file: string) {}

  static load(cacheDir: string): StatCache {
    const cache = new StatCache(join(cacheDir, 'stat-cache'));
    try {
      parse(readFileSync(cache.file, 'utf8'), cache.entries);
    } catch {
      // Missing or unreadable: an empty cache only costs re-reads.
    }
    return cache;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The remembered sha256 when path's stat still matches, else undefined. */
  lookup(path: string, st: StatKey): string | undefined {
    const e = this.entries.get(path);
    if (!e) return undefined;
    if (e.size !== String(st.size) || e.mtimeNs !== String(st.mtimeNs) || e.ino !== String(st.ino)) return undefined;
    this.touched.add(path);
    return e.sha256;
  }

  /** Remembers a hash computed from a read that started at readStartNs (see isRacy). */
  record(path: string, st: StatKey, sha256: string, readStartNs: bigint): void {
    if (path.includes('\n') || isRacy(st.mtimeNs, readStartNs)) {
      if (this.entries.delete(path)) this.dirty = true;
      return;
    }
    this.entries.set(path, { sha256, size: String(st.size), mtimeNs: String(st.mtimeNs), ino: String(st.ino) });
    this.touched.add(path);
    this.dirty = true;
  }

  forget(path: string): void {
    if (this.entries.delete(path)) this.dirty = true;
  }

  /** Writes atomically, merged with entries another process saved meanwhile. No-op when nothing changed. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const merged = new Map<string, Entry>();
    try {
      parse(readFileSync(this.file, 'utf8'), merged);
    } catch {
      // Nothing on disk yet.
    }
    for (const [k, v] of this.entries) merged.set(k, v);
    let keys = [...merged.keys()];
    if (keys.length > MAX_ENTRIES) {
      keys = [...keys.filter((k) => this.touched.has(k)), ...keys.filter((k) => !this.touched.has(k))].slice(0, MAX_ENTRIES);
    }
    const parts: string[] = [HEADER];
    for (const k of keys) {
      const e = merged.get(k)!;
      parts.push(`${e.sha256} ${e.size} ${e.mtimeNs} ${e.ino} ${k}\n`);
    }
    await writeFileAtomic(this.file, parts.join(''));
    this.dirty = false;
  }
}
