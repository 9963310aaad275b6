// The behaviour every Remote must have, run by local.test.ts and s3.test.ts against a real folder and a
// real S3 server (s3rver). Not a test file itself: each implementation's test file calls remoteSuite().
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Remote } from './remote.js';

export interface RemoteUnderTest {
  remote: Remote;
  cleanup(): Promise<void>;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function collect(it: AsyncIterable<{ key: string; size: number }>): Promise<{ key: string; size: number }[]> {
  const out = [];
  for await (const o of it) out.push(o);
  return out;
}

async function mapLimit<T>(items: readonly T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export function remoteSuite(name: string, make: () => Promise<RemoteUnderTest>): void {
  describe(`Remote contract: ${name}`, () => {
    let r: RemoteUnderTest;
    const dir = mkdtempSync(join(tmpdir(), 'rallycut-remote-'));
    beforeAll(async () => {
      r = await make();
    });
    afterAll(async () => {
      await r?.cleanup();
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('round-trips bytes and says null for a missing key', async () => {
      await r.remote.putBytes('datasets/a/manifest.json', '{"name":"a"}\n');
      expect((await r.remote.getBytes('datasets/a/manifest.json'))?.toString()).toBe('{"name":"a"}\n');
      expect(await r.remote.getBytes('datasets/a/nothing.json')).toBeNull();
    });

    it('round-trips a file byte for byte, with progress reaching its size', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const src = join(dir, 'src.bin');
      await fs.writeFile(src, data);
      let up = 0;
      await r.remote.putFile('videos/abc.mp4', src, { storageClass: 'STANDARD_IA', onProgress: (b) => (up = b) });
      expect(up).toBe(data.length);
      let down = 0;
      const dest = join(dir, 'out', 'dest.bin');
      await r.remote.getFile('videos/abc.mp4', dest, { onProgress: (b) => (down = b) });
      expect(down).toBe(data.length);
      expect(sha(await fs.readFile(dest))).toBe(sha(data));
    });

    it('stores a large file intact (multipart on S3)', async () => {
      const data = randomBytes(21 * 1024 * 1024);
      const src = join(dir, 'big.bin');
      await fs.writeFile(src, data);
      await r.remote.putFile('videos/big.mp4', src);
      const listed = (await collect(r.remote.list('videos/big'))).map((o) => o.size);
      expect(listed).toEqual([data.length]);
      const dest = join(dir, 'big-back.bin');
      await r.remote.getFile('videos/big.mp4', dest);
      expect(sha(await fs.readFile(dest))).toBe(sha(data));
    });

    it('lists by key prefix, sorted, with sizes, across more than one page', async () => {
      // 250 keys: several pages with the small page size the S3 test sets (100), one walk for a folder.
      const keys = Array.from({ length: 250 }, (_, i) => `many/k${String(i).padStart(4, '0')}.bin`);
      await mapLimit(keys, 16, (k) => r.remote.putBytes(k, k));
      await r.remote.putBytes('manyother/x.bin', 'x');
      const listed = await collect(r.remote.list('many/'));
      expect(listed.map((o) => o.key)).toEqual(keys);
      expect(listed[0]!.size).toBe(keys[0]!.length);
      expect((await collect(r.remote.list('many/k02'))).map((o) => o.key)).toEqual(keys.slice(200, 250));
      expect(await collect(r.remote.list('nothing-here/'))).toEqual([]);
    });

    it('deletes objects', async () => {
      await r.remote.putBytes('del/a', 'a');
      await r.remote.putBytes('del/b', 'b');
      await r.remote.delete(['del/a', 'del/missing']);
      expect((await collect(r.remote.list('del/'))).map((o) => o.key)).toEqual(['del/b']);
    });

    it('refuses keys that could escape the remote', async () => {
      await expect(r.remote.putBytes('../escape', 'x')).rejects.toThrow(/invalid remote key '\.\.\/escape'/);
      await expect(r.remote.getBytes('a//b')).rejects.toThrow(/invalid remote key/);
    });

    it('fails a download of a missing key by name and leaves nothing behind', async () => {
      const dest = join(dir, 'missing', 'x.mp4');
      await expect(r.remote.getFile('videos/none.mp4', dest)).rejects.toThrow(/no object 'videos\/none\.mp4'/);
      expect(await fs.readdir(join(dir, 'missing')).catch(() => [])).toEqual([]);
    });

    it('leaves no partial file when a download is aborted', async () => {
      const src = join(dir, 'abort.bin');
      await fs.writeFile(src, randomBytes(8 * 1024 * 1024));
      await r.remote.putFile('videos/abort.mp4', src);
      const ac = new AbortController();
      const dest = join(dir, 'aborted', 'a.mp4');
      const p = r.remote.getFile('videos/abort.mp4', dest, { signal: ac.signal, onProgress: () => ac.abort() });
      await expect(p).rejects.toThrow();
      expect(await fs.readdir(join(dir, 'aborted')).catch(() => [])).toEqual([]);
    });
  });
}
