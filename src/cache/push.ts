// Uploads cache objects (and optionally run-cache records) to a cache remote. One paginated listing tells
// what the remote already has (by key and size), so a second push, or a rerun after a killed one, uploads
// only what is missing. Order keeps the remote consistent at every moment: files first, then the folder
// manifests that list them, then run records that point at both, so a manifest or record on the remote
// always has its objects there. Every object is re-hashed before it leaves, so a corrupt local copy is
// never uploaded; --verify re-checks the remote's copies by hash, --force uploads everything again.
import { promises as fs } from 'node:fs';
import type { Redactor } from '../redact.js';
import type { Remote } from '../remote/remote.js';
import { forEachLimit, listSizes } from '../remote/transfer.js';
import { createProgress, type ProgressSink } from '../format/progress.js';
import { tempPathFor } from '../fsutil.js';
import { ObjectCache } from './objects.js';
import { FILES_PREFIX, RUNS_PREFIX, errorMessage, localRunRecords, objectKey, runKey, wantedFromOuts, type WantedObject } from './remote-layout.js';

export interface PushOptions {
  cacheDir: string;
  remote: Remote;
  objects: readonly WantedObject[];
  runCache: boolean;
  jobs: number;
  /** List what is missing on the remote without uploading it. */
  dryRun?: boolean;
  /** Download each object the remote already has and check its hash; replace a corrupt one. */
  verify?: boolean;
  /** Upload every object again, present or not. */
  force?: boolean;
  signal?: AbortSignal;
  progressSink?: ProgressSink;
  /** Masks secrets in run records before they leave (records stored by older versions were not masked). */
  redact?: Redactor;
}

export interface PushResult {
  remote: string;
  uploaded: number;
  uploadedBytes: number;
  /** What this push found missing on the remote (with dryRun: what it would upload). */
  toUpload: number;
  toUploadBytes: number;
  alreadyPresent: number;
  runsUploaded: number;
  /** Run records kept local because some of their outs are not in this cache. */
  runsSkipped: number;
  /** Objects the lock names that neither this cache nor the remote holds: `label (sha256)`. */
  missingLocally: string[];
  failed: { key: string; error: string }[];
  /** With verify: remote copies whose bytes did not hash to their name (uploaded again). */
  corruptOnRemote: string[];
}

interface Upload {
  key: string;
  path: string;
  size: number;
  phase: 0 | 1 | 2;
  /** What the bytes must hash to (objects are named by it); absent for run records. */
  sha256?: string;
  /** Keys that must be on the remote before this one is uploaded. */
  deps: string[];
}

const sizeOf = (path: string): Promise<number | undefined> =>
  fs.stat(path).then(
    (s) => (s.isFile() ? s.size : undefined),
    () => undefined,
  );

interface Missing {
  key: string;
  note: string;
}

/** Uploads for one wanted object; undefined (and a note in `missing`) when the cache lacks part of it. */
async function uploadsFor(cache: ObjectCache, w: WantedObject, missing: Missing[]): Promise<Upload[] | undefined> {
  if (!w.isDir) {
    const path = cache.objectPath(w.sha256);
    const size = await sizeOf(path);
    if (size === undefined) return void missing.push({ key: objectKey(w.sha256, false), note: `${w.label} (${w.sha256})` });
    return [{ key: objectKey(w.sha256, false), path, size, phase: 0, sha256: w.sha256, deps: [] }];
  }
  const manifestPath = cache.dirObjectPath(w.sha256);
  const manifestSize = await sizeOf(manifestPath);
  if (manifestSize === undefined) return void missing.push({ key: objectKey(w.sha256, true), note: `${w.label} (folder ${w.sha256})` });
  const files: Upload[] = [];
  let lacking = 0;
  for (const e of await cache.readManifest(w.sha256)) {
    const path = cache.objectPath(e.sha256);
    const size = await sizeOf(path);
    if (size === undefined) lacking++;
    else files.push({ key: objectKey(e.sha256, false), path, size, phase: 0, sha256: e.sha256, deps: [] });
  }
  if (lacking) return void missing.push({ key: objectKey(w.sha256, true), note: `${w.label} (folder ${w.sha256}: ${lacking} file(s) not in the cache)` });
  return [...files, { key: objectKey(w.sha256, true), path: manifestPath, size: manifestSize, phase: 1, sha256: w.sha256, deps: files.map((f) => f.key) }];
}

export async function pushCache(opts: PushOptions): Promise<PushResult> {
  const cache = new ObjectCache(opts.cacheDir);
  const missing: Missing[] = [];
  let runsSkipped = 0;
  const byKey = new Map<string, Upload>();
  const add = (list: readonly Upload[]): void => list.forEach((u) => byKey.has(u.key) || byKey.set(u.key, u));
  for (const w of opts.objects) {
    const list = await uploadsFor(cache, w, missing);
    if (list) add(list);
  }
  if (opts.runCache) {
    for (const r of await localRunRecords(opts.cacheDir)) {
      const wanted = wantedFromOuts(r.record.outs, (o) => `run-cache ${r.record.stage} ${o.path}`, { runRecord: true });
      const lists = await Promise.all(wanted.map((w) => uploadsFor(cache, w, [])));
      // A record whose outs are not all cached here would be useless elsewhere: keep it local.
      if (lists.some((l) => l === undefined)) {
        runsSkipped++;
        continue;
      }
      const objects = lists.flatMap((l) => l!);
      add(objects);
      add([{ key: runKey(r.key), path: r.path, size: (await sizeOf(r.path)) ?? 0, phase: 2, deps: objects.map((o) => o.key) }]);
    }
  }

  const [files, runs] = await Promise.all([
    listSizes(opts.remote, FILES_PREFIX),
    opts.runCache ? listSizes(opts.remote, RUNS_PREFIX) : new Map<string, number>(),
  ]);
  const onRemote = (u: Upload): boolean => (u.phase === 2 ? runs.has(u.key) : files.get(u.key) === u.size);
  const all = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  const corruptOnRemote = opts.verify && !opts.force ? await corruptRemoteCopies(cache, opts, all.filter(onRemote)) : new Set<string>();
  const todo = all.filter((u) => opts.force || !onRemote(u) || corruptOnRemote.has(u.key));
  const todoBytes = todo.reduce((n, u) => n + u.size, 0);
  const result: PushResult = {
    remote: opts.remote.description,
    uploaded: 0,
    uploadedBytes: 0,
    toUpload: todo.length,
    toUploadBytes: todoBytes,
    alreadyPresent: all.length - todo.length,
    runsUploaded: 0,
    runsSkipped,
    // Not here but already on the remote (pushed from another clone) is fine.
    missingLocally: missing
      .filter((m) => !files.has(m.key))
      .map((m) => m.note)
      .sort(),
    failed: [],
    corruptOnRemote: [...corruptOnRemote].sort(),
  };

  if (opts.dryRun) return result;
  const progress = createProgress('push', todoBytes, 'B', opts.progressSink);
  const failedKeys = new Set<string>();
  for (const phase of [0, 1, 2] as const) {
    const items = todo.filter((u) => u.phase === phase);
    const failures = await forEachLimit(
      items,
      opts.jobs,
      async (u) => {
        const blocked = u.deps.filter((d) => failedKeys.has(d)).length;
        if (blocked) throw new Error(`not uploaded: ${blocked} object(s) it refers to failed to upload`);
        await refuseCorruptLocal(cache, u);
        let sent = 0;
        const transfer = {
          ...(opts.signal ? { signal: opts.signal } : {}),
          onProgress: (bytes: number) => {
            progress.tick(bytes - sent);
            sent = bytes;
          },
        };
        if (u.phase === 2 && opts.redact) await opts.remote.putBytes(u.key, opts.redact(await fs.readFile(u.path, 'utf8')), transfer);
        else await opts.remote.putFile(u.key, u.path, transfer);
        progress.tick(u.size - sent);
        result.uploaded++;
        result.uploadedBytes += u.size;
        if (u.phase === 2) result.runsUploaded++;
      },
      opts.signal,
    );
    for (const f of failures) {
      failedKeys.add(f.item.key);
      result.failed.push({ key: f.item.key, error: errorMessage(f.error) });
    }
  }
  progress.done();
  result.failed.sort((a, b) => (a.key < b.key ? -1 : 1));
  return result;
}

/** A local object whose bytes no longer hash to its name must not reach the remote, where it would stay. */
async function refuseCorruptLocal(cache: ObjectCache, u: Upload): Promise<void> {
  if (u.sha256 === undefined || (await cache.intact(u.path, u.sha256))) return;
  throw new Error(
    `the local cache object ${u.path} is corrupt (its content does not hash to ${u.sha256}); not uploaded. ` +
      "Run 'rallycut doctor' to list damaged objects, then 'rallycut repro' (or 'rallycut pull' from a good remote) to restore it",
  );
}

/** Keys of the remote copies (among `present`) whose downloaded bytes do not hash to their name. */
async function corruptRemoteCopies(cache: ObjectCache, opts: PushOptions, present: readonly Upload[]): Promise<Set<string>> {
  const bad = new Set<string>();
  const failures = await forEachLimit(
    present.filter((u) => u.sha256 !== undefined),
    opts.jobs,
    async (u) => {
      const tmp = tempPathFor(u.path); // beside the object: gc sweeps it if a kill leaves it
      try {
        await opts.remote.getFile(u.key, tmp, opts.signal ? { signal: opts.signal } : {});
        if (!(await cache.intact(tmp, u.sha256!))) bad.add(u.key);
      } finally {
        await fs.rm(tmp, { force: true });
      }
    },
    opts.signal,
  );
  for (const f of failures) bad.add(f.item.key); // unreadable counts as damaged: upload it again
  return bad;
}
