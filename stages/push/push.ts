// push: training_datasets/<name> → the training remote. One paginated listing of videos/ tells which
// content hashes are already there; only the others are read, verified against the manifest's sha256 and
// uploaded (STANDARD_IA), in parallel, with one byte progress bar. The JSON files go last, so a dataset
// visible on the remote always has its videos; a killed push, rerun, uploads only what is missing.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { trainingRemote, writeFileAtomic } from '../../src/handler.js';
import type { Manifest, ManifestVideo } from '../lib/contracts.js';
import { errorText, videosFailed, type DatasetContext, type VideoFailure } from '../lib/dataset/context.js';
import { formatManifest, readDataset } from '../lib/dataset/format.js';
import { expectedSha256 } from '../lib/dataset/hashing.js';
import { datasetDir, localVideoPath, MANIFEST_FILE, remoteKeys } from '../lib/dataset/layout.js';
import { listSizes } from '../../src/handler.js';
import { forEachLimit } from '../../src/handler.js';
import { ShaCache } from '../lib/dataset/sha-cache.js';

export interface PushOptions {
  name: string;
  output?: string;
  /** Parallel uploads (default: ctx.jobs, at least 4). */
  concurrency?: number;
}

export interface PushResult {
  remote: string;
  uploaded: number;
  uploadedBytes: number;
  alreadyThere: number;
  jsonUploaded: boolean;
}

/** A video is on the remote when its key exists with the recorded size (if one is recorded). */
function isPresent(listing: ReadonlyMap<string, number>, v: ManifestVideo): boolean {
  const size = listing.get(remoteKeys.video(v.content_hash));
  return size !== undefined && (v.size_bytes === undefined || size === v.size_bytes);
}

/** The push handler's stamp: what the remote holds for this dataset (its JSONs and its videos). */
export async function pushStamp(ctx: DatasetContext, name: string, output?: string): Promise<string> {
  const { manifest } = await readDataset(datasetDir(ctx.root, name, output));
  const { remote } = trainingRemote(ctx.env, ctx.cacheDir, ctx.root);
  const [datasets, videos] = await Promise.all([listSizes(remote, `datasets/${name}/`), listSizes(remote, remoteKeys.videosPrefix)]);
  const lines = [...datasets].map(([k, s]) => `${k} ${s}`);
  for (const v of manifest.videos) lines.push(`${v.content_hash} ${videos.get(remoteKeys.video(v.content_hash)) ?? 'missing'}`);
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex');
}

/** Adds the sha256 computed for videos the manifest had none for, rewrites manifest.json, and says so. */
async function recordComputedSha(ctx: DatasetContext, dir: string, manifest: Manifest, computed: ReadonlyMap<string, string>): Promise<string> {
  const videos = manifest.videos.map((v) => (v.sha256 ? v : { ...v, ...(computed.has(v.content_hash) ? { sha256: computed.get(v.content_hash)! } : {}) }));
  const text = formatManifest({ ...manifest, videos });
  await writeFileAtomic(join(dir, MANIFEST_FILE), text);
  const n = videos.filter((v, i) => v.sha256 && !manifest.videos[i]!.sha256).length;
  ctx.log(
    `${n} video${n === 1 ? '' : 's'} over 50 MiB had no sha256 in ${relative(ctx.root, join(dir, MANIFEST_FILE))} (a seed-format manifest): ` +
      'computed from the local files and recorded there, so later pulls and exports verify them',
  );
  return text;
}

export async function pushDataset(ctx: DatasetContext, opts: PushOptions): Promise<PushResult> {
  const dir = datasetDir(ctx.root, opts.name, opts.output);
  const ds = await readDataset(dir, relative(ctx.root, dir) || '.');
  const { remote, notice } = trainingRemote(ctx.env, ctx.cacheDir, ctx.root);
  ctx.log(notice);

  // The remote's copies of the JSONs are fetched alongside the listing: a no-op push is one round trip deep.
  const jsonKeys = [remoteKeys.groundTruth(opts.name), remoteKeys.manifest(opts.name)] as const;
  const [listing, ...remoteJson] = await Promise.all([listSizes(remote, remoteKeys.videosPrefix), ...jsonKeys.map((k) => remote.getBytes(k))]);
  const videos = ds.manifest.videos;
  // One upload per content hash, however many videos share it.
  const byHash = new Map<string, ManifestVideo>();
  for (const v of videos) if (!isPresent(listing, v) && !byHash.has(v.content_hash)) byHash.set(v.content_hash, v);
  const todo = [...byHash.values()];
  const alreadyThere = new Set(videos.map((v) => v.content_hash)).size - todo.length;

  const failures: VideoFailure[] = [];
  const sizes = new Map<string, number>();
  for (const v of todo) {
    const st = await fs.stat(localVideoPath(dir, v, videos)).catch(() => null);
    sizes.set(v.content_hash, st?.size ?? 0);
  }
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const progress = ctx.progress(`push ${opts.name}`, total, 'B');
  let sent = 0;
  let uploaded = 0;
  // Seed manifests record no sha256; for a video over 50 MiB it is computed here and written into the manifest.
  const computed = new Map<string, string>();
  const shaCache = todo.length ? await ShaCache.open(ctx.cacheDir) : null;
  const failed = await forEachLimit(
    todo,
    opts.concurrency ?? Math.max(4, ctx.jobs),
    async (v) => {
      const file = localVideoPath(dir, v, videos);
      const st = await fs.stat(file).catch(() => null);
      if (!st) throw new Error(`local file ${relative(ctx.root, file)} is missing; nothing to upload`);
      // Seed manifests have no sha256; for files up to 50 MiB content_hash is the full-file hash.
      const want = expectedSha256(v, st.size);
      const { sha256 } = await shaCache!.hash(file, ctx.signal);
      if (!want) computed.set(v.content_hash, sha256);
      else if (sha256 !== want)
        throw new Error(
          `refusing to upload ${relative(ctx.root, file)}: its sha256 ${sha256.slice(0, 12)}… does not match the manifest's ${want.slice(0, 12)}…`,
        );
      let last = 0;
      await remote.putFile(remoteKeys.video(v.content_hash), file, {
        storageClass: 'STANDARD_IA',
        contentType: 'video/mp4',
        signal: ctx.signal,
        onProgress: (b) => {
          sent += b - last;
          last = b;
          progress.update(sent);
        },
      });
      uploaded++;
    },
    ctx.signal,
  );
  progress.done();
  await shaCache?.save();
  for (const f of failed) failures.push({ video: f.item.filename, message: errorText(f.error) });
  if (failures.length) throw videosFailed(`push of ${opts.name} to ${remote.description}`, failures, videos.length);
  const manifestText = computed.size ? await recordComputedSha(ctx, dir, ds.manifest, computed) : ds.manifestText;

  // The dataset's JSONs, unless the remote already has these exact bytes.
  let jsonUploaded = false;
  const texts = [ds.groundTruthText, manifestText];
  for (const [i, key] of jsonKeys.entries()) {
    const current = remoteJson[i];
    if (current && current.toString('utf8') === texts[i]) continue;
    await remote.putBytes(key, texts[i]!, { contentType: 'application/json' });
    jsonUploaded = true;
  }
  const uploadedBytes = total;
  ctx.log(
    `pushed ${opts.name} to ${remote.description}: ${uploaded} video${uploaded === 1 ? '' : 's'} uploaded (${uploadedBytes} bytes), ${alreadyThere} already there` +
      (jsonUploaded ? '' : '; dataset files unchanged'),
  );
  return { remote: remote.description, uploaded, uploadedBytes, alreadyThere, jsonUploaded };
}
