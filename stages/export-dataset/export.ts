// export-dataset: labels database → training_datasets/<name>/{manifest.json, ground_truth.json, videos/}.
// Each video file is found by filename in --videos-dir (or RALLYCUT_VIDEOS_DIR), else by content_hash in
// the local content cache (<cacheDir>/videos/<content_hash>), else downloaded from the app's bucket by
// s3_key into that cache. Its full sha256 goes into the manifest. A video that cannot be found or fails a
// check is reported by name after all the others are exported.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { appRemote, linkOrCopy, stableJson, tempPathFor, writeFileAtomic } from '../../src/handler.js';
import type { Manifest, ManifestVideo } from '../lib/contracts.js';
import { errorText, videosFailed, type DatasetContext, type VideoFailure } from '../lib/dataset/context.js';
import { filenameProblem, formatGroundTruth, formatManifest, manifestStats, parseManifest } from '../lib/dataset/format.js';
import { contentHashProblem, HEX64 } from '../lib/dataset/hashing.js';
import { contentCachePath, datasetDir, GROUND_TRUTH_FILE, localVideoName, MANIFEST_FILE, VIDEOS_DIR } from '../lib/dataset/layout.js';
import { forEachLimit } from '../../src/handler.js';
import { ShaCache } from '../lib/dataset/sha-cache.js';
import { checkSchema, openDatabase, queryGroundTruth, type LabelledVideo } from '../lib/db/index.js';

export type LinkMode = 'link' | 'copy' | 'symlink';

export interface ExportOptions {
  name: string;
  output?: string;
  videosDir?: string;
  mode?: LinkMode;
  /** Ground truth already read (by the handler's stamp), so the export writes exactly what was stamped. */
  labels?: LabelledVideo[];
}

export type VideoSource = 'videos-dir' | 'content-cache' | 'app-s3';

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

async function readText(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch {
    return null;
  }
}

async function isFile(path: string): Promise<boolean> {
  return fs.stat(path).then((s) => s.isFile(), () => false);
}

async function sameInode(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fs.stat(a).catch(() => null), fs.stat(b).catch(() => null)]);
  return !!sa && !!sb && sa.dev === sb.dev && sa.ino === sb.ino;
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
    const problem = filenameProblem(v.filename) ?? (HEX64.test(v.content_hash) ? null : `content_hash '${v.content_hash}' in the database is not 64 lowercase hex characters`);
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
  const app = appRemote(ctx.env);
  const sources: Record<VideoSource, number> = { 'videos-dir': 0, 'content-cache': 0, 'app-s3': 0 };
  const recorded = new Map<string, { sha256: string; size: number }>();
  const names = valid.map((v) => ({ filename: v.filename }));
  const progress = ctx.progress(`export ${opts.name}`, valid.length, 'videos');

  /**
   * The first candidate whose bytes fit what is known about the video: its size in the database, its
   * content_hash where that is a full-file hash, and the sha256 the previous export recorded. A same-named but different file in the
   * videos folder is skipped (real data has two different 'tete.mp4'), not exported by mistake.
   */
  const locate = async (v: LabelledVideo): Promise<{ path: string; source: VideoSource; sha256: string; size: number }> => {
    const tried: string[] = [];
    const before = prevById.get(v.id);
    const knownSha = before?.content_hash === v.content_hash ? before.sha256 : undefined;
    const check = async (path: string, source: VideoSource): Promise<{ path: string; source: VideoSource; sha256: string; size: number } | null> => {
      // The app records each file's size: a cheap check that also tells apart large same-named videos,
      // whose content_hash cannot be recomputed.
      const st = await fs.stat(path);
      if (v.file_size_bytes !== null && st.size !== v.file_size_bytes) {
        tried.push(`${path}: ${st.size} bytes, but the database records file_size_bytes ${v.file_size_bytes}`);
        return null;
      }
      const { sha256, size } = await shaCache.hash(path, ctx.signal);
      const problem = contentHashProblem(v.content_hash, sha256, size) ?? (knownSha && knownSha !== sha256 ? `sha256 ${sha256.slice(0, 12)}… differs from the ${knownSha.slice(0, 12)}… recorded by the last export` : null);
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
  };

  const failed = await forEachLimit(
    valid,
    Math.max(1, Math.min(ctx.jobs, 4)),
    async (v) => {
      const dest = join(dir, VIDEOS_DIR, localVideoName(v, names));
      const found = await locate(v);
      const { sha256, size } = found;
      if (!(await sameInode(found.path, dest))) {
        if (mode === 'copy') {
          await fs.mkdir(join(dir, VIDEOS_DIR), { recursive: true });
          const tmp = tempPathFor(dest);
          await fs.copyFile(found.path, tmp);
          await fs.rename(tmp, dest);
        } else if (mode === 'symlink') {
          await fs.mkdir(join(dir, VIDEOS_DIR), { recursive: true });
          const tmp = tempPathFor(dest);
          await fs.symlink(resolve(found.path), tmp);
          await fs.rename(tmp, dest);
        } else await linkOrCopy(found.path, dest);
      }
      // Keep a hardlink in the content cache so later exports find the file without --videos-dir.
      const cached = contentCachePath(ctx.cacheDir, v.content_hash);
      if (found.source === 'videos-dir' && !(await isFile(cached))) {
        await fs.mkdir(join(ctx.cacheDir, 'videos'), { recursive: true });
        await fs.link(found.path, cached).catch(() => undefined);
      }
      sources[found.source]++;
      recorded.set(v.id, { sha256, size });
      progress.tick();
    },
    ctx.signal,
  );
  progress.done();
  for (const f of failed) failures.push({ video: f.item.filename, message: errorText(f.error) });
  await shaCache.save();

  const videos: ManifestVideo[] = valid.map((v) => {
    const rec = recorded.get(v.id);
    const before = prevById.get(v.id);
    const keep = before && before.content_hash === v.content_hash ? before : undefined;
    const sha256 = rec?.sha256 ?? keep?.sha256;
    const size = rec?.size ?? keep?.size_bytes;
    return {
      filename: v.filename,
      video_id: v.id,
      content_hash: v.content_hash,
      duration_ms: v.duration_ms ?? 0,
      rally_count: v.rallies.length,
      ...(sha256 ? { sha256 } : {}),
      ...(size !== undefined ? { size_bytes: size } : {}),
    };
  });
  const manifest: Manifest = {
    name: opts.name,
    description: prev?.description ?? `Training dataset: ${opts.name}`,
    created: prev?.created ?? exportTime(),
    videos,
    stats: manifestStats(videos),
  };
  // `created` moves only when the content does: same everything else → keep the previous timestamp.
  let manifestText = formatManifest(manifest);
  if (prevText !== manifestText) manifestText = formatManifest({ ...manifest, created: exportTime() });
  const gtText = formatGroundTruth(valid.map((v) => ({ video_id: v.id, filename: v.filename, rallies: v.rallies })));
  const manifestWritten = prevText !== manifestText;
  const groundTruthWritten = (await readText(join(dir, GROUND_TRUTH_FILE))) !== gtText;
  if (groundTruthWritten) await writeFileAtomic(join(dir, GROUND_TRUTH_FILE), gtText);
  if (manifestWritten) await writeFileAtomic(join(dir, MANIFEST_FILE), manifestText);

  // Files of videos no longer in the dataset would otherwise be trained on by mistake.
  let removedStale = 0;
  const keep = new Set(valid.map((v) => localVideoName(v, names)));
  const entries = await fs.readdir(join(dir, VIDEOS_DIR), { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, VIDEOS_DIR, e.name);
    if (!keep.has(e.name) && (e.isFile() || e.isSymbolicLink())) {
      await fs.rm(p, { force: true });
      removedStale++;
    }
  }

  const rallies = valid.reduce((a, v) => a + v.rallies.length, 0);
  ctx.log(
    `exported ${opts.name}: ${valid.length} videos, ${rallies} rallies → ${shown}` +
      ` (files: ${sources['videos-dir']} from videos dir, ${sources['content-cache']} from content cache, ${sources['app-s3']} from app bucket)` +
      (manifestWritten || groundTruthWritten ? '' : '; labels unchanged'),
  );
  if (failures.length) throw videosFailed(`export of ${opts.name}`, failures);
  return { dir, videos: valid.length, rallies, manifestWritten, groundTruthWritten, sources, removedStale };
}

/** Now, or SOURCE_DATE_EPOCH (the reproducible-builds convention) so a rebuild gives byte-identical files. */
function exportTime(): string {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  return new Date(process.env.SOURCE_DATE_EPOCH && Number.isFinite(epoch) ? epoch * 1000 : Date.now()).toISOString();
}
