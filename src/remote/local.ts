// A remote that is a plain folder (another disk, a NAS mount, or the embedded default). Same key layout as
// S3. Writes go to a temp file inside the folder and are renamed into place, so a listing never shows a
// half-written object and a killed transfer leaves only a temp file, which listings skip and, after an hour
// untouched, remove.
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isStaleTemp, STALE_TEMP_MS } from '../cache/temps.js';
import { crashPoint } from '../crash.js';
import { failure } from '../diagnostics.js';
import { TMP_PREFIX, commitTemp, tempPathFor, writeFileAtomic } from '../fsutil.js';
import type { PutOptions, Remote, RemoteObject, TransferOptions } from './remote.js';

/** Rejects keys that could escape the remote's folder or are not '/'-separated relative paths. */
export function checkKey(key: string): void {
  const parts = key.split('/');
  if (key === '' || key.startsWith('/') || key.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw failure(`invalid remote key '${key}'`, { subject: key });
  }
}

/** Counts bytes flowing through a stream and reports the running total. */
export function byteCounter(onProgress?: (bytes: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      onProgress?.(total);
      cb(null, chunk);
    },
  });
}

/**
 * A killed transfer leaves its temp file in the remote's folder. Nothing else ever visits that folder, so
 * listings (every push and pull starts with one) remove temps untouched for an hour. By age only: the
 * folder may be a mount shared with other hosts, whose pids mean nothing here. Best effort (read-only
 * remotes stay readable).
 */
async function removeIfStale(path: string): Promise<void> {
  const st = await fs.stat(path).catch(() => undefined);
  if (st && isStaleTemp(basename(path), st.mtimeMs, STALE_TEMP_MS, false)) await fs.rm(path, { force: true }).catch(() => undefined);
}

export class LocalRemote implements Remote {
  readonly description: string;
  constructor(readonly root: string) {
    this.description = `folder ${root}`;
  }

  private pathOf(key: string): string {
    checkKey(key);
    return join(this.root, ...key.split('/'));
  }

  async *list(prefix: string): AsyncIterable<RemoteObject> {
    // The prefix is a plain string prefix, as in S3; walk from the deepest folder it fully names.
    const lastSlash = prefix.lastIndexOf('/');
    const baseKey = lastSlash >= 0 ? prefix.slice(0, lastSlash) : '';
    const base = baseKey ? join(this.root, ...baseKey.split('/')) : this.root;
    const found: RemoteObject[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith(TMP_PREFIX)) {
          if (e.isFile()) await removeIfStale(join(dir, e.name));
          continue;
        }
        const key = keyPrefix + e.name;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(key + '/')) await walk(join(dir, e.name), key + '/');
        } else if (e.isFile() && key.startsWith(prefix)) {
          const st = await fs.stat(join(dir, e.name));
          found.push({ key, size: st.size });
        }
      }
    };
    await walk(base, baseKey ? baseKey + '/' : '');
    // Sorted like S3's listing (byte order of keys), so callers see the same order on both remotes.
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* found;
  }

  async putFile(key: string, file: string, opts: PutOptions = {}): Promise<void> {
    const dest = this.pathOf(key);
    await fs.mkdir(dirname(dest), { recursive: true });
    const tmp = tempPathFor(dest);
    try {
      await pipeline(createReadStream(file), byteCounter(opts.onProgress), createWriteStream(tmp), { signal: opts.signal });
      crashPoint('remote.upload');
      await commitTemp(tmp, dest);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  async putBytes(key: string, data: Uint8Array | string, opts: PutOptions = {}): Promise<void> {
    await writeFileAtomic(this.pathOf(key), data);
    opts.onProgress?.(typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength);
  }

  async getFile(key: string, dest: string, opts: TransferOptions = {}): Promise<void> {
    const src = this.pathOf(key);
    await fs.mkdir(dirname(dest), { recursive: true });
    const tmp = tempPathFor(dest);
    try {
      await pipeline(createReadStream(src), byteCounter(opts.onProgress), createWriteStream(tmp), { signal: opts.signal });
      crashPoint('remote.download-rename');
      await commitTemp(tmp, dest);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw failure(`no object '${key}' in ${this.description}`, { subject: key });
      throw err;
    }
  }

  async getBytes(key: string): Promise<Buffer | null> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) await fs.rm(this.pathOf(key), { force: true });
  }
}
