import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { featureKey, featurePaths, loadVideoFeatures, lookupVideoFeatures, writeVideoFeatures } from './store.js';
import { neededFrames, strideFor, windowCount, windowStarts } from './windows.js';

describe('window plan', () => {
  it('follows the DESIGN formulas, scaling stride by fps', () => {
    expect(strideFor(30)).toBe(48);
    expect(strideFor(60)).toBe(96);
    expect(strideFor(59.94)).toBe(96);
    expect(strideFor(25)).toBe(40);
    expect(windowCount(300, 48)).toBe(6); // (300-16)//48 + 1
    expect(windowCount(10, 48)).toBe(1);
    expect(windowStarts(112, 48)).toEqual([0, 48, 96]);
    expect(neededFrames(70, 48).slice(14, 18)).toEqual([14, 15, 48, 49]);
  });
});

describe('feature store', () => {
  it('round-trips arrays and detects a corrupted file', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'rc-feat-'));
    const key = featureKey({ content_hash: 'abc', decoded_sha256: 's', stride: 48, model_sha256: 'm' });
    expect(key).not.toBe(featureKey({ content_hash: 'abc', decoded_sha256: 's', stride: 96, model_sha256: 'm' }));
    // The same video decoded from another file (its proxy instead of the original) is another entry.
    expect(key).not.toBe(featureKey({ content_hash: 'abc', decoded_sha256: 'proxy', stride: 48, model_sha256: 'm' }));
    const probs = new Float32Array([0.7, 0.2, 0.1, 0.1, 0.8, 0.1]);
    const features = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    await writeVideoFeatures(cache, {
      key,
      content_hash: 'abc',
      source_sha256: 's',
      fps: 30,
      total_frames: 70,
      stride: 48,
      model: { variant: 'indoor', sha256: 'm' },
      probs,
      features,
    });
    const entry = { video_id: 'v', filename: 'v.mp4', content_hash: 'abc', sha256: 's', fps: 30, total_frames: 70, stride: 48, num_windows: 2, key };
    const got = await loadVideoFeatures(cache, entry);
    expect([...got.probs]).toEqual([...probs]);
    expect(got.dim).toBe(4);
    expect([...got.features!]).toEqual([...features]);
    expect(got.windows.windows[1]).toMatchObject({ start_frame: 48, end_frame: 63 });
    expect(got.windows.windows[1]!.probs.play).toBeCloseTo(0.8);

    const { data } = featurePaths(cache, key);
    const bytes = await fs.readFile(data);
    bytes[5] = (bytes[5] ?? 0) ^ 0xff;
    await fs.writeFile(data, bytes);
    const bad = await lookupVideoFeatures(cache, key);
    expect(bad.status).toBe('corrupt');
    await expect(loadVideoFeatures(cache, entry)).rejects.toThrow(/sha256 .* does not match/);
    await fs.writeFile(data, bytes.subarray(0, 10));
    expect(await lookupVideoFeatures(cache, key)).toMatchObject({ status: 'corrupt', reason: expect.stringMatching(/10 bytes, expected 56/) });
  });
});
