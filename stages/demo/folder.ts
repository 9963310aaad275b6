// Writes a demo dataset straight into a dataset folder (manifest.json, ground_truth.json, videos/), the
// shape export-dataset produces, without going through the database. Tests and benchmarks use it to feed
// prepare with known ground truth.
import { join } from 'node:path';
import { linkOrCopy, writeFileAtomic } from '../../src/handler.js';
import type { Manifest } from '../lib/contracts.js';
import { formatGroundTruth, formatManifest, manifestStats } from '../lib/dataset/format.js';
import { GROUND_TRUTH_FILE, MANIFEST_FILE, VIDEOS_DIR } from '../lib/dataset/layout.js';
import type { DemoDataset } from './generate.js';

export async function writeDatasetFolder(demo: DemoDataset, demoDir: string, datasetDir: string, name: string): Promise<void> {
  const videos = demo.videos.map((v) => ({
    filename: v.filename,
    video_id: v.video_id,
    content_hash: v.content_hash,
    duration_ms: v.duration_ms,
    rally_count: v.rallies.length,
    sha256: v.sha256,
    size_bytes: v.size_bytes,
  }));
  const manifest: Manifest = {
    name,
    description: `synthetic demo dataset, seed ${demo.config.seed}`,
    created: '2026-01-01T00:00:00.000Z',
    videos,
    stats: manifestStats(videos),
  };
  for (const v of demo.videos) await linkOrCopy(join(demoDir, v.path), join(datasetDir, VIDEOS_DIR, v.filename));
  await writeFileAtomic(join(datasetDir, MANIFEST_FILE), formatManifest(manifest));
  await writeFileAtomic(
    join(datasetDir, GROUND_TRUTH_FILE),
    formatGroundTruth(demo.videos.map((v) => ({ video_id: v.video_id, filename: v.filename, rallies: v.rallies }))),
  );
}
