// Puts the demo's ground truth into the labels database, as a user's labelled uploads would be: status
// DETECTED, rallies with confidence NULL. Idempotent (the db library deduplicates by content_hash).
import { insertLabelledVideos, initSchema, openDatabase, type VideoToLoad } from '../lib/db/index.js';
import type { DemoDataset } from './generate.js';

export interface LoadSummary {
  database: string;
  inserted_videos: number;
  reused_videos: number;
  new_rallies: number;
}

export function toLoad(dataset: DemoDataset): VideoToLoad[] {
  return dataset.videos.map((v) => ({
    id: v.video_id,
    filename: v.filename,
    name: v.filename.replace(/\.[^.]+$/, ''),
    s3_key: `demo/${v.content_hash}/${v.filename}`,
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
    const plan = await insertLabelledVideos(db, toLoad(dataset));
    return { database: db.description, inserted_videos: plan.inserted_videos, reused_videos: plan.reused_videos, new_rallies: plan.new_rallies };
  } finally {
    await db.close();
  }
}
