// Remembers the sha256 of video files by (device, inode, size, mtime), so re-exporting or re-pushing
// unchanged gigabytes does not read them again. Hardlinked copies share an inode and so share an entry.
// Kept in <cacheDir>/dataset/sha256.json; a lost or corrupt file only costs a re-hash.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../src/handler.js';
import { sha256File } from './hashing.js';

interface Entry {
  size: number;
  mtimeMs: number;
  sha256: string;
}

export class ShaCache {
  private entries = new Map<string, Entry>();
  private dirty = false;
  private constructor(private readonly file: string) {}

  static async open(cacheDir: string): Promise<ShaCache> {
    const cache = new ShaCache(join(cacheDir, 'dataset', 'sha256.json'));
    try {
      const data = JSON.parse(await fs.readFile(cache.file, 'utf8')) as Record<string, Entry>;
      for (const [k, v] of Object.entries(data)) if (v && typeof v.sha256 === 'string') cache.entries.set(k, v);
    } catch {
      // absent or unreadable: start empty
    }
    return cache;
  }

  /** The file's sha256 and size, from the cache when its stat is unchanged. */
  async hash(path: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
    const st = await fs.stat(path);
    const key = `${st.dev}:${st.ino}`;
    const hit = this.entries.get(key);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return { sha256: hit.sha256, size: st.size };
    const sha256 = await sha256File(path, signal);
    this.entries.set(key, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
    this.dirty = true;
    return { sha256, size: st.size };
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    const obj: Record<string, Entry> = {};
    for (const k of [...this.entries.keys()].sort()) obj[k] = this.entries.get(k)!;
    await writeFileAtomic(this.file, JSON.stringify(obj));
    this.dirty = false;
  }
}
