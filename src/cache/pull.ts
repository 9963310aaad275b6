// Downloads cache objects (and optionally run-cache records) from a cache remote into the object cache.
// Every object is verified before it is used: its sha256 must match its name, so a damaged or tampered
// remote object is named in the result and never enters the cache. Downloads land in a temp file beside
// their final place and are renamed in (read-only) once verified, so a killed pull leaves no half-object.
import { promises as fs } from 'node:fs';
import { failure } from '../diagnostics.js';
import { tempPathFor } from '../fsutil.js';
import { parseManifest } from '../hash/manifest.js';
import type { Remote } from '../remote/remote.js';
import { forEachLimit, listSizes } from '../remote/transfer.js';
import { createProgress, type Progress, type ProgressSink } from '../format/progress.js';
import { ObjectCache } from './objects.js';
import {
  FILES_PREFIX,
  RUNS_PREFIX,
  errorMessage,
  objectKey,
  parseRunRecord,
  runKeyFromRemote,
  sha256File,
  wantedFromOuts,
  type WantedObject,
} from './remote-layout.js';
import { RunCache, type RunRecord } from './runcache.js';

export interface PullOptions {
  cacheDir: string;
  remote: Remote;
  objects: readonly WantedObject[];
  runCache: boolean;
  jobs: number;
  signal?: AbortSignal;
  progressSink?: ProgressSink;
}

export interface PullResult {
  remote: string;
  downloaded: number;
  downloadedBytes: number;
  runsDownloaded: number;
  /** `label (key)` for objects the remote does not have. */
  notOnRemote: string[];
  /** Remote keys whose content does not match their sha256 (not used). */
  corrupt: string[];
  failed: { key: string; error: string }[];
}

const quiet: Progress = { tick() {}, skip() {}, update() {}, setTotal() {}, done() {} };
const isFile = (p: string): Promise<boolean> =>
  fs.stat(p).then(
    (s) => s.isFile(),
    () => false,
  );

interface Fetch {
  key: string;
  sha256: string;
  dest: string;
  label: string;
}

export async function pullCache(opts: PullOptions): Promise<PullResult> {
  const cache = new ObjectCache(opts.cacheDir);
  const runCache = new RunCache(opts.cacheDir);
  const result: PullResult = {
    remote: opts.remote.description,
    downloaded: 0,
    downloadedBytes: 0,
    runsDownloaded: 0,
    notOnRemote: [],
    corrupt: [],
    failed: [],
  };
  const [listing, runListing] = await Promise.all([
    listSizes(opts.remote, FILES_PREFIX),
    opts.runCache ? listSizes(opts.remote, RUNS_PREFIX) : new Map<string, number>(),
  ]);

  // Run records first (small): their outs join the objects to fetch; the records are saved last.
  const wanted = [...opts.objects];
  const records: { key: string; record: RunRecord }[] = [];
  for (const remoteKey of runListing.keys()) {
    const key = runKeyFromRemote(remoteKey);
    if (!key || (await isFile(runCache.pathFor(key)))) continue;
    const record = parseRunRecord((await opts.remote.getBytes(remoteKey))?.toString('utf8') ?? '');
    if (!record) {
      result.corrupt.push(remoteKey);
      continue;
    }
    records.push({ key, record });
    wanted.push(...wantedFromOuts(record.outs, (o) => `run-cache ${record.stage} ${o.path}`, { runRecord: true }));
  }

  // Only the files get a bar: manifests are small, and fetching them first is what makes the total known.
  const fetchAll = async (items: Fetch[], progress: Progress, verify: (tmp: string, f: Fetch) => Promise<void>): Promise<void> => {
    const failures = await forEachLimit(
      items,
      opts.jobs,
      async (f) => {
        const tmp = tempPathFor(f.dest);
        let got = 0;
        try {
          await opts.remote.getFile(f.key, tmp, {
            ...(opts.signal ? { signal: opts.signal } : {}),
            onProgress: (bytes) => {
              progress.tick(bytes - got);
              got = bytes;
            },
          });
          const actual = await sha256File(tmp);
          if (actual !== f.sha256) {
            result.corrupt.push(f.key);
            throw failure(`remote object '${f.key}' is corrupt (its content hashes to ${actual}); not used`, { subject: f.key });
          }
          await verify(tmp, f);
          await fs.chmod(tmp, 0o444);
          await fs.rename(tmp, f.dest);
          result.downloaded++;
          result.downloadedBytes += got;
        } finally {
          await fs.rm(tmp, { force: true });
        }
      },
      opts.signal,
    );
    for (const fl of failures) if (!result.corrupt.includes(fl.item.key)) result.failed.push({ key: fl.item.key, error: errorMessage(fl.error) });
  };
  // Keeps one Fetch per object; an object the remote lacks is noted, not fetched.
  const plan = async (map: Map<string, Fetch>, f: Fetch): Promise<void> => {
    if (map.has(f.key) || (await isFile(f.dest))) return;
    if (!listing.has(f.key)) result.notOnRemote.push(`${f.label} (${f.key})`);
    else map.set(f.key, f);
  };

  // 1. Folder manifests, so their files are known.
  const manifests = new Map<string, Fetch>();
  for (const w of wanted.filter((x) => x.isDir))
    await plan(manifests, { key: objectKey(w.sha256, true), sha256: w.sha256, dest: cache.dirObjectPath(w.sha256), label: w.label });
  await fetchAll([...manifests.values()], quiet, async (tmp, f) => {
    try {
      parseManifest(await fs.readFile(tmp, 'utf8'));
    } catch (err) {
      result.corrupt.push(f.key);
      throw failure(`remote manifest '${f.key}' cannot be read: ${errorMessage(err)}`, { subject: f.key });
    }
  });
  // 2. Files: the file outs and every file of each folder whose manifest is now here.
  const files = new Map<string, Fetch>();
  for (const w of wanted) {
    if (!w.isDir) {
      await plan(files, { key: objectKey(w.sha256, false), sha256: w.sha256, dest: cache.objectPath(w.sha256), label: w.label });
    } else if (await isFile(cache.dirObjectPath(w.sha256))) {
      for (const e of await cache.readManifest(w.sha256)) {
        await plan(files, { key: objectKey(e.sha256, false), sha256: e.sha256, dest: cache.objectPath(e.sha256), label: `${w.label}/${e.path}` });
      }
    }
  }
  const progress = createProgress(
    'pull',
    [...files.values()].reduce((n, f) => n + (listing.get(f.key) ?? 0), 0),
    'B',
    opts.progressSink,
  );
  await fetchAll([...files.values()], progress, async () => undefined);
  progress.done();

  // 3. Run records whose outs are all in the cache now (a record without its outs would only mislead repro).
  for (const { key, record } of records) {
    const outs = record.outs; // uncached outs too: the record's objects include them
    if ((await Promise.all(outs.map((o) => cache.has(o.sha256)))).every(Boolean)) {
      await runCache.save(key, record);
      result.runsDownloaded++;
    }
  }
  result.notOnRemote = [...new Set(result.notOnRemote)].sort();
  result.corrupt = [...new Set(result.corrupt)].sort();
  result.failed.sort((a, b) => (a.key < b.key ? -1 : 1));
  return result;
}
