// Real ffmpeg on small generated videos: a 60 fps source, a rotated (stored portrait) one and a
// variable-frame-rate one must all come out as upright 480-line, 30 fps constant-rate proxies.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgress, RallycutError } from '../../src/handler.js';
import type { DatasetContext } from '../lib/dataset/context.js';
import { probeVideo } from '../lib/media/probe.js';
import { generateDemo, type DemoDataset } from '../demo/generate.js';
import { writeDatasetFolder } from '../demo/folder.js';
import { TRICKY_PROFILES } from '../../test/kit/videos.js';
import { prepare, type ProxiesIndex, type SamplesFile } from './prepare.js';

let work: string;
let demo: DemoDataset;

function context(root: string, logs: string[]): DatasetContext {
  return {
    root,
    cacheDir: join(root, 'cache'),
    env: {},
    jobs: 2,
    signal: new AbortController().signal,
    log: (m) => logs.push(m),
    progress: (label, total, unit) => createProgress(label, total, unit),
  };
}

beforeAll(async () => {
  work = await fs.mkdtemp(join(tmpdir(), 'rallycut-prepare-'));
  demo = await generateDemo({
    dir: join(work, 'demo'),
    config: { seed: 3, videos: 3, minSeconds: 6, maxSeconds: 7, timeScale: 0.25, gapScale: 1, profiles: [...TRICKY_PROFILES] },
    jobs: 2,
  });
});

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await fs.readFile(path, 'utf8')) as T;
}

describe('prepare', () => {
  it('makes upright 480-line 30 fps proxies whatever the source fps, rotation and frame timing; a second run reuses them', async () => {
    const root = join(work, 'p1');
    await writeDatasetFolder(demo, join(work, 'demo'), join(root, 'training_datasets', 'demo'), 'demo');
    // The sources really are what the test claims.
    const sources = await Promise.all(demo.videos.map((v) => probeVideo(join(work, 'demo', v.path))));
    expect(sources.map((s) => [s.fps, s.rotation, s.vfr])).toEqual([
      [60, 0, false],
      [30, 90, false],
      [30, 0, true],
    ]);

    const logs: string[] = [];
    const opts = { datasetDir: join(root, 'training_datasets', 'demo'), outputDir: join(root, 'training_data'), seed: 42, jobs: 2 };
    const first = await prepare(context(root, logs), opts);
    expect(first.made).toBe(3);
    const index = await readJson<ProxiesIndex>(join(root, 'training_data', 'proxies.json'));
    expect(index.videos).toHaveLength(3);
    for (const v of index.videos) {
      const p = await probeVideo(join(root, 'cache', v.proxy_path));
      expect(p.height, v.filename).toBe(480);
      expect(p.width, v.filename).toBe(854);
      expect(p.rotation, v.filename).toBe(0);
      expect(p.fps, v.filename).toBe(30);
      expect(p.vfr, v.filename).toBe(false);
      expect(v.frames).toBe(p.frames);
      expect(Math.abs(v.frames - (v.duration_ms * 30) / 1000)).toBeLessThanOrEqual(2);
    }
    expect(index.videos.find((v) => v.filename === 'match_02.MOV')?.rotation).toBe(90);
    expect(index.videos.find((v) => v.filename === 'match_03.mp4')?.vfr).toBe(true);

    const mtimes = await Promise.all(index.videos.map(async (v) => (await fs.stat(join(root, 'cache', v.proxy_path))).mtimeMs));
    const samplesBefore = await fs.readFile(join(root, 'training_data', 'samples.json'), 'utf8');
    const logs2: string[] = [];
    const second = await prepare(context(root, logs2), opts);
    expect([second.made, second.reused]).toEqual([0, 3]);
    expect(logs2.filter((l) => l.includes('proxy from cache'))).toHaveLength(3);
    expect(await Promise.all(index.videos.map(async (v) => (await fs.stat(join(root, 'cache', v.proxy_path))).mtimeMs))).toEqual(mtimes);
    expect(await fs.readFile(join(root, 'training_data', 'samples.json'), 'utf8')).toBe(samplesBefore);

    // A manifest without durations (the labels database may lack them): the progress total counts what is
    // known and grows as each video finishes, never NaN.
    const manifestPath = join(opts.datasetDir, 'manifest.json');
    const manifest = await readJson<{ videos: Record<string, unknown>[] }>(manifestPath);
    delete manifest.videos[0]!.duration_ms;
    manifest.videos[1]!.duration_ms = null;
    await fs.writeFile(manifestPath, JSON.stringify(manifest));
    const seen: number[] = [];
    const watching: DatasetContext = {
      ...context(root, []),
      progress: (_label, total) => {
        seen.push(total);
        return {
          tick: () => undefined,
          update: (d) => void seen.push(d),
          skip: (d) => void seen.push(d ?? 1),
          setTotal: (t) => void seen.push(t),
          done: () => undefined,
        };
      },
    };
    expect((await prepare(watching, opts)).reused).toBe(3);
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((n) => Number.isFinite(n))).toBe(true);

    const samples = await readJson<SamplesFile>(join(root, 'training_data', 'samples.json'));
    expect(samples.seed).toBe(42);
    expect(samples.counts.train.service + samples.counts.val.service).toBeGreaterThan(0);
    expect(samples.counts.train.no_play + samples.counts.val.no_play).toBeGreaterThan(0);
  });

  it('a corrupt, a truncated, an empty and a tampered video fail by name; the good ones finish and stay cached', async () => {
    const root = join(work, 'p2');
    const ds = join(root, 'training_datasets', 'demo');
    const bad = structuredClone(demo);
    const good = demo.videos[0]!;
    // Three broken files, each under its own name and hash, next to the good videos.
    const broken = [
      { name: 'garbage.mp4', bytes: Buffer.from('this is not a video at all'.repeat(100)) },
      { name: 'truncated.mp4', bytes: (await fs.readFile(join(work, 'demo', good.path))).subarray(0, 4000) },
      { name: 'empty.mp4', bytes: Buffer.alloc(0) },
    ];
    await fs.mkdir(join(work, 'demo', 'broken'), { recursive: true });
    broken.forEach((b, i) => {
      // content_hash is the bytes' own hash, as the app would record it: only ffmpeg can tell they are broken.
      const hash = createHash('sha256').update(b.bytes).digest('hex');
      bad.videos.push({
        ...good,
        filename: b.name,
        path: `broken/${b.name}`,
        video_id: `bad-${i}`,
        content_hash: hash,
        sha256: hash,
        size_bytes: b.bytes.length,
      });
    });
    for (const b of broken) await fs.writeFile(join(work, 'demo', 'broken', b.name), b.bytes);
    // A good file whose manifest records other bytes: the sha256 check must stop it before ffmpeg runs.
    bad.videos.push({ ...good, filename: 'tampered.mp4', video_id: 'bad-3', content_hash: 'e'.repeat(64), sha256: 'f'.repeat(64) });
    await writeDatasetFolder(bad, join(work, 'demo'), ds, 'demo');

    const logs: string[] = [];
    const ctx = context(root, logs);
    const err = await prepare(ctx, { datasetDir: ds, outputDir: join(root, 'training_data'), seed: 42, jobs: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RallycutError);
    const diags = (err as RallycutError).diagnostics;
    expect(diags[0]!.message).toMatch(/4 videos failed \(empty\.mp4, garbage\.mp4, tampered\.mp4, truncated\.mp4\)/);
    expect(diags.find((d) => d.subject === 'tampered.mp4')?.message).toMatch(/does not match the manifest's ffffffffffff/);
    expect(diags.find((d) => d.subject === 'empty.mp4')?.message).toMatch(/empty \(0 bytes\)/);
    expect(diags.find((d) => d.subject === 'garbage.mp4')?.message).toMatch(/garbage\.mp4/);
    expect(diags.find((d) => d.subject === 'truncated.mp4')?.message).toMatch(/truncated\.mp4/);
    // No index is written for a failed run, but the three good proxies were made and are reused next time.
    await expect(fs.access(join(root, 'training_data', 'proxies.json'))).rejects.toThrow();
    for (const v of demo.videos) await expect(fs.access(join(root, 'cache', 'proxies', `${v.content_hash}.mp4`))).resolves.toBeUndefined();
    expect(logs.filter((l) => l.includes('proxy made'))).toHaveLength(3);
  });
});
