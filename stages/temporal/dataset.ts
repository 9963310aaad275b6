// Joins features/index.json with a ground_truth.json by video_id and loads each video's arrays from
// the feature store. A video whose arrays are unusable is reported, not silently dropped: the caller
// gets the list and decides (training continues only with a clear summary).
import { promises as fs } from 'node:fs';
import { failure } from '../../src/handler.js';
import type { FeatureIndex, GroundTruth } from '../lib/contracts.js';
import { loadVideoFeatures, readFeatureIndex } from '../lib/features/index.js';
import { windowLabels, type TemporalVideo } from './data.js';

export interface LoadedDataset {
  index: FeatureIndex;
  videos: TemporalVideo[];
  source: 'features' | 'probs';
  /** Videos in the index without ground truth (skipped), and videos whose arrays failed to load. */
  skipped: string[];
  problems: string[];
}

export async function readGroundTruth(path: string): Promise<GroundTruth> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch {
    throw failure(`cannot read ground truth ${path}`, { file: path, notes: ["export it with 'rallycut train export-dataset'"] });
  }
  let gt: unknown;
  try {
    gt = JSON.parse(text);
  } catch (err) {
    throw failure(`${path} is not valid JSON: ${(err as Error).message}`, { file: path });
  }
  if (!Array.isArray(gt)) throw failure(`${path} must be an array of {video_id, filename, rallies}`, { file: path });
  gt.forEach((v: { video_id?: unknown; rallies?: unknown }, i) => {
    if (typeof v.video_id !== 'string' || !Array.isArray(v.rallies))
      throw failure(`${path}: entry ${i} needs a string video_id and a rallies array`, { file: path });
  });
  return gt as GroundTruth;
}

export async function loadDataset(indexPath: string, gtPath: string, cacheDir: string, onVideo?: () => void): Promise<LoadedDataset> {
  const index = await readFeatureIndex(indexPath);
  const gt = new Map((await readGroundTruth(gtPath)).map((v) => [v.video_id, v]));
  const useFeatures = index.model.feature_dim !== null && index.model.feature_dim > 0;
  const videos: TemporalVideo[] = [];
  const skipped: string[] = [];
  const problems: string[] = [];
  for (const entry of [...index.videos].sort((a, b) => (a.video_id < b.video_id ? -1 : 1))) {
    const truth = gt.get(entry.video_id);
    if (!truth) {
      skipped.push(entry.video_id);
      onVideo?.();
      continue;
    }
    try {
      const vf = await loadVideoFeatures(cacheDir, entry);
      if (useFeatures && (!vf.features || vf.dim !== index.model.feature_dim)) {
        throw new Error(`has ${vf.features ? `${vf.dim}-d` : 'no'} features, the index says ${index.model.feature_dim}-d`);
      }
      const x = useFeatures && vf.features ? vf.features : vf.probs;
      const dim = useFeatures && vf.features ? vf.dim : 3;
      const n = x.length / dim;
      const rallies = [...truth.rallies].sort((a, b) => a.start_ms - b.start_ms);
      videos.push({
        video_id: entry.video_id,
        filename: entry.filename,
        fps: entry.fps,
        stride: entry.stride,
        total_frames: entry.total_frames,
        x,
        dim,
        labels: windowLabels(n, entry.stride, entry.fps, rallies),
        rallies,
        source: entry.key,
      });
    } catch (err) {
      problems.push(`${entry.filename} (${entry.video_id}): ${(err as Error).message}`);
    }
    onVideo?.();
  }
  return { index, videos, source: useFeatures ? 'features' : 'probs', skipped, problems };
}
