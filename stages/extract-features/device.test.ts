// The inference device (cpu | cuda | auto) is where features are computed, not what they are: same store
// keys, same entries, so features computed on a GPU elsewhere are cached for a CPU run here. On this
// machine onnxruntime-node has no CUDA provider, so 'cuda' must fail by name before any video is decoded.
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIO } from '../../src/handler.js';
import { main } from '../../src/cli/main.js';
import { featurePaths } from '../lib/features/store.js';
import { cudaProviderInstalled, devicesToTry, DEVICE_ENV, parseDevice } from '../lib/model/device.js';
import { locateModel } from '../lib/model/registry.js';
import { loadClassifier, type Classifier } from '../lib/model/session.js';
import { extractFeatures } from './extract.js';
import { inputsFromFiles } from './inputs.js';
import { makeFrameNumberVideo } from './testvideo.js';

const ROOT = resolve(__dirname, '../..');
const WEIGHTS = join(ROOT, 'weights/videomae/indoor');
let dir: string;
let video: string;
let cpu: Classifier;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-device-'));
  video = join(dir, 'clip.mkv');
  await makeFrameNumberVideo(video, 120, 30);
  cpu = await loadClassifier(locateModel(ROOT, 'indoor'));
});
afterAll(async () => {
  await cpu?.release();
  await fs.rm(dir, { recursive: true, force: true });
});

function io(env: Record<string, string> = {}): CommandIO & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '' };
  return Object.assign(o, {
    cwd: dir,
    env: { ...process.env, RALLYCUT_CACHE_DIR: join(dir, `cache-${Math.random().toString(16).slice(2)}`), ...env },
    out: (t: string) => void (o.stdout += t),
    err: (t: string) => void (o.stderr += t),
    isTTY: false,
    signal: new AbortController().signal,
  });
}

/** A classifier that says it ran on a GPU and, like one, differs from the CPU in the last float32 bits. */
function gpuLike(inner: Classifier): Classifier {
  const nudge = (a: Float32Array): Float32Array => a.map((v) => v * (1 + 2 ** -22));
  return {
    ...inner,
    device: 'cuda',
    async run(batch, n) {
      const out = await inner.run(batch, n);
      return { ...out, logits: nudge(out.logits), features: out.features && nudge(out.features) };
    },
  };
}

describe('inference device', () => {
  it('features computed on a GPU are the cached entry for a later CPU run (the device is not in the key)', async () => {
    const cacheDir = join(dir, 'shared-cache');
    const { inputs } = await inputsFromFiles([video], dir);
    const remote = await extractFeatures(inputs, { cacheDir, model: gpuLike(cpu), variant: 'indoor', batch: 2 });
    expect(remote.outcomes[0]!.status).toBe('computed');
    const local = await extractFeatures(inputs, { cacheDir, model: cpu, variant: 'indoor', batch: 2 });
    expect(local.outcomes[0]!.status).toBe('cached');
    expect(local.computedWindows).toBe(0);
    expect(local.index).toEqual(remote.index);
  });

  it(`cpu, auto (no CUDA provider here) and the default give byte-identical feature files and index`, async () => {
    const runs: { data: Buffer; index: string; stderr: string }[] = [];
    for (const device of [undefined, 'cpu', 'auto']) {
      const t = io(device === 'auto' ? { [DEVICE_ENV]: 'auto' } : {});
      const args = ['train', 'extract-features', video, '--model', WEIGHTS, '--index', `idx-${device}.json`, ...(device === 'cpu' ? ['--device', 'cpu'] : [])];
      expect(await main(args, t), t.stderr).toBe(0);
      const index = await fs.readFile(join(dir, `idx-${device}.json`), 'utf8');
      const key = (JSON.parse(index) as { videos: { key: string }[] }).videos[0]!.key;
      runs.push({ data: await fs.readFile(featurePaths(t.env.RALLYCUT_CACHE_DIR!, key).data), index, stderr: t.stderr });
    }
    expect(runs[1]!.data.equals(runs[0]!.data)).toBe(true);
    expect(runs[2]!.data.equals(runs[0]!.data)).toBe(true);
    expect(runs[1]!.index).toBe(runs[0]!.index);
    expect(runs[2]!.index).toBe(runs[0]!.index);
    if (!cudaProviderInstalled()) expect(runs[2]!.stderr).toContain('inference device: cpu (asked: auto)');
    expect(runs[0]!.stderr).not.toContain('inference device');
  });

  it.skipIf(cudaProviderInstalled())('--device cuda without the CUDA provider: a named failure (exit 1), no index, no video decoded', async () => {
    const t = io();
    const code = await main(['train', 'extract-features', video, '--model', WEIGHTS, '--index', 'idx-cuda.json', '--device', 'cuda'], t);
    expect(code).toBe(1);
    expect(t.stderr).toContain(
      "inference device 'cuda' was asked for, but onnxruntime-node's CUDA execution provider is unavailable: libonnxruntime_providers_cuda.so is not installed in",
    );
    expect(t.stderr).toContain('--onnxruntime-node-install=cuda12');
    await expect(fs.stat(join(dir, 'idx-cuda.json'))).rejects.toThrow();
    await expect(fs.readdir(join(t.env.RALLYCUT_CACHE_DIR!, 'features'))).rejects.toThrow();
    // Through the environment (the pipeline handler's way) the same.
    const e = io({ [DEVICE_ENV]: 'cuda' });
    expect(await main(['train', 'extract-features', video, '--model', WEIGHTS, '--index', 'idx-cuda.json'], e)).toBe(1);
    expect(e.stderr).toContain("inference device 'cuda' was asked for");
  });

  it('an unknown device is a usage error (exit 2) naming the choices', async () => {
    const t = io();
    expect(await main(['train', 'extract-features', video, '--model', WEIGHTS, '--device', 'gpu'], t)).toBe(2);
    expect(t.stderr).toContain("--device must be one of cpu, cuda, auto, got 'gpu'");
    expect(() => parseDevice('tpu', DEVICE_ENV)).toThrow(`${DEVICE_ENV} must be one of cpu, cuda, auto, got 'tpu'`);
  });

  it('the order tried: auto prefers CUDA only when its provider is installed; cpu never touches it', () => {
    expect(devicesToTry('auto', true)).toEqual(['cuda', 'cpu']);
    expect(devicesToTry('auto', false)).toEqual(['cpu']);
    expect(devicesToTry('cpu', true)).toEqual(['cpu']);
    expect(devicesToTry('cuda', true)).toEqual(['cuda']);
    expect(() => devicesToTry('cuda', false)).toThrow("inference device 'cuda' was asked for");
  });
});
