// export-dataset: labels database → training_datasets/<name>/{manifest.json, ground_truth.json, videos/}.
// Each video file is found by filename in --videos-dir (or RALLYCUT_VIDEOS_DIR), else by content_hash in
// the local content cache (<cacheDir>/videos/<content_hash>), else downloaded from the app's bucket by
// s3_key into that cache. Its full sha256 goes into the manifest. A video that cannot be found or fails a
// check is reported by name after all the others are exported. The steps have their modules: locate.ts finds
// a file, place.ts links it into videos/, manifest.ts writes manifest.json and ground_truth.json.
import { createHash } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { appRemote, forEachLimit, stableJson } from '../../src/handler.js';
import type { Manifest } from '../lib/contracts.js';
import { errorText, videosFailed, type DatasetContext, type VideoFailure } from '../lib/dataset/context.js';
import { filenameProblem, parseManifest } from '../lib/dataset/format.js';
import { HEX64 } from '../lib/dataset/hashing.js';
import { contentCachePath, datasetDir, localVideoName, MANIFEST_FILE, VIDEOS_DIR } from '../lib/dataset/layout.js';
import { ShaCache } from '../lib/dataset/sha-cache.js';
import { checkSchema, openDatabase, queryGroundTruth, type LabelledVideo } from '../lib/db/index.js';
import { locateVideo, type VideoSearch, type VideoSource } from './locate.js';
import { readText, writeDatasetFiles } from './manifest.js';
import { keepInContentCache, placeVideo, removeStaleVideos, type LinkMode } from './place.js';

export type { LinkMode } from './place.js';
export type { VideoSource } from './locate.js';

export interface ExportOptions {
  name: string;
  output?: string;
  videosDir?: string;
  mode?: LinkMode;
  /** Ground truth already read (by the handler's stamp), so the export writes exactly what was stamped. */
  labels?: LabelledVideo[];
}

export interface ExportResult {
  dir: string;
  videos: number;
  rallies: number;
  manifestWritten: boolean;
  groundTruthWritten: boolean;
  sources: Record<VideoSource, number>;
  removedStale: number;
}

/** Reads the ground truth from the labels database (the caller's env picks which one). */
export async function readLabels(ctx: DatasetContext, beforeUnlock?: (dataDir: string) => Promise<void>): Promise<LabelledVideo[]> {
  const db = await openDatabase({ cacheDir: ctx.cacheDir, env: ctx.env, log: ctx.log, ...(beforeUnlock ? { beforeUnlock } : {}) });
  try {
    await checkSchema(db, 'export');
    return await queryGroundTruth(db);
  } finally {
    await db.close();
  }
}

/** The handler's external stamp: a hash of the ground-truth query result. */
export function labelsStamp(labels: readonly LabelledVideo[]): string {
  return createHash('sha256').update(stableJson(labels)).digest('hex');
}

export async function exportDataset(ctx: DatasetContext, opts: ExportOptions): Promise<ExportResult> {
  const dir = datasetDir(ctx.root, opts.name, opts.output);
  const shown = relative(ctx.root, dir) || '.';
  const videosDir = opts.videosDir ?? ctx.env.RALLYCUT_VIDEOS_DIR;
  const searchDir = videosDir ? resolve(ctx.root, videosDir) : undefined;
  const mode = opts.mode ?? 'link';
  const labels = opts.labels ?? (await readLabels(ctx));

  const failures: VideoFailure[] = [];
  const valid = labels.filter((v) => {
    const problem =
      filenameProblem(v.filename) ??
      (HEX64.test(v.content_hash) ? null : `content_hash '${v.content_hash}' in the database is not 64 lowercase hex characters`);
    if (problem) failures.push({ video: `${v.filename} (${v.id})`, message: `${problem}; left out of the dataset` });
    return !problem;
  });

  // What the previous export recorded: kept when a file is not available now, and checked when it is.
  const prevText = await readText(join(dir, MANIFEST_FILE));
  let prev: Manifest | null = null;
  try {
    prev = prevText ? parseManifest(prevText, join(shown, MANIFEST_FILE)) : null;
  } catch {
    prev = null; // a broken previous manifest is simply replaced
  }
  const prevById = new Map((prev?.videos ?? []).map((v) => [v.video_id, v]));

  const shaCache = await ShaCache.open(ctx.cacheDir);
  const search: VideoSearch = {
    ctx,
    searchDir,
    shaCache,
    app: appRemote(ctx.env),
    recordedSha: (v) => (prevById.get(v.id)?.content_hash === v.content_hash ? prevById.get(v.id)?.sha256 : undefined),
  };
  const sources: Record<VideoSource, number> = { 'videos-dir': 0, 'content-cache': 0, 'app-s3': 0 };
  const recorded = new Map<string, { sha256: string; size: number }>();
  const names = valid.map((v) => ({ filename: v.filename }));
  const progress = ctx.progress(`export ${opts.name}`, valid.length, 'videos');

  const failed = await forEachLimit(
    valid,
    Math.max(1, Math.min(ctx.jobs, 4)),
    async (v) => {
      const found = await locateVideo(v, search);
      await placeVideo(found, join(dir, VIDEOS_DIR, localVideoName(v, names)), mode);
      await keepInContentCache(found, contentCachePath(ctx.cacheDir, v.content_hash));
      const { sha256, size } = found;
      sources[found.source]++;
      recorded.set(v.id, { sha256, size });
      progress.tick();
    },
    ctx.signal,
  );
  progress.done();
  for (const f of failed) failures.push({ video: f.item.filename, message: errorText(f.error) });
  await shaCache.save();

  const { manifestWritten, groundTruthWritten } = await writeDatasetFiles(dir, opts.name, valid, recorded, prev, prevText);

  const removedStale = await removeStaleVideos(join(dir, VIDEOS_DIR), new Set(valid.map((v) => localVideoName(v, names))));

  const rallies = valid.reduce((a, v) => a + v.rallies.length, 0);
  ctx.log(
    `exported ${opts.name}: ${valid.length} videos, ${rallies} rallies → ${shown}` +
      ` (files: ${sources['videos-dir']} from videos dir, ${sources['content-cache']} from content cache, ${sources['app-s3']} from app bucket)` +
      (manifestWritten || groundTruthWritten ? '' : '; labels unchanged'),
  );
  if (failures.length) throw videosFailed(`export of ${opts.name}`, failures);
  return { dir, videos: valid.length, rallies, manifestWritten, groundTruthWritten, sources, removedStale };
}
