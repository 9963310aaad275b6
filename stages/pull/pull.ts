// pull: the training remote → training_datasets/<name>. The JSONs are validated before they replace the
// local ones; each missing video is downloaded to a temp file, checked against the manifest's sha256 (or
// its content_hash where that is a full-file hash), and only then renamed into place. Videos already
// present with the right bytes are skipped, so an interrupted pull, rerun, fetches only the rest.
import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import {
  configError,
  crashPoint,
  forEachLimit,
  formatBytes,
  isInside,
  listSizes,
  refuseLinkedParents,
  tempPathFor,
  toPosix,
  trainingRemote,
  writeFileAtomic,
} from '../../src/handler.js';
import type { ManifestVideo } from '../lib/contracts.js';
import { errorText, videosFailed, type DatasetContext, type VideoFailure } from '../lib/dataset/context.js';
import { crossCheck, parseGroundTruth, parseManifest } from '../lib/dataset/format.js';
import { expectedSha256 } from '../lib/dataset/hashing.js';
import { contentCachePath, datasetDir, GROUND_TRUTH_FILE, localVideoPath, MANIFEST_FILE, remoteKeys, VIDEOS_DIR } from '../lib/dataset/layout.js';
import { ShaCache } from '../lib/dataset/sha-cache.js';

export interface PullOptions {
  name: string;
  output?: string;
  concurrency?: number;
}

export interface PullResult {
  dir: string;
  downloaded: number;
  downloadedBytes: number;
  present: number;
}

export async function pullDataset(ctx: DatasetContext, opts: PullOptions): Promise<PullResult> {
  const dir = datasetDir(ctx.root, opts.name, opts.output);
  await refuseLinkedFolders(ctx.root, dir);
  const { remote, notice } = trainingRemote(ctx.env, ctx.cacheDir, ctx.root);
  ctx.log(notice);
  const [mBytes, gBytes] = await Promise.all([remote.getBytes(remoteKeys.manifest(opts.name)), remote.getBytes(remoteKeys.groundTruth(opts.name))]);
  if (!mBytes || !gBytes) {
    const names = new Set<string>();
    for await (const o of remote.list(remoteKeys.datasetsPrefix)) names.add(o.key.split('/')[1] ?? '');
    throw configError(`no dataset '${opts.name}' on ${remote.description}`, {
      subject: opts.name,
      notes: [names.size ? `datasets there: ${[...names].sort().join(', ')}` : 'the remote has no datasets yet'],
    });
  }
  const mText = mBytes.toString('utf8');
  const gText = gBytes.toString('utf8');
  const manifest = parseManifest(mText, `${remote.description}/${remoteKeys.manifest(opts.name)}`);
  const gt = parseGroundTruth(gText, `${remote.description}/${remoteKeys.groundTruth(opts.name)}`);
  crossCheck(manifest, gt, `${remote.description}/${remoteKeys.groundTruth(opts.name)}`);

  const listing = await listSizes(remote, remoteKeys.videosPrefix);
  const shaCache = await ShaCache.open(ctx.cacheDir);
  const videos = manifest.videos;
  const failures: VideoFailure[] = [];
  const todo: ManifestVideo[] = [];
  let present = 0;
  for (const v of videos) {
    const file = localVideoPath(dir, v, videos);
    const st = await fs.stat(file).catch(() => null);
    if (st && (v.size_bytes === undefined || st.size === v.size_bytes)) {
      const want = expectedSha256(v, st.size);
      if (!want || (await shaCache.hash(file, ctx.signal)).sha256 === want) {
        present++;
        continue;
      }
    }
    todo.push(v);
  }
  const total = todo.reduce((a, v) => a + (listing.get(remoteKeys.video(v.content_hash)) ?? 0), 0);
  const progress = ctx.progress(`pull ${opts.name}`, total, 'B');
  let received = 0;
  let downloaded = 0;
  let downloadedBytes = 0; // of the videos kept, not the bytes planned
  const failed = await forEachLimit(
    todo,
    opts.concurrency ?? Math.max(4, ctx.jobs),
    async (v) => {
      const key = remoteKeys.video(v.content_hash);
      if (!listing.has(key)) throw new Error(`${key} is not on ${remote.description}`);
      const file = localVideoPath(dir, v, videos);
      const tmp = tempPathFor(file);
      let last = 0;
      try {
        await remote.getFile(key, tmp, {
          signal: ctx.signal,
          onProgress: (b) => {
            received += b - last;
            last = b;
            progress.update(received);
          },
        });
        const { sha256, size } = await shaCache.hash(tmp, ctx.signal);
        const want = expectedSha256(v, size);
        if (want && sha256 !== want) throw new Error(`downloaded bytes have sha256 ${sha256.slice(0, 12)}…, expected ${want.slice(0, 12)}…; not kept`);
        if (!want) ctx.log(`${v.filename}: no sha256 recorded and content_hash is not a full-file hash; kept without verification`);
        crashPoint('pull.rename');
        await fs.rename(tmp, file);
        downloadedBytes += size;
      } finally {
        await fs.rm(tmp, { force: true });
      }
      // The content cache lets a later export find this file by content_hash.
      const cached = contentCachePath(ctx.cacheDir, v.content_hash);
      await fs.mkdir(join(ctx.cacheDir, 'videos'), { recursive: true });
      await fs.link(file, cached).catch(() => undefined);
      downloaded++;
    },
    ctx.signal,
  );
  progress.done();
  await shaCache.save();
  for (const f of failed) failures.push({ video: f.item.filename, message: errorText(f.error) });

  // The JSONs go in last: a folder whose manifest is current has all its videos (unless reported missing).
  const readLocal = (name: string): Promise<string | null> => fs.readFile(join(dir, name), 'utf8').catch(() => null);
  if ((await readLocal(GROUND_TRUTH_FILE)) !== gText) await writeFileAtomic(join(dir, GROUND_TRUTH_FILE), gText);
  if ((await readLocal(MANIFEST_FILE)) !== mText) await writeFileAtomic(join(dir, MANIFEST_FILE), mText);
  ctx.log(`pulled ${opts.name} into ${relative(ctx.root, dir) || '.'}: ${downloaded} downloaded (${formatBytes(downloadedBytes)}), ${present} already present`);
  if (failures.length) throw videosFailed(`pull of ${opts.name} from ${remote.description}`, failures, videos.length);
  return { dir, downloaded, downloadedBytes, present };
}

/** The dataset folder and its videos/ must be real folders of the project (or of the --dir folder
 * given): a symlinked `videos` would send every download elsewhere. */
async function refuseLinkedFolders(root: string, dir: string): Promise<void> {
  const [base, rel] = isInside(root, dir) ? [root, toPosix(relative(root, join(dir, VIDEOS_DIR)))] : [dir, VIDEOS_DIR];
  await refuseLinkedParents(base, rel, 'downloading', { self: true });
}
