import { appendFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Hasher, type PathHash } from '../hash/index.js';
import { clearRecentManifests } from '../hash/manifest.js';
import { ObjectCache } from './objects.js';

let root: string;
let cacheDir: string;
let cache: ObjectCache;

function put(rel: string, data: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), data);
}

async function hashAndInsert(rel: string, fresh = false): Promise<PathHash> {
  const h = await Hasher.open(root, cacheDir);
  const r = (await h.hashPath(rel))!;
  if (fresh) {
    // Simulate another process: the in-memory manifest is not available, only the files.
    clearRecentManifests();
    const other = new ObjectCache(cacheDir);
    await other.insertPath(root, rel, r);
  } else await cache.insertPath(root, rel, r);
  return r;
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => !d.isDirectory())
    .map((d) => join(d.parentPath, d.name));
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rc-obj-'));
  cacheDir = join(root, '.cache');
  cache = new ObjectCache(cacheDir);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('object cache', () => {
  it('stores a file under objects/ab/cdef…, read-only, and restores it as a plain writable copy', async () => {
    put('model.bin', 'weights v1');
    const h = await hashAndInsert('model.bin');
    const obj = cache.objectPath(h.sha256);
    expect(obj).toBe(join(cacheDir, 'objects', h.sha256.slice(0, 2), h.sha256.slice(2)));
    expect(statSync(obj).mode & 0o777).toBe(0o444);
    expect(await cache.has(h.sha256)).toBe(true);
    rmSync(join(root, 'model.bin'));
    await cache.checkoutPath(root, 'model.bin', h.sha256, false);
    const st = lstatSync(join(root, 'model.bin'));
    expect(st.isSymbolicLink()).toBe(false);
    expect(st.ino).not.toBe(statSync(obj).ino); // a copy, not a hardlink
    expect(st.mode & 0o200).toBe(0o200);
    expect(readFileSync(join(root, 'model.bin'), 'utf8')).toBe('weights v1');
  });

  it('round-trips a folder from its hash alone, replacing what is there', async () => {
    put('out/a.txt', 'A');
    put('out/sub/b.txt', 'B');
    put('out/sub/c.txt', 'A'); // same content as a.txt: one object
    const h = await hashAndInsert('out', true);
    rmSync(join(root, 'out'), { recursive: true });
    put('out/stale.txt', 'left over from a failed run');
    await cache.checkoutPath(root, 'out', h.sha256, true);
    expect(
      allFiles(join(root, 'out'))
        .map((p) => p.slice(root.length + 5))
        .sort(),
    ).toEqual(['a.txt', 'sub/b.txt', 'sub/c.txt']);
    expect(readFileSync(join(root, 'out/sub/c.txt'), 'utf8')).toBe('A');
    expect((await Hasher.open(root, cacheDir).then((x) => x.hashPath('out')))?.sha256).toBe(h.sha256);
    expect(allFiles(join(root, 'out')).some((p) => lstatSync(p).isSymbolicLink())).toBe(false);
    expect(allFiles(cacheDir + '/objects').length).toBe(3); // 2 distinct files + the .dir manifest
    expect((await cache.readManifest(h.sha256)).map((e) => e.path)).toEqual(['a.txt', 'sub/b.txt', 'sub/c.txt']);
  });

  it('keeps the object intact when the checked-out file is edited in place', async () => {
    put('m.txt', 'original');
    const h = await hashAndInsert('m.txt');
    rmSync(join(root, 'm.txt'));
    await cache.checkoutPath(root, 'm.txt', h.sha256, false);
    appendFileSync(join(root, 'm.txt'), ' + edit');
    writeFileSync(join(root, 'm.txt'), 'overwritten');
    expect(await cache.verify(h.sha256)).toBe(true);
    expect(readFileSync(cache.objectPath(h.sha256), 'utf8')).toBe('original');
  });

  it('refuses to cache a file that changed after it was hashed', async () => {
    put('x.txt', 'before');
    const h = await (await Hasher.open(root, cacheDir)).hashPath('x.txt');
    put('x.txt', 'after!');
    await expect(cache.insertPath(root, 'x.txt', h!)).rejects.toThrow(/x\.txt' changed since it was hashed/);
    expect(await cache.has(h!.sha256)).toBe(false);
    expect(existsSync(join(cacheDir, 'objects')) ? allFiles(join(cacheDir, 'objects')) : []).toEqual([]); // no temp left
  });

  it('verify detects a flipped byte in a file object and in a folder member', async () => {
    put('d/one.txt', 'one');
    put('d/two.txt', 'two');
    const h = await hashAndInsert('d');
    const two = (await cache.readManifest(h.sha256)).find((e) => e.path === 'two.txt')!;
    expect(await cache.verify(h.sha256)).toBe(true);
    writeFileSync(cache.objectPath(two.sha256), 'twO');
    expect(await cache.verify(two.sha256)).toBe(false);
    expect(await cache.verify(h.sha256)).toBe(false);
  });

  it('reports a folder with a missing member as absent, and checkout names the missing file', async () => {
    put('d/one.txt', 'one');
    put('d/two.txt', 'two');
    const h = await hashAndInsert('d');
    const two = (await cache.readManifest(h.sha256)).find((e) => e.path === 'two.txt')!;
    rmSync(cache.objectPath(two.sha256));
    expect(await cache.has(h.sha256)).toBe(false);
    await expect(cache.checkoutPath(root, 'd', h.sha256, true)).rejects.toThrow(/1 file\(s\) of 'd' are missing/);
    expect(readFileSync(join(root, 'd/one.txt'), 'utf8')).toBe('one'); // workspace untouched
  });
});
