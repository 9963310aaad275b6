// gc with one cache shared by two workspaces (RALLYCUT_CACHE_DIR): each repro or checkout registers its workspace, and gc
// in one keeps the objects the other's pipeline.lock names; once that workspace is gone, its objects go too.
// Temp files in a shared cache are judged by age only (their writer may be on another host).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const PIPELINE = `stages:
  make:
    cmd: cat seed.txt seed.txt > out.txt
    deps: [seed.txt]
    outs: [out.txt]
`;

const objectFor = (cache: string, content: string): string => {
  const sha = createHash('sha256').update(content).digest('hex');
  return join(cache, 'objects', sha.slice(0, 2), sha.slice(2));
};

const rigs: Rig[] = [];
const cache = mkdtempSync(join(tmpdir(), 'rallycut-shared-cache-'));
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.cleanup();
});

describe('gc with a cache shared by two workspaces', () => {
  it("keeps the other workspace's locked objects, and drops them once that workspace is gone", async () => {
    const env = { RALLYCUT_CACHE_DIR: cache };
    const a = new Rig('rallycut-ws-a-');
    const b = new Rig('rallycut-ws-b-');
    rigs.push(a, b);
    await a.write({ 'pipeline.yaml': PIPELINE, 'seed.txt': 'a\n' });
    await b.write({ 'pipeline.yaml': PIPELINE, 'seed.txt': 'b\n' });
    expect((await a.run(['repro'], env)).code).toBe(0);
    expect((await b.run(['repro'], env)).code).toBe(0);
    const bObject = objectFor(cache, 'b\nb\n');
    expect(existsSync(bObject)).toBe(true);
    // A fresh temp file in the shared cache, named for a pid that is not running here: it may be another
    // host's write in progress, so gc leaves it until it is an hour old.
    const foreignTemp = join(cache, 'proxies', '.rallycut-tmp-x.mp4.999999999.0123abcd');
    mkdirSync(dirname(foreignTemp), { recursive: true });
    writeFileSync(foreignTemp, 'partial');

    // --drop-run-cache: b's run-cache record would keep its object anyway; only the lock should matter here.
    const gc = await a.run(['gc', '--drop-run-cache', '--json'], env);
    expect(gc.code, gc.stderr).toBe(0);
    const result = JSON.parse(gc.stdout);
    expect(result.sources.workspaces).toBe(1);
    expect(result.removed).toEqual([]);
    expect(existsSync(bObject)).toBe(true); // b's out is still restorable
    expect(existsSync(objectFor(cache, 'a\na\n'))).toBe(true);
    expect(existsSync(foreignTemp)).toBe(true);
    expect(result.staleTemps).toBe(0);

    rmSync(b.dir, { recursive: true, force: true });
    const after = JSON.parse((await a.run(['gc', '--drop-run-cache', '--json'], env)).stdout);
    expect(after.sources.workspaces).toBe(0);
    expect(existsSync(bObject)).toBe(false);
    expect(existsSync(objectFor(cache, 'a\na\n'))).toBe(true);
  });

  it('keeps the objects of a clone that only ran checkout', async () => {
    const env = { RALLYCUT_CACHE_DIR: cache };
    const a = new Rig('rallycut-ws-a-');
    const clone = new Rig('rallycut-ws-clone-');
    rigs.push(a, clone);
    await a.write({ 'pipeline.yaml': PIPELINE, 'seed.txt': 'c\n' });
    expect((await a.run(['repro'], env)).code).toBe(0);
    // The clone: the same commit (pipeline.yaml, seed, lock), its outs restored from the shared cache.
    await clone.write({ 'pipeline.yaml': PIPELINE, 'seed.txt': 'c\n', 'pipeline.lock': a.read('pipeline.lock') });
    expect((await clone.run(['checkout'], env)).code).toBe(0);
    expect(clone.read('out.txt')).toBe('c\nc\n');
    // a moves on: its old out is no longer in its lock, but the clone's lock still names it.
    await a.write({ 'seed.txt': 'd\n' });
    expect((await a.run(['repro'], env)).code).toBe(0);
    const gc = await a.run(['gc', '--drop-run-cache', '--json'], env);
    expect(gc.code, gc.stderr).toBe(0);
    expect(existsSync(objectFor(cache, 'c\nc\n'))).toBe(true);
  });
});
