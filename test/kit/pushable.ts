// A dataset folder push can back up without any video tooling: random bytes standing in for videos, with a
// manifest and ground truth that name them by their sha256 (the app's content_hash at these sizes).
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Manifest, ManifestVideo } from '../../stages/lib/contracts.js';
import { formatGroundTruth, formatManifest, manifestStats } from '../../stages/lib/dataset/format.js';
import type { Rig } from '../rig.js';
import { sha256 } from './dataset.js';

export interface Video {
  filename: string;
  bytes: Buffer;
  sha: string;
}

export function makeVideos(count: number, size: number): Video[] {
  return Array.from({ length: count }, (_, i) => {
    const bytes = randomBytes(size);
    return { filename: `v${String(i).padStart(2, '0')}.mp4`, bytes, sha: sha256(bytes) };
  });
}

/** training_datasets/<name>/ with manifest.json, ground_truth.json and (optionally) the videos; pipeline.yaml with no stages. */
export async function writeDataset(rig: Rig, name: string, videos: readonly Video[], withVideos: boolean): Promise<void> {
  const dir = join(rig.dir, 'training_datasets', name);
  const entries: ManifestVideo[] = videos.map((v, i) => ({
    filename: v.filename,
    video_id: `id-${i}`,
    content_hash: v.sha, // a full-file hash, as the app records for files up to 50 MiB
    duration_ms: 60_000,
    rally_count: 1,
    sha256: v.sha,
    size_bytes: v.bytes.length,
  }));
  const manifest: Manifest = { name, description: 'stand-in dataset', created: '2026-01-01T00:00:00.000Z', videos: entries, stats: manifestStats(entries) };
  await rig.write({
    'pipeline.yaml': 'stages: {}\n',
    [`training_datasets/${name}/manifest.json`]: formatManifest(manifest),
    [`training_datasets/${name}/ground_truth.json`]: formatGroundTruth(
      entries.map((v) => ({ video_id: v.video_id, filename: v.filename, rallies: [{ start_ms: 1000, end_ms: 5000 }] })),
    ),
  });
  if (withVideos) {
    await fs.mkdir(join(dir, 'videos'), { recursive: true });
    for (const v of videos) await fs.writeFile(join(dir, 'videos', v.filename), v.bytes);
  }
}
