// How the object cache and the run-cache are laid out on a cache remote (`rallycut push`/`pull`):
//   files/sha256/ab/cdef…       a file object: the same bytes as <cacheDir>/objects/ab/cdef…
//   files/sha256/ab/cdef….dir   a folder's manifest (its sha256 is the folder's hash)
//   runs/ab/<key>.json          a run-cache record (<cacheDir>/runs/ab/<key>.json)
// under the remote's own prefix (s3://bucket/prefix/files/…). Names are content hashes, so any number of
// projects and clones can share one remote: an object is uploaded once, whoever pushes it.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { LockedOut } from '../lock/types.js';
import { TMP_PREFIX } from '../fsutil.js';
import type { RunRecord } from './runcache.js';

export const FILES_PREFIX = 'files/sha256/';
export const RUNS_PREFIX = 'runs/';
const RUN_KEY_RE = /^[A-Za-z0-9_-]{3,128}$/;

export function objectKey(sha256: string, isDir: boolean): string {
  return `${FILES_PREFIX}${sha256.slice(0, 2)}/${sha256.slice(2)}${isDir ? '.dir' : ''}`;
}

export function runKey(key: string): string {
  return `${RUNS_PREFIX}${key.slice(0, 2)}/${key}.json`;
}

/** The run-cache key a remote key names, or undefined for anything else under runs/. */
export function runKeyFromRemote(remoteKey: string): string | undefined {
  const m = /^runs\/[^/]{2}\/([^/]+)\.json$/.exec(remoteKey);
  return m && RUN_KEY_RE.test(m[1]!) && remoteKey === runKey(m[1]!) ? m[1] : undefined;
}

/** One object (a file, or a folder with its files) some out or run record needs, with a label for messages. */
export interface WantedObject {
  sha256: string;
  isDir: boolean;
  label: string;
}

/** A lock's uncached outs have no object; a run record's do (the run-cache stores them, see exec/outs.ts). */
export function wantedFromOuts(outs: readonly LockedOut[], label: (o: LockedOut) => string, opts: { runRecord?: boolean } = {}): WantedObject[] {
  return outs.filter((o) => opts.runRecord || o.cache !== false).map((o) => ({ sha256: o.sha256, isDir: o.nfiles !== undefined, label: label(o) }));
}

export interface LocalRunRecord {
  key: string;
  path: string;
  record: RunRecord;
}

export function parseRunRecord(text: string): RunRecord | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<RunRecord>;
    if (typeof parsed.stage !== 'string' || !Array.isArray(parsed.outs) || !Array.isArray(parsed.log)) return undefined;
    if (!parsed.outs.every((o) => typeof o?.path === 'string' && typeof o.sha256 === 'string' && /^[0-9a-f]{64}$/.test(o.sha256))) return undefined;
    return parsed as RunRecord;
  } catch {
    return undefined;
  }
}

/** Every readable run-cache record under <cacheDir>/runs, sorted by key. */
export async function localRunRecords(cacheDir: string): Promise<LocalRunRecord[]> {
  const runsDir = join(cacheDir, 'runs');
  const out: LocalRunRecord[] = [];
  const prefixes = await fs.readdir(runsDir).catch(() => [] as string[]);
  for (const prefix of prefixes.sort()) {
    const names = await fs.readdir(join(runsDir, prefix)).catch(() => [] as string[]);
    for (const name of names.sort()) {
      if (name.startsWith(TMP_PREFIX) || !name.endsWith('.json')) continue;
      const key = name.slice(0, -'.json'.length);
      if (!RUN_KEY_RE.test(key) || key.slice(0, 2) !== prefix) continue;
      const path = join(runsDir, prefix, name);
      const record = parseRunRecord(await fs.readFile(path, 'utf8').catch(() => ''));
      if (record) out.push({ key, path, record });
    }
  }
  return out;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
