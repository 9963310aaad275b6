// Crash matrix, part 2: the domain stages that write large or multi-file outputs, run through `repro` as a
// user runs them. `prepare` is killed around a proxy's rename into the shared proxy store
// (prepare.proxy-write), `temporal` around each file of its checkpoint (checkpoint.write). After each kill:
// the rerun completes, `doctor` finds 0 corrupt objects, pipeline.lock matches the outs on disk, and no
// proxy or checkpoint file under its final name is partial. Inputs are tiny (two 3 s lavfi clips at
// 160x90; six synthetic feature arrays) so each case takes seconds.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemo, type DemoDataset } from '../../stages/demo/generate.js';
import { writeDatasetFolder } from '../../stages/demo/folder.js';
import { writeSyntheticProject } from '../../stages/temporal/fixture.js';
import { loadTemporalModel } from '../../stages/temporal/checkpoint.js';
import { expectCrashedAt, expectDoctorClean, listFiles } from '../kit/checks.js';
import { sha256 } from '../kit/dataset.js';
import { Rig } from '../rig.js';

interface LockOut {
  path: string;
  sha256: string;
  nfiles?: number;
}
interface LockFile {
  stages: Record<string, { outs?: LockOut[] }>;
}

async function crashRun(rig: Rig, point: string): Promise<void> {
  expectCrashedAt(await rig.spawn(['repro'], { RALLYCUT_CRASH_AT: point }), point);
}

/** Every file out in pipeline.lock has the recorded bytes on disk, and status has nothing to run. */
async function expectLockMatchesDisk(rig: Rig, stage: string): Promise<void> {
  const lock = parseYaml(rig.read('pipeline.lock')) as LockFile;
  const outs = lock.stages[stage]?.outs ?? [];
  expect(outs.length, `pipeline.lock records no outs for ${stage}`).toBeGreaterThan(0);
  for (const out of outs) {
    expect(rig.exists(out.path), `${out.path} missing`).toBe(true);
    if (out.nfiles === undefined) expect(sha256(await fs.readFile(join(rig.dir, out.path))), out.path).toBe(out.sha256);
  }
  const status = await rig.run(['status']);
  expect(status.code, status.stderr).toBe(0);
  expect(status.stdout).toContain('Everything is up to date');
}

describe('crash matrix: prepare (proxy store)', () => {
  const PIPELINE = `stages:
  prepare:
    handler: prepare
    with: { name: tiny, seed: 3 }
    deps: [training_datasets/tiny/manifest.json, training_datasets/tiny/ground_truth.json]
    outs: [training_data/proxies.json, training_data/samples.json]
`;
  let gen: Rig;
  let demo: DemoDataset;
  beforeAll(async () => {
    gen = new Rig('rallycut-crash-prep-gen-');
    const profile = { width: 160, height: 90, fps: 30, ext: 'mp4', rotate: false, vfr: false } as const;
    demo = await generateDemo({
      dir: join(gen.dir, 'demo'),
      config: { seed: 5, videos: 2, minSeconds: 3, maxSeconds: 3, timeScale: 0.2, gapScale: 0.5, profiles: [profile] },
      jobs: 2,
    });
  });
  afterAll(async () => gen?.cleanup());

  /** Each proxy under its final name must hash to what its sidecar says; a sidecar never names a missing proxy. */
  async function expectProxiesWhole(rig: Rig): Promise<void> {
    const dir = join(rig.dir, '.cache', 'proxies');
    for (const name of await listFiles(dir)) {
      if (!name.endsWith('.json') || name.startsWith('.rallycut-tmp-')) continue;
      const side = JSON.parse(await fs.readFile(join(dir, name), 'utf8')) as { proxy_sha256: string };
      expect(sha256(await fs.readFile(join(dir, name.replace(/\.json$/, '.mp4')))), name).toBe(side.proxy_sha256);
    }
  }

  // Two hits per video: before the proxy's rename, then before its sidecar's. :4 is the last one of the run.
  it.each([
    ['prepare.proxy-write:1', 'first proxy encoded, not yet renamed'],
    ['prepare.proxy-write:2', 'a proxy in place, its sidecar not'],
    ['prepare.proxy-write:4', 'last sidecar of the run'],
  ])('repro killed at %s (%s): rerun completes, store and lock consistent', async (point) => {
    const rig = new Rig('rallycut-crash-prep-');
    try {
      await rig.write({ 'pipeline.yaml': PIPELINE });
      await writeDatasetFolder(demo, join(gen.dir, 'demo'), join(rig.dir, 'training_datasets', 'tiny'), 'tiny');
      await crashRun(rig, point);
      // Right after the kill: no index under its final name, every proxy in the store whole.
      expect(rig.exists('training_data/proxies.json')).toBe(false);
      await expectProxiesWhole(rig);
      await expectDoctorClean(rig);
      const rerun = await rig.run(['repro']);
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
      await expectDoctorClean(rig);
      await expectLockMatchesDisk(rig, 'prepare');
      await expectProxiesWhole(rig);
      const index = JSON.parse(rig.read('training_data/proxies.json')) as { videos: { proxy_path: string; proxy_sha256: string }[] };
      expect(index.videos).toHaveLength(2);
      for (const v of index.videos) expect(sha256(await fs.readFile(join(rig.dir, '.cache', v.proxy_path)))).toBe(v.proxy_sha256);
      // No temp file is left where a final name is expected to be read.
      expect((await listFiles(join(rig.dir, 'training_data'))).sort()).toEqual(['proxies.json', 'samples.json']);
    } finally {
      await rig.cleanup();
    }
  });
});

describe('crash matrix: temporal (checkpoint files)', () => {
  const PIPELINE = `stages:
  temporal:
    handler: temporal
    with: { model: v1, epochs: 3, hidden_dim: 8, patience: 3, lr: 0.01, seed: 1, ground_truth: training_datasets/synthetic/ground_truth.json }
    deps: [features/index.json, training_datasets/synthetic/ground_truth.json]
    outs: [weights/temporal]
    metrics:
      - metrics/temporal.json: { cache: false }
`;

  // Three hits per save: model.onnx, weights.f32, model.json (written last, so it names only whole files).
  it.each([
    ['checkpoint.write:1', 'onnx written to temp, nothing renamed'],
    ['checkpoint.write:2', 'onnx in place, weights not'],
    ['checkpoint.write:3', 'weights in place, model.json not'],
  ])('repro killed at %s (%s): rerun completes, checkpoint loads, lock consistent', async (point) => {
    const rig = new Rig('rallycut-crash-temporal-');
    try {
      await writeSyntheticProject(rig.dir, { videos: 4, windows: 60, dim: 6, seed: 2 });
      await rig.write({ 'pipeline.yaml': PIPELINE });
      await crashRun(rig, point);
      // model.json is the checkpoint's commit point: it must not exist before the files it describes.
      expect(rig.exists('weights/temporal/model.json')).toBe(false);
      await expectDoctorClean(rig);
      const rerun = await rig.run(['repro']);
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
      await expectDoctorClean(rig);
      await expectLockMatchesDisk(rig, 'temporal');
      // The checkpoint loads (weights hash as model.json says) and holds no stray temp file.
      const model = await loadTemporalModel(join(rig.dir, 'weights', 'temporal'));
      expect(model.meta.onnx?.sha256).toBe(sha256(await fs.readFile(join(rig.dir, 'weights', 'temporal', 'model.onnx'))));
      expect((await listFiles(join(rig.dir, 'weights', 'temporal'))).sort()).toEqual(['model.json', 'model.onnx', 'weights.f32']);
    } finally {
      await rig.cleanup();
    }
  });
});
