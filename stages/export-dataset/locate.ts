// Finding an exported video's file: by filename in --videos-dir (or RALLYCUT_VIDEOS_DIR), else by
// content_hash in the local content cache, else downloaded from the app's bucket into that cache.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { appRemote } from '../../src/handler.js';
import { errorText, type DatasetContext } from '../lib/dataset/context.js';
import { contentHashProblem } from '../lib/dataset/hashing.js';
import { contentCachePath } from '../lib/dataset/layout.js';
import type { ShaCache } from '../lib/dataset/sha-cache.js';
import type { LabelledVideo } from '../lib/db/index.js';

export type VideoSource = 'videos-dir' | 'content-cache' | 'app-s3';

export interface FoundVideo {
  path: string;
  source: VideoSource;
  sha256: string;
  size: number;
}

export interface VideoSearch {
  ctx: Pick<DatasetContext, 'cacheDir' | 'signal'>;
  /** --videos-dir or RALLYCUT_VIDEOS_DIR, absolute. */
  searchDir: string | undefined;
  shaCache: ShaCache;
  /** The app's bucket (APP_S3_BUCKET), when set. */
  app: ReturnType<typeof appRemote>;
  /** The sha256 the previous export recorded for this video (same content_hash), to check against. */
  recordedSha(v: LabelledVideo): string | undefined;
}

export async function isFile(path: string): Promise<boolean> {
  return fs.stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * The first candidate whose bytes fit what is known about the video: its size in the database, its
 * content_hash where that is a full-file hash, and the sha256 the previous export recorded. A same-named but
 * different file in the videos folder is skipped (real data has two different 'tete.mp4'), not exported by mistake.
 */
export async function locateVideo(v: LabelledVideo, search: VideoSearch): Promise<FoundVideo> {
  const { ctx, searchDir, shaCache, app } = search;
  const tried: string[] = [];
  const knownSha = search.recordedSha(v);
  const check = async (path: string, source: VideoSource): Promise<FoundVideo | null> => {
    // The app records each file's size: a cheap check that also tells apart large same-named videos,
    // whose content_hash cannot be recomputed.
    const st = await fs.stat(path);
    if (v.file_size_bytes !== null && st.size !== v.file_size_bytes) {
      tried.push(`${path}: ${st.size} bytes, but the database records file_size_bytes ${v.file_size_bytes}`);
      return null;
    }
    const { sha256, size } = await shaCache.hash(path, ctx.signal);
    const problem =
      contentHashProblem(v.content_hash, sha256, size) ??
      (knownSha && knownSha !== sha256 ? `sha256 ${sha256.slice(0, 12)}… differs from the ${knownSha.slice(0, 12)}… recorded by the last export` : null);
    if (!problem) return { path, source, sha256, size };
    tried.push(`${path}: ${problem}`);
    return null;
  };
  if (searchDir) {
    const p = join(searchDir, v.filename);
    if (await isFile(p)) {
      const ok = await check(p, 'videos-dir');
      if (ok) return ok;
    } else tried.push(`${p}: not found`);
  } else tried.push('no --videos-dir / RALLYCUT_VIDEOS_DIR given');
  const cached = contentCachePath(ctx.cacheDir, v.content_hash);
  if (await isFile(cached)) {
    const ok = await check(cached, 'content-cache');
    if (ok) return ok;
    await fs.rm(cached, { force: true }); // a wrong file under this hash would mislead every later export
  } else tried.push(`${cached}: not found`);
  if (app) {
    try {
      await app.getFile(v.s3_key, cached, { signal: ctx.signal });
      const ok = await check(cached, 'app-s3');
      if (ok) return ok;
      await fs.rm(cached, { force: true });
    } catch (err) {
      tried.push(`${app.description}/${v.s3_key}: ${errorText(err)}`);
    }
  } else tried.push('APP_S3_BUCKET not set');
  throw new Error(`no usable video file; tried ${tried.join('; ')}`);
}
