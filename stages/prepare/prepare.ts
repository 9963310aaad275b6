// prepare: a dataset folder (manifest, ground truth, videos/) → proxies in the shared proxy store plus two
// small index files: <output>/proxies.json and <output>/samples.json.
import { availableParallelism } from 'node:os';
import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { stableJson, writeFileAtomic } from '../../src/handler.js';
import { errorText, videosFailed, type DatasetContext, type VideoFailure } from '../lib/dataset/context.js';
import { readDataset } from '../lib/dataset/format.js';
import { contentHashProblem } from '../lib/dataset/hashing.js';
import { localVideoPath } from '../lib/dataset/layout.js';
import { ShaCache } from '../lib/dataset/sha-cache.js';
import { forEachLimit } from '../../src/handler.js';
import { requireFfmpeg } from '../lib/ffmpeg-caps.js';
import { ensureProxy, PROXY_FEATURES, type ProxyInfo } from './proxy.js';
import { buildSamples, countSamples, WINDOW, type Sample, type SampleCounts } from './samples.js';
import type { ManifestVideo } from '../lib/contracts.js';

export const PROXIES_FILE = 'proxies.json';
export const SAMPLES_FILE = 'samples.json';

export interface ProxyEntry extends ProxyInfo {
  video_id: string;
  filename: string;
  content_hash: string;
}

export interface ProxiesIndex {
  version: 1;
  dataset: string;
  /** proxy_path is relative to the cache folder (RALLYCUT_CACHE_DIR or .cache/). */
  videos: ProxyEntry[];
}

export interface SamplesFile {
  version: 1;
  dataset: string;
  seed: number;
  window: number;
  counts: SampleCounts;
  samples: Sample[];
}

export interface PrepareOptions {
  /** Dataset folder (training_datasets/<name>). */
  datasetDir: string;
  /** Where proxies.json and samples.json go. */
  outputDir: string;
  seed: number;
  jobs: number;
}

export interface PrepareResult {
  proxies: ProxiesIndex;
  samples: SamplesFile;
  made: number;
  reused: number;
}

/** The manifest's duration of a video in seconds, when it records one. */
function manifestSeconds(v: ManifestVideo): number | undefined {
  return typeof v.duration_ms === 'number' && Number.isFinite(v.duration_ms) ? v.duration_ms / 1000 : undefined;
}

export async function prepare(ctx: DatasetContext, opts: PrepareOptions): Promise<PrepareResult> {
  const shown = relative(ctx.root, opts.datasetDir) || '.';
  const ds = await readDataset(opts.datasetDir, shown);
  const videos = [...ds.manifest.videos].sort((a, b) => (a.video_id < b.video_id ? -1 : a.video_id > b.video_id ? 1 : 0));
  const caps = await requireFfmpeg('prepare', PROXY_FEATURES, { cacheDir: ctx.cacheDir, log: ctx.log });
  const shaCache = await ShaCache.open(ctx.cacheDir);

  // A manifest may lack a video's duration: the total counts the known ones and grows as the others finish.
  let totalSeconds = videos.reduce((n, v) => n + (manifestSeconds(v) ?? 0), 0);
  const progress = ctx.progress(`prepare ${ds.manifest.name}`, Math.round(totalSeconds), 's');
  const doneSeconds = new Map<string, number>();
  const report = (id: string, s: number): void => {
    doneSeconds.set(id, s);
    let sum = 0;
    for (const x of doneSeconds.values()) sum += x;
    progress.update(Math.round(sum));
  };

  const entries = new Map<string, ProxyEntry>();
  const failures: VideoFailure[] = [];
  let made = 0;
  let reused = 0;
  const parallel = Math.min(Math.max(1, opts.jobs), videos.length);
  const decoderThreads = parallel > 1 ? Math.max(1, Math.floor(availableParallelism() / parallel)) : undefined;
  const failed = await forEachLimit(
    videos,
    Math.max(1, opts.jobs),
    async (v) => {
      const path = localVideoPath(opts.datasetDir, v, ds.manifest.videos);
      const stat = await fs.stat(path).catch(() => undefined);
      if (!stat?.isFile()) throw new Error(`${join(shown, 'videos', v.filename)} is missing; run export-dataset (or pull) first`);
      if (stat.size === 0) throw new Error(`${join(shown, 'videos', v.filename)} is empty (0 bytes)`);
      // The hash check runs alongside ffprobe and the encode (see ensureProxy), which it stops if it fails.
      const checked = shaCache.hash(path, ctx.signal).then(({ sha256, size }) => {
        if (v.sha256 && v.sha256 !== sha256) {
          throw new Error(`sha256 ${sha256.slice(0, 12)}… does not match the manifest's ${v.sha256.slice(0, 12)}…; the file changed or is damaged`);
        }
        // An older manifest without sha256: check content_hash where it is a whole-file hash.
        const hashProblem = v.sha256 ? null : contentHashProblem(v.content_hash, sha256, size);
        if (hashProblem) throw new Error(hashProblem);
        return sha256;
      });
      checked.catch(() => undefined); // ensureProxy awaits it; this only keeps an early failure from being unhandled
      const started = Date.now();
      const { info, hit } = await ensureProxy({
        source: path,
        subject: v.filename,
        content_hash: v.content_hash,
        source_sha256: checked,
        cacheDir: ctx.cacheDir,
        caps,
        ...(decoderThreads ? { decoderThreads } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onProgress: (s) => report(v.video_id, s),
      });
      const seconds = manifestSeconds(v);
      if (seconds === undefined) {
        totalSeconds += info.duration_ms / 1000;
        progress.setTotal(Math.round(totalSeconds));
      }
      const done = seconds ?? info.duration_ms / 1000;
      // A proxy from the cache moves the bar but is no work: the rate counts encoded seconds only.
      if (hit) progress.skip(Math.round(done));
      else report(v.video_id, done);
      if (hit) reused++;
      else made++;
      ctx.log(
        `${v.filename}: ${hit ? 'proxy from cache' : `proxy made in ${((Date.now() - started) / 1000).toFixed(1)} s`} (${info.width}x${info.height}, ${info.fps} fps, ${info.frames} frames` +
          `${info.rotation ? `, rotation ${info.rotation}° applied` : ''}${info.vfr ? ', variable frame rate made constant' : ''})`,
      );
      entries.set(v.video_id, { video_id: v.video_id, filename: v.filename, content_hash: v.content_hash, ...info });
    },
    ctx.signal,
  );
  progress.done();
  const saving = shaCache.save(); // on success, awaited with the index files below
  saving.catch(() => undefined);
  for (const f of failed) failures.push({ video: f.item.filename, message: errorText(f.error) });
  if (failures.length || ctx.signal.aborted) {
    await saving; // the good videos' hashes are kept for the next run
    if (failures.length) throw videosFailed('prepare', failures, videos.length);
    throw new Error('prepare: interrupted');
  }

  const proxies: ProxiesIndex = { version: 1, dataset: ds.manifest.name, videos: videos.map((v) => entries.get(v.video_id)!) };
  const rallies = new Map(ds.groundTruth.map((g) => [g.video_id, g.rallies]));
  const sampleList = buildSamples(
    proxies.videos.map((p) => ({ video_id: p.video_id, fps: p.fps, frames: p.frames, rallies: rallies.get(p.video_id) ?? [] })),
    opts.seed,
  );
  const samples: SamplesFile = {
    version: 1,
    dataset: ds.manifest.name,
    seed: opts.seed,
    window: WINDOW,
    counts: countSamples(sampleList),
    samples: sampleList,
  };
  // Independent files, each synced: written at once so their fsyncs overlap.
  await Promise.all([
    saving,
    writeFileAtomic(join(opts.outputDir, PROXIES_FILE), stableJson(proxies)),
    writeFileAtomic(join(opts.outputDir, SAMPLES_FILE), stableJson(samples)),
  ]);
  return { proxies, samples, made, reused };
}
