// Writes a small synthetic project for tests and benchmarks: feature arrays in a real feature store
// (the extract-features format), features/index.json and a ground_truth.json.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { FeatureIndex, GroundTruth } from '../lib/contracts.js';
import { featureKey, writeVideoFeatures } from '../lib/features/index.js';
import { synthVideos, type SynthOptions } from './synth.js';

export interface FixtureFiles {
  featuresPath: string;
  groundTruthPath: string;
  cacheDir: string;
}

/** Probabilities are a noisy squashing of the label, so the D=3 fallback also has something to learn. */
export async function writeSyntheticProject(root: string, o: SynthOptions & { withFeatures?: boolean }): Promise<FixtureFiles> {
  const videos = synthVideos(o);
  const cacheDir = join(root, '.cache');
  const withFeatures = o.withFeatures ?? true;
  const index: FeatureIndex = {
    version: 1,
    model: { variant: 'synthetic', sha256: 'synthetic', feature_dim: withFeatures ? o.dim : null },
    base_stride: 48,
    videos: [],
  };
  for (const v of videos) {
    const n = v.labels.length;
    const probs = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const play = Math.min(0.95, Math.max(0.02, (v.labels[i] ? 0.65 : 0.25) + 0.25 * (v.x[i * v.dim]! * (v.labels[i] ? -1 : 1) * 0.3)));
      probs[i * 3] = 1 - play;
      probs[i * 3 + 1] = play * 0.8;
      probs[i * 3 + 2] = play * 0.2;
    }
    const content_hash = `hash-${v.video_id}`;
    const key = featureKey({ content_hash, decoded_sha256: content_hash, stride: v.stride, model_sha256: 'synthetic' });
    await writeVideoFeatures(cacheDir, {
      key,
      content_hash,
      source_sha256: content_hash,
      fps: v.fps,
      total_frames: v.total_frames,
      stride: v.stride,
      model: { variant: 'synthetic', sha256: 'synthetic' },
      probs,
      features: withFeatures ? v.x : null,
    });
    index.videos.push({
      video_id: v.video_id,
      filename: v.filename,
      content_hash,
      sha256: content_hash,
      fps: v.fps,
      total_frames: v.total_frames,
      stride: v.stride,
      num_windows: n,
      key,
    });
  }
  const gt: GroundTruth = videos.map((v) => ({ video_id: v.video_id, filename: v.filename, rallies: v.rallies }));
  const featuresPath = join(root, 'features', 'index.json');
  const groundTruthPath = join(root, 'training_datasets', 'synthetic', 'ground_truth.json');
  await fs.mkdir(join(root, 'features'), { recursive: true });
  await fs.mkdir(join(root, 'training_datasets', 'synthetic'), { recursive: true });
  await fs.writeFile(featuresPath, JSON.stringify(index, null, 2));
  await fs.writeFile(groundTruthPath, JSON.stringify(gt, null, 2));
  return { featuresPath, groundTruthPath, cacheDir };
}
