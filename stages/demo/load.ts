// Puts the demo's ground truth into the labels database, as a user's labelled uploads would be: status
// DETECTED, rallies with confidence NULL. Idempotent (the db library deduplicates by content_hash). The demo
// replaces any earlier demo (videos under the demo/ key prefix, e.g. from another --seed) in the same
// transaction, so the dataset is exactly this demo; other videos are never touched.
import { applyLoad, deleteVideosByKeyPrefix, initSchema, openDatabase, planLoad, type VideoToLoad } from '../lib/db/index.js';

const DEMO_KEY_PREFIX = 'demo/';
import type { DemoDataset } from './generate.js';

export interface LoadSummary {
  database: string;
  inserted_videos: number;
  reused_videos: number;
  new_rallies: number;
  /** Filenames of earlier demo videos (another seed or size) that were removed. */
  removed_videos: string[];
}

export function toLoad(dataset: DemoDataset): VideoToLoad[] {
  return dataset.videos.map((v) => ({
    id: v.video_id,
    filename: v.filename,
    name: v.filename.replace(/\.[^.]+$/, ''),
    s3_key: `${DEMO_KEY_PREFIX}${v.content_hash}/${v.filename}`,
    content_hash: v.content_hash,
    duration_ms: v.duration_ms,
    width: v.width,
    height: v.height,
    fps: v.fps,
    file_size_bytes: v.size_bytes,
    rallies: v.rallies,
  }));
}

export async function loadDemoLabels(
  dataset: DemoDataset,
  opts: { cacheDir: string; env: Readonly<Record<string, string | undefined>>; log?(message: string): void },
): Promise<LoadSummary> {
  const db = await openDatabase({ cacheDir: opts.cacheDir, env: opts.env, ...(opts.log ? { log: opts.log } : {}) });
  try {
    await initSchema(db);
    const videos = toLoad(dataset);
    const { plan, removed } = await db.transaction(async (q) => {
      const removed = await deleteVideosByKeyPrefix(
        q,
        DEMO_KEY_PREFIX,
        videos.map((v) => v.content_hash),
      );
      const plan = await planLoad(q, videos);
      await applyLoad(q, plan);
      return { plan, removed };
    });
    return {
      database: db.description,
      inserted_videos: plan.inserted_videos,
      reused_videos: plan.reused_videos,
      new_rallies: plan.new_rallies,
      removed_videos: removed,
    };
  } finally {
    await db.close();
  }
}
