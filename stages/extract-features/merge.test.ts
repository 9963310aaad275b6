import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stableJson } from '../../src/handler.js';
import type { FeatureIndex, FeatureIndexVideo } from '../lib/contracts.js';
import { pickVideo } from './index.js';
import { mergeIndexes } from './merge.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

const video = (id: string): FeatureIndexVideo => ({
  video_id: id,
  filename: `${id}.mp4`,
  content_hash: `h-${id}`,
  sha256: `s-${id}`,
  fps: 30,
  total_frames: 300,
  stride: 48,
  num_windows: 6,
  key: `k-${id}`,
});
const index = (videos: FeatureIndexVideo[], sha = 'm1'): FeatureIndex => ({
  version: 1,
  model: { variant: 'indoor', sha256: sha, feature_dim: 8 },
  base_stride: 48,
  videos,
});

async function write(indexes: Record<string, FeatureIndex>): Promise<string[]> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'rallycut-merge-'));
  dirs.push(dir);
  const files: string[] = [];
  for (const [name, ix] of Object.entries(indexes)) {
    await fs.writeFile(join(dir, name), stableJson(ix));
    files.push(join(dir, name));
  }
  return files;
}

describe('per-video extract-features', () => {
  it('merging the per-video indexes gives the bytes one stage over all videos writes', async () => {
    const files = await write({ 'b.json': index([video('b')]), 'a.json': index([video('a')]), 'c.json': index([video('c')]) });
    const whole = index([video('a'), video('b'), video('c')]);
    expect(stableJson(await mergeIndexes(files))).toBe(stableJson(whole));
  });

  it('refuses indexes made with different models, naming the file', async () => {
    const files = await write({ 'a.json': index([video('a')]), 'b.json': index([video('b')], 'm2') });
    await expect(mergeIndexes(files)).rejects.toThrow(/b\.json was made with another model or stride/);
  });

  it('a video param keeps only that video and names the known ones when it is absent', () => {
    const inputs = [{ video_id: 'a' }, { video_id: 'b' }];
    expect(pickVideo(inputs, 'b', 'proxies.json')).toEqual([{ video_id: 'b' }]);
    expect(pickVideo(inputs, undefined, 'proxies.json')).toEqual(inputs);
    expect(() => pickVideo(inputs, 'z', 'proxies.json')).toThrow(/video 'z' is not in proxies\.json/);
  });
});
