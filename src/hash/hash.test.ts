import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestFiles, Hasher, hashCounters, manifestText, parseManifest, sha256Text } from './index.js';
import { isRacy } from './stat-cache.js';

const OLD = new Date('2020-01-02T03:04:05Z');
const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

let root: string;
let cacheDir: string;

/** Writes a file with an old mtime, so the stat cache may trust it (fresh files are "racy"). */
function put(rel: string, data: string | Buffer, when: Date = OLD): void {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, data);
  utimesSync(p, when, when);
}

async function hashOnce(rel: string): Promise<string | undefined> {
  const h = await Hasher.open(root, cacheDir);
  const r = await h.hashPath(rel);
  await h.save();
  return r?.sha256;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rc-hash-'));
  cacheDir = join(root, '.cache');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('file hashing', () => {
  it('gives the sha256 of the bytes, the same for the same bytes, null when missing', async () => {
    put('a.bin', 'hello world');
    put('b/copy.bin', 'hello world');
    const h = await Hasher.open(root, cacheDir);
    const r = await h.hashPaths(['a.bin', 'b/copy.bin', 'nope.txt']);
    expect(r.get('a.bin')).toEqual({ path: 'a.bin', sha256: sha('hello world'), size: 11, isDir: false });
    expect(r.get('b/copy.bin')?.sha256).toBe(sha('hello world'));
    expect(r.get('nope.txt')).toBeNull();
    expect(await h.hashPath('a.bin/under-a-file')).toBeNull();
  });

  it('hashes many and large files on the worker pool with the same results as in-process', async () => {
    const big = Buffer.alloc(40 * 1024 * 1024, 7); // above the pool threshold
    big[12345] = 1;
    writeFileSync(join(root, 'big.bin'), big);
    const smalls = Array.from({ length: 300 }, (_, i) => `file ${i}`);
    smalls.forEach((s, i) => writeFileSync(join(root, `s${i}.txt`), s));
    const jobs = [{ path: join(root, 'big.bin'), size: big.length }, ...smalls.map((s, i) => ({ path: join(root, `s${i}.txt`), size: s.length }))];
    let seen = 0;
    const res = await digestFiles(jobs, (n) => (seen += n));
    expect(res[0]).toEqual({ sha256: sha(big), size: big.length });
    smalls.forEach((s, i) => expect(res[i + 1]).toEqual({ sha256: sha(s), size: s.length }));
    expect(seen).toBe(big.length + smalls.reduce((t, s) => t + s.length, 0));
  });

  it('shares one pool between concurrent callers, and idle workers never keep a process alive', () => {
    const big = Buffer.alloc(33 * 1024 * 1024, 3); // just above the pool threshold
    writeFileSync(join(root, 'big.bin'), big);
    const mod = new URL('./file-hash.ts', import.meta.url).pathname;
    const job = JSON.stringify([{ path: join(root, 'big.bin'), size: big.length }]);
    // --input-type=module would also turn an inherited eval worker into ESM; the pool must not care.
    const code = `const { digestFiles } = await import(${JSON.stringify(mod)});
      const r = await Promise.all([digestFiles(${job}), digestFiles(${job})]);
      console.log(r.map((x) => x[0].sha256).join(' '));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0); // a worker kept alive would hit the timeout instead
    expect(r.stdout.trim()).toBe(`${sha(big)} ${sha(big)}`);
  });

  it('reports a file it cannot read without losing the others', async () => {
    put('ok.txt', 'fine');
    const res = await digestFiles([
      { path: join(root, 'gone.txt'), size: 1 },
      { path: join(root, 'ok.txt'), size: 4 },
    ]);
    expect(res[0]).toMatchObject({ code: 'ENOENT' });
    expect(res[1]).toEqual({ sha256: sha('fine'), size: 4 });
  });
});

describe('folder hashing', () => {
  beforeEach(() => {
    put('d/a.txt', 'A');
    put('d/sub/b.txt', 'B');
    put('d/sub/deeper/c.txt', 'C');
  });

  it('is the sha256 of the sorted manifest of relative paths, hashes and sizes', async () => {
    const h = await Hasher.open(root, cacheDir);
    const r = (await h.hashPath('d'))!;
    const entries = [
      { path: 'a.txt', sha256: sha('A'), size: 1 },
      { path: 'sub/b.txt', sha256: sha('B'), size: 1 },
      { path: 'sub/deeper/c.txt', sha256: sha('C'), size: 1 },
    ];
    expect(r).toEqual({ path: 'd', sha256: sha256Text(manifestText(entries)), size: 3, nfiles: 3, isDir: true });
    expect(parseManifest(manifestText([...entries].reverse()))).toEqual(entries);
  });

  it('keeps the manifest format stable (locked folder hashes depend on these exact bytes)', () => {
    const text = manifestText([
      { path: 'b "q".txt', sha256: 'b'.repeat(64), size: 2 },
      { path: 'a/x', sha256: 'a'.repeat(64), size: 10 },
    ]);
    expect(text).toBe(`[\n{"path":"a/x","sha256":"${'a'.repeat(64)}","size":10},\n{"path":"b \\"q\\".txt","sha256":"${'b'.repeat(64)}","size":2}\n]\n`);
    expect(manifestText([])).toBe('[]\n');
  });

  it('changes when a file is renamed, edited or added, and comes back when reverted', async () => {
    const base = await hashOnce('d');
    renameSync(join(root, 'd/a.txt'), join(root, 'd/a2.txt'));
    const renamed = await hashOnce('d');
    renameSync(join(root, 'd/a2.txt'), join(root, 'd/a.txt'));
    expect(await hashOnce('d')).toBe(base);
    put('d/sub/b.txt', 'b', new Date('2021-01-01'));
    const edited = await hashOnce('d');
    put('d/sub/b.txt', 'B');
    put('d/new.txt', '');
    const added = await hashOnce('d');
    expect(new Set([base, renamed, edited, added]).size).toBe(4);
    rmSync(join(root, 'd/new.txt'));
    expect(await hashOnce('d')).toBe(base);
  });

  it('hashes a large folder on the pool while walking it, with the same manifest hash', async () => {
    const entries = [];
    for (let i = 0; i < 300; i++) {
      const data = Buffer.alloc(i % 3 === 0 ? 300_000 : 1000, i); // ~30 MB in all: batches go out mid-walk
      put(`big/p${i % 7}/f${i}.bin`, data);
      entries.push({ path: `p${i % 7}/f${i}.bin`, sha256: sha(data), size: data.length });
    }
    put('big/huge.bin', Buffer.alloc(5_000_000, 9));
    entries.push({ path: 'huge.bin', sha256: sha(Buffer.alloc(5_000_000, 9)), size: 5_000_000 });
    const before = hashCounters.filesRead;
    const r = (await (await Hasher.open(root, cacheDir)).hashPath('big'))!;
    expect(hashCounters.filesRead - before).toBe(301);
    expect(r).toMatchObject({ sha256: sha256Text(manifestText(entries)), nfiles: 301, isDir: true });
  });

  it('reads a file once when a folder and a file inside it are hashed together', async () => {
    const before = hashCounters.filesRead;
    const r = await (await Hasher.open(root, cacheDir)).hashPaths(['d', 'd/a.txt', 'd/sub']);
    expect(hashCounters.filesRead - before).toBe(3);
    expect(r.get('d/a.txt')?.sha256).toBe(sha('A'));
    expect(r.get('d/sub')).toMatchObject({ nfiles: 2, size: 2, isDir: true });
  });

  it('ignores the temp files of interrupted atomic writes', async () => {
    const base = await hashOnce('d');
    put('d/.rallycut-tmp-a.txt.123.abcd', 'partial');
    expect(await hashOnce('d')).toBe(base);
  });
});

describe('stat cache', () => {
  it('does not read an unchanged file again, even across processes (persisted)', async () => {
    put('data.bin', 'original');
    expect(await hashOnce('data.bin')).toBe(sha('original'));
    // Same size and mtime (and inode): the cache must answer without reading the new bytes.
    writeFileSync(join(root, 'data.bin'), 'ORIGINAL');
    utimesSync(join(root, 'data.bin'), OLD, OLD);
    const before = hashCounters.filesRead;
    expect(await hashOnce('data.bin')).toBe(sha('original'));
    expect(hashCounters.filesRead).toBe(before);
  });

  it('re-reads a file whose mtime or size changed', async () => {
    put('data.bin', 'original');
    await hashOnce('data.bin');
    put('data.bin', 'ORIGINAL', new Date('2020-06-01')); // same size, new mtime
    expect(await hashOnce('data.bin')).toBe(sha('ORIGINAL'));
    const st = statSync(join(root, 'data.bin'));
    writeFileSync(join(root, 'data.bin'), 'ORIGINAL+');
    utimesSync(join(root, 'data.bin'), st.atime, st.mtime); // same mtime, new size
    expect(await hashOnce('data.bin')).toBe(sha('ORIGINAL+'));
  });

  it('re-reads a file replaced by another inode with the same size and mtime', async () => {
    put('data.bin', 'first');
    await hashOnce('data.bin');
    put('other.bin', 'secnd');
    renameSync(join(root, 'other.bin'), join(root, 'data.bin'));
    expect(await hashOnce('data.bin')).toBe(sha('secnd'));
  });

  it('does not trust a file modified just before it was read (racily clean)', async () => {
    writeFileSync(join(root, 'fresh.txt'), 'v1'); // mtime = now
    expect(await hashOnce('fresh.txt')).toBe(sha('v1'));
    const st = statSync(join(root, 'fresh.txt'));
    writeFileSync(join(root, 'fresh.txt'), 'v2');
    utimesSync(join(root, 'fresh.txt'), st.atime, st.mtime);
    expect(await hashOnce('fresh.txt')).toBe(sha('v2'));
    expect(isRacy(1.7e12, 1.7e12 + 1000)).toBe(true); // whole-second mtimes: 2 s window
    expect(isRacy(1.7e12 + 0.5, 1.7e12 + 1000)).toBe(false);
  });

  it('answers a folder of unchanged files without reading any, and saves atomically', async () => {
    for (let i = 0; i < 50; i++) put(`tree/f${i}.txt`, `content ${i}`);
    const first = await hashOnce('tree');
    const before = hashCounters.filesRead;
    expect(await hashOnce('tree')).toBe(first);
    expect(hashCounters.filesRead).toBe(before);
    const text = readFileSync(join(cacheDir, 'stat-cache'), 'utf8');
    expect(text.split('\n').filter((l) => l.includes('/tree/f')).length).toBe(50);
  });

  it('survives a damaged stat-cache file by re-reading', async () => {
    put('x.txt', 'x');
    await hashOnce('x.txt');
    writeFileSync(join(cacheDir, 'stat-cache'), 'garbage\n\u0000\n');
    expect(await hashOnce('x.txt')).toBe(sha('x'));
  });
});
